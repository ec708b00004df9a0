import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from shopee_core.data import images as images_mod
from shopee_core.data.images import MAX_PIXELS, open_image
from shopee_core.errors import DataError


def _save(path, im, fmt=None, **kw):
    im.save(path, format=fmt, **kw)
    return path


def _png_header_only(width, height, bit_depth=8, colour_type=2):
    """A PNG whose header claims width x height, with one tiny (useless) IDAT."""

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, colour_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + chunk(b"IEND", b"")
    )


def _jpeg_bytes(size=(64, 48), color=(200, 30, 30), **kw):
    buf = io.BytesIO()
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 255, size=(size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(buf, "JPEG", quality=90, **kw)
    return buf.getvalue()


def test_plain_jpeg(tmp_path):
    p = tmp_path / "a.jpg"
    p.write_bytes(_jpeg_bytes())
    im = open_image(p)
    assert im.mode == "RGB" and im.size == (64, 48)
    im.load()  # usable after the file is closed


def test_missing_file(tmp_path):
    with pytest.raises(DataError, match="no such file") as err:
        open_image(tmp_path / "nope.jpg")
    assert "nope.jpg" in str(err.value)


def test_zero_byte_file(tmp_path):
    p = tmp_path / "empty.jpg"
    p.write_bytes(b"")
    with pytest.raises(DataError, match=r"empty file \(0 bytes\)"):
        open_image(p)


def test_folder_is_not_an_image(tmp_path):
    (tmp_path / "dir.jpg").mkdir()
    with pytest.raises(DataError, match="folder"):
        open_image(tmp_path / "dir.jpg")


def test_text_named_jpg(tmp_path):
    p = tmp_path / "notes.jpg"
    p.write_text("this is not an image\n")
    with pytest.raises(DataError, match="not an image") as err:
        open_image(p)
    assert "notes.jpg" in str(err.value)
    assert "\n" not in str(err.value)


def test_truncated_jpeg(tmp_path):
    data = _jpeg_bytes(size=(256, 256))
    p = tmp_path / "cut.jpg"
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="corrupt or truncated") as err:
        open_image(p)
    assert "cut.jpg" in str(err.value)


def test_corrupt_png_data(tmp_path):
    buf = io.BytesIO()
    Image.new("RGB", (50, 50), (1, 2, 3)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    start = data.index(b"IDAT") + 4
    data[start : start + 20] = b"\xff" * 20  # garbage in the zlib stream
    p = tmp_path / "bad.png"
    p.write_bytes(bytes(data))
    with pytest.raises(DataError, match="bad.png"):
        open_image(p)


def test_one_by_one_is_fine(tmp_path):
    p = _save(tmp_path / "dot.png", Image.new("RGB", (1, 1), (9, 8, 7)))
    im = open_image(p)
    assert im.size == (1, 1) and im.getpixel((0, 0)) == (9, 8, 7)


def test_huge_header_refused_quickly(tmp_path):
    p = tmp_path / "bomb.png"
    p.write_bytes(_png_header_only(30_000, 30_000))
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="decompression bomb") as err:
        open_image(p)
    assert time.perf_counter() - t0 < 1.0
    assert "bomb.png" in str(err.value)


def test_own_pixel_limit_checked_before_decoding(tmp_path, monkeypatch):
    # 7000 x 7000 = 49 M pixels: above our 40 M limit, below PIL's own limit.
    p = tmp_path / "big.png"
    p.write_bytes(_png_header_only(7000, 7000))
    assert 7000 * 7000 < Image.MAX_IMAGE_PIXELS
    t0 = time.perf_counter()
    with pytest.raises(DataError, match="exceeds the limit of 40,000,000") as err:
        open_image(p)
    assert time.perf_counter() - t0 < 1.0
    assert "7000x7000" in str(err.value)
    # ... and the limit is a parameter, not a PIL global
    before = Image.MAX_IMAGE_PIXELS
    small = _save(tmp_path / "small.png", Image.new("RGB", (20, 20)))
    with pytest.raises(DataError, match="exceeds the limit"):
        open_image(small, max_pixels=399)
    assert open_image(small, max_pixels=400).size == (20, 20)
    assert Image.MAX_IMAGE_PIXELS == before
    assert MAX_PIXELS == 40_000_000 == images_mod.MAX_PIXELS


def test_rgba_composited_on_white(tmp_path):
    im = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red
    im.putpixel((0, 0), (0, 0, 255, 255))  # one opaque blue pixel
    im.putpixel((1, 0), (0, 0, 0, 128))  # half-transparent black
    p = _save(tmp_path / "alpha.png", im)
    out = open_image(p)
    assert out.mode == "RGB"
    assert out.getpixel((3, 3)) == (255, 255, 255)
    assert out.getpixel((0, 0)) == (0, 0, 255)
    assert all(120 <= c <= 135 for c in out.getpixel((1, 0)))


def test_la_and_palette_transparency(tmp_path):
    la = Image.new("LA", (3, 3), (0, 0))
    out = open_image(_save(tmp_path / "la.png", la))
    assert out.mode == "RGB" and out.getpixel((1, 1)) == (255, 255, 255)

    p_im = Image.new("P", (3, 3), 0)
    p_im.putpalette([0, 0, 0, 10, 200, 10] + [0] * (3 * 254))
    p_im.putpixel((0, 0), 1)
    path = tmp_path / "pal.png"
    p_im.save(path, transparency=0)
    out = open_image(path)
    assert out.getpixel((2, 2)) == (255, 255, 255)  # transparent index -> white
    assert out.getpixel((0, 0)) == (10, 200, 10)


def test_cmyk_jpeg(tmp_path):
    p = _save(tmp_path / "cmyk.jpg", Image.new("CMYK", (16, 8), (0, 255, 255, 0)), "JPEG", quality=95)
    with Image.open(p) as raw:
        assert raw.mode == "CMYK"
    out = open_image(p)
    assert out.mode == "RGB" and out.size == (16, 8)
    r, g, b = out.getpixel((4, 4))
    assert r > 200 and g < 60 and b < 60  # red


def test_16_bit_png_scaled(tmp_path):
    arr = np.array([[0, 128 * 257, 65535]], dtype=np.uint16)
    p = tmp_path / "deep.png"
    Image.fromarray(arr).save(p)
    with Image.open(p) as raw:
        assert raw.mode in ("I;16", "I")
    out = open_image(p)
    assert out.mode == "RGB"
    assert [out.getpixel((x, 0)) for x in range(3)] == [(0, 0, 0), (128, 128, 128), (255, 255, 255)]


def test_32_bit_integer_image(tmp_path):
    arr = np.array([[0, 65535]], dtype=np.int32)
    p = tmp_path / "deep.tif"
    Image.fromarray(arr, mode="I").save(p)
    out = open_image(p)
    assert [out.getpixel((x, 0)) for x in range(2)] == [(0, 0, 0), (255, 255, 255)]


def test_exif_rotation_applied(tmp_path):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise when shown
    p = tmp_path / "rot.jpg"
    p.write_bytes(_jpeg_bytes(size=(40, 20), exif=exif.tobytes()))
    with Image.open(p) as raw:
        assert raw.size == (40, 20)
    out = open_image(p)
    assert out.size == (20, 40)


def test_animated_gif_first_frame(tmp_path):
    frames = [Image.new("RGB", (8, 8), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    p = tmp_path / "anim.gif"
    frames[0].save(p, save_all=True, append_images=frames[1:], duration=50, loop=0)
    with Image.open(p) as raw:
        assert raw.n_frames == 3
    out = open_image(p)
    assert out.mode == "RGB" and out.size == (8, 8)
    r, g, b = out.getpixel((4, 4))
    assert r > 200 and g < 50 and b < 50


@pytest.mark.parametrize("mode,value", [("L", 77), ("1", 255), ("P", 3)])
def test_other_modes_become_rgb(tmp_path, mode, value):
    p = _save(tmp_path / f"m_{mode}.png", Image.new(mode, (5, 5), value))
    out = open_image(p)
    assert out.mode == "RGB" and out.size == (5, 5)


@pytest.mark.parametrize("as_error", [False, True])
def test_pil_warning_band_is_refused(tmp_path, as_error):
    # 10000 x 10000 = 100 M pixels: PIL only warns here; we refuse (also when warnings are errors)
    import warnings

    p = tmp_path / "warned.png"
    p.write_bytes(_png_header_only(10_000, 10_000))
    with warnings.catch_warnings():
        warnings.simplefilter("error" if as_error else "ignore")
        with pytest.raises(DataError, match="warned.png"):
            open_image(p)

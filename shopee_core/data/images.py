"""Safe image opening.

:func:`open_image` is the one way the project opens a posting image (and
:func:`image_phash` the one way it hashes one): it checks the
pixel count from the header before anything is decoded (so a decompression bomb
costs nothing), forces a full decode (so a truncated or corrupt file fails here,
not half-way through a training epoch) and returns an 8-bit RGB image with the
EXIF orientation applied. Every problem becomes a one-line :class:`DataError`
naming the file. PIL's global settings are never changed.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import imagehash
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import DataError

MAX_PIXELS = 40_000_000

_WHITE = (255, 255, 255)


def image_phash(image) -> str:
    """``imagehash.phash`` of a PIL image *as decoded*: 16 hex digits.

    This is how ``image_phash`` columns are made: Kaggle's is imagehash.phash of the stored
    image (no EXIF transpose; imagehash converts to greyscale itself), and the demo generator
    hashes its JPEG bytes the same way. An upload must be hashed like this too - not after
    the EXIF rotation :func:`open_image` applies for display and the CNNs - or an EXIF-rotated
    copy of a posting's photo would not find that posting.
    """
    return str(imagehash.phash(image))


def file_phash(path) -> str:
    """:func:`image_phash` of an image file's first frame, as stored."""
    with Image.open(path) as im:
        return image_phash(im)


def _fail(path: Path, problem: str) -> DataError:
    return DataError(f"image {path}: {problem}")


def _exc_text(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _bomb_text(exc: BaseException) -> str:
    return f"too many pixels, refused as a possible decompression bomb ({_exc_text(exc)})"


def _composite_on_white(im: Image.Image) -> Image.Image:
    rgba = im.convert("RGBA")
    background = Image.new("RGBA", rgba.size, _WHITE + (255,))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _integer_to_rgb(im: Image.Image) -> Image.Image:
    """16/32-bit greyscale ("I;16*", "I") or float ("F") to 8-bit RGB, scaled by range.

    "I;16*" is scaled from 0..65535. "I" (Pillow's mode for 16-bit PNGs and 32-bit
    images) is scaled from 0..65535 when its values exceed 255, from 0..255
    otherwise, and from 0..max when they exceed 65535; negatives clip to 0.
    "F" is taken as 0..1 when its maximum is <= 1, else as 0..255.
    """
    arr = np.asarray(im)
    if im.mode == "F":
        arr = arr.astype(np.float64)
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
        top = 1.0 if arr.size and arr.max() <= 1.0 else 255.0
    else:
        arr = arr.astype(np.int64)
        peak = int(arr.max()) if arr.size else 0
        if im.mode.startswith("I;16"):
            top = 65535.0
        elif peak > 65535:
            top = float(peak)
        elif peak > 255:
            top = 65535.0
        else:
            top = 255.0
    scaled = np.clip(np.rint(np.clip(arr, 0, None) * (255.0 / top)), 0, 255).astype(np.uint8)
    return Image.fromarray(scaled, mode="L").convert("RGB")


def _to_rgb(im: Image.Image) -> Image.Image:
    mode = im.mode
    if mode == "RGB" and "transparency" not in im.info:
        return im
    if mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
        mode in ("P", "L", "RGB", "1") and "transparency" in im.info
    ):
        return _composite_on_white(im)
    if mode.startswith("I") or mode == "F":
        return _integer_to_rgb(im)
    return im.convert("RGB")  # 1, L, P, CMYK, YCbCr, LAB, HSV, RGBX ...


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """Width and height from the header only (nothing decoded); DataError if unreadable."""
    path = Path(path)
    _check_file(path)
    try:
        with Image.open(path) as im:
            return im.size
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _fail(path, _bomb_text(exc)) from None
    except UnidentifiedImageError:
        raise _fail(path, "not an image (or a format Pillow cannot read)") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise _fail(path, f"unreadable header ({_exc_text(exc)})") from None


def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise _fail(path, "no such file") from None
    except OSError as exc:
        raise _fail(path, f"cannot access ({_exc_text(exc)})") from None
    if path.is_dir():
        raise _fail(path, "is a folder, not an image file")
    if st.st_size == 0:
        raise _fail(path, "empty file (0 bytes)")


def open_image(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Open an image fully decoded as 8-bit RGB with EXIF orientation applied.

    Raises :class:`DataError` (one line naming the file) for a missing, empty,
    non-image, truncated or corrupt file, or one whose header claims more than
    ``max_pixels`` pixels (checked before decoding). Transparency is composited
    on white, CMYK and palette images are converted, 16-bit greyscale is scaled
    to 8 bits, an animated image gives its first frame. A 1x1 image is fine.
    Note Pillow itself refuses headers above twice ``PIL.Image.MAX_IMAGE_PIXELS``
    (~179 M pixels) at open time; that also comes out as a DataError.
    """
    path = Path(path)
    _check_file(path)
    try:
        with Image.open(path) as im:
            width, height = im.size
            if width <= 0 or height <= 0:
                raise _fail(path, f"invalid size {width}x{height}")
            if width * height > max_pixels:
                raise _fail(
                    path,
                    f"{width}x{height} = {width * height:,} pixels exceeds the limit of "
                    f"{max_pixels:,} (refused before decoding, possible decompression bomb)",
                )
            if getattr(im, "n_frames", 1) > 1:
                im.seek(0)
            im.load()  # forces the full decode: truncated / corrupt data fails here
            try:
                oriented = ImageOps.exif_transpose(im)
            except Exception:  # malformed EXIF must not cost the image: keep it as stored
                oriented = im
            if oriented is None:  # older Pillow with in_place semantics
                oriented = im
            out = _to_rgb(oriented)
            if out is im:
                out = im.copy()  # detach from the file handle closed by the with-block
    except DataError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _fail(path, _bomb_text(exc)) from None
    except UnidentifiedImageError:
        raise _fail(path, "not an image (or a format Pillow cannot read)") from None
    except MemoryError:
        raise _fail(path, "not enough memory to decode it") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error) as exc:
        raise _fail(path, f"corrupt or truncated image data ({_exc_text(exc)})") from None
    if out.mode != "RGB":  # defensive: every branch above yields RGB
        out = out.convert("RGB")
    return out


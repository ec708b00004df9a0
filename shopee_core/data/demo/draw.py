"""Product pictures: one drawing per label group, on a transparent ``P`` x ``P`` canvas.

Only Pillow primitives and Pillow's bundled font (``ImageFont.load_default(size=...)``),
so the same seed draws the same pixels on every machine.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ...cache import memoize
from .products import ATTR_VALUES, CLOTH_SIZES, COLOURS, DIAPER_SIZES, FLAVOURS, SHADES, Product

P = 200  # product canvas size (square, RGBA)


@memoize(128)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=max(6, int(size)))


def _lum(c) -> float:
    return 0.299 * c[0] + 0.587 * c[1] + 0.114 * c[2]


def _ink(c):
    return (25, 25, 28) if _lum(c) > 140 else (248, 248, 245)


def _mix(a, b, t: float):
    return tuple(int(round(x * (1 - t) + y * t)) for x, y in zip(a, b))


def text_fit(draw: ImageDraw.ImageDraw, box, text: str, fill, max_size: float) -> None:
    """Draw ``text`` centred in ``box``, shrunk to fit its width."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    if w < 4 or h < 4 or not text:
        return
    size = int(min(max_size, h))
    f = font(size)
    tw = draw.textlength(text, font=f)
    if tw > w:
        size = max(6, int(size * w / tw))
        f = font(size)
    l, t, r, b = draw.textbbox((0, 0), text, font=f)
    draw.text((int(x0 + (w - (r - l)) / 2 - l), int(y0 + (h - (b - t)) / 2 - t)), text,
              font=f, fill=fill)


def _pattern_layer(vis: dict, main, size=(P, P)) -> Image.Image:
    layer = Image.new("RGBA", size, main + (255,))
    pat = vis["pattern"]
    if pat == "plain":
        return layer
    d = ImageDraw.Draw(layer)
    acc = vis["accent"]
    step = vis["pattern_step"]
    w, h = size
    if pat == "stripes":
        for y in range(0, h, step):
            d.rectangle([0, y, w, y + max(2, step // 3)], fill=acc)
    elif pat == "dots":
        r = max(2, step // 4)
        for y in range(step // 2, h, step):
            off = (y // step % 2) * step // 2
            for x in range(off, w, step):
                d.ellipse([x - r, y - r, x + r, y + r], fill=acc)
    elif pat == "band":
        d.rectangle([0, int(h * 0.42), w, int(h * 0.58)], fill=acc)
    elif pat == "gradient":
        g = Image.linear_gradient("L").resize(size)
        dark = Image.new("RGBA", size, _mix(main, (0, 0, 0), 0.45) + (255,))
        layer = Image.composite(dark, layer, g)
    return layer


def _fill(img: Image.Image, shape_fn, vis: dict, main, pattern: bool = True) -> Image.Image:
    """Paint the region drawn by ``shape_fn(draw)`` with ``main`` (+ pattern); return the mask."""
    mask = Image.new("L", img.size, 0)
    shape_fn(ImageDraw.Draw(mask))
    layer = _pattern_layer(vis, main, img.size) if pattern else Image.new("RGBA", img.size, main + (255,))
    img.paste(layer, (0, 0), mask)
    return mask


def _rank(product: Product, kind: str) -> float:
    pool = ATTR_VALUES[kind]
    return product.attrs[kind] / max(1, len(pool) - 1)


def _main(product: Product):
    if "colour" in product.attrs:
        return COLOURS[product.attrs["colour"]][2]
    return product.visual["main"]


def _fmt_value(product: Product, kind: str) -> str:
    v = product.value(kind)
    if kind == "volume":
        return f"{v} ml"
    if kind == "weight":
        return f"{v // 1000} kg" if v >= 1000 else f"{v} g"
    if kind == "capacity":
        return f"{v / 1000:g} L" if v >= 1000 else f"{v} ml"
    if kind == "count":
        return f"{v} pcs"
    return str(v)


def _canvas(p: Product, vis: dict):
    """Blank canvas, its drawer, main colour (the colour attribute wins) and accent."""
    img = Image.new("RGBA", (P, P), (0, 0, 0, 0))
    return img, ImageDraw.Draw(img), _main(p), vis["accent"]


# --------------------------------------------------------------------------- product shapes
def _bottle(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    f = 0.72 + 0.28 * _rank(p, "volume")
    bh = int(118 * f)
    bw = int(min(96, 62 * vis["aspect"] * (0.9 + 0.15 * f)))
    x0, x1, y1 = 100 - bw // 2, 100 + bw // 2, 192
    y0 = y1 - bh
    style = p.type_style
    radius = {"round": bw // 3, "square": 6, "pump": bw // 4, "dropper": bw // 5}[style]
    _fill(img, lambda m: m.rounded_rectangle([x0, y0, x1, y1], radius=radius, fill=255), vis, main)
    d.rectangle([x0 + 5, y0 + 8, x0 + 11, y1 - 10], fill=_mix(main, (255, 255, 255), 0.45))
    nw = max(10, bw // 3)
    if style == "pump":
        d.rectangle([100 - nw // 2, y0 - 12, 100 + nw // 2, y0], fill=acc)
        d.rectangle([97, y0 - 34, 103, y0 - 12], fill=acc)
        d.rectangle([97, y0 - 40, 136, y0 - 32], fill=acc)
    elif style == "dropper":
        d.rectangle([100 - nw // 2, y0 - 16, 100 + nw // 2, y0], fill=_mix(acc, (0, 0, 0), 0.3))
        d.ellipse([100 - nw // 2 + 2, y0 - 52, 100 + nw // 2 - 2, y0 - 12], fill=acc)
    else:
        d.rectangle([100 - nw // 2, y0 - 8, 100 + nw // 2, y0], fill=_mix(main, (0, 0, 0), 0.2))
        cw = int(bw * (0.8 if style == "square" else 0.5))
        d.rounded_rectangle([100 - cw // 2, y0 - 32, 100 + cw // 2, y0 - 7], radius=4, fill=acc)
    lab = vis["label"]
    ly0, ly1 = y0 + int(bh * 0.22), y0 + int(bh * 0.8)
    d.rectangle([x0 + 4, ly0, x1 - 4, ly1], fill=lab)
    ink = _ink(lab)
    lh = ly1 - ly0
    text_fit(d, (x0 + 6, ly0 + 2, x1 - 6, ly0 + int(lh * 0.42)), p.brand.upper(), ink,
             22 * vis["font_scale"])
    text_fit(d, (x0 + 6, ly0 + int(lh * 0.45), x1 - 6, ly0 + int(lh * 0.68)), p.line, ink, 12)
    text_fit(d, (x0 + 6, ly0 + int(lh * 0.7), x1 - 6, ly1 - 2), _fmt_value(p, "volume"), ink, 12)
    return img


def _tube(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    shade = SHADES[p.attrs["shade"]][1]
    f = 0.8 + 0.2 * _rank(p, "weight")
    if p.type_style == "lipstick":
        bw = int(46 * f)
        d.rounded_rectangle([100 - bw // 2, 112, 100 + bw // 2, 190], radius=5, fill=main)
        d.rectangle([100 - bw // 2, 104, 100 + bw // 2, 114], fill=(205, 170, 70))
        tw = bw - 12
        d.polygon([(100 - tw // 2, 104), (100 - tw // 2, 50), (100 + tw // 2, 34),
                   (100 + tw // 2, 104)], fill=shade)
        d.rectangle([100 - tw // 2 + 3, 56, 100 - tw // 2 + 7, 100], fill=_mix(shade, (255, 255, 255), 0.35))
        text_fit(d, (100 - bw // 2 + 3, 130, 100 + bw // 2 - 3, 160), p.brand.upper(), _ink(main), 13)
        # a swatch of the colour beside the lipstick, as shop photos often show
        d.ellipse([140, 150, 188, 190], fill=shade)
        return img
    w = int(74 * f)
    bot = int(w * 0.42)
    _fill(img, lambda m: m.polygon([(100 - w // 2, 18), (100 + w // 2, 18), (100 + bot, 150),
                                    (100 - bot, 150)], fill=255), vis, main)
    for y in (22, 26, 30):
        d.line([(100 - w // 2 + 2, y), (100 + w // 2 - 2, y)], fill=_mix(main, (0, 0, 0), 0.3), width=1)
    d.rounded_rectangle([100 - bot - 3, 148, 100 + bot + 3, 186], radius=5, fill=acc)
    d.rectangle([100 - bot + 6, 112, 100 + bot - 6, 132], fill=shade)
    ink = _ink(main)
    text_fit(d, (100 - w // 2 + 8, 44, 100 + w // 2 - 8, 70), p.brand.upper(), ink, 20 * vis["font_scale"])
    text_fit(d, (100 - bot, 74, 100 + bot, 90), p.line, ink, 11)
    text_fit(d, (100 - bot, 92, 100 + bot, 108), _fmt_value(p, "weight"), ink, 10)
    return img


def _tshirt(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    style = p.type_style
    if style == "hoodie":
        d.ellipse([68, 8, 132, 60], fill=_mix(main, (0, 0, 0), 0.25))
        pts = [(78, 28), (58, 32), (14, 150), (34, 156), (58, 82), (58, 190), (142, 190),
               (142, 82), (166, 156), (186, 150), (142, 32), (122, 28)]
    else:
        pts = [(78, 26), (58, 30), (16, 68), (38, 98), (58, 82), (58, 190), (142, 190),
               (142, 82), (162, 98), (184, 68), (142, 30), (122, 26)]
    _fill(img, lambda m: m.polygon(pts, fill=255), vis, main)
    d.chord([78, 12, 122, 44], 0, 180, fill=(0, 0, 0, 0))
    d.arc([78, 12, 122, 44], 0, 180, fill=_mix(main, (0, 0, 0), 0.35), width=3)
    d.rectangle([96, 30, 104, 36], fill=(240, 240, 240))  # size tag
    text_fit(d, (96, 30, 104, 36), CLOTH_SIZES[p.attrs["clothsize"]], (20, 20, 20), 6)
    if style == "shirt":
        d.polygon([(80, 26), (100, 50), (86, 58)], fill=(245, 245, 245))
        d.polygon([(120, 26), (100, 50), (114, 58)], fill=(245, 245, 245))
        for y in range(60, 185, 18):
            d.ellipse([98, y, 102, y + 4], fill=(230, 230, 230))
    if style == "hoodie":
        d.rounded_rectangle([74, 138, 126, 172], radius=6, outline=_mix(main, (0, 0, 0), 0.35), width=2)
    ink = _ink(main)
    logo = vis["logo"]
    if logo == 0:
        d.ellipse([86, 66, 114, 94], outline=ink, width=3)
        text_fit(d, (62, 98, 138, 120), p.brand.upper(), ink, 16)
    elif logo == 1:
        text_fit(d, (64, 70, 136, 100), p.brand, ink, 24 * vis["font_scale"])
    elif logo == 2:
        text_fit(d, (108, 58, 136, 70), p.brand, ink, 9)
    else:
        d.rectangle([66, 72, 134, 120], fill=acc)
        text_fit(d, (68, 82, 132, 110), p.brand.upper(), _ink(acc), 18)
    return img


def _shoe(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    sole = (245, 245, 240) if _lum(main) < 200 else (40, 40, 40)
    style = p.type_style
    if style == "sandal":
        d.rounded_rectangle([18, 128, 186, 150], radius=10, fill=sole)
        d.rounded_rectangle([20, 120, 184, 132], radius=6, fill=_mix(main, (0, 0, 0), 0.2))
        d.arc([60, 70, 120, 150], 180, 360, fill=main, width=12)
        d.arc([110, 80, 170, 150], 180, 360, fill=main, width=10)
        text_fit(d, (30, 133, 90, 147), p.brand.upper(), _ink(sole), 10)
        return img
    d.rounded_rectangle([16, 140, 188, 166], radius=9, fill=sole)
    if style == "slipon":
        pts = [(22, 142), (26, 116), (70, 106), (118, 92), (160, 94), (184, 120), (186, 142)]
    else:
        pts = [(22, 142), (28, 104), (70, 94), (108, 66), (150, 64), (166, 88), (184, 114),
               (186, 142)]
    _fill(img, lambda m: m.polygon(pts, fill=255), vis, main)
    if style == "sneaker":
        for i in range(5):
            x = 104 + i * 9
            d.line([(x, 72 + i * 5), (x + 10, 78 + i * 5)], fill=(250, 250, 250), width=3)
    else:
        d.rectangle([112, 94, 150, 102], fill=_mix(main, (0, 0, 0), 0.3))
    logo = vis["logo"]
    if logo in (0, 1):
        d.polygon([(50, 130), (120, 108), (150, 100), (128, 118), (60, 134)], fill=acc)
    else:
        d.ellipse([60, 108, 88, 136], fill=acc)
    text_fit(d, (24, 145, 80, 161), p.brand.upper(), _ink(sole), 11)
    d.rectangle([20, 110, 34, 138], fill=acc)
    return img


def _phonecase(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    _fill(img, lambda m: m.rounded_rectangle([54, 10, 146, 192], radius=16, fill=255), vis, main)
    idx = p.attrs["phone"]
    layout, big = idx % 4, (idx // 4) % 3
    dark = (30, 30, 34)
    lens = (70, 75, 90)
    s = 34 + big * 6
    if layout == 0:
        d.rounded_rectangle([62, 18, 62 + s, 18 + s + 8], radius=8, fill=dark)
        d.ellipse([68, 22, 68 + s // 2, 22 + s // 2], fill=lens)
        d.ellipse([68, 26 + s // 2, 68 + s // 2, 26 + s], fill=lens)
    elif layout == 1:
        d.rounded_rectangle([62, 18, 62 + s + 6, 18 + s + 6], radius=10, fill=dark)
        r = s // 3
        for cx, cy in ((70 + r, 24 + r), (70 + r, 30 + 3 * r), (78 + 3 * r, 27 + 2 * r)):
            d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=lens)
    elif layout == 2:
        d.rounded_rectangle([64, 18, 84, 18 + s + 16], radius=10, fill=dark)
        d.ellipse([67, 22, 81, 36], fill=lens)
        d.ellipse([67, 40, 81, 54], fill=lens)
    else:
        d.ellipse([64, 20, 64 + s // 2 + 8, 28 + s // 2], fill=dark)
        d.ellipse([68 + s // 2 + 10, 24, 78 + s // 2 + 10, 34], fill=(250, 240, 200))
    ink = _ink(main)
    logo = vis["logo"]
    if logo == 0:  # a cute bear
        c = _mix(main, (255, 255, 255), 0.6) if _lum(main) < 150 else _mix(main, (0, 0, 0), 0.4)
        d.ellipse([78, 96, 96, 114], fill=c)
        d.ellipse([104, 96, 122, 114], fill=c)
        d.ellipse([80, 102, 120, 142], fill=c)
        d.ellipse([91, 116, 96, 121], fill=ink)
        d.ellipse([104, 116, 109, 121], fill=ink)
    elif logo == 1:
        text_fit(d, (62, 100, 138, 130), p.brand, ink, 20 * vis["font_scale"])
    elif logo == 2:
        d.ellipse([80, 100, 120, 140], outline=acc, width=5)
    text_fit(d, (70, 168, 130, 184), p.brand.upper(), ink, 10)
    return img


def _bag(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    f = 0.78 + 0.11 * p.attrs["bagsize"]
    def sc(x, y):  # scale around the bottom centre
        return (int(100 + (x - 100) * f), int(192 - (192 - y) * f))
    style = p.type_style
    ink = _ink(main)
    if style == "backpack":
        d.arc([*sc(75, 20), *sc(125, 60)], 180, 360, fill=_mix(main, (0, 0, 0), 0.4), width=6)
        _fill(img, lambda m: m.rounded_rectangle([*sc(48, 40), *sc(152, 190)], radius=22, fill=255), vis, main)
        d.rounded_rectangle([*sc(64, 120), *sc(136, 180)], radius=10, fill=_mix(main, (0, 0, 0), 0.2))
        d.line([sc(64, 130), sc(136, 130)], fill=acc, width=3)
        text_fit(d, (*sc(64, 80), *sc(136, 110)), p.brand.upper(), ink, 16)
    elif style == "pouch":
        _fill(img, lambda m: m.rounded_rectangle([*sc(26, 80), *sc(174, 160)], radius=10, fill=255), vis, main)
        d.polygon([sc(26, 84), sc(174, 84), sc(100, 124)], fill=_mix(main, (0, 0, 0), 0.25))
        d.ellipse([*sc(94, 118), *sc(106, 130)], fill=(210, 180, 80))
        text_fit(d, (*sc(40, 134), *sc(160, 154)), p.brand, ink, 14)
    else:
        d.arc([*sc(64, 30), *sc(136, 120)], 180, 360, fill=_mix(main, (0, 0, 0), 0.4), width=7)
        _fill(img, lambda m: m.polygon([sc(42, 80), sc(158, 80), sc(176, 188), sc(24, 188)], fill=255), vis, main)
        d.polygon([sc(42, 80), sc(158, 80), sc(150, 124), sc(50, 124)], fill=acc)
        d.rectangle([*sc(94, 118), *sc(106, 132)], fill=(210, 180, 80))
        text_fit(d, (*sc(50, 142), *sc(150, 168)), p.brand.upper(), ink, 14)
    return img


def _food(p: Product, vis: dict) -> Image.Image:
    img, d, main, _ = _canvas(p, vis)
    fl = FLAVOURS[p.attrs["flavour"]]
    fcol = fl[1]
    f = 0.75 + 0.25 * (p.attrs["weight"] - 4) / 6
    w, h = int(120 * f), int(165 * f)
    x0, x1, y1 = 100 - w // 2, 100 + w // 2, 192
    y0 = y1 - h
    ink = _ink(main)
    if p.type_style == "box":
        _fill(img, lambda m: m.rectangle([x0, y0, x1, y1], fill=255), vis, main)
        d.polygon([(x0, y0), (x0 + 12, y0 - 10), (x1 + 12, y0 - 10), (x1, y0)], fill=_mix(main, (255, 255, 255), 0.3))
        d.polygon([(x1, y0), (x1 + 12, y0 - 10), (x1 + 12, y1 - 10), (x1, y1)], fill=_mix(main, (0, 0, 0), 0.3))
    else:
        teeth = [(x0 + i * (w / 10), y0 + (4 if i % 2 else 0)) for i in range(11)]
        pts = teeth + [(x1, y1 - 6), (x1 - 8, y1), (x0 + 8, y1), (x0, y1 - 6)]
        _fill(img, lambda m: m.polygon(pts, fill=255), vis, main)
        d.line([(x0 + 2, y0 + 14), (x1 - 2, y0 + 14)], fill=_mix(main, (0, 0, 0), 0.3), width=2)
    text_fit(d, (x0 + 6, y0 + 18, x1 - 6, y0 + int(h * 0.34)), p.brand.upper(), ink, 26 * vis["font_scale"])
    d.ellipse([x0 + int(w * 0.2), y0 + int(h * 0.38), x1 - int(w * 0.2), y0 + int(h * 0.7)], fill=fcol)
    d.ellipse([x0 + int(w * 0.33), y0 + int(h * 0.46), x0 + int(w * 0.45), y0 + int(h * 0.54)],
              fill=_mix(fcol, (255, 255, 255), 0.5))
    d.rectangle([x0, y0 + int(h * 0.73), x1, y0 + int(h * 0.86)], fill=fcol)
    text_fit(d, (x0 + 4, y0 + int(h * 0.73), x1 - 4, y0 + int(h * 0.86)), fl[0][0].upper(), _ink(fcol), 14)
    text_fit(d, (x1 - int(w * 0.45), y1 - int(h * 0.13), x1 - 4, y1 - 3), _fmt_value(p, "weight"), ink, 11)
    return img


def _household(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    f = 0.7 + 0.3 * _rank(p, "capacity")
    style = p.type_style
    y1 = 190
    if style == "bottle":
        w, h = int(56 * f * vis["aspect"]), int(160 * f)
        y0 = y1 - h
        _fill(img, lambda m: m.rounded_rectangle([100 - w // 2, y0, 100 + w // 2, y1], radius=w // 3, fill=255), vis, main)
        d.rounded_rectangle([100 - w // 2 + 4, y0 - 18, 100 + w // 2 - 4, y0 + 6], radius=5, fill=acc)
        d.arc([100 + w // 2 - 14, y0 - 24, 100 + w // 2 + 14, y0 + 10], 270, 90, fill=acc, width=4)
        lx0, ly0, lx1, ly1 = 100 - w // 2 + 4, y0 + h // 3, 100 + w // 2 - 4, y0 + h // 3 + 30
    elif style == "bucket":
        w, h = int(130 * f), int(120 * f)
        y0 = y1 - h
        _fill(img, lambda m: m.polygon([(100 - w // 2, y0), (100 + w // 2, y0), (100 + w // 2 - 14, y1),
                                        (100 - w // 2 + 14, y1)], fill=255), vis, main)
        d.arc([100 - w // 2, y0 - h // 2, 100 + w // 2, y0 + h // 2], 180, 360, fill=(90, 90, 90), width=3)
        d.rectangle([100 - w // 2, y0, 100 + w // 2, y0 + 8], fill=_mix(main, (0, 0, 0), 0.25))
        lx0, ly0, lx1, ly1 = 100 - w // 3, y0 + h // 3, 100 + w // 3, y0 + h // 3 + 26
    else:  # jar / box
        w, h = int(120 * f * vis["aspect"]), int(110 * f)
        w = min(w, 180)
        y0 = y1 - h
        radius = 4 if style == "box" else w // 6
        _fill(img, lambda m: m.rounded_rectangle([100 - w // 2, y0, 100 + w // 2, y1], radius=radius, fill=255), vis, main)
        d.rounded_rectangle([100 - w // 2 - 3, y0 - 16, 100 + w // 2 + 3, y0 + 4], radius=4, fill=acc)
        if style == "box":
            for x in (100 - w // 3, 100 + w // 3):
                d.rectangle([x - 6, y0 - 2, x + 6, y0 + 10], fill=_mix(acc, (0, 0, 0), 0.3))
        lx0, ly0, lx1, ly1 = 100 - w // 3, y0 + h // 3, 100 + w // 3, y0 + h // 3 + 28
    d.rectangle([lx0, ly0, lx1, ly1], fill=vis["label"])
    lab_ink = _ink(vis["label"])
    text_fit(d, (lx0 + 2, ly0 + 1, lx1 - 2, ly0 + (ly1 - ly0) * 0.6), p.brand.upper(), lab_ink, 14)
    text_fit(d, (lx0 + 2, ly0 + (ly1 - ly0) * 0.6, lx1 - 2, ly1 - 1), _fmt_value(p, "capacity"), lab_ink, 10)
    return img


_SIZE_COLOURS = ((120, 200, 240), (240, 170, 60), (130, 200, 90), (220, 90, 120), (150, 110, 210),
                 (60, 160, 150))


def _baby(p: Product, vis: dict) -> Image.Image:
    img, d, main, acc = _canvas(p, vis)
    f = 0.75 + 0.25 * _rank(p, "count")
    w = int(150 * f)
    x0, x1 = 100 - w // 2, 100 + w // 2
    _fill(img, lambda m: m.rounded_rectangle([x0, 24, x1, 190], radius=14, fill=255), vis, main, pattern=False)
    d.rectangle([x0, 40, x1, 76], fill=acc)
    text_fit(d, (x0 + 6, 42, x1 - 6, 74), p.brand.upper(), _ink(acc), 28 * vis["font_scale"])
    skin = (245, 205, 170)
    d.ellipse([x0 + 10, 96, x0 + 10 + int(60 * f), 96 + int(60 * f)], fill=skin)
    cx, cy, r = x0 + 10 + int(30 * f), 96 + int(30 * f), int(30 * f)
    d.ellipse([cx - r // 3 - 3, cy - 6, cx - r // 3 + 3, cy], fill=(40, 40, 40))
    d.ellipse([cx + r // 3 - 3, cy - 6, cx + r // 3 + 3, cy], fill=(40, 40, 40))
    d.arc([cx - r // 2, cy - r // 3, cx + r // 2, cy + r // 2], 20, 160, fill=(200, 80, 80), width=2)
    si = p.attrs["diapersize"]
    sc = _SIZE_COLOURS[si % len(_SIZE_COLOURS)]
    d.ellipse([x1 - 56, 110, x1 - 8, 158], fill=sc)
    text_fit(d, (x1 - 50, 118, x1 - 14, 150), DIAPER_SIZES[si], _ink(sc), 26)
    text_fit(d, (x0 + 8, 164, x1 - 8, 184), "isi " + str(p.value("count")), _ink(main), 14)
    return img


def _watch(p: Product, vis: dict) -> Image.Image:
    img, d, colour, _ = _canvas(p, vis)
    strap = p.attrs["strap"]
    if strap == 1:  # stainless links
        band = (175, 175, 180)
    else:
        band = colour
    d.rounded_rectangle([78, 4, 122, 70], radius=6, fill=band)
    d.rounded_rectangle([78, 130, 122, 196], radius=6, fill=band)
    if strap == 1:
        for y in list(range(8, 66, 8)) + list(range(134, 194, 8)):
            d.line([(78, y), (122, y)], fill=(120, 120, 125), width=1)
    elif strap == 3:
        for y in list(range(8, 66, 6)) + list(range(134, 194, 6)):
            d.line([(80, y), (120, y)], fill=_mix(band, (255, 255, 255), 0.3), width=1)
    elif strap == 0:
        for y in (20, 30, 160, 170):
            d.ellipse([97, y, 103, y + 6], fill=(30, 30, 30))
    metal = (200, 170, 90) if vis["logo"] % 2 else (190, 190, 195)
    face = vis["main"] if vis["logo"] == 3 else ((250, 250, 248) if vis["text_dark"] else (25, 25, 30))
    ink = _ink(face)
    if p.type_style == "square":
        d.rounded_rectangle([56, 46, 144, 154], radius=18, fill=metal)
        d.rounded_rectangle([64, 54, 136, 146], radius=12, fill=face)
        text_fit(d, (70, 82, 130, 112), "10:09", ink, 24)
        text_fit(d, (70, 116, 130, 130), p.brand.upper(), ink, 9)
    else:
        d.ellipse([52, 52, 148, 148], fill=metal)
        d.ellipse([60, 60, 140, 140], fill=face)
        for k in range(12):
            a = k * np.pi / 6
            x, y = 100 + 34 * np.sin(a), 100 - 34 * np.cos(a)
            d.ellipse([int(x) - 2, int(y) - 2, int(x) + 2, int(y) + 2], fill=ink)
        d.line([(100, 100), (100, 70)], fill=ink, width=3)
        d.line([(100, 100), (122, 88)], fill=ink, width=3)
        text_fit(d, (78, 110, 122, 124), p.brand.upper(), ink, 9)
    d.rectangle([146, 94, 152, 106], fill=metal)
    return img


_SHAPES = {"bottle": _bottle, "tube": _tube, "tshirt": _tshirt, "shoe": _shoe,
           "phonecase": _phonecase, "bag": _bag, "pouch": _food, "jar": _household,
           "pack": _baby, "watch": _watch}


def render_product(p: Product) -> Image.Image:
    """The product's picture on a transparent ``P`` x ``P`` canvas (packs show several items)."""
    vis = p.visual
    item = _SHAPES[p.category.shape](p, vis)
    n = p.value("pack") if "pack" in p.attrs else 1
    if n <= 1:
        return item
    shown = min(n, 3)
    s = 0.74 if shown == 2 else 0.6
    small = item.resize((int(P * s), int(P * s)), Image.BILINEAR)
    out = Image.new("RGBA", (P, P), (0, 0, 0, 0))
    span = P - small.width
    for i in range(shown):
        x = int(span * i / (shown - 1))
        y = int((P - small.height) * (0.3 if i % 2 else 0.9))
        out.alpha_composite(small, (x, y))
    d = ImageDraw.Draw(out)
    d.ellipse([4, 4, 54, 54], fill=(220, 30, 40))
    text_fit(d, (8, 16, 50, 42), f"isi {n}" if n > 3 else f"x{n}", (255, 255, 255), 16)
    return out


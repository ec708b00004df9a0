"""Seller photos: one scene (background, framing, stickers, watermark) per posting.

The product picture comes from :mod:`.draw`; this module only places and decorates it.
"""

from __future__ import annotations

import io
import random

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance

from .draw import _ink, _mix, font, text_fit
from .shops import Shop

STICKERS = ("PROMO", "COD", "-50%", "READY", "ORI", "SALE", "FREE ONGKIR", "100% ORI", "BPOM",
            "-30%", "NEW", "HOT", "GROSIR", "BEST SELLER")
_STICKER_COLOURS = ((220, 30, 40), (255, 120, 0), (240, 200, 0), (20, 150, 60), (30, 90, 200),
                    (200, 0, 120), (20, 20, 20))


def sample_scene(shop: Shop, rnd: random.Random, stock: bool, allow_collage: bool = True) -> dict:
    """Photo parameters of one posting (``stock``: the brand's centred packshot on white)."""
    if allow_collage and rnd.random() < shop.collage_rate:
        n = rnd.choice((2, 3, 4))
        cells = [sample_scene(shop, rnd, stock=False, allow_collage=False) for _ in range(n)]
        sc = {"collage": cells}
    elif stock:
        sc = {"bg": 0, "bgc": (255, 255, 255), "scale": 0.86, "dx": 0.0, "dy": 0.0,
              "angle": 0.0, "flip": False, "bright": 1.0, "contrast": 1.0, "shadow": False,
              "grain": 0}
    else:
        bg = shop.bg_pref if rnd.random() < 0.6 else rnd.randrange(5)
        sc = {
            "bg": bg,
            "bgc": shop.bg_colour if rnd.random() < 0.5 else
            (rnd.randint(120, 255), rnd.randint(120, 255), rnd.randint(120, 255)),
            "bgc2": (rnd.randint(60, 255), rnd.randint(60, 255), rnd.randint(60, 255)),
            "tex_seed": rnd.getrandbits(32),
            "scale": rnd.uniform(0.55, 1.0),
            "dx": rnd.uniform(-0.14, 0.14),
            "dy": rnd.uniform(-0.12, 0.12),
            "angle": rnd.uniform(-18, 18) if rnd.random() < 0.55 else 0.0,
            "flip": rnd.random() < 0.3,
            "bright": rnd.uniform(0.78, 1.22),
            "contrast": rnd.uniform(0.8, 1.2),
            "shadow": rnd.random() < 0.5,
            "grain": rnd.choice((0, 0, 4, 8)),
        }
    stickers = []
    if rnd.random() < shop.sticker_rate:
        for _ in range(rnd.choice((1, 1, 2))):
            stickers.append({"text": STICKERS[rnd.randrange(len(STICKERS))],
                             "corner": rnd.randrange(4),
                             "colour": _STICKER_COLOURS[rnd.randrange(len(_STICKER_COLOURS))],
                             "round": rnd.random() < 0.5,
                             "size": rnd.uniform(0.18, 0.28)})
    sc["stickers"] = stickers
    sc["watermark"] = shop.watermark and rnd.random() < 0.8
    sc["wm_pos"] = (rnd.uniform(0.05, 0.5), rnd.uniform(0.1, 0.85))
    sc["wm_alpha"] = rnd.randint(70, 150)
    sc["border"] = shop.border and rnd.random() < 0.85
    sc["quality"] = shop.quality if rnd.random() < 0.7 else rnd.choice((65, 75, 85, 92, 95))
    return sc


def derive_scene(scene: dict, shop: Shop, rnd: random.Random) -> dict:
    """The same photo re-posted: new JPEG quality, maybe a resize or another sticker."""
    sc = dict(scene)
    sc["quality"] = rnd.choice((60, 70, 75, 80, 85, 90, 95))
    r = rnd.random()
    if r < 0.65:  # only re-encoded
        pass
    elif r < 0.8 and "collage" not in sc:
        sc["scale"] = sc["scale"] * rnd.uniform(0.97, 1.03)
    else:
        sc["stickers"] = list(sc["stickers"]) + [{
            "text": STICKERS[rnd.randrange(len(STICKERS))], "corner": rnd.randrange(4),
            "colour": _STICKER_COLOURS[rnd.randrange(len(_STICKER_COLOURS))],
            "round": True, "size": 0.14}]
    return sc


def _background(sc: dict, s: int) -> Image.Image:
    bg = sc["bg"]
    c1 = sc["bgc"]
    if bg == 0:
        return Image.new("RGB", (s, s), (255, 255, 255) if "bgc2" not in sc else _mix(c1, (255, 255, 255), 0.9))
    if bg == 1:
        return Image.new("RGB", (s, s), c1)
    if bg == 2:
        g = Image.linear_gradient("L").resize((s, s))
        if sc["tex_seed"] % 2:
            g = g.transpose(Image.Transpose.ROTATE_90)
        return Image.composite(Image.new("RGB", (s, s), sc["bgc2"]), Image.new("RGB", (s, s), c1), g)
    if bg == 3:
        rng = np.random.default_rng(sc["tex_seed"])
        base = np.asarray(c1, dtype=np.float32)
        blot = rng.normal(0.0, 28.0, size=(6, 6, 1)).astype(np.float32) + base
        img = Image.fromarray(np.clip(blot, 0, 255).astype(np.uint8), "RGB").resize((s, s), Image.BICUBIC)
        return img
    # a table top in a room
    img = Image.new("RGB", (s, s), c1)
    d = ImageDraw.Draw(img)
    horizon = int(s * 0.55)
    wood = sc["bgc2"]
    d.rectangle([0, horizon, s, s], fill=wood)
    for k in range(6):
        y = horizon + 6 + k * (s - horizon) // 6
        d.line([(0, y), (s, y + 3)], fill=_mix(wood, (0, 0, 0), 0.18), width=2)
    return img


def _shot(item: Image.Image, sc: dict, s: int) -> Image.Image:
    img = _background(sc, s)
    side = max(8, int(s * sc["scale"]))
    obj = item.resize((side, side), Image.BILINEAR)
    if sc["flip"]:
        obj = obj.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if sc["angle"]:
        obj = obj.rotate(sc["angle"], resample=Image.BILINEAR, expand=True)
    x = int((s - obj.width) / 2 + sc["dx"] * s)
    y = int((s - obj.height) / 2 + sc["dy"] * s)
    if sc["shadow"]:
        d = ImageDraw.Draw(img)
        cy = y + int(obj.height * 0.93)
        d.ellipse([x + obj.width // 6, cy - side // 18, x + obj.width * 5 // 6, cy + side // 18],
                  fill=_mix(_bg_at(img, s), (0, 0, 0), 0.25))
    img.paste(obj, (x, y), obj)
    if sc["bright"] != 1.0:
        img = ImageEnhance.Brightness(img).enhance(sc["bright"])
    if sc["contrast"] != 1.0:
        img = ImageEnhance.Contrast(img).enhance(sc["contrast"])
    if sc["grain"]:
        rng = np.random.default_rng(sc["tex_seed"] + 1)
        arr = np.asarray(img, dtype=np.int16) + rng.integers(-sc["grain"], sc["grain"] + 1, size=(s, s, 1), dtype=np.int16)
        img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return img


def _bg_at(img: Image.Image, s: int):
    return img.getpixel((s // 2, s - 2))


def _sticker(d: ImageDraw.ImageDraw, st: dict, s: int) -> None:
    size = int(s * st["size"])
    m = int(s * 0.03)
    corner = st["corner"]
    x0 = m if corner in (0, 2) else s - m - size
    y0 = m if corner in (0, 1) else s - m - size
    col = st["colour"]
    if st["round"]:
        d.ellipse([x0, y0, x0 + size, y0 + size], fill=col, outline=(255, 255, 255), width=2)
        text_fit(d, (x0 + size * 0.12, y0 + size * 0.3, x0 + size * 0.88, y0 + size * 0.7), st["text"],
                 _ink(col), size * 0.4)
    else:
        h = size // 2
        d.rectangle([x0, y0, x0 + size, y0 + h], fill=col)
        text_fit(d, (x0 + 3, y0 + 2, x0 + size - 3, y0 + h - 2), st["text"], _ink(col), h * 0.8)


def render_scene(item: Image.Image, sc: dict, shop: Shop, s: int) -> Image.Image:
    """One seller photo (RGB, ``s`` x ``s``) of the product picture ``item``."""
    if "collage" in sc:
        img = Image.new("RGB", (s, s), (255, 255, 255))
        cells = sc["collage"]
        h = s // 2
        if len(cells) == 2:
            boxes = [(0, 0, h, s), (h, 0, s - h, s)]
        elif len(cells) == 3:
            boxes = [(0, 0, h, s), (h, 0, s - h, h), (h, h, s - h, s - h)]
        else:
            boxes = [(0, 0, h, h), (h, 0, s - h, h), (0, h, h, s - h), (h, h, s - h, s - h)]
        for cell, (x, y, w, hh) in zip(cells, boxes):
            side = min(w, hh)
            shot = _shot(item, cell, side)
            if hh > w:  # tall cell: centre a square shot on its background colour
                canvas = Image.new("RGB", (w, hh), _bg_at(shot, side))
                canvas.paste(shot, (0, (hh - side) // 2))
                shot = canvas
            img.paste(shot, (x, y))
        d = ImageDraw.Draw(img)
        d.line([(h, 0), (h, s)], fill=(255, 255, 255), width=3)
        if len(cells) > 2:
            d.line([(h if len(cells) == 3 else 0, h), (s, h)], fill=(255, 255, 255), width=3)
    else:
        img = _shot(item, sc, s)
    d = ImageDraw.Draw(img)
    if sc["border"]:
        bw = max(4, s // 28)
        d.rectangle([0, 0, s - 1, s - 1], outline=shop.border_colour, width=bw)
        bh = max(12, s // 11)
        d.rectangle([0, s - bh, s, s], fill=shop.border_colour)
        text_fit(d, (bw, s - bh + 2, s - bw, s - 2), shop.name.upper(), _ink(shop.border_colour), bh * 0.8)
    for st in sc["stickers"]:
        _sticker(d, st, s)
    if sc["watermark"]:
        over = Image.new("RGBA", (s, s), (0, 0, 0, 0))
        od = ImageDraw.Draw(over)
        x, y = int(sc["wm_pos"][0] * s), int(sc["wm_pos"][1] * s)
        od.text((x, y), shop.name, font=font(max(8, s // 14)), fill=(255, 255, 255, sc["wm_alpha"]),
                stroke_width=1, stroke_fill=(0, 0, 0, sc["wm_alpha"] // 2))
        img = Image.alpha_composite(img.convert("RGBA"), over).convert("RGB")
    return img


def encode_jpeg(img: Image.Image, quality: int) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=int(quality), optimize=False, progressive=False,
             subsampling=2)
    return buf.getvalue()

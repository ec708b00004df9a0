"""Sellers: each shop has its own title habits and photo style, shared across its products."""

from __future__ import annotations

import random
from dataclasses import dataclass

_SHOP_A = ("toko", "grosir", "beauty", "sumber", "berkah", "mega", "jaya", "sinar", "maju",
           "rumah", "gudang", "pusat", "distro", "galeri", "kedai", "lapak", "official", "mart",
           "store", "shop", "outlet", "dunia", "kios", "griya")
_SHOP_B = ("abadi", "makmur", "murah", "sejahtera", "jkt", "bdg", "sby", "88", "id", "17",
           "official", "collection", "corner", "house", "cantik", "mandiri", "sentosa", "indah",
           "kosmetik", "fashion", "gadget", "snack", "baby", "home", "jam", "tas", "sepatu", "99")

PREFIXES = ("READY STOCK", "[READY]", "READY", "PROMO", "COD", "BISA COD", "[BISA COD]",
            "TERMURAH", "SALE", "BEST SELLER", "NEW", "[ORI]", "GROSIR", "FLASH SALE",
            "HOT ITEM", "IMPORT", "[COD]", "PROMO!!", "READY JAKARTA", "MURAH")
SUFFIXES = ("ORIGINAL 100%", "100% ORIGINAL", "ORI", "murah", "termurah", "BPOM", "COD",
            "Promo", "Grosir", "bisa COD", "READY STOCK", "free bubble wrap", "harga grosir",
            "best seller", "garansi", "import", "ecer", "murah meriah", "kualitas premium",
            "terlaris", "viral", "ORIGINAL", "Original", "100% ori", "READY")

CASINGS = ("title", "title", "upper", "lower", "asis", "asis", "mixed")


@dataclass(frozen=True)
class Shop:
    index: int
    name: str
    casing: str
    prefix: str | None
    suffix: str | None
    unit_style: int  # preferred unit spelling (index into a style list)
    english: float  # probability of picking an English spelling
    typo_rate: float
    separator: str
    # photo style
    bg_pref: int
    bg_colour: tuple
    border: bool
    border_colour: tuple
    watermark: bool
    sticker_rate: float
    collage_rate: float
    quality: int


def make_shops(n_shops: int, seed: int) -> list[Shop]:
    rnd = random.Random(f"shopee-demo/{seed}/shops")
    shops = []
    seen: set[str] = set()
    for i in range(n_shops):
        while True:
            a, b = rnd.choice(_SHOP_A), rnd.choice(_SHOP_B)
            name = rnd.choice((f"{a}{b}", f"{a}_{b}", f"{a} {b}", f"{a}.{b}", f"{b}{a}"))
            if rnd.random() < 0.3:
                name += str(rnd.randint(1, 99))
            if name not in seen:
                seen.add(name)
                break
        shops.append(Shop(
            index=i,
            name=name,
            casing=rnd.choice(CASINGS),
            prefix=rnd.choice(PREFIXES) if rnd.random() < 0.45 else None,
            suffix=rnd.choice(SUFFIXES) if rnd.random() < 0.45 else None,
            unit_style=rnd.randrange(6),
            english=rnd.choice((0.1, 0.2, 0.3, 0.5, 0.7)),
            typo_rate=rnd.choice((0.0, 0.05, 0.1, 0.2)),
            separator=rnd.choice((" ", " ", " ", " - ", " | ", " / ", ", ")),
            bg_pref=rnd.randrange(5),
            bg_colour=(rnd.randint(150, 255), rnd.randint(150, 255), rnd.randint(150, 255)),
            border=rnd.random() < 0.2,
            border_colour=(rnd.randint(0, 255), rnd.randint(0, 255), rnd.randint(0, 255)),
            watermark=rnd.random() < 0.35,
            sticker_rate=rnd.choice((0.0, 0.2, 0.4, 0.7)),
            collage_rate=rnd.choice((0.0, 0.0, 0.05, 0.15)),
            quality=rnd.choice((70, 75, 80, 85, 90, 95)),
        ))
    return shops


def shop_weights(n_shops: int) -> list[float]:
    """A few big shops, many small ones."""
    return [1.0 / (i + 1) ** 0.8 for i in range(n_shops)]

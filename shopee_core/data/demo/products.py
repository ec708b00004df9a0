"""Product vocabulary and the product plan of the demo catalog.

Ten categories (``categories.json``), each with product types (written several ways,
Indonesian and English), product lines, descriptors and attributes. A *family* is one brand +
line + type; its *variants* (siblings) differ in exactly one attribute (volume,
colour, pack count, size, ...) and are different label groups: the hard
negatives. Everything here is plain data and :class:`random.Random` draws, so a
seed gives the same plan on every machine.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from importlib import resources

# ---------------------------------------------------------------------------
# colours: (indonesian, english, rgb)
COLOURS = [
    ("merah", "red", (200, 32, 45)),
    ("biru", "blue", (35, 80, 190)),
    ("hitam", "black", (28, 28, 32)),
    ("putih", "white", (238, 238, 235)),
    ("hijau", "green", (40, 150, 70)),
    ("kuning", "yellow", (240, 200, 40)),
    ("pink", "pink", (240, 140, 175)),
    ("abu-abu", "grey", (130, 130, 135)),
    ("coklat", "brown", (120, 75, 40)),
    ("navy", "navy", (25, 35, 90)),
    ("maroon", "maroon", (120, 20, 40)),
    ("ungu", "purple", (120, 60, 160)),
    ("cream", "cream", (235, 220, 185)),
    ("orange", "orange", (240, 130, 30)),
    ("tosca", "teal", (30, 160, 160)),
    ("mint", "mint", (160, 225, 195)),
]

SHADES = [  # cosmetics shades: (name, rgb)
    ("Nude", (205, 150, 125)), ("Rosy", (200, 95, 110)), ("Coral", (240, 110, 90)),
    ("Ruby Red", (170, 20, 40)), ("Mauve", (160, 100, 120)), ("Peach", (245, 160, 130)),
    ("Berry", (130, 30, 70)), ("Brick", (160, 60, 45)), ("Pinky", (235, 120, 160)),
    ("Chili", (190, 45, 30)), ("Caramel", (180, 115, 70)), ("Plum", (100, 35, 65)),
]

FLAVOURS = [  # (words a seller may use, accent rgb)
    (("original", "ori", "original"), (230, 190, 90)),
    (("pedas", "spicy", "hot"), (210, 40, 30)),
    (("balado", "balado", "pedas manis"), (200, 70, 40)),
    (("keju", "cheese", "cheddar"), (250, 200, 50)),
    (("coklat", "chocolate", "choco"), (110, 60, 30)),
    (("bbq", "barbeque", "BBQ"), (150, 60, 30)),
    (("jagung bakar", "grilled corn", "jagung"), (240, 180, 40)),
    (("rumput laut", "seaweed", "nori"), (40, 110, 50)),
    (("manis", "sweet", "manis"), (240, 150, 170)),
    (("matcha", "green tea", "matcha"), (120, 170, 80)),
]

PHONE_MODELS = [
    "iPhone 11", "iPhone 12 Pro", "iPhone 7 Plus", "iPhone XR", "Samsung A51", "Samsung A12",
    "Samsung J2 Prime", "Redmi Note 9", "Redmi 9A", "Redmi Note 8", "Oppo A5s", "Oppo A3s",
    "Oppo A15", "Vivo Y12", "Vivo Y20", "Realme C11", "Realme 5", "Infinix Hot 10",
]

CLOTH_SIZES = ["S", "M", "L", "XL", "XXL"]
SHOE_SIZES = [36, 37, 38, 39, 40, 41, 42, 43, 44]
BAG_SIZES = [("kecil", "small"), ("sedang", "medium"), ("besar", "large")]
DIAPER_SIZES = ["NB", "S", "M", "L", "XL", "XXL"]
STRAPS = [("kulit", "leather"), ("rantai", "stainless"), ("karet", "rubber"), ("kanvas", "canvas")]


@dataclass(frozen=True)
class Category:
    key: str
    name: str
    shape: str
    types: tuple  # tuple of (shape_style, (spellings...))
    lines: tuple
    descriptors: tuple
    attrs: tuple  # attribute kinds every product of the category has
    varying: tuple  # attribute kinds siblings may differ in (weighted by repetition)
    generic: tuple = ()  # generic words sellers add


def _tuples(v):
    return tuple(_tuples(x) for x in v) if isinstance(v, list) else v


def _load_categories() -> tuple[Category, ...]:
    # the vocabulary is plain data: categories.json, shipped as package data (pyproject.toml)
    text = resources.files(__package__).joinpath("categories.json").read_text(encoding="utf-8")
    return tuple(Category(**{k: _tuples(v) for k, v in d.items()}) for d in json.loads(text))


CATEGORIES: tuple[Category, ...] = _load_categories()

# attribute kinds -> value pools (indices into these are stored in products)
ATTR_VALUES = {
    "volume": (20, 30, 50, 60, 100, 120, 150, 200, 250, 300, 500),
    "weight": (3, 5, 10, 15, 50, 100, 150, 200, 250, 500, 1000),
    "capacity": (300, 350, 500, 600, 750, 1000, 1500, 2000),
    "pack": (1, 2, 3, 5, 6, 10, 12),
    "count": (20, 24, 32, 40, 50, 60, 80, 100),
    "colour": tuple(range(len(COLOURS))),
    "shade": tuple(range(len(SHADES))),
    "flavour": tuple(range(len(FLAVOURS))),
    "phone": tuple(range(len(PHONE_MODELS))),
    "clothsize": tuple(range(len(CLOTH_SIZES))),
    "shoesize": tuple(range(len(SHOE_SIZES))),
    "bagsize": tuple(range(len(BAG_SIZES))),
    "diapersize": tuple(range(len(DIAPER_SIZES))),
    "strap": tuple(range(len(STRAPS))),
}

# sensible ranges per category for numeric attributes (index ranges into ATTR_VALUES)
_WEIGHT_RANGE = {"cosmetics": (0, 4), "food": (4, 11)}

# ---------------------------------------------------------------------------
# brand names: a fixed syllable generator (independent of the catalog seed)
_SYL_A = ("ka", "lo", "ve", "ni", "ra", "so", "mi", "ta", "zen", "lu", "be", "no", "ko", "ri",
          "sa", "da", "fe", "ga", "ju", "ma", "pe", "qi", "vi", "wa", "ya", "el", "or", "an")
_SYL_B = ("ra", "va", "ne", "lia", "ko", "mi", "ton", "lux", "ya", "ro", "sa", "no", "ta", "ri",
          "via", "na", "mo", "ka", "la", "do", "ze", "ve", "lin", "tis")
_SUFFIX = ("", "", "", "", "a", "o", "x", "on", "is", "ia", "ku", "ma")
_BRAND_PREFIX = {
    "skincare": ("Skin", "Derma", "Glow", "Aqua", "Pure", "Nature", "Bio", "Lumi"),
    "cosmetics": ("Lip", "Color", "Glam", "Beau", "Make", "Rouge", "Bella", "Velv"),
    "clothing": ("Urban", "Kaos", "Thread", "Cotton", "Style", "Wear", "Dist", "Mode"),
    "shoes": ("Step", "Run", "Sole", "Kick", "Walk", "Foot", "Trek", "Sneak"),
    "phone": ("Case", "Gadget", "Tech", "Armor", "Shield", "Cell", "Phone", "Mobi"),
    "bags": ("Bag", "Tas", "Carry", "Pack", "Tote", "Sling", "Travel", "Chic"),
    "food": ("Dapur", "Rasa", "Snack", "Kripik", "Mak", "Kopi", "Nusa", "Cita"),
    "household": ("Home", "Rumah", "Kitchen", "Lock", "Eco", "Dapur", "Casa", "Tuff"),
    "baby": ("Baby", "Bebe", "Mami", "Kids", "Tiny", "Soft", "Little", "Bunda"),
    "watches": ("Time", "Chrono", "Jam", "Horo", "Tick", "Watch", "Luxe", "Dial"),
}


def _brand_pool(category: str, n: int, rnd: random.Random) -> list[str]:
    """``n`` distinct brand names for ``category`` (drawn with ``rnd``)."""
    names: list[str] = []
    seen: set[str] = set()
    prefixes = _BRAND_PREFIX[category]
    while len(names) < n:
        r = rnd.random()
        if r < 0.35:
            name = rnd.choice(prefixes) + rnd.choice(_SYL_B) + rnd.choice(_SUFFIX)
        elif r < 0.85:
            name = rnd.choice(_SYL_A) + rnd.choice(_SYL_B) + rnd.choice(_SUFFIX)
            if rnd.random() < 0.3:
                name = rnd.choice(_SYL_A) + name
        else:
            name = rnd.choice(_SYL_A) + rnd.choice(_SYL_B) + " " + rnd.choice(prefixes)
        name = name.capitalize() if " " not in name else name.title()
        if len(name) < 4 or name.lower() in seen:
            continue
        seen.add(name.lower())
        names.append(name)
    return names


# ---------------------------------------------------------------------------
@dataclass
class Product:
    """One product = one label group's content (several groups may share one: label noise)."""

    index: int
    category: Category
    brand: str
    line: str
    type_index: int
    descriptors: tuple
    attrs: dict  # kind -> value index into ATTR_VALUES[kind]
    varying: str  # the attribute its siblings differ in
    family: int
    visual: dict = field(default_factory=dict)
    noise_of: int | None = None  # planted label noise: the index of the product this one copies

    @property
    def type_style(self) -> str:
        return self.category.types[self.type_index][0]

    @property
    def type_spellings(self) -> tuple:
        return self.category.types[self.type_index][1]

    def value(self, kind: str):
        return ATTR_VALUES[kind][self.attrs[kind]]


def _draw_attrs(cat: Category, rnd: random.Random) -> dict:
    attrs = {}
    for kind in cat.attrs:
        pool = ATTR_VALUES[kind]
        if kind == "weight":
            lo, hi = _WEIGHT_RANGE.get(cat.key, (4, 11))
            attrs[kind] = rnd.randrange(lo, hi)
        elif kind == "pack":
            # most products are sold singly; pack counts are the exception
            attrs[kind] = 0 if rnd.random() < 0.6 else rnd.randrange(1, len(pool))
        else:
            attrs[kind] = rnd.randrange(len(pool))
    return attrs


def _sibling_value(kind: str, cat: Category, used: list[int], rnd: random.Random) -> int | None:
    pool = ATTR_VALUES[kind]
    if kind == "weight":
        lo, hi = _WEIGHT_RANGE.get(cat.key, (4, 11))
        choices = [i for i in range(lo, hi) if i not in used]
    else:
        choices = [i for i in range(len(pool)) if i not in used]
    if not choices:
        return None
    # siblings are usually neighbours on the scale (100ml vs 150ml), sometimes far
    if kind in ("volume", "weight", "capacity", "pack", "count", "clothsize", "shoesize",
                "diapersize", "bagsize") and rnd.random() < 0.6:
        base = used[0]
        choices.sort(key=lambda i: (abs(i - base), i))
        return choices[min(len(choices) - 1, rnd.randrange(2))]
    return rnd.choice(choices)


def _visual(cat: Category, attrs: dict, rnd: random.Random) -> dict:
    """Colours and pattern of a product's drawing (attributes override)."""
    base = COLOURS[rnd.randrange(len(COLOURS))][2]
    accent = COLOURS[rnd.randrange(len(COLOURS))][2]
    if accent == base:
        accent = (255 - base[0], 255 - base[1], 255 - base[2])
    jitter = lambda c: tuple(max(0, min(255, v + rnd.randint(-18, 18))) for v in c)  # noqa: E731
    return {
        "main": jitter(base),
        "accent": jitter(accent),
        "label": rnd.choice([(250, 250, 248), (245, 240, 225), jitter(accent), (30, 30, 30)]),
        "pattern": rnd.choice(["plain", "plain", "plain", "stripes", "dots", "band", "gradient"]),
        "pattern_step": rnd.randint(9, 18),
        "text_dark": rnd.random() < 0.5,
        "aspect": rnd.uniform(0.85, 1.15),
        "logo": rnd.randrange(4),
        "font_scale": rnd.uniform(0.8, 1.1),
    }


def plan_products(group_count: int, seed: int, noise_rate: float = 0.012) -> list[Product]:
    """One product per label group; families of 1-4 siblings; ~``noise_rate`` duplicate groups.

    The groups are consumed in order, so the caller decides group sizes independently.
    """
    rnd = random.Random(f"shopee-demo/{seed}/products")
    n_families_est = max(1, round(group_count / 2.0))
    per_cat_brands = max(6, min(400, round(n_families_est / (len(CATEGORIES) * 2.5))))
    brand_rnd = random.Random(f"shopee-demo/{seed}/brands")
    brands = {c.key: _brand_pool(c.key, per_cat_brands, brand_rnd) for c in CATEGORIES}
    # brands are used unevenly (a few big brands, many small ones)
    brand_weights = [1.0 / (i + 1) ** 0.5 for i in range(per_cat_brands)]
    # lines already taken per (category, brand, type): families of one brand differ in line
    taken: dict[tuple, list] = {}

    products: list[Product] = []
    family = 0
    while len(products) < group_count:
        if products and rnd.random() < noise_rate:
            # label noise: the same product listed under another label group
            src = products[rnd.randrange(len(products))]
            products.append(Product(len(products), src.category, src.brand, src.line,
                                    src.type_index, src.descriptors, dict(src.attrs),
                                    src.varying, src.family, dict(src.visual),
                                    noise_of=src.index if src.noise_of is None else src.noise_of))
            continue
        cat = CATEGORIES[rnd.randrange(len(CATEGORIES))]
        brand = rnd.choices(brands[cat.key], weights=brand_weights)[0]
        type_index = rnd.randrange(len(cat.types))
        key = (cat.key, brand, type_index)
        used_lines = taken.setdefault(key, [])
        free = [ln for ln in cat.lines if ln not in used_lines]
        line = rnd.choice(free) if free else rnd.choice(cat.lines)
        used_lines.append(line)
        n_desc = rnd.choice((1, 2, 2, 3, 3, 4))
        descriptors = tuple(rnd.sample(cat.descriptors, n_desc))
        attrs = _draw_attrs(cat, rnd)
        visual = _visual(cat, attrs, rnd)
        varying = rnd.choice(cat.varying)
        n_sib = rnd.choices((1, 2, 3, 4), weights=(0.42, 0.30, 0.18, 0.10))[0]
        used = [attrs[varying]]
        for s in range(n_sib):
            if len(products) >= group_count:
                break
            a = dict(attrs)
            if s > 0:
                v = _sibling_value(varying, cat, used, rnd)
                if v is None:
                    break
                used.append(v)
                a[varying] = v
            products.append(Product(len(products), cat, brand, line, type_index, descriptors,
                                    a, varying, family, dict(visual)))
        family += 1
    return products

"""Seller titles: Indonesian/English mix, unit spellings, promo words, typos, casing, escapes."""

from __future__ import annotations

import random

from .products import (
    BAG_SIZES,
    CLOTH_SIZES,
    COLOURS,
    DIAPER_SIZES,
    FLAVOURS,
    PHONE_MODELS,
    SHADES,
    SHOE_SIZES,
    STRAPS,
    Product,
)
from .shops import PREFIXES, SUFFIXES, Shop

EXTRA_PROMO = ("bisa COD", "gratis ongkir", "free ongkir", "READY STOCK", "murah", "termurah",
               "Promo", "Grosir", "ORIGINAL", "BPOM", "COD", "terlaris", "best seller", "viral",
               "ori", "100% ORI", "new arrival", "stok terbatas", "kirim cepat", "hemat")

# literal escape sequences as they appear in scraped Shopee titles (the 4-char text "\xe2")
ESCAPES = ("\\xe2\\x80\\x99", "\\xf0\\x9f\\x94\\xa5", "\\xe2\\x9c\\xa8", "\\xe2\\x9d\\xa4",
           "\\n", "\\xc2\\xae", "\\xe2\\x80\\x93", "\\xf0\\x9f\\x92\\x95")
DECORATIONS = ("★", "✨", "🔥", "✅", "❤", "⭐", "💯", "™")

ABBREV = {"original": "ori", "ukuran": "uk", "warna": "wrn", "dengan": "dgn", "untuk": "utk",
          "wanita": "wnt", "premium": "prem", "paket": "pkt", "murah": "mrh"}

_VOL = ("{v}ml", "{v} ml", "{v}ML", "{v} ML", "{v} mili", "{v}mL", "{v} Ml")
_GRAM = ("{v}gr", "{v} gr", "{v}g", "{v} gram", "{v}GR", "{v} Gr", "{v} grm")
_KG = ("{k}kg", "{k} kg", "{g}gr", "{g} gram", "{k} KG", "{k}Kg")
_LITRE = ("{l}L", "{l} liter", "{l} Liter", "{m}ml", "{l} ltr", "{m} ML")


def _pick(options, shop: Shop, rnd: random.Random):
    """Shop's habitual spelling most of the time, something else otherwise."""
    if rnd.random() < 0.65:
        return options[shop.unit_style % len(options)]
    return options[rnd.randrange(len(options))]


def _lang(id_word: str, en_word: str, shop: Shop, rnd: random.Random) -> str:
    return en_word if rnd.random() < shop.english else id_word


def format_attr(kind: str, product: Product, shop: Shop, rnd: random.Random) -> str:
    v = product.value(kind)
    if kind == "volume":
        return _pick(_VOL, shop, rnd).format(v=v)
    if kind == "weight":
        if v >= 1000:
            return _pick(_KG, shop, rnd).format(k=v // 1000, g=v)
        return _pick(_GRAM, shop, rnd).format(v=v)
    if kind == "capacity":
        if v >= 1000:
            litre = f"{v / 1000:g}"
            if rnd.random() < 0.3:
                litre = litre.replace(".", ",")
            return _pick(_LITRE, shop, rnd).format(l=litre, m=v)
        return _pick(_VOL, shop, rnd).format(v=v)
    if kind == "pack":
        if v == 1:
            return _pick(("1 pcs", "satuan", "1pc", "ecer", "1 pc", "(1 pcs)"), shop, rnd)
        opts = ["{n} pcs", "{n}pcs", "isi {n}", "paket {n}", "{n} pc", "x{n}", "{n} pack",
                "isi {n} pcs"]
        if v == 12:
            opts.append("1 lusin")
        if v == 6:
            opts.append("1/2 lusin")
        return _pick(opts, shop, rnd).format(n=v)
    if kind == "count":
        return _pick(("isi {n}", "{n} pcs", "{n}s", "{n} lembar", "isi {n} pcs", "{n}pcs"),
                     shop, rnd).format(n=v)
    if kind == "colour":
        idw, enw, _ = COLOURS[v]
        word = _lang(idw, enw, shop, rnd)
        r = rnd.random()
        if r < 0.25:
            return ("warna " if word == idw else "color ") + word
        if r < 0.3:
            return "wrn " + idw
        return word
    if kind == "shade":
        name = SHADES[v][0]
        code = f"{v + 1:02d}"
        return rnd.choice((f"{code} {name}", f"shade {code}", f"no {code}", name,
                           f"#{code} {name}", f"{code}", f"shade {name}"))
    if kind == "flavour":
        words = FLAVOURS[v][0]
        word = words[0] if rnd.random() > shop.english else words[1]
        if rnd.random() < 0.15:
            word = words[2]
        r = rnd.random()
        if r < 0.4:
            return "rasa " + word
        if r < 0.5:
            return word + " flavour"
        return word
    if kind == "phone":
        model = PHONE_MODELS[v]
        maker, rest = model.split(" ", 1)
        r = rnd.random()
        if r < 0.35:
            return model
        if r < 0.5:
            return model.lower()
        if r < 0.62:
            return rest
        if r < 0.74:
            return maker + " " + rest.replace(" ", "")
        if r < 0.86:
            return "for " + model
        return ("galaxy " if maker == "Samsung" else "") + model.lower()
    if kind == "clothsize":
        s = CLOTH_SIZES[v]
        return rnd.choice(("size {s}", "ukuran {s}", "{s}", "uk {s}", "size: {s}", "{s} size",
                           "size {s}")).format(s=s)
    if kind == "shoesize":
        n = SHOE_SIZES[v]
        return rnd.choice(("size {n}", "uk {n}", "{n}", "no {n}", "ukuran {n}", "sz {n}",
                           "size {n}")).format(n=n)
    if kind == "bagsize":
        idw, enw = BAG_SIZES[v]
        return rnd.choice((idw, "ukuran " + idw, "size " + enw, enw, idw, enw + " size"))
    if kind == "diapersize":
        s = DIAPER_SIZES[v]
        return rnd.choice(("{s}", "size {s}", "ukuran {s}", "uk {s}", "{s}", "size {s}")).format(s=s)
    if kind == "strap":
        idw, enw = STRAPS[v]
        return rnd.choice(("strap " + idw, "tali " + idw, enw + " strap", idw, "strap " + enw))
    raise ValueError(kind)


def _typo(word: str, rnd: random.Random) -> str:
    if len(word) < 4 or not word.isalpha():
        return word
    i = rnd.randrange(1, len(word) - 1)
    op = rnd.randrange(4)
    if op == 0:  # drop a letter
        return word[:i] + word[i + 1:]
    if op == 1:  # double a letter
        return word[:i] + word[i] + word[i:]
    if op == 2:  # swap neighbours
        return word[:i - 1] + word[i] + word[i - 1] + word[i + 1:]
    vowels = "aeiou"
    return word[:i] + rnd.choice(vowels) + word[i + 1:]


def _case(text: str, casing: str, rnd: random.Random) -> str:
    if casing == "upper":
        return text.upper()
    if casing == "lower":
        return text.lower()
    if casing == "title":
        return " ".join(w[:1].upper() + w[1:] for w in text.split(" "))
    if casing == "mixed":
        return " ".join(w.upper() if rnd.random() < 0.3 else w for w in text.split(" "))
    return text


def make_title(product: Product, shop: Shop, rnd: random.Random) -> str:
    cat = product.category
    # ---- the product words
    brand = product.brand
    if rnd.random() < 0.05:
        brand = _typo(brand, rnd)
    spellings = product.type_spellings
    if rnd.random() < 0.65:
        type_word = spellings[0]
    else:
        type_word = spellings[rnd.randrange(len(spellings))]
    line = product.line if rnd.random() < 0.8 else ""
    descs = [d for d in product.descriptors if rnd.random() < 0.5]
    if rnd.random() < 0.2:
        descs.append(cat.descriptors[rnd.randrange(len(cat.descriptors))])
    attrs = []
    for kind in cat.attrs:
        p = 0.8 if kind == product.varying else 0.45
        if rnd.random() < p:
            attrs.append(format_attr(kind, product, shop, rnd))
    name = " ".join(x for x in (brand, line) if x)
    d = " ".join(descs)
    a = " ".join(attrs)
    order = rnd.randrange(6)
    if order == 0:
        segs = [name, type_word, d, a]
    elif order == 1:
        segs = [type_word, name, a, d]
    elif order == 2:
        segs = [type_word, d, name, a]
    elif order == 3:
        segs = [name, a, type_word, d]
    elif order == 4:
        segs = [brand, type_word, line, d, a]
    else:
        segs = [type_word, brand, line, a, d]
    segs = [s for s in segs if s]
    # sellers glue segments with their habitual separator in one place, spaces elsewhere
    if len(segs) > 2 and shop.separator != " " and rnd.random() < 0.6:
        k = rnd.randrange(1, len(segs))
        core = " ".join(segs[:k]) + shop.separator + " ".join(segs[k:])
    else:
        core = " ".join(segs)
    # ---- seller habits: abbreviations, typos, casing
    words = core.split(" ")
    for i, w in enumerate(words):
        lw = w.lower()
        if lw in ABBREV and rnd.random() < 0.3:
            words[i] = ABBREV[lw]
        elif shop.typo_rate and rnd.random() < shop.typo_rate / 4:
            words[i] = _typo(w, rnd)
    core = _case(" ".join(words), shop.casing, rnd)
    # ---- promo words
    pre = []
    post = []
    if shop.prefix and rnd.random() < 0.7:
        pre.append(shop.prefix)
    elif rnd.random() < 0.12:
        pre.append(PREFIXES[rnd.randrange(len(PREFIXES))])
    if shop.suffix and rnd.random() < 0.7:
        post.append(shop.suffix)
    elif rnd.random() < 0.15:
        post.append(SUFFIXES[rnd.randrange(len(SUFFIXES))])
    if rnd.random() < 0.2:
        post.append(EXTRA_PROMO[rnd.randrange(len(EXTRA_PROMO))])
    if cat.generic and rnd.random() < 0.15:
        post.append(cat.generic[rnd.randrange(len(cat.generic))])
    title = " ".join(pre + [core] + post)
    # ---- decorations and literal escape sequences
    r = rnd.random()
    if r < 0.03:
        title = DECORATIONS[rnd.randrange(len(DECORATIONS))] + " " + title
    elif r < 0.045:
        esc = ESCAPES[rnd.randrange(len(ESCAPES))]
        parts = title.split(" ")
        k = rnd.randrange(len(parts) + 1)
        title = " ".join(parts[:k] + [esc] + parts[k:])
    elif r < 0.05:
        # a scraped accent: "e" written as its UTF-8 bytes
        i = title.find("e")
        if i > 0:
            title = title[:i] + "\\xc3\\xa9" + title[i + 1:]
    return " ".join(title.split())  # no double spaces

"""Quantities stated in titles: one parser for the unit-conflict flag and TF-IDF's unit option.

Sellers write one quantity many ways (``100ml`` / ``100 ML`` / ``100 mL``, ``0,9L`` / ``0.9 l`` /
``900ml``, ``1kg`` / ``1000 gr``, ``10K mAh`` / ``10000mAh``, ``2 pcs`` / ``2pc`` / ``isi 2``).
:func:`find_quantities` reads them as (dimension, value in the dimension's base unit) with the
text span they came from; :func:`parse_quantities` / :func:`quantity_conflict` compare two
titles' quantities (the error taxonomy's unit conflicts), and :func:`normalise_units` rewrites
every quantity as one canonical token (``900ml``, ``1000g``, ``2pcs``) so that TF-IDF sees the
same word for the same quantity.

Deliberately *not* quantities: ``10rb`` / ``10 ribu`` / a bare ``10k`` (Indonesian "ribu", thousand:
a price, Rp 10,000 - it says nothing about the product, and a price differing between two
listings of one product is normal); motor-oil viscosity grades such as ``10W-30`` (not 10
watts); network generations ``4G`` / ``5G`` next to phone words (not grams).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..cache import memoize

# unit word -> (dimension, factor to the dimension's base unit)
_UNITS: dict[str, tuple[str, float]] = {}


def _add(dim: str, factor: float, *names: str) -> None:
    for n in names:
        _UNITS[n] = (dim, factor)


_add("volume", 1.0, "ml", "mls", "mili", "mil", "milli", "mililiter", "milliliter", "mililitre", "millilitre", "cc")
_add("volume", 1000.0, "l", "lt", "ltr", "liter", "litre", "liters", "litres", "litter")
_add("volume", 29.5735, "floz", "fl oz", "fl.oz", "fl. oz")
_add("mass", 0.001, "mg", "miligram", "milligram", "miligr")
_add("mass", 1.0, "g", "gr", "grm", "gram", "grams", "gramm", "gramme", "grs", "grams")
_add("mass", 1000.0, "kg", "kgs", "kilo", "kilogram", "kilograms", "kilogr")
_add("mass", 28.3495, "oz")
_add("mass", 100.0, "ons")  # Indonesian ons = 100 g
_add("length", 1.0, "mm", "milimeter", "millimeter", "milimetre")
_add("length", 10.0, "cm", "centimeter", "centimetre", "senti", "sentimeter")
_add("length", 1000.0, "m", "meter", "metre", "mtr", "meters")
_add("length", 25.4, "inch", "inchi", "inci", "\"")
_add("pieces", 1.0, "pcs", "pc", "pce", "pcs.", "piece", "pieces", "biji", "bj", "buah", "bh", "lembar", "lbr",
     "helai", "unit", "units", "butir", "btr", "tablet", "tab", "tabs", "kapsul", "caps", "capsule", "capsules")
_add("pieces", 12.0, "lusin", "dozen", "dz")
_add("pieces", 20.0, "kodi")
_add("packs", 1.0, "pack", "packs", "pak", "pck", "pcks", "pkt", "paket", "box", "boxes", "dus", "sachet",
     "sachets", "sct", "saset", "bungkus", "bks", "strip", "botol", "btl", "tube", "pouch", "roll", "rol", "karton",
     "ctn", "set", "sets")
_add("pairs", 1.0, "pasang", "psg", "pair", "pairs", "prs")
_add("data", 1.0, "gb", "giga")
_add("data", 1 / 1024, "mb")
_add("data", 1024.0, "tb")
_add("charge", 1.0, "mah")
_add("power", 1.0, "w", "watt", "watts")

BASE_UNITS = {"volume": "ml", "mass": "g", "length": "mm", "pieces": "pcs", "packs": "packs", "pairs": "pairs",
              "data": "GB", "charge": "mAh", "power": "W"}
# the canonical token normalise_units writes: value + this suffix ("900ml", "1000g", "2pcs")
_TOKEN_SUFFIX = {"volume": "ml", "mass": "g", "length": "mm", "pieces": "pcs", "packs": "pack", "pairs": "pair",
                 "data": "gb", "charge": "mah", "power": "w"}

_NUM = r"\d+(?:[.,]\d+)*"
_FRACTION = r"\d+/[1-9]\d*"  # "1/2 lusin" (half a dozen), "3/4 inch"
_UNIT_ALT = "|".join(re.escape(u).replace(r"\ ", r"\s*") for u in sorted(_UNITS, key=len, reverse=True))
# number, optional space, unit, and no letter/digit straight after (so "ml" never reads as "m")
_BEFORE = r"(?<![a-wyz\d.,_])"  # a number starts after a non-word char or an "x" ("3x200ml")
_UNIT_AFTER = rf"\s*(?:{_UNIT_ALT})(?![a-z0-9])"
_QTY = re.compile(rf"{_BEFORE}({_FRACTION}|{_NUM})\s*({_UNIT_ALT})(?![a-z0-9])")
_KILO_MAH = re.compile(rf"{_BEFORE}({_NUM})\s*k\s*mah(?![a-z0-9])")  # "10K mAh" = 10,000 mAh
# "isi 10" ("contents: 10") are pieces, "paket 3" / "pack of 3" are packs; "isi 3 pcs" is caught by _QTY
_ISI = re.compile(rf"\bisi\s*:?\s*({_NUM})(?!{_UNIT_AFTER})(?![\w.,])")
_PAKET = re.compile(rf"\b(?:paket|pkt|pack(?:\s+of)?)\s*:?\s*({_NUM})(?!{_UNIT_AFTER})(?![\w.,])")
_TIMES = re.compile(rf"{_BEFORE}(\d+)\s*[x×]\s*(?={_NUM}{_UNIT_AFTER})")            # "3 x 100ml", "3x200ml"
_TIMES_AFTER = re.compile(rf"{_BEFORE}{_NUM}\s*(?:{_UNIT_ALT})(\s*[x×]\s*(\d+))(?![\w.,])")  # "250 ml x6"
_AREA = re.compile(rf"{_BEFORE}({_NUM})\s*[x×*]\s*({_NUM})(?:\s*[x×*]\s*({_NUM}))?\s*"
                   r"(mm|cm|m|meter|inch|inci)(?![a-z0-9])")
_VISCOSITY = re.compile(r"\s*-\s*\d")  # after "10w": "10W-30" is an oil grade, not 10 watts
_NETWORK = re.compile(r"\b(lte|hp|handphone|smartphone|phone|modem|mifi|wifi|router|sim|signal|sinyal|jaringan|"
                      r"network|android|iphone|samsung|xiaomi|redmi|oppo|vivo|realme|infinix|poco|ram|rom|gb)\b")


@dataclass(frozen=True)
class Quantity:
    """One stated quantity: ``value`` in the base unit of ``dim`` (a string "WxH" for areas),
    found at ``start:end`` of the lower-cased title (the span :func:`normalise_units` rewrites)."""

    start: int
    end: int
    dim: str
    value: float | str


def _number(text: str) -> float | None:
    """'1,5' -> 1.5; '1.000' / '10.000' -> thousands; '1.5' -> 1.5; '1/2' -> 0.5."""
    t = text
    if "/" in t:
        a, b = t.split("/")
        return int(a) / int(b)
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", t):
        if not (t.count(".") + t.count(",") == 1 and t.startswith("0")):
            return float(re.sub(r"[.,]", "", t))
    if t.count(".") + t.count(",") > 1:
        return None
    try:
        return float(t.replace(",", "."))
    except ValueError:
        return None


def _norm(value: float) -> float:
    return float(f"{value:.6g}")


# titles whose parse the process keeps: the rows and pairs a page shows, parsed again on every rerun. A
# pool's titles at once go through the bulk builders (``analysis.errors.PostingFeatures``), which parse each
# distinct title once themselves: at 200,000 the memos held 70,000 parses of every title (~110 MB of Python
# objects at 70,000 postings, one tour of the dashboard) for the server's whole life
TITLE_MEMO = 4096


def lower_text(title) -> str:
    """Lower-cased title with literal ``\\n`` blanked (same length, so spans stay valid)."""
    return str(title).lower().replace("\\n", "  ")


def scan_quantities(text: str) -> tuple[Quantity, ...]:
    """The quantities of a lower-cased title (:func:`lower_text`), not memoized: what a pool's bulk parse
    calls once per distinct title."""
    found: list[Quantity] = []
    taken: list[tuple[int, int]] = []
    areas: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return not any(a < y and x < b for x, y in taken)

    def add(a: int, b: int, dim: str, value) -> None:
        found.append(Quantity(a, b, dim, value))
        taken.append((a, b))

    for m in _AREA.finditer(text):
        nums = [_number(x) for x in m.groups()[:3] if x]
        if None in nums:
            continue
        factor = _UNITS[m.group(4)][1]
        add(m.start(), m.end(), "length", "x".join(f"{_norm(v * factor):g}" for v in nums))
        areas.append(m.span())
    for m in _KILO_MAH.finditer(text):
        value = _number(m.group(1))
        if value and free(*m.span()):
            add(m.start(), m.end(), "charge", _norm(value * 1000))
    network = None
    for m in _QTY.finditer(text):
        if not free(*m.span()):
            continue
        raw, unit = m.group(1), re.sub(r"\s+", " ", m.group(2))
        unit = unit if unit in _UNITS else unit.replace(" ", "")
        if unit not in _UNITS:
            continue
        dim, factor = _UNITS[unit]
        value = _number(raw)
        if value is None or value == 0:  # "0 ml" states nothing
            continue
        if dim == "power" and _VISCOSITY.match(text, m.end()):
            continue
        if unit == "g" and raw in {"2", "3", "4", "5"}:
            if network is None:
                network = bool(_NETWORK.search(text))
            if network:
                continue
        add(m.start(), m.end(), dim, _norm(value * factor))
    for pattern, dim in ((_ISI, "pieces"), (_PAKET, "packs")):
        for m in pattern.finditer(text):
            value = _number(m.group(1))
            if value is not None and free(*m.span()):
                add(m.start(), m.end(), dim, _norm(value))
    for m in _TIMES.finditer(text):
        if free(*m.span()):
            add(m.start(), m.end(), "pieces", _norm(float(m.group(1))))
    for m in _TIMES_AFTER.finditer(text):
        if free(*m.span(1)) and not any(a <= m.start() < b for a, b in areas):  # "160x200 cm x 2": sizes
            add(m.start(1), m.end(1), "pieces", _norm(float(m.group(2))))
    return tuple(sorted(found, key=lambda q: q.start))


_find = memoize(TITLE_MEMO)(scan_quantities)


def find_quantities(title) -> tuple[Quantity, ...]:
    """Every quantity a title states, in order (spans index the lower-cased title)."""
    return _find(lower_text(title))


@memoize(TITLE_MEMO)
def parse_quantities(title: str) -> dict[str, frozenset]:
    """Quantities stated in a title: ``{dimension: frozenset(values in base units)}``.

    Dimensions: volume (ml), mass (g), length (mm), pieces, packs, pairs, data (GB),
    charge (mAh), power (W). ``"3 x 100ml"`` and ``"100ml x3"`` give volume {100} and pieces {3};
    ``"isi 10"`` gives pieces {10}, ``"paket 3"`` packs {3}, ``"10K mAh"`` charge {10000};
    ``"20x30 cm"`` gives length {"200x300"} (mm) as one value.
    """
    return quantities_of(find_quantities(title))


def quantities_of(found) -> dict[str, frozenset]:
    """:func:`parse_quantities`'s dictionary from a title's found quantities."""
    out: dict[str, set] = {}
    for q in found:
        out.setdefault(q.dim, set()).add(q.value)
    return {k: frozenset(v) for k, v in out.items()}


def quantity_conflict(a: str, b: str) -> list[str]:
    """Dimensions both titles state with no value in common (empty: no conflict)."""
    qa, qb = parse_quantities(a), parse_quantities(b)
    return sorted(d for d in qa.keys() & qb.keys() if not qa[d] & qb[d])


def _token(q: Quantity) -> str:
    if isinstance(q.value, str):
        return q.value + _TOKEN_SUFFIX[q.dim]
    v = q.value
    number = str(int(v)) if float(v).is_integer() else f"{v:.6g}".replace(".", "_")
    return number + _TOKEN_SUFFIX[q.dim]


def normalise_units(title) -> str:
    """The lower-cased title with every quantity rewritten as one canonical token.

    ``"Aqua 0,9L"``, ``"aqua 0.9 l"`` and ``"AQUA 900 ML"`` all become ``"aqua 900ml"``; ``"1kg"``
    and ``"1000 gr"`` become ``"1000g"``; ``"2 pcs"``, ``"2pc"`` and ``"isi 2"`` become ``"2pcs"``;
    ``"10K mAh"`` becomes ``"10000mah"``. Other words are left as they are (prices such as
    ``10rb`` included). A non-string gives "".
    """
    if not isinstance(title, str):
        return ""
    text = lower_text(title)
    found = _find(text)
    if not found:
        return " ".join(text.split())
    parts, pos = [], 0
    for q in found:
        parts += [text[pos:q.start], f" {_token(q)} "]
        pos = q.end
    parts.append(text[pos:])
    return " ".join("".join(parts).split())

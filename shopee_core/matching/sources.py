"""Sources: hashable recipes for one neighbour table inside a candidate pool.

- ``("model", id, variant)``: a model's own table; ``variant`` ``"base"`` (from its
  embeddings or a stored table) or ``"inb"`` (a stored INB table);
- ``("fusion", ((id, weight), ...), knn)``: mean fusion of the members' cosines with
  those weights (normalised to sum 1); ``knn`` ``"exact"`` searches the fused set,
  ``"candidates"`` scores only the union of the members' own top-k candidates (exact
  for those pairs, a pair in no member's table is missed), fast enough for a slider;
- ``("inb", base, iters, t, t2, vectors)``: ``iters`` INB steps on ``base``, blending
  with the neighbours chosen by ``(t, t2)``; ``vectors`` ``"normalised"`` or ``"raw"``.
  Per-stage thresholds are a chain of one-step INB sources.

Sources are plain tuples, so they are cache keys and compare by value.
"""

from __future__ import annotations

from ..errors import DecisionError, ShopeeError
from .embeddings import fusion_weights
from .inb import VECTORS

MAX_INB_ITERS = 3
FUSION_KNN = ("exact", "candidates")


def model_source(model_id: str, variant: str = "base") -> tuple:
    if variant not in ("base", "inb"):
        raise DecisionError(f"table variant must be base or inb, got {variant!r}")
    return ("model", str(model_id), variant)


def fusion_source(members, weights=None, knn: str = "exact") -> tuple:
    """Mean fusion of ``members`` (model ids) with ``weights`` (normalised to sum 1)."""
    members = [str(m) for m in members]
    if not members:
        raise DecisionError("a fusion needs at least one model")
    if len(set(members)) != len(members):
        raise DecisionError(f"a fusion lists a model twice: {', '.join(members)}")
    if knn not in FUSION_KNN:
        raise DecisionError(f"fusion kNN must be one of {', '.join(FUSION_KNN)}, got {knn!r}")
    try:
        w = fusion_weights(len(members), weights)
    except ShopeeError as exc:
        raise DecisionError(str(exc)) from None
    pairs = tuple((m, round(float(x), 6)) for m, x in zip(members, w) if x > 0)
    if len(pairs) == 1:
        return model_source(pairs[0][0])
    return ("fusion", pairs, knn)


def inb_source(source: tuple, iters: int, t: float, t2: float | None, vectors: str = "normalised") -> tuple:
    iters = int(iters)
    if not 0 <= iters <= MAX_INB_ITERS:
        raise DecisionError(f"INB iterations must be 0-{MAX_INB_ITERS}, got {iters}")
    if vectors not in VECTORS:
        raise DecisionError(f"INB vectors must be one of {', '.join(VECTORS)}, got {vectors!r}")
    if iters == 0:
        return source
    return ("inb", source, iters, round(float(t), 6), None if t2 is None else round(float(t2), 6), vectors)


def fusion_members(source: tuple) -> dict[str, float]:
    return dict(source[1])


def roots(source: tuple) -> list[str]:
    """The model ids a source is made of (through INB and fusion)."""
    kind = source[0]
    if kind == "model":
        return [source[1]]
    if kind == "fusion":
        return [m for m, _ in source[1]]
    if kind == "inb":
        return roots(source[1])
    raise DecisionError(f"unknown source {source!r}")


def describe_source(source: tuple) -> str:
    kind = source[0]
    if kind == "model":
        return source[1] + (" + INB" if source[2] == "inb" else "")
    if kind == "fusion":
        how = "" if source[2] == "exact" else " on candidates"
        return "mean(" + ", ".join(f"{m}×{w:.2f}" for m, w in source[1]) + ")" + how
    if kind == "inb":
        t2 = "" if source[4] is None else f", T2={source[4]:.3f}"
        raw = " raw vectors" if source[5] == "raw" else ""
        return f"{describe_source(source[1])} + INB×{source[2]} (blend T={source[3]:.3f}{t2}{raw})"
    return str(source)


def check_source(source) -> tuple:
    """The source itself, or a one-line error for anything that is not one."""
    ok = isinstance(source, tuple) and source and source[0] in ("model", "fusion", "inb")
    if ok and source[0] == "model":
        ok = len(source) == 3
    elif ok and source[0] == "fusion":
        ok = len(source) == 3 and source[2] in FUSION_KNN and bool(source[1])
    elif ok:
        ok = len(source) == 6 and check_source(source[1]) is not None
    if not ok:
        raise DecisionError(f"not a decision source: {source!r}")
    return source

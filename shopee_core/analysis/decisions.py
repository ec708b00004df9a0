"""The live decision layer on a bundle: thresholds, Min2, fusions, unions, INB — scored fast.

Everything here is pure (no Streamlit) and works in split-local indices: retrieval and
scoring happen inside one split, the candidate pool.

A **source** is a hashable recipe for one neighbour table inside a split:

- ``("model", id, "base" | "inb")`` — a table stored in the bundle;
- ``("fusion", ((id, weight), ...))`` — mean fusion of the members' embeddings with
  those weights, kNN (k = the bundle's k) within the split;
- ``("inb", source, iters, t, t2)`` — ``iters`` INB steps on a source's embeddings,
  neighbours for blending chosen by ``(t, t2)``.

A :class:`Decision` is one or more :class:`Side` (source + its own ``t``/``t2``); more
than one side is a union of the sides' predicted sets. Single-side decisions are
scored with :class:`~shopee_core.matching.Scorer` (a threshold move is one pass over
the table); unions with :class:`PairTable`, the sides' candidate tables merged per
row, where Min2 is exact and vectorised because "add the best non-self candidate
when the set is lonely and it is within T2" is the same as "the best candidate is
predicted when d < max(T, T2)".

Derived tables, scorers and embeddings are cached per bundle in a small LRU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..bundle.format import BundleError
from ..errors import ShopeeError
from ..matching import Embeddings, Neighbors, Scorer, fuse, knn, predict
from ..matching import inb as inb_mod
from ..matching.search import DEFAULT_STEP, grid, search_pair
from ..metrics import counts_to_scores, group_sizes, summarise
from ..submission import predictions_frame

CACHE_SIZE = 48
MAX_INB_ITERS = 3
SWEEP = grid(0.0, 1.0, 0.01)       # thresholds of the curves
OUTCOMES = ("TP", "FP", "FN", "TN")


class DecisionError(ShopeeError):
    """A decision the bundle cannot support (missing table, embeddings, labels...)."""


# --------------------------------------------------------------------------- cache
class _LRU:
    def __init__(self, size: int):
        self.size, self.data, self.lock = size, OrderedDict(), threading.Lock()

    def get(self, key, make):
        with self.lock:
            if key in self.data:
                self.data.move_to_end(key)
                return self.data[key]
        value = make()
        with self.lock:
            self.data[key] = value
            self.data.move_to_end(key)
            while len(self.data) > self.size:
                self.data.popitem(last=False)
        return value

    def clear(self):
        with self.lock:
            self.data.clear()


def _cache(bundle) -> _LRU:
    lru = bundle.__dict__.get("_decision_cache")
    if lru is None:
        lru = bundle.__dict__.setdefault("_decision_cache", _LRU(CACHE_SIZE))
    return lru


def _readonly(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    return arrays[0] if len(arrays) == 1 else arrays


# --------------------------------------------------------------------------- decisions
@dataclass(frozen=True)
class Side:
    """One neighbour table with its own distance threshold ``t`` and Min2 ``t2`` (None: no Min2)."""

    source: tuple
    t: float
    t2: float | None = None


@dataclass(frozen=True)
class Decision:
    """One side, or the union of several sides' predicted sets."""

    sides: tuple
    name: str = ""

    @property
    def is_union(self) -> bool:
        return len(self.sides) > 1

    def with_side(self, i: int, **changes) -> "Decision":
        sides = list(self.sides)
        sides[i] = replace(sides[i], **changes)
        return replace(self, sides=tuple(sides))

    def with_thresholds(self, t=None, t2=None, min2: bool = True) -> "Decision":
        """The first side with a new ``t`` / ``t2`` (``min2=False`` drops Min2)."""
        side = self.sides[0]
        return self.with_side(0, t=side.t if t is None else float(t),
                              t2=None if not min2 else (side.t2 if t2 is None else float(t2)))

    def without_min2(self) -> "Decision":
        return replace(self, sides=tuple(replace(s, t2=None) for s in self.sides))

    def describe(self) -> str:
        parts = []
        for s in self.sides:
            m2 = "" if s.t2 is None else f", T2={s.t2:.3f}"
            parts.append(f"{describe_source(s.source)} (T={s.t:.3f}{m2})")
        return " ∪ ".join(parts)


def model_source(model_id: str, variant: str = "base") -> tuple:
    if variant not in ("base", "inb"):
        raise DecisionError(f"table variant must be base or inb, got {variant!r}")
    return ("model", model_id, variant)


def fusion_source(members, weights=None) -> tuple:
    """Mean fusion of ``members`` (model ids) with ``weights`` (normalised to sum 1)."""
    members = list(members)
    if not members:
        raise DecisionError("a fusion needs at least one model")
    if len(set(members)) != len(members):
        raise DecisionError(f"a fusion lists a model twice: {', '.join(members)}")
    w = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(w) != len(members) or (w < 0).any() or w.sum() <= 0 or not np.isfinite(w).all():
        raise DecisionError(f"bad fusion weights {list(map(float, w))}: need one non-negative weight per model")
    w = w / w.sum()
    pairs = tuple((m, round(float(x), 6)) for m, x in zip(members, w) if x > 0)
    if len(pairs) == 1:
        return model_source(pairs[0][0])
    return ("fusion", pairs)


def inb_source(source: tuple, iters: int, t: float, t2: float | None) -> tuple:
    iters = int(iters)
    if not 0 <= iters <= MAX_INB_ITERS:
        raise DecisionError(f"INB iterations must be 0-{MAX_INB_ITERS}, got {iters}")
    if iters == 0:
        return source
    return ("inb", source, iters, round(float(t), 6), None if t2 is None else round(float(t2), 6))


def describe_source(source: tuple) -> str:
    kind = source[0]
    if kind == "model":
        return source[1] + (" + INB" if source[2] == "inb" else "")
    if kind == "fusion":
        return "mean(" + ", ".join(f"{m}×{w:.2f}" for m, w in source[1]) + ")"
    if kind == "inb":
        t2 = "" if source[4] is None else f", T2={source[4]:.3f}"
        return f"{describe_source(source[1])} + INB×{source[2]} (blend T={source[3]:.3f}{t2})"
    return str(source)


# --------------------------------------------------------------------------- bundle models
def _files(bundle, model_id) -> dict:
    return bundle.model(model_id)["files"]


def has_table(bundle, model_id: str, variant: str = "base") -> bool:
    return ("neighbors" if variant == "base" else f"neighbors_{variant}") in _files(bundle, model_id)


def combine_of(bundle, model_id: str) -> str | None:
    spec = bundle.model(model_id).get("spec") or {}
    return spec.get("combine") if spec.get("members") else None


def is_union(bundle, model_id: str) -> bool:
    return combine_of(bundle, model_id) == "union"


def is_inb_only(bundle, model_id: str) -> bool:
    return not has_table(bundle, model_id) and has_table(bundle, model_id, "inb")


def can_embed(bundle, model_id: str) -> bool:
    """Whether the model's embeddings can be built: stored, or a mean fusion of embeddable models."""
    m = bundle.model(model_id)
    if "embeddings" in m["files"]:
        return True
    spec = m.get("spec") or {}
    if spec.get("combine") == "mean" and spec.get("members") and not spec.get("of") and not spec.get("inb_iters"):
        return all(can_embed(bundle, x) for x in spec["members"])
    return False


def modality(bundle, model_id: str) -> str | None:
    """'image', 'text' or None (a fusion of both, or unknown)."""
    m = bundle.model(model_id)
    if m.get("kind") == "phash":
        return "image"
    if m["family"] in ("image", "text"):
        return m["family"]
    spec = m.get("spec") or {}
    mods = {modality(bundle, x) for x in spec.get("members", []) or []}
    return mods.pop() if len(mods) == 1 else None


def table_models(bundle) -> list[str]:
    """Models with a base neighbour table (usable as a union side or a plane axis)."""
    return [m["id"] for m in bundle.models if "neighbors" in m["files"]]


def fusable_models(bundle) -> list[str]:
    return [m["id"] for m in bundle.models if can_embed(bundle, m["id"])]


def union_sides(bundle, model_id: str) -> list[dict]:
    """Per-side ``{"model", "t", "t2"}`` of a union model (nested unions flattened)."""
    m = bundle.model(model_id)
    sides = m["thresholds"].get("sides")
    if not sides:
        sides = []
        for member in m["spec"]["members"]:
            if is_union(bundle, member):
                sides.extend(union_sides(bundle, member))
            else:
                th = bundle.model(member)["thresholds"]
                sides.append({"model": member, "t": th["t"], "t2": th["t2"]})
    out = []
    for s in sides:
        if is_union(bundle, s["model"]):
            out.extend(union_sides(bundle, s["model"]))
        else:
            out.append({"model": s["model"], "t": s["t"], "t2": s.get("t2")})
    return out


def model_setting(bundle, model_id: str) -> dict:
    """The bundle's tuned setting of a model (thresholds are cosine distances).

    ``kind``: ``table`` (a neighbour table: single model or mean fusion), ``union``
    (``sides``: each member at its own thresholds) or ``inb_only`` (only an INB table,
    e.g. ``<fusion>_inb3``).
    """
    m = bundle.model(model_id)
    th = m["thresholds"]
    spec = m.get("spec") or {}
    out = {"model": model_id, "t": th.get("t"), "t2": th.get("t2"), "inb_t": th.get("inb_t"),
           "inb_t2": th.get("inb_t2"), "inb_iters": int(th.get("inb_iters") or 0),
           "combine": combine_of(bundle, model_id), "members": list(spec.get("members") or []),
           "weights": spec.get("weights"), "has_inb": has_table(bundle, model_id, "inb"),
           "can_embed": can_embed(bundle, model_id)}
    if is_union(bundle, model_id):
        out.update(kind="union", sides=union_sides(bundle, model_id), has_inb=False)
    elif is_inb_only(bundle, model_id):
        out.update(kind="inb_only")
    elif has_table(bundle, model_id):
        out.update(kind="table")
    else:
        raise DecisionError(f"model {model_id!r} has no neighbour table in bundle {bundle.name}")
    return out


def decision(bundle, model_id: str, *, t=None, t2=None, min2: bool = True, inb: int | bool = 0,
             weights=None, blend=None, sides=None) -> Decision:
    """A model's decision, the bundle's tuned thresholds unless overridden.

    ``t``/``t2``: the final thresholds (after INB when ``inb``); ``min2=False`` drops Min2.
    ``inb``: 0/False base table; 1/True the stored INB table (or a live iteration when
    ``weights`` or ``blend`` change the input); 2-3 live iterations from the embeddings,
    blending with ``blend=(t, t2)`` (default the tuned base thresholds).
    ``weights``: re-weight a mean fusion's members (live kNN on fused embeddings).
    ``sides``: for a union, per-side ``(t, t2)`` overrides (None keeps a side as tuned).
    """
    s = model_setting(bundle, model_id)
    iters = int(inb)
    if s["kind"] == "union":
        if iters:
            raise DecisionError("INB applies to a single model or a mean fusion, not to a union")
        out = []
        for i, side in enumerate(s["sides"]):
            st, st2 = side["t"], side["t2"]
            if sides is not None and i < len(sides) and sides[i] is not None:
                st, st2 = sides[i]
            out.append(Side(model_source(side["model"]), float(st), None if (st2 is None or not min2) else float(st2)))
        return Decision(tuple(out), model_id)
    if s["kind"] == "inb_only":
        if weights is not None or blend is not None:
            raise DecisionError(f"{model_id} stores only its INB table; re-weighting needs the base fusion")
        src = model_source(model_id, "inb")
        return Decision((_side(src, t, t2, min2, s["inb_t"], s["inb_t2"]),), model_id)
    base = model_source(model_id)
    if weights is not None:
        if s["combine"] != "mean":
            raise DecisionError(f"{model_id} is not a mean fusion: weights do not apply")
        base = fusion_source(s["members"], weights)
    if iters == 0:
        return Decision((_side(base, t, t2, min2, s["t"], s["t2"]),), model_id)
    bt, bt2 = (s["t"], s["t2"]) if blend is None else blend
    if iters == 1 and base == model_source(model_id) and blend is None and s["has_inb"]:
        src = model_source(model_id, "inb")
    else:
        src = inb_source(base, iters, bt, bt2)
    return Decision((_side(src, t, t2, min2, s["inb_t"], s["inb_t2"]),), model_id)


def _side(src, t, t2, min2, tuned_t, tuned_t2) -> Side:
    t = tuned_t if t is None else t
    if t is None:
        raise DecisionError(f"no tuned threshold for {describe_source(src)}: give one")
    t2 = (tuned_t2 if t2 is None else t2) if min2 else None
    return Side(src, float(t), None if t2 is None else float(t2))


def custom_fusion(bundle, members, weights=None, t=None, t2=None, min2: bool = True, inb: int = 0,
                  blend=None, tune_split: str = "valid") -> Decision:
    """Mean fusion of any embeddable models (live kNN within the split).

    Thresholds left as None are the best on ``tune_split`` (base, then INB when ``inb``);
    INB blends with ``blend=(t, t2)``, by default the tuned base thresholds.
    """
    for m in members:
        if not can_embed(bundle, m):
            raise DecisionError(f"{m} has no embeddings in this bundle (a union or INB-only entry cannot be fused)")
    src = fusion_source(members, weights)
    d = tune(bundle, Decision((Side(src, 0.5, None),), "custom fusion"), tune_split, min2)
    if inb:
        bt, bt2 = blend if blend is not None else (d.sides[0].t, d.sides[0].t2)
        d = tune(bundle, Decision((Side(inb_source(src, inb, bt, bt2), 0.5, None),), "custom fusion"),
                 tune_split, min2)
    if t is not None:
        d = d.with_thresholds(t, t2, min2=min2)
    elif not min2:
        d = d.without_min2()
    return d


def custom_union(bundle, sides) -> Decision:
    """Union of ``sides``: ``[(model_id, t, t2), ...]`` (t None: the model's tuned T and T2)."""
    out = []
    for entry in sides:
        mid, t, t2 = (tuple(entry) + (None, None))[:3]
        s = model_setting(bundle, mid)
        if s["kind"] == "union":
            out.extend(decision(bundle, mid).sides if t is None else
                       [Side(x.source, float(t), t2) for x in decision(bundle, mid).sides])
            continue
        d = decision(bundle, mid)
        tt = d.sides[0].t if t is None else float(t)
        tt2 = d.sides[0].t2 if t is None else (None if t2 is None else float(t2))
        out.append(Side(d.sides[0].source, tt, tt2))
    if len(out) < 2:
        raise DecisionError("a union needs at least two models")
    return Decision(tuple(out), "custom union")


def as_decision(bundle, model, **setting) -> Decision:
    """A :class:`Decision` from a model id (+ :func:`decision` overrides) or a Decision
    (+ ``t``/``t2``/``min2`` for its first side)."""
    if not isinstance(model, Decision):
        return decision(bundle, model, **setting)
    extra = set(setting) - {"t", "t2", "min2"}
    if extra:
        raise DecisionError(f"{', '.join(sorted(extra))} apply to a model id, not to a built decision")
    if setting:
        return model.with_thresholds(setting.get("t"), setting.get("t2"), setting.get("min2", True))
    return model


# --------------------------------------------------------------------------- arrays
def labels(bundle, split: str) -> np.ndarray:
    def make():
        raw = bundle.labels(split)
        if len(raw) == 0:
            raise DecisionError(f"bundle {bundle.name} has no {split} split")
        if pd.isna(raw).any():
            raise DecisionError(f"bundle {bundle.name}: {split} postings lack label_group; scores need labels")
        return _readonly(np.asarray(raw, dtype=np.int64))
    return _cache(bundle).get(("labels", split), make)


def embeddings(bundle, split: str, source) -> Embeddings:
    """Embeddings of a source within a split (a model id is its base source); read-only."""
    if isinstance(source, str):
        source = model_source(source)

    def make():
        e = _make_embeddings(bundle, split, source)
        for b in e.blocks:
            _readonly(b.data if hasattr(b, "tocsr") else b)
        return e
    return _cache(bundle).get(("emb", split, source), make)


def _make_embeddings(bundle, split, source) -> Embeddings:
    kind = source[0]
    if kind == "model":
        mid, variant = source[1], source[2]
        if variant != "base":
            raise DecisionError(f"{mid}: INB embeddings are not stored; use a live INB source")
        raw = bundle.embeddings(mid)
        if raw is not None:
            rows = bundle.split_rows(split)
            block = raw[rows]
            block = block.astype(np.float32) if not hasattr(block, "tocsr") else block.tocsr().astype(np.float32)
            return Embeddings.from_array(block, name=mid)
        if not can_embed(bundle, mid):
            raise DecisionError(f"{mid} has no embeddings in this bundle (only its neighbour tables)")
        spec = bundle.model(mid)["spec"]
        return fuse([embeddings(bundle, split, m) for m in spec["members"]], spec.get("weights"))
    if kind == "fusion":
        members = [m for m, _ in source[1]]
        return fuse([embeddings(bundle, split, m) for m in members], [w for _, w in source[1]])
    if kind == "inb":
        return _inb(bundle, split, source)[0]
    raise DecisionError(f"unknown source {source!r}")


def _inb(bundle, split, source):
    def make():
        _, base, iters, t, t2 = source
        return inb_mod.iterate(embeddings(bundle, split, base), neighbors(bundle, split, base), t, t2, iters,
                               bundle.k)
    return _cache(bundle).get(("inb", split, source), make)


def neighbors(bundle, split: str, source) -> Neighbors:
    """The neighbour table of a source within a split (stored or computed, cached)."""
    if isinstance(source, str):
        source = model_source(source)
    source = canonical(bundle, source)
    kind = source[0]
    if kind == "model":
        try:
            return bundle.neighbors(source[1], split, source[2])
        except BundleError as exc:
            raise DecisionError(str(exc)) from None
    if kind == "fusion":
        return _cache(bundle).get(("nb", split, source), lambda: knn(embeddings(bundle, split, source), bundle.k))
    if kind == "inb":
        return _inb(bundle, split, source)[1]
    raise DecisionError(f"unknown source {source!r}")


def canonical(bundle, source: tuple) -> tuple:
    """A stored table wherever one equals the source (equal-weight fusions, tuned 1-step INB)."""
    if source[0] == "fusion":
        members = {m for m, _ in source[1]}
        ws = [w for _, w in source[1]]
        if max(ws) - min(ws) < 1e-6:
            for m in bundle.models:
                spec = m.get("spec") or {}
                if (spec.get("combine") == "mean" and set(spec.get("members") or []) == members
                        and not spec.get("weights") and "neighbors" in m["files"]
                        and len(spec["members"]) == len(members)):
                    return model_source(m["id"])
    if source[0] == "inb":
        _, base, iters, t, t2 = source
        base = canonical(bundle, base)
        if base[0] == "model" and base[2] == "base" and iters == 1 and has_table(bundle, base[1], "inb"):
            th = bundle.model(base[1])["thresholds"]
            if (int(th.get("inb_iters") or 0) == 1 and th.get("t") is not None and abs(th["t"] - t) < 1e-6
                    and ((th.get("t2") is None and t2 is None)
                         or (th.get("t2") is not None and t2 is not None and abs(th["t2"] - t2) < 1e-6))):
                return model_source(base[1], "inb")
        return ("inb", base, iters, t, t2)
    return source


def scorer(bundle, split: str, source) -> Scorer:
    source = canonical(bundle, source)
    return _cache(bundle).get(("scorer", split, source),
                              lambda: Scorer(neighbors(bundle, split, source), labels(bundle, split)))


def pair_table(bundle, split: str, sources) -> "PairTable":
    sources = tuple(canonical(bundle, s) for s in sources)
    return _cache(bundle).get(("pairs", split, sources), lambda: PairTable(
        [neighbors(bundle, split, s) for s in sources], labels(bundle, split), sources))


# --------------------------------------------------------------------------- merged tables
class PairTable:
    """Several candidate tables of one pool merged per row (each candidate once).

    ``idx`` (N, W) candidate indices (-1 padding), ``dist`` (S, N, W) each table's
    distance to the candidate (inf where that table does not hold it), ``nn`` (S, N, W)
    where the candidate is the table's best non-self one, ``same`` (N, W) same label.
    """

    def __init__(self, tables: list[Neighbors], labels_: np.ndarray, sources=None):
        if not tables:
            raise DecisionError("no tables to merge")
        n = tables[0].n
        if any(t.n != n for t in tables):
            raise DecisionError("tables of different pools")
        self.sources = tuple(sources) if sources is not None else tuple(range(len(tables)))
        cat = np.concatenate([t.idx for t in tables], axis=1)
        src = np.concatenate([np.full(t.k, s, dtype=np.int16) for s, t in enumerate(tables)])
        col = np.concatenate([np.arange(t.k, dtype=np.int16) for t in tables])
        order = np.argsort(cat, axis=1, kind="stable")
        sidx = np.take_along_axis(cat, order, axis=1)
        first = np.ones(sidx.shape, dtype=bool)
        first[:, 1:] = sidx[:, 1:] != sidx[:, :-1]
        slot = np.cumsum(first, axis=1) - 1
        w = int(slot[:, -1].max()) + 1 if n else 0
        rows = np.broadcast_to(np.arange(n)[:, None], sidx.shape)
        self.idx = np.full((n, w), -1, dtype=np.int32)
        self.idx[rows[first], slot[first]] = sidx[first]
        self.dist = np.full((len(tables), n, w), np.inf, dtype=np.float32)
        self.nn = np.zeros((len(tables), n, w), dtype=bool)
        osrc, ocol = src[order], col[order]
        for s, t in enumerate(tables):
            r, c = np.nonzero(osrc == s)
            oc = ocol[r, c].astype(np.int64)
            self.dist[s, r, slot[r, c]] = t.dist[r, oc]
            self.nn[s, r, slot[r, c]] = t.nn_pos[r] == oc
        self.n, self.w = n, w
        self.labels = np.asarray(labels_)
        self.valid = self.idx >= 0
        self.is_self = self.idx == np.arange(n, dtype=np.int32)[:, None]
        self.same = self.valid & (self.labels[np.maximum(self.idx, 0)] == self.labels[:, None])
        self.n_true = group_sizes(self.labels)
        _readonly(self.idx, self.dist, self.nn, self.valid, self.is_self, self.same)

    def side_of(self, source) -> int:
        return self.sources.index(source)

    def side_mask(self, s: int, t: float, t2: float | None) -> np.ndarray:
        d = self.dist[s]
        m = d < np.float32(t)
        if t2 is not None:
            m |= self.nn[s] & (d < np.float32(t2))
        return m

    def mask(self, sides) -> np.ndarray:
        """Predicted candidates for ``sides`` = [(side index, t, t2), ...] (self always)."""
        pred = self.is_self.copy()
        for s, t, t2 in sides:
            pred |= self.side_mask(s, t, t2)
        return pred

    def rows(self, sides) -> dict[str, np.ndarray]:
        pred = self.mask(sides)
        tp = (pred & self.same).sum(axis=1)
        n_pred = pred.sum(axis=1)
        out = counts_to_scores(tp, n_pred, self.n_true)
        out.update(tp=tp, n_pred=n_pred, n_true=self.n_true)
        return out

    def predictions(self, sides) -> np.ndarray:
        pred = self.mask(sides)
        out = np.where(pred, self.idx, np.int32(-1))
        out = -np.sort(-out, axis=1)
        width = max(int(pred.sum(axis=1).max(initial=1)), 1)
        return np.ascontiguousarray(out[:, :width])

    def sweep(self, sides, which: int, ts) -> dict[str, np.ndarray]:
        """Mean scores while side ``which``'s T runs over ``ts``, the other sides fixed."""
        ts = np.asarray(ts, dtype=np.float32)
        order = np.argsort(ts, kind="stable")
        sorted_ts = ts[order]
        g = len(ts)
        fixed = self.is_self.copy()
        for s, t, t2 in sides:
            if s != which:
                fixed |= self.side_mask(s, t, t2)
        t2w = next((t2 for s, _, t2 in sides if s == which), None)
        d = self.dist[which]
        if t2w is not None:
            fixed |= self.nn[which] & (d < np.float32(t2w))
        live = ~fixed & np.isfinite(d)
        base_pred = fixed.sum(axis=1)
        base_tp = (fixed & self.same).sum(axis=1)
        r, c = np.nonzero(live)
        bins = np.searchsorted(sorted_ts, d[r, c], side="right")
        flat = r.astype(np.int64) * (g + 1) + bins
        size = self.n * (g + 1)
        hist = np.bincount(flat, minlength=size).reshape(self.n, g + 1)
        hist_tp = np.bincount(flat, weights=self.same[r, c], minlength=size).reshape(self.n, g + 1)
        n_pred = base_pred[:, None] + np.cumsum(hist, axis=1)[:, :g]
        tp = base_tp[:, None] + np.cumsum(hist_tp, axis=1)[:, :g]
        sc = counts_to_scores(tp, n_pred, self.n_true[:, None])
        inverse = np.argsort(order, kind="stable")
        return {k: v.mean(axis=0)[inverse] for k, v in sc.items()}


# --------------------------------------------------------------------------- scoring
def _union_table(bundle, split, d: Decision) -> tuple[PairTable, list]:
    srcs = tuple(canonical(bundle, s.source) for s in d.sides)
    uniq = tuple(dict.fromkeys(srcs))
    table = pair_table(bundle, split, uniq)
    return table, [(uniq.index(src), s.t, s.t2) for src, s in zip(srcs, d.sides)]


def predictions(bundle, model, split: str, t=None, t2=None, inb=False, weights=None, **setting) -> np.ndarray:
    """Padded predicted sets (split-local indices, -1 padding) of a model or a :class:`Decision`."""
    d = as_decision(bundle, model, **_setting(t, t2, inb, weights, setting))
    if not d.is_union:
        s = d.sides[0]
        return predict(neighbors(bundle, split, s.source), s.t, s.t2)
    table, sides = _union_table(bundle, split, d)
    return table.predictions(sides)


def _setting(t, t2, inb, weights, extra) -> dict:
    out = dict(extra)
    if t is not None:
        out["t"] = t
    if t2 is not None:
        out["t2"] = t2
    if inb:
        out["inb"] = inb
    if weights is not None:
        out["weights"] = weights
    return out


def row_arrays(bundle, model, split: str, **setting) -> dict[str, np.ndarray]:
    """Per-row ``f1``, ``precision``, ``recall``, ``tp``, ``n_pred``, ``n_true``."""
    d = as_decision(bundle, model, **setting)
    if not d.is_union:
        s = d.sides[0]
        return scorer(bundle, split, s.source).rows(s.t, s.t2)
    table, sides = _union_table(bundle, split, d)
    return table.rows(sides)


def scores(bundle, model, split: str, rows: bool = False, **setting) -> dict:
    """Mean ``f1`` (primary), ``precision``, ``recall`` and ``n`` (+ ``rows`` per-row arrays)."""
    r = row_arrays(bundle, model, split, **setting)
    out = summarise(r)
    if rows:
        out["rows"] = r
    return out


def curves(bundle, model, split: str, side: int = 0, ts=None, min2: bool = True, **setting) -> pd.DataFrame:
    """F1/P/R while one side's T runs over ``ts`` (others fixed; Min2 at the side's fixed T2).

    The sweep without that side's Min2 is cached independently of its T and T2; Min2 is
    added analytically (at threshold T it gives each lonely row — best candidate at
    distance >= T — that candidate when it is within T2), so neither a T nor a T2 move
    re-sweeps the table.
    """
    d = as_decision(bundle, model, **setting)
    if not min2:
        d = d.without_min2()
    ts = SWEEP if ts is None else np.asarray(ts, dtype=np.float64)
    plain = d.with_side(side, t=0.0, t2=None)
    key = ("curve", split, plain, side, tuple(np.round(ts, 6).tolist()))

    def make():
        if not d.is_union:
            c = scorer(bundle, split, plain.sides[0].source).sweep(ts, None)
        else:
            table, sides = _union_table(bundle, split, plain)
            c = table.sweep(sides, sides[side][0], ts)
        return {k: c[k] for k in ("f1", "precision", "recall")}
    out = {k: v.copy() for k, v in _cache(bundle).get(key, make).items()}
    t2 = d.sides[side].t2
    if t2 is not None:
        rows, d_nn, old, new, n_all = _min2_candidates(bundle, split, d, side)
        keep = d_nn < np.float32(t2)
        d_nn = d_nn[keep]
        order = np.argsort(d_nn, kind="stable")
        # Min2 acts at threshold T for rows whose best candidate is at distance >= T
        first = np.searchsorted(d_nn[order], np.asarray(ts, dtype=np.float32), side="left")
        for k in out:
            gain = (new[k] - old[k])[keep][order]
            suffix = np.concatenate([np.cumsum(gain[::-1])[::-1], [0.0]])
            out[k] = out[k] + suffix[first] / n_all
    return pd.DataFrame({"t": ts, **out})


def _min2_candidates(bundle, split, d: Decision, side: int):
    """Rows that Min2 on ``side`` could change while that side is lonely: their best candidate's
    distance, and their scores without / with it (the other sides at their thresholds)."""
    if not d.is_union:
        nb = neighbors(bundle, split, d.sides[0].source)
        lab = labels(bundle, split)
        rows = np.flatnonzero(nb.nn_pos >= 0)
        same = lab[nb.idx[rows, nb.nn_pos[rows]]] == lab[rows]
        n_true = scorer(bundle, split, d.sides[0].source).n_true[rows]
        one = np.ones(len(rows))
        return (rows, nb.nn_dist[rows], counts_to_scores(one, one, n_true),
                counts_to_scores(one + same, one + 1, n_true), nb.n)
    table, sides = _union_table(bundle, split, d)
    s_idx = sides[side][0]
    fixed = table.mask([x for i, x in enumerate(sides) if i != side])
    has = table.nn[s_idx].any(axis=1)
    slot = table.nn[s_idx].argmax(axis=1)
    n = np.arange(table.n)
    rows = np.flatnonzero(has & ~fixed[n, slot])
    tp = (fixed & table.same).sum(axis=1)[rows]
    n_pred = fixed.sum(axis=1)[rows]
    same = table.same[rows, slot[rows]]
    n_true = table.n_true[rows]
    return (rows, table.dist[s_idx][rows, slot[rows]], counts_to_scores(tp, n_pred, n_true),
            counts_to_scores(tp + same, n_pred + 1, n_true), table.n)


def min2_curve(bundle, model, split: str, side: int = 0, t2s=None, **setting) -> pd.DataFrame:
    """F1/P/R while one side's Min2 T2 runs over ``t2s`` at its fixed T (others fixed).

    At fixed T, Min2 only touches rows whose set is lonely: each such row gains its best
    candidate once T2 passes that candidate's distance, so the whole curve is one sort
    and a cumulative sum over those rows.
    """
    d = as_decision(bundle, model, **setting)
    t = d.sides[side].t
    t2s = np.round(np.arange(t, min(1.0, t + 0.5) + 1e-9, 0.01), 6) if t2s is None else np.asarray(t2s, float)
    base = d.with_side(side, t2=None)
    r = row_arrays(bundle, base, split)
    if not d.is_union:
        nb = neighbors(bundle, split, d.sides[0].source)
        lab = labels(bundle, split)
        ok = (r["n_pred"] == 1) & (nb.nn_pos >= 0)
        rows = np.flatnonzero(ok)
        d_nn = nb.nn_dist[rows]
        same = lab[nb.idx[rows, nb.nn_pos[rows]]] == lab[rows]
    else:
        table, sides = _union_table(bundle, split, d)
        s_idx = sides[side][0]
        pred = table.mask([(x, tt, None if i == side else tt2) for i, (x, tt, tt2) in enumerate(sides)])
        dist = table.dist[s_idx]
        lonely = ~((dist < np.float32(t)) & ~table.is_self).any(axis=1)
        has = table.nn[s_idx].any(axis=1)
        slot = table.nn[s_idx].argmax(axis=1)
        n = np.arange(table.n)
        ok = lonely & has & ~pred[n, slot]
        rows = np.flatnonzero(ok)
        d_nn = dist[rows, slot[rows]]
        same = table.same[rows, slot[rows]]
    n_all = len(r["f1"])
    old = counts_to_scores(r["tp"][rows], r["n_pred"][rows], r["n_true"][rows])
    new = counts_to_scores(r["tp"][rows] + same, r["n_pred"][rows] + 1, r["n_true"][rows])
    order = np.argsort(d_nn, kind="stable")
    count = np.searchsorted(d_nn[order], np.asarray(t2s, dtype=np.float32), side="left")  # rows with d < T2
    out = {"t2": t2s}
    for k in ("f1", "precision", "recall"):
        gain = np.concatenate([[0.0], np.cumsum((new[k] - old[k])[order])])
        out[k] = (r[k].sum() + gain[count]) / n_all
    return pd.DataFrame(out)


def tune(bundle, model, split: str = "valid", min2: bool = True, step: float = DEFAULT_STEP) -> Decision:
    """Best T (then T2) per side on ``split`` (each union side tuned on its own, as the seed). Cached."""
    d = as_decision(bundle, model)

    def make():
        sides = []
        for s in d.sides:
            t, t2 = search_pair(scorer(bundle, split, s.source), min2, step)
            sides.append(replace(s, t=float(t), t2=None if t2 is None else float(t2)))
        return replace(d, sides=tuple(sides))
    key = ("tune", split, tuple(s.source for s in d.sides), min2, step)
    return replace(_cache(bundle).get(key, make), name=d.name)


def group_size_histogram(bundle, model, split: str, **setting) -> pd.DataFrame:
    """Per size: how many postings have a predicted set / a true group of that size."""
    r = row_arrays(bundle, model, split, **setting)
    top = int(max(r["n_pred"].max(initial=1), r["n_true"].max(initial=1)))
    sizes = np.arange(1, top + 1)
    return pd.DataFrame({"size": sizes,
                         "predicted": np.bincount(r["n_pred"], minlength=top + 1)[1:],
                         "true": np.bincount(r["n_true"], minlength=top + 1)[1:]})


def submission(bundle, model, split: str, **setting) -> pd.DataFrame:
    """Kaggle ``posting_id,matches`` for the split's postings under the decision."""
    pred = predictions(bundle, model, split, **setting)
    ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)]
    return predictions_frame(ids, pred)


def delta(current: dict, reference: dict) -> dict:
    return {k: current[k] - reference[k] for k in ("f1", "precision", "recall")}


# --------------------------------------------------------------------------- decision plane
def default_plane_models(bundle, model) -> tuple[str | None, str | None]:
    """An (image model, text model) pair for the plane: the decision's own members when
    it joins an image and a text model, else the first image and text tables."""
    if isinstance(model, Decision):
        roots = []
        for side in model.sides:
            src = side.source
            while src[0] == "inb":
                src = src[1]
            roots += [m for m, _ in src[1]] if src[0] == "fusion" else [src[1]]
    else:
        s = model_setting(bundle, model)
        roots = [x["model"] for x in s.get("sides", [])] or [model]
    tables = table_models(bundle)

    def expand(mid, seen=()):
        if mid in seen:
            return []
        spec = bundle.model(mid).get("spec") or {}
        if spec.get("of"):
            return expand(spec["of"], seen + (mid,))
        out = [mid] if mid in tables else []
        for m in spec.get("members") or []:
            out += expand(m, seen + (mid,))
        return out

    ids = [m for r in roots for m in expand(r)]
    img = next((m for m in ids if modality(bundle, m) == "image"), None)
    txt = next((m for m in ids if modality(bundle, m) == "text"), None)
    if img is None:
        img = next((m for m in tables if modality(bundle, m) == "image"), None)
    if txt is None:
        txt = next((m for m in tables if modality(bundle, m) == "text"), None)
    return img, txt


def boundary(bundle, model, image_model: str, text_model: str) -> dict:
    """The decision's boundary in the (image sim, text sim) plane, where it is one.

    ``{"kind": "line", "w": w_img, "c": 1 - T}`` for a mean fusion of the two
    (w·s_img + (1-w)·s_txt = 1 - T); ``{"kind": "axes", "image": 1 - T_img,
    "text": 1 - T_txt}`` (either may be None) for a union or a single model; else
    ``{"kind": None}``. Min2 is not drawn (it adds one neighbour to lonely rows).
    """
    d = as_decision(bundle, model)
    axes = {"image": None, "text": None}
    if len(d.sides) == 1:
        s = d.sides[0]
        src = canonical(bundle, s.source)
        w = _fusion_weights(bundle, src)
        if w is not None and set(w) == {image_model, text_model}:
            return {"kind": "line", "w": w[image_model], "c": 1.0 - s.t}
    for s in d.sides:
        src = canonical(bundle, s.source)
        if src == model_source(image_model):
            axes["image"] = 1.0 - s.t
        elif src == model_source(text_model):
            axes["text"] = 1.0 - s.t
        else:
            return {"kind": None}
    return {"kind": "axes", **axes}


def _fusion_weights(bundle, src) -> dict | None:
    if src[0] == "fusion":
        return dict(src[1])
    if src[0] == "model" and src[2] == "base" and combine_of(bundle, src[1]) == "mean":
        spec = bundle.model(src[1])["spec"]
        w = np.ones(len(spec["members"])) if not spec.get("weights") else np.asarray(spec["weights"], float)
        return dict(zip(spec["members"], (w / w.sum()).tolist()))
    return None


def _plane_positions(bundle, split, table: PairTable, image_model, text_model):
    """(s_img, s_txt) for every slot of the merged table; missing ones from embeddings."""
    def make():
        out = []
        for m in (image_model, text_model):
            s = table.side_of(model_source(m))
            sim = np.where(np.isfinite(table.dist[s]), np.float32(1.0) - table.dist[s], np.nan).astype(np.float32)
            missing = np.isnan(sim) & table.valid
            if missing.any() and can_embed(bundle, m):
                r, c = np.nonzero(missing)
                sim[r, c] = embeddings(bundle, split, m).pair_similarity(r, table.idx[r, c])
            out.append(_readonly(sim))
        return tuple(out)
    return _cache(bundle).get(("plane_pos", split, table.sources, image_model, text_model), make)


def _outside_pairs(bundle, split, table: PairTable, image_model, text_model):
    """True pairs (i, j), i != j, that no table of the merged set holds, with their sims."""
    def make():
        lab = table.labels
        order = np.argsort(lab, kind="stable")
        _, start, count = np.unique(lab[order], return_index=True, return_counts=True)
        ii, jj = [], []
        for st, c in zip(start, count):
            if c < 2:
                continue
            g = order[st:st + c]
            a, b = np.meshgrid(g, g, indexing="ij")
            keep = a != b
            ii.append(a[keep])
            jj.append(b[keep])
        if not ii:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0, np.float32), np.zeros(0, np.float32)
        i, j = np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64)
        held = (np.repeat(np.arange(table.n, dtype=np.int64), table.w) * table.n
                + table.idx.ravel().astype(np.int64))[table.valid.ravel()]
        out = ~np.isin(i * table.n + j, held)
        i, j = i[out], j[out]
        sims = []
        for m in (image_model, text_model):
            sims.append(embeddings(bundle, split, m).pair_similarity(i, j) if can_embed(bundle, m) and len(i)
                        else np.full(len(i), np.nan, np.float32))
        return i, j, sims[0], sims[1]
    return _cache(bundle).get(("plane_out", split, table.sources, image_model, text_model), make)


def plane(bundle, model, split: str, image_model: str, text_model: str, max_points: int = 20000,
          seed: int = 0, **setting) -> tuple[pd.DataFrame, dict]:
    """Candidate pairs in the (image similarity, text similarity) plane, labelled at the setting.

    Pairs: every directed (i → j), j ≠ i, in the union of the decision's tables and the two
    models' tables within the split; each labelled TP/FP/FN/TN by whether the decision
    predicts j for i and whether they share a label. True pairs in none of these tables
    are FN too (``in_tables`` False; plotted when both models have embeddings). At most
    ``max_points`` are returned, sampled per outcome so that rare FP/FN stay visible;
    ``info`` has the full counts.
    """
    d = as_decision(bundle, model, **setting)
    if image_model == text_model:
        raise DecisionError("choose two different models for the two axes")
    srcs = [canonical(bundle, s.source) for s in d.sides]
    axes = [model_source(image_model), model_source(text_model)]
    sources = tuple(dict.fromkeys(srcs + axes))
    table = pair_table(bundle, split, sources)
    pred = table.mask([(sources.index(src), s.t, s.t2) for src, s in zip(srcs, d.sides)])
    s_img, s_txt = _plane_positions(bundle, split, table, image_model, text_model)
    # outcome per slot: 0 TP, 1 FP, 2 FN, 3 TN; -1 self or padding
    outcome = np.where(table.valid & ~table.is_self,
                       (~pred).astype(np.int8) * 2 + (~table.same).astype(np.int8), np.int8(-1)).ravel()
    oi, oj, oimg, otxt = _outside_pairs(bundle, split, table, image_model, text_model)
    # strata: the four outcomes inside the tables, then FN outside them
    members = [np.flatnonzero(outcome == k) for k in range(4)] + [np.arange(len(oi))]
    sizes = np.array([len(m) for m in members])
    counts = {name: int(sizes[k]) for k, name in enumerate(OUTCOMES)}
    counts["FN outside tables"] = int(sizes[4])
    quota = _quotas(sizes, max_points)
    rng = np.random.default_rng(seed)
    picked = [m if q >= len(m) else np.sort(rng.choice(m, q, replace=False)) for m, q in zip(members, quota)]
    flat = np.concatenate(picked[:4])
    r, c = flat // table.w, flat % table.w
    out = picked[4]
    cls = np.concatenate([outcome[flat], np.full(len(out), 2, np.int8)])
    fi = np.concatenate([r, oi[out]]).astype(np.int64)
    fj = np.concatenate([table.idx[r, c], oj[out]]).astype(np.int64)
    ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)]
    frame = pd.DataFrame({
        "i": fi, "j": fj, "posting_i": ids[fi], "posting_j": ids[fj],
        "s_image": np.concatenate([s_img.ravel()[flat], oimg[out]]),
        "s_text": np.concatenate([s_txt.ravel()[flat], otxt[out]]),
        "outcome": np.asarray(OUTCOMES)[cls],
        "in_tables": np.concatenate([np.ones(len(flat), bool), np.zeros(len(out), bool)]),
    })
    total = int(sizes.sum())
    info = {"counts": counts, "n_pairs": total, "shown": len(frame), "sampled": len(frame) < total,
            "missing_positions": int(frame[["s_image", "s_text"]].isna().any(axis=1).sum()),
            "boundary": boundary(bundle, d, image_model, text_model), "image_model": image_model,
            "text_model": text_model, "decision": d.describe()}
    return frame, info


def _quotas(sizes: np.ndarray, max_points: int) -> list[int]:
    """Per-stratum sample sizes: small strata whole, the rest of the budget shared evenly."""
    sizes = np.asarray(sizes)
    if sizes.sum() <= max_points:
        return sizes.tolist()
    quota = [0] * len(sizes)
    budget, left = max_points, len(sizes)
    for k in np.argsort(sizes, kind="stable"):
        quota[k] = int(min(sizes[k], budget // left))
        budget -= quota[k]
        left -= 1
    return quota


def stratified_sample(classes: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_points`` items: small classes whole, the budget shared evenly."""
    classes = np.asarray(classes)
    if len(classes) <= max_points:
        return np.arange(len(classes))
    values = np.unique(classes)
    members = [np.flatnonzero(classes == v) for v in values]
    quota = _quotas(np.array([len(m) for m in members]), max_points)
    rng = np.random.default_rng(seed)
    keep = [m if q >= len(m) else rng.choice(m, q, replace=False) for m, q in zip(members, quota)]
    return np.sort(np.concatenate(keep))


def select_pairs(frame: pd.DataFrame, selection) -> pd.DataFrame:
    """Rows of a plane frame picked by a plotly selection whose points carry ``customdata``
    ``[i, j, ...]`` (the pair itself, so a selection survives a re-sampled frame)."""
    points = selection.get("points", []) if isinstance(selection, dict) else []
    pairs = set()
    for p in points:
        cd = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(cd, (list, tuple)) and len(cd) >= 2:
            try:
                pairs.add((int(cd[0]), int(cd[1])))
            except (TypeError, ValueError):
                continue
    if not pairs or frame.empty:
        return frame.iloc[0:0]
    keep = [(int(a), int(b)) in pairs for a, b in zip(frame["i"], frame["j"])]
    return frame[np.asarray(keep, dtype=bool)]


def usable_models(bundle) -> list[str]:
    """Ids of the bundle's models that a decision can be built for (in manifest order)."""
    out = []
    for m in bundle.models:
        try:
            model_setting(bundle, m["id"])
            out.append(m["id"])
        except ShopeeError:
            pass
    return out

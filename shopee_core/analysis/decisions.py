"""A bundle's models as decisions: the dashboard's side of the one decision layer.

The layer itself (:class:`~shopee_core.matching.Decision`, sources, :class:`Pool`,
scoring, tuning, curves) lives in :mod:`shopee_core.matching`. Here a bundle becomes
one :class:`BundlePool` per split (its stored tables and embeddings, read lazily), and
a manifest entry becomes a :class:`Decision` at its tuned thresholds, with the
overrides a page offers (T, T2, Min2, INB iterations, fusion weights, union sides).
Every function takes a model id or a built Decision and works in split-local indices.
"""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd

from .. import matching as M
from ..errors import DecisionError, ShopeeError
from ..matching import Decision, Embeddings, Pool, Side, fusion_source, inb_source, model_source
from ..submission import predictions_frame

OUTCOMES = ("TP", "FP", "FN", "TN")
MAX_INB_ITERS = 3
_POOLS_LOCK = threading.Lock()


# --------------------------------------------------------------------------- the manifest
def _files(bundle, model_id) -> dict:
    return bundle.model(model_id)["files"]


def _spec(bundle, model_id) -> dict:
    return bundle.model(model_id).get("spec") or {}


def has_table(bundle, model_id: str, variant: str = "base") -> bool:
    return ("neighbors" if variant == "base" else f"neighbors_{variant}") in _files(bundle, model_id)


def combine_of(bundle, model_id: str) -> str | None:
    spec = _spec(bundle, model_id)
    return spec.get("combine") if spec.get("members") else None


def is_union(bundle, model_id: str) -> bool:
    return combine_of(bundle, model_id) == "union"


def is_inb_only(bundle, model_id: str) -> bool:
    return not has_table(bundle, model_id) and has_table(bundle, model_id, "inb")


def is_predictions_only(bundle, model_id: str) -> bool:
    """An imported model known only by its predicted sets: fixed, nothing to threshold, blend or map."""
    return bool(bundle.model(model_id).get("predictions_only"))


def _fusion_of(bundle, model_id: str) -> tuple | None:
    """(members, weights) when the model is a plain mean fusion of other models."""
    spec = _spec(bundle, model_id)
    if spec.get("combine") == "mean" and spec.get("members") and not spec.get("of") and not spec.get("inb_iters"):
        return list(spec["members"]), spec.get("weights")
    return None


def can_embed(bundle, model_id: str) -> bool:
    """Whether the model's embeddings can be built: stored, or a mean fusion of embeddable models."""
    if "embeddings" in _files(bundle, model_id):
        return True
    fusion = _fusion_of(bundle, model_id)
    return fusion is not None and all(can_embed(bundle, x) for x in fusion[0])


def inb_vectors(bundle, model_id: str) -> str:
    """Which vectors the model's INB blends (its spec; unit rows unless the recipe says raw)."""
    return _spec(bundle, model_id).get("inb_vectors", "normalised")


def modality(bundle, model_id: str) -> str | None:
    """'image', 'text' or None (a fusion of both, or unknown)."""
    m = bundle.model(model_id)
    if m.get("kind") == "phash":
        return "image"
    if m["family"] in ("image", "text"):
        return m["family"]
    mods = {modality(bundle, x) for x in _spec(bundle, model_id).get("members", []) or []}
    return mods.pop() if len(mods) == 1 else None


def table_models(bundle) -> list[str]:
    """Models with a base neighbour table (usable as a union side or a plane axis)."""
    return [m["id"] for m in bundle.models if "neighbors" in m["files"]]


def fusable_models(bundle) -> list[str]:
    return [m["id"] for m in bundle.models if can_embed(bundle, m["id"])]


def union_sides(bundle, model_id: str, inb: bool = False) -> list[dict]:
    """Per-side ``{"model", "t", "t2"}`` of a union model (nested unions flattened); ``inb``: each
    side's INB table thresholds (``inb_sides``, a union whose sides were blended one by one)."""
    m = bundle.model(model_id)
    if inb:
        return [{"model": s["model"], "t": s["t"], "t2": s.get("t2")} for s in m["thresholds"].get("inb_sides") or []]
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
    (``sides``: each member at its own thresholds; ``inb_sides``: each member's INB table at its
    re-searched thresholds, when the union has INB) or ``inb_only`` (only an INB table,
    e.g. ``<fusion>_inb3``). ``fixed``: an imported predictions-only table, whose sets no
    threshold changes (any T in (0, 1] gives them).
    """
    m = bundle.model(model_id)
    th = m["thresholds"]
    spec = m.get("spec") or {}
    out = {"model": model_id, "t": th.get("t"), "t2": th.get("t2"), "inb_t": th.get("inb_t"),
           "inb_t2": th.get("inb_t2"), "inb_iters": int(th.get("inb_iters") or 0),
           "combine": combine_of(bundle, model_id), "members": list(spec.get("members") or []),
           "weights": spec.get("weights"), "has_inb": has_table(bundle, model_id, "inb"),
           "can_embed": can_embed(bundle, model_id), "inb_vectors": inb_vectors(bundle, model_id),
           "fixed": is_predictions_only(bundle, model_id)}
    if is_union(bundle, model_id):
        inb_sides = union_sides(bundle, model_id, inb=True)
        out.update(kind="union", sides=union_sides(bundle, model_id), inb_sides=inb_sides, has_inb=bool(inb_sides))
    elif is_inb_only(bundle, model_id):
        out.update(kind="inb_only")
    elif has_table(bundle, model_id):
        out.update(kind="table")
    else:
        raise DecisionError(f"model {model_id!r} has no neighbour table in bundle {bundle.name}")
    return out


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


# --------------------------------------------------------------------------- the bundle as pools
def canonical(bundle, source: tuple) -> tuple:
    """A stored table wherever one equals the source (equal-weight fusions, tuned 1-step INB)."""
    if source[0] == "fusion":
        members = [m for m, _ in source[1]]
        ws = [w for _, w in source[1]]
        if max(ws) - min(ws) < 1e-6:
            for m in bundle.models:
                spec = m.get("spec") or {}
                if (spec.get("combine") == "mean" and sorted(spec.get("members") or []) == sorted(members)
                        and not spec.get("weights") and "neighbors" in m["files"]):
                    return model_source(m["id"])
    if source[0] == "inb":
        _, base, iters, t, t2, vectors = source
        base = canonical(bundle, base)
        if base[0] == "model" and base[2] == "base" and iters == 1 and has_table(bundle, base[1], "inb"):
            th = bundle.model(base[1])["thresholds"]
            same_t2 = (th.get("t2") is None and t2 is None) or (
                th.get("t2") is not None and t2 is not None and abs(th["t2"] - t2) < 1e-6)
            if (int(th.get("inb_iters") or 0) == 1 and th.get("t") is not None and abs(th["t"] - t) < 1e-6
                    and same_t2 and th.get("inb_vectors", "normalised") == vectors):
                return model_source(base[1], "inb")
        return ("inb", base, iters, t, t2, vectors)
    return source


def _whole(stored, rows) -> bool:
    """Whether a pool is every stored row, in order, of a float32 dense set (no copy needed)."""
    return (isinstance(stored, np.ndarray) and stored.dtype == np.float32 and stored.ndim == 2
            and len(rows) == stored.shape[0] and bool(rows[0] == 0 and rows[-1] == len(rows) - 1))


def _mapped(stored: np.ndarray, mid: str, norms) -> Embeddings:
    """A bundle's float32 unit rows as they lie in the file (read-only, memory-mapped, shared by every
    session and backed by the page cache): validated, not copied."""
    return Embeddings.from_unit_rows(stored, name=mid, norms=norms)


class BundlePool(Pool):
    """One split of a bundle: its stored tables and embeddings, loaded on first use."""

    def __init__(self, bundle, split: str, shared_cache=None):
        raw = bundle.labels(split)
        if len(raw) == 0:
            raise DecisionError(f"bundle {bundle.name} has no {split} split")
        labels = None if pd.isna(raw).any() else np.asarray(raw, dtype=np.int64)
        tables, emb, fusions = {}, {}, {}
        for m in bundle.models:
            mid, files = m["id"], m["files"]
            for variant in ("base", "inb"):
                if ("neighbors" if variant == "base" else "neighbors_inb") in files:
                    tables[(mid, variant)] = self._table_loader(bundle, mid, split, variant)
            if "embeddings" in files:
                emb[mid] = self._embedding_loader(bundle, mid, split)
            elif _fusion_of(bundle, mid) is not None:
                fusions[mid] = _fusion_of(bundle, mid)
        super().__init__(labels, k=bundle.k, embeddings=emb, tables=tables, fusions=fusions,
                         name=f"{bundle.name}/{split}", n=len(raw), shared_cache=shared_cache)
        self.bundle, self.split = bundle, split

    @staticmethod
    def _table_loader(bundle, mid, split, variant):
        def load():
            try:
                return bundle.neighbors(mid, split, variant)
            except ShopeeError as exc:
                raise DecisionError(str(exc)) from None
        return load

    @staticmethod
    def _embedding_loader(bundle, mid, split):
        def load():
            rows = bundle.split_rows(split)
            stored = bundle.embeddings(mid)
            norms = bundle.norms(mid) if hasattr(bundle, "norms") else None
            if _whole(stored, rows):  # the `all` pool of a float32 bundle: the memory-mapped rows themselves
                return _mapped(stored, mid, norms)
            block = stored[rows]
            block = block.tocsr().astype(np.float32) if hasattr(block, "tocsr") else block.astype(np.float32)
            return Embeddings.from_array(block, name=mid, norms=None if norms is None else norms[rows])
        return load

    def canonical(self, source: tuple) -> tuple:
        return canonical(self.bundle, super().canonical(source))


# what one bundle's pools (valid, test, all) hold together: tables, scorers, embeddings, fused sets. The
# server shares them across every session; a bound per pool would let three pools of a 70,000-posting
# bundle hold three times this
BUNDLE_CACHE_BYTES = 512 * 2**20


def pool(bundle, split: str) -> BundlePool:
    """The split's pool, one per bundle object (its cache, shared by the bundle's pools and bounded
    together, lives as long as the bundle)."""
    with _POOLS_LOCK:
        pools = bundle.__dict__.setdefault("_pools", {})
        if split not in pools:
            shared = bundle.__dict__.setdefault("_pool_cache", M.SharedCache(BUNDLE_CACHE_BYTES))
            pools[split] = BundlePool(bundle, split, shared_cache=shared)
        return pools[split]


def prefetch_candidates(bundle, split: str, members) -> threading.Thread | None:
    """Gather the members' candidate similarities (:meth:`Pool.candidate_sims`, the one costly
    part of a candidate-union re-weighting) in a background thread, so the first weight move
    finds them ready or half done; a caller asking meanwhile waits for it, never redoes it."""
    p = pool(bundle, split)
    members = tuple(members)
    if p.holds(("cand_sims", members)):
        return None

    def work():
        try:
            p.candidate_sims(members)
        except Exception:  # noqa: BLE001 - a failed prefetch is recomputed (and reported) on use
            pass
    t = threading.Thread(target=work, name=f"prefetch-{split}-{'+'.join(members)}", daemon=True)
    t.start()
    return t


def labels(bundle, split: str) -> np.ndarray:
    return pool(bundle, split).labels


def embeddings(bundle, split: str, source) -> Embeddings:
    return pool(bundle, split).embeddings(source)


def neighbors(bundle, split: str, source):
    return pool(bundle, split).neighbors(source)


# --------------------------------------------------------------------------- manifest -> Decision
def decision(bundle, model_id: str, *, t=None, t2=None, min2: bool = True, inb: int | bool = 0,
             weights=None, blend=None, sides=None, knn: str = "exact") -> Decision:
    """A model's decision, the bundle's tuned thresholds unless overridden.

    ``t``/``t2``: the final thresholds (after INB when ``inb``); ``min2=False`` drops Min2.
    ``inb``: 0/False base table; 1/True the stored INB table (or a live iteration when
    ``weights`` or ``blend`` change the input); 2-3 live iterations from the embeddings,
    blending with ``blend=(t, t2)`` (default the tuned base thresholds).
    ``weights``: re-weight a mean fusion's members (``knn``: exact search of the fused set,
    or scored on the members' candidates — fast).
    ``sides``: for a union, per-side ``(t, t2)`` overrides (None keeps a side as tuned); with
    ``inb=1`` a union with stored INB thresholds unites its sides' INB tables.
    """
    s = model_setting(bundle, model_id)
    iters = int(inb)
    if s["kind"] == "union":
        if iters and (iters != 1 or not s["has_inb"]):
            raise DecisionError(f"{model_id}: a union has INB only as stored (each side's INB table, inb=1)"
                                if s["has_inb"] else f"{model_id}: this union has no INB thresholds")
        out = []
        for i, side in enumerate(s["inb_sides"] if iters else s["sides"]):
            st, st2 = side["t"], side["t2"]
            if sides is not None and i < len(sides) and sides[i] is not None:
                st, st2 = sides[i]
            out.append(Side(model_source(side["model"], "inb" if iters else "base"), float(st),
                            None if (st2 is None or not min2) else float(st2)))
        return Decision(tuple(out), model_id)
    if s["kind"] == "inb_only":
        if weights is not None or blend is not None:
            raise DecisionError(f"{model_id} stores only its INB table; re-weighting needs the base fusion")
        return Decision((_side(model_source(model_id, "inb"), t, t2, min2, s["inb_t"], s["inb_t2"]),), model_id)
    base = model_source(model_id)
    if weights is not None:
        if s["combine"] != "mean":
            raise DecisionError(f"{model_id} is not a mean fusion: weights do not apply")
        base = fusion_source(s["members"], weights, knn=knn)
    if iters == 0:
        return Decision((_side(base, t, t2, min2, s["t"], s["t2"]),), model_id)
    bt, bt2 = (s["t"], s["t2"]) if blend is None else blend
    if iters == 1 and base == model_source(model_id) and blend is None and s["has_inb"]:
        src = model_source(model_id, "inb")
    else:
        src = inb_source(base, iters, bt, bt2, s["inb_vectors"])
    return Decision((_side(src, t, t2, min2, s["inb_t"], s["inb_t2"]),), model_id)


def _side(src, t, t2, min2, tuned_t, tuned_t2) -> Side:
    t = tuned_t if t is None else t
    if t is None:
        raise DecisionError(f"no tuned threshold for {M.describe_source(src)}: give one")
    t2 = (tuned_t2 if t2 is None else t2) if min2 else None
    return Side(src, float(t), None if t2 is None else float(t2))


def custom_fusion(bundle, members, weights=None, t=None, t2=None, min2: bool = True, inb: int = 0,
                  blend=None, tune_split: str = "valid", knn: str = "exact") -> Decision:
    """Mean fusion of any embeddable models, thresholds searched on ``tune_split`` unless given.

    INB blends with ``blend=(t, t2)``, by default the tuned base thresholds.
    """
    for m in members:
        if not can_embed(bundle, m):
            raise DecisionError(f"{m} has no embeddings in this bundle (a union or INB-only entry cannot be fused)")
    src = fusion_source(members, weights, knn=knn)
    valid = pool(bundle, tune_split)
    d = M.tune(valid, Decision.single(src, 0.5, name="custom fusion"), min2=min2)
    if inb:
        bt, bt2 = blend if blend is not None else (d.sides[0].t, d.sides[0].t2)
        d = M.tune(valid, Decision.single(inb_source(src, inb, bt, bt2), 0.5, name="custom fusion"), min2=min2)
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
        if model_setting(bundle, mid)["kind"] == "union":
            d = decision(bundle, mid)
            out.extend(d.sides if t is None else [Side(x.source, float(t), t2) for x in d.sides])
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


# --------------------------------------------------------------------------- the layer, on a bundle split
def predictions(bundle, model, split: str, **setting) -> np.ndarray:
    """Padded predicted sets (split-local indices, -1 padding) of a model or a :class:`Decision`."""
    return M.predictions(pool(bundle, split), as_decision(bundle, model, **_clean(setting)))


def row_arrays(bundle, model, split: str, **setting) -> dict[str, np.ndarray]:
    """Per-row ``f1``, ``precision``, ``recall``, ``tp``, ``n_pred``, ``n_true``."""
    return M.row_arrays(pool(bundle, split), as_decision(bundle, model, **_clean(setting)))


def scores(bundle, model, split: str, rows: bool = False, **setting) -> dict:
    """Mean ``f1`` (primary), ``precision``, ``recall`` and ``n`` (+ ``rows`` per-row arrays)."""
    return M.scores(pool(bundle, split), as_decision(bundle, model, **_clean(setting)), rows=rows)


def curves(bundle, model, split: str, side: int = 0, ts=None, min2: bool = True, **setting) -> pd.DataFrame:
    return M.curves(pool(bundle, split), as_decision(bundle, model, **setting), side=side, ts=ts, min2=min2)


def min2_curve(bundle, model, split: str, side: int = 0, t2s=None, **setting) -> pd.DataFrame:
    return M.min2_curve(pool(bundle, split), as_decision(bundle, model, **setting), side=side, t2s=t2s)


def pool_sizes(bundle, model, split: str, sizes=None, seed: int = 0, **setting) -> pd.DataFrame:
    """How the best thresholds and F1 move with the pool size: nested sub-pools of whole groups of
    ``split`` (the ``all`` pool reaches Kaggle's 34,250), see :func:`shopee_core.matching.pool_size_curve`."""
    return M.pool_size_curve(pool(bundle, split), as_decision(bundle, model, **_clean(setting)), sizes=sizes,
                             seed=seed)


def tuned(bundle, model, split: str = "valid", min2: bool = True, union: str = "per_side") -> Decision:
    """The decision with every threshold searched on ``split`` (:func:`shopee_core.matching.tune`;
    ``union="joint"`` moves a union's sides together for the union's F1)."""
    return M.tune(pool(bundle, split), as_decision(bundle, model), min2=min2, union=union)


def fusion_members(bundle, d: Decision) -> list[str]:
    """The models a single-side mean fusion is made of (through INB; a stored fusion by its spec)."""
    if d.is_union:
        return []
    src = d.sides[0].source
    while src[0] == "inb":
        src = src[1]
    if src[0] == "fusion":
        return [m for m, _ in src[1]]
    if src[0] == "model" and src[2] == "base" and combine_of(bundle, src[1]) == "mean":
        return list(_spec(bundle, src[1])["members"])
    return []


def weaker_than_a_member(bundle, d: Decision, split: str = "valid") -> dict | None:
    """When a mean fusion scores below its best member on ``split`` (each member at thresholds
    tuned there), which member and by how much — else None. An equal mean is dominated by the
    member whose cosines are spread widest; calibrated or searched weights are the remedy."""
    members = fusion_members(bundle, d)
    if not members:
        return None
    p = pool(bundle, split)
    fused = M.scores(p, d)["f1"]
    best, best_f1 = None, -1.0
    for m in members:
        try:
            f1 = M.scores(p, M.tune(p, Decision.single(model_source(m), 0.5)))["f1"]
        except ShopeeError:
            continue
        if f1 > best_f1:
            best, best_f1 = m, f1
    if best is None or fused >= best_f1:
        return None
    return {"fusion_f1": fused, "member": best, "member_f1": best_f1}


def _clean(setting: dict) -> dict:
    """Drop the overrides a caller passes as None / False (no override)."""
    return {k: v for k, v in setting.items() if not (v is None or (k == "inb" and not v))}


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

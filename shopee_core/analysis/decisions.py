"""A bundle's models as decisions: the dashboard's side of the one decision layer.

The layer itself (:class:`~shopee_core.matching.Decision`, sources, :class:`Pool`,
scoring, tuning, curves) lives in :mod:`shopee_core.matching`. Here a bundle becomes
one :class:`BundlePool` per split (its stored tables and embeddings, read lazily), and
a manifest entry becomes a :class:`Decision` at its tuned thresholds, with the
overrides a page offers (T, T2, Min2, INB iterations, fusion weights, union sides, a graph
step: the one the bundle tuned on valid, or any other).
Every function takes a model id or a built Decision and works in split-local indices.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import matching as M
from ..cache import Cache, release
from ..errors import DecisionError, ShopeeError
from ..matching import Decision, Embeddings, GraphStep, Pool, Side, fusion_source, inb_source, model_source
from ..submission import predictions_frame
from . import leaderboard as lb

OUTCOMES = ("TP", "FP", "FN", "TN")


# --------------------------------------------------------------------------- the bundle's models
# What a model is comes from its entry (:class:`shopee_core.bundle.entry.ModelEntry`): these read it
# for a page that has a model id.
def has_table(bundle, model_id: str, variant: str = "base") -> bool:
    return bundle.entry(model_id).has_table(variant)


def combine_of(bundle, model_id: str) -> str | None:
    return bundle.entry(model_id).combine


def is_union(bundle, model_id: str) -> bool:
    return bundle.entry(model_id).is_union


def is_inb_only(bundle, model_id: str) -> bool:
    return bundle.entry(model_id).is_inb_only


def is_predictions_only(bundle, model_id: str) -> bool:
    """An imported model known only by its predicted sets: fixed, nothing to threshold, blend or map."""
    return bundle.entry(model_id).predictions_only


def _fusion_of(entry) -> tuple | None:
    """(members, weights) when the model is a plain mean fusion of other models."""
    if entry.is_mean_fusion:
        return list(entry.members), None if entry.weights is None else list(entry.weights)
    return None


def can_embed(bundle, model_id: str) -> bool:
    """Whether the model's embeddings can be built: stored, or a mean fusion of embeddable models."""
    return bundle.entry(model_id).can_embed


def inb_vectors(bundle, model_id: str) -> str:
    """Which vectors the model's INB blends (its spec; unit rows unless the recipe says raw)."""
    return bundle.entry(model_id).inb_vectors


def modality(bundle, model_id: str) -> str | None:
    """'image', 'text' or None (a fusion of both, or unknown)."""
    return bundle.entry(model_id).modality


def table_models(bundle) -> list[str]:
    """Models with a base neighbour table (usable as a union side or a plane axis)."""
    return [e.id for e in bundle.entries if e.has_table()]


def fusable_models(bundle) -> list[str]:
    return [e.id for e in bundle.entries if e.can_embed]


def union_sides(bundle, model_id: str, inb: bool = False) -> list[dict]:
    """Per-side ``{"model", "t", "t2"}`` of a union model (nested unions flattened); ``inb``: each
    side's INB table thresholds (``inb_sides``, a union whose sides were blended one by one)."""
    e = bundle.entry(model_id)
    if inb:
        return [{"model": mid, "t": t, "t2": t2} for mid, t, t2 in e.inb_sides]
    sides = list(e.sides)
    if not sides:
        for member in e.members:
            if bundle.entry(member).is_union:
                sides.extend((s["model"], s["t"], s["t2"]) for s in union_sides(bundle, member))
            else:
                sides.append((member, bundle.entry(member).t, bundle.entry(member).t2))
    out = []
    for mid, t, t2 in sides:
        if bundle.entry(mid).is_union:
            out.extend(union_sides(bundle, mid))
        else:
            out.append({"model": mid, "t": t, "t2": t2})
    return out


def model_setting(bundle, model_id: str) -> dict:
    """The bundle's tuned setting of a model (thresholds are cosine distances).

    ``kind``: ``table`` (a neighbour table: single model or mean fusion), ``union``
    (``sides``: each member at its own thresholds; ``inb_sides``: each member's INB table at its
    re-searched thresholds, when the union has INB) or ``inb_only`` (only an INB table,
    e.g. ``<fusion>_inb3``). ``fixed``: an imported predictions-only table, whose sets no
    threshold changes (any T in (0, 1] gives them). ``graph``: the graph step the bundle tuned
    on valid for the Min2 decision (``{"step", "param", "t", "t2", ...}``), or None.
    """
    e = bundle.entry(model_id)
    out = {"model": model_id, "t": e.t, "t2": e.t2, "inb_t": e.inb_t, "inb_t2": e.inb_t2, "inb_iters": e.inb_iters,
           "combine": e.combine, "members": list(e.members), "weights": None if e.weights is None else list(e.weights),
           "has_inb": e.has_table("inb"), "can_embed": e.can_embed, "inb_vectors": e.inb_vectors,
           "fixed": e.predictions_only, "graph": None if e.graph is None else copy.deepcopy(dict(e.graph))}
    if e.is_union:
        inb_sides = union_sides(bundle, model_id, inb=True)
        out.update(kind="union", sides=union_sides(bundle, model_id), inb_sides=inb_sides, has_inb=bool(inb_sides))
    elif e.is_inb_only:
        out.update(kind="inb_only")
    elif e.has_table():
        out.update(kind="table")
    else:
        raise DecisionError(f"model {model_id!r} has no neighbour table in bundle {bundle.name}")
    return out


def usable_models(bundle) -> list[str]:
    """Ids of the bundle's models that a decision can be built for (in manifest order)."""
    out = []
    for e in bundle.entries:
        try:
            model_setting(bundle, e.id)
            out.append(e.id)
        except ShopeeError:
            pass
    return out


# --------------------------------------------------------------------------- the one chosen decision
VARIANT_NAMES = {"base": "plain T", "min2": "Min2", "inb": "INB", "graph": "Min2 + graph step",
                 "fixed": "imported sets (fixed)"}


@dataclass(frozen=True)
class Chosen:
    """The decision a user chose (``rule``, once for every page) as it applies to one model.

    ``variant``: what the rule gives this model (its best on valid for ``best``, or where the
    model lacks the asked one); ``setting``: the :func:`decision` overrides that build it.
    """

    model: str
    rule: str
    variant: str | None
    setting: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        """What to print beside the model's F1: "INB, tuned on valid" (+ why, when the rule did not say)."""
        if self.variant == "fixed":
            return VARIANT_NAMES["fixed"]
        name = VARIANT_NAMES.get(self.variant, "tuned setting")
        if self.rule == "best":
            return f"{name}, tuned on valid (its best on valid)"
        if self.variant != self.rule:
            return f"{name}, tuned on valid (no {lb.RULES.get(self.rule, self.rule)} for this model)"
        return f"{name}, tuned on valid"

    def f1_text(self, f1: float, digits: int = 4) -> str:
        return f"F1 {f1:.{digits}f} · {self.text}"


def variant_setting(bundle, model_id: str, variant: str) -> dict:
    """The :func:`decision` overrides of a stored variant (what ``metrics[split][variant]`` was measured
    with): ``base`` plain T, ``min2``, ``inb`` the stored INB table, ``graph`` Min2 + the tuned graph step."""
    s = model_setting(bundle, model_id)
    if s["fixed"] or s["kind"] == "inb_only":
        if s["kind"] == "inb_only" and variant != "inb":
            raise DecisionError(f"{model_id} stores only its INB decision, not {variant!r}")
        return {}
    if variant == "inb":
        if not s["has_inb"]:
            raise DecisionError(f"{model_id} has no INB decision in bundle {bundle.name}")
        return {"inb": 1}
    if variant == "graph":
        if not s["graph"]:
            raise DecisionError(f"{model_id} has no graph step tuned in bundle {bundle.name}")
        return {"graph": "tuned"}
    if variant not in ("base", "min2"):
        raise DecisionError(f"decision variant must be base, min2, inb or graph, got {variant!r}")
    return {} if variant == "min2" else {"min2": False}


def chosen(bundle, model_id: str, rule: str = "best") -> Chosen:
    """The one resolution of "the decision the user chose for model M": every page calls it,
    so one model and one rule give one F1 wherever it is shown."""
    entry = bundle.entry(model_id)
    if entry.predictions_only:
        return Chosen(model_id, rule, "fixed", {})
    s = model_setting(bundle, model_id)
    if s["kind"] == "inb_only":
        return Chosen(model_id, rule, "inb", {})
    variant = lb.variant_for(entry, rule, lb.model_metrics(bundle, entry)) or "min2"  # under the truth view
    if (variant == "inb" and not s["has_inb"]) or (variant == "graph" and not s["graph"]):
        variant = "min2"
    return Chosen(model_id, rule, variant, variant_setting(bundle, model_id, variant))


def chosen_decision(bundle, model_id: str, rule: str = "best") -> Decision:
    return decision(bundle, model_id, **chosen(bundle, model_id, rule).setting)


# --------------------------------------------------------------------------- the bundle as pools
def canonical(bundle, source: tuple) -> tuple:
    """A stored table wherever one equals the source (equal-weight fusions, tuned 1-step INB)."""
    if source[0] == "fusion":
        members = [m for m, _ in source[1]]
        ws = [w for _, w in source[1]]
        if max(ws) - min(ws) < 1e-6:
            for e in bundle.entries:
                if (e.combine == "mean" and sorted(e.members) == sorted(members) and not e.weights
                        and e.has_table()):
                    return model_source(e.id)
    if source[0] == "inb":
        _, base, iters, t, t2, vectors = source
        base = canonical(bundle, base)
        if base[0] == "model" and base[2] == "base" and iters == 1 and has_table(bundle, base[1], "inb"):
            e = bundle.entry(base[1])
            same_t2 = (e.t2 is None and t2 is None) or (e.t2 is not None and t2 is not None and abs(e.t2 - t2) < 1e-6)
            if (e.inb_iters == 1 and e.t is not None and abs(e.t - t) < 1e-6 and same_t2
                    and e.stored_inb_vectors == vectors):
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
        for e in bundle.entries:
            for variant in ("base", "inb"):
                if e.has_table(variant):
                    tables[(e.id, variant)] = self._table_loader(bundle, e.id, split, variant)
            if e.path("embeddings") is not None:
                emb[e.id] = self._embedding_loader(bundle, e.id, split)
            elif _fusion_of(e) is not None:
                fusions[e.id] = _fusion_of(e)
        super().__init__(labels, k=bundle.k, embeddings=emb, tables=tables, fusions=fusions,
                         name=f"{bundle.name}/{split}", n=len(raw), shared_cache=shared_cache,
                         fixed=[e.id for e in bundle.entries if e.predictions_only])
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
                emb = _mapped(stored, mid, norms)
            else:
                block = stored[rows]
                block = block.tocsr().astype(np.float32) if hasattr(block, "tocsr") else block.astype(np.float32)
                emb = Embeddings.from_array(block, name=mid, norms=None if norms is None else norms[rows])
            release(stored)  # validated or copied: the file's pages need not stay counted in this process
            return emb
        return load

    def canonical(self, source: tuple) -> tuple:
        return canonical(self.bundle, super().canonical(source))


# what one bundle's pools (valid, test, all) hold together: tables, scorers, embeddings, fused sets, as a
# share of the bundle's own cache budget (512 MB of the default 1 GB), their re-weighting slots counted
# in it down to half of it (:meth:`Pool._slot_held`). The server shares them across every session; a
# bound per pool would let three pools of a 70,000-posting bundle hold three times this
POOLS_SHARE = 0.5


def pool(bundle, split: str) -> BundlePool:
    """The split's pool, one per bundle object (in the bundle's cache: it lives as long as the bundle).
    The bundle's pools share one bounded cache of what they compute."""
    shared = bundle.cached(("pool-cache",), lambda: Cache(int(bundle.cache_bytes * POOLS_SHARE)))
    return bundle.cached(("pool", split), lambda: BundlePool(bundle, split, shared_cache=shared))


def prefetch_candidates(bundle, splits, members) -> threading.Thread | None:
    """Gather the members' candidate similarities (:meth:`Pool.candidate_sims`, the one costly
    part of a candidate-union re-weighting) in a background thread, so the first weight move
    finds them ready or half done; a caller asking meanwhile waits for it, never redoes it.
    ``splits``: one pool or several, gathered one after the other in the order given (two threads
    at once would share two cores between four BLAS threads and finish both later)."""
    members = tuple(members)
    names = [s for s in dict.fromkeys([splits] if isinstance(splits, str) else splits) if s in bundle.splits]
    pools = [p for p in (pool(bundle, s) for s in names) if not p.holds(("cand_sims", members))]
    if not pools:
        return None

    def work():
        for p in pools:
            try:
                p.candidate_sims(members)
            except Exception:  # noqa: BLE001 - a failed prefetch is recomputed (and reported) on use
                pass
    t = threading.Thread(target=work, name=f"prefetch-{'+'.join(p.name for p in pools)}-{'+'.join(members)}",
                         daemon=True)
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
             weights=None, blend=None, sides=None, knn: str = "exact", graph=None) -> Decision:
    """A model's decision, the bundle's tuned thresholds unless overridden.

    ``t``/``t2``: the final thresholds (after INB when ``inb``); ``min2=False`` drops Min2.
    ``inb``: 0/False base table; 1/True the stored INB table (or a live iteration when
    ``weights`` or ``blend`` change the input); 2-3 live iterations from the embeddings,
    blending with ``blend=(t, t2)`` (default the tuned base thresholds).
    ``weights``: re-weight a mean fusion's members (``knn``: exact search of the fused set,
    or scored on the members' candidates — fast).
    ``sides``: for a union, per-side ``(t, t2)`` overrides (None keeps a side as tuned); with
    ``inb=1`` a union with stored INB thresholds unites its sides' INB tables.
    ``graph``: None (none), ``"tuned"`` (the step the bundle tuned on valid, with the thresholds it
    re-searched for it unless others are given) or a step (``GraphStep`` or ``"closure:51"``).
    """
    d = _decision(bundle, model_id, t=t, t2=t2, min2=min2, inb=inb, weights=weights, blend=blend, sides=sides,
                  knn=knn)
    if graph is None or graph is False:
        return d
    s = model_setting(bundle, model_id)
    if s["fixed"]:
        raise DecisionError(f"{model_id} is an imported predictions-only model: graph steps need similarities")
    if graph not in ("tuned", True):
        return d.with_graph(graph)
    rec = s["graph"]
    if not rec:
        raise DecisionError(f"{model_id} has no graph step tuned in bundle {bundle.name}")
    d = d.with_graph(GraphStep.from_dict(rec))
    plain = t is None and t2 is None and not inb and weights is None and sides is None
    if plain and len(rec.get("t") or []) == len(d.sides):
        d = type(d)(tuple(Side(x.source, float(rt), None if (rt2 is None or not min2) else float(rt2))
                          for x, rt, rt2 in zip(d.sides, rec["t"], rec["t2"])), d.name, d.graph)
    return d


def _decision(bundle, model_id: str, *, t=None, t2=None, min2: bool = True, inb: int | bool = 0,
              weights=None, blend=None, sides=None, knn: str = "exact") -> Decision:
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
    (+ ``t``/``t2``/``min2`` for its first side, ``graph`` a step for it)."""
    if not isinstance(model, Decision):
        return decision(bundle, model, **setting)
    extra = set(setting) - {"t", "t2", "min2", "graph"}
    if extra:
        raise DecisionError(f"{', '.join(sorted(extra))} apply to a model id, not to a built decision")
    graph = setting.pop("graph", None)
    if setting:
        model = model.with_thresholds(setting.get("t"), setting.get("t2"), setting.get("min2", True))
    if graph is not None and graph not in ("tuned", True):
        model = model.with_graph(graph)
    return model


# --------------------------------------------------------------------------- the layer, on a bundle split
def predictions(bundle, model, split: str, **setting) -> np.ndarray:
    """Padded predicted sets (split-local indices, -1 padding) of a model or a :class:`Decision`."""
    return M.predictions(pool(bundle, split), as_decision(bundle, model, **overrides(setting)))


def row_arrays(bundle, model, split: str, **setting) -> dict[str, np.ndarray]:
    """Per-row ``f1``, ``precision``, ``recall``, ``tp``, ``n_pred``, ``n_true``."""
    return M.row_arrays(pool(bundle, split), as_decision(bundle, model, **overrides(setting)))


def scores(bundle, model, split: str, rows: bool = False, **setting) -> dict:
    """Mean ``f1`` (primary), ``precision``, ``recall`` and ``n`` (+ ``rows`` per-row arrays)."""
    return M.scores(pool(bundle, split), as_decision(bundle, model, **overrides(setting)), rows=rows)


def curves(bundle, model, split: str, side: int = 0, ts=None, min2: bool = True, **setting) -> pd.DataFrame:
    return M.curves(pool(bundle, split), as_decision(bundle, model, **setting), side=side, ts=ts, min2=min2)


def min2_curve(bundle, model, split: str, side: int = 0, t2s=None, **setting) -> pd.DataFrame:
    return M.min2_curve(pool(bundle, split), as_decision(bundle, model, **setting), side=side, t2s=t2s)


def pool_sizes(bundle, model, split: str, sizes=None, seed: int = 0, **setting) -> pd.DataFrame:
    """How the best thresholds and F1 move with the pool size: nested sub-pools of whole groups of
    ``split`` (the ``all`` pool reaches Kaggle's 34,250), see :func:`shopee_core.matching.pool_size_curve`."""
    return M.pool_size_curve(pool(bundle, split), as_decision(bundle, model, **overrides(setting)), sizes=sizes,
                             seed=seed)


def pool_size_draws(bundle, model, split: str, sizes=None, draws: int = 5, seed: int = 0, **setting) -> pd.DataFrame:
    """:func:`pool_sizes` over ``draws`` random orders of the split's groups (a ``draw`` column), for a
    band and an extrapolation (:func:`shopee_core.matching.extrapolate`)."""
    return M.pool_size_draws(pool(bundle, split), as_decision(bundle, model, **overrides(setting)), sizes=sizes,
                             draws=draws, seed=seed)


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
        return list(bundle.entry(src[1]).members)
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


def overrides(setting: dict) -> dict:
    """Drop the overrides a caller passes as None / False (no override)."""
    return {k: v for k, v in setting.items() if not (v is None or (k in ("inb", "graph") and not v))}


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

"""Searching a decision on a validation pool: thresholds, INB, fusion weights.

Everything is searched on one pool (the validation split) and then applied
unchanged to another (test). Options, each named and off unless asked:

- ``search``: the threshold scan (:mod:`.search`; the project's full scan or the
  seed's early-stop scans), one for all sides or one per side;
- ``union="joint"``: after each side is tuned on its own (the seed's way), the sides'
  thresholds are moved together for the union's F1 (coordinate ascent);
- :func:`tune_inb`: one or more INB steps on a tuned decision, then its thresholds
  re-searched on the blended pool (per-stage thresholds: the competition's 1st place);
- :func:`calibrated_weights` / :func:`search_weights`: fusion weights that undo the
  members' different similarity spreads, or that maximise validation F1;
- :func:`tune_graph`: a graph step's parameter (when not given) and the thresholds it
  works best with, searched together (``tune`` calls it for a decision with a graph step).
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from ..errors import DecisionError
from . import graph as G
from .apply import bridge_mask, dendrogram, graph_groups, groups_rows, predicted_edges, scores, union_table
from .curves import min2_curve
from .decision import Decision, Side
from .pool import Pool
from .search import FULL, Search, get_search, search_pair
from .sources import fusion_source, inb_source, model_source

UNION_TUNING = ("per_side", "joint")
JOINT_ROUNDS = 4


def _searches(search, n: int) -> list[Search]:
    if isinstance(search, (list, tuple)):
        if len(search) != n:
            raise DecisionError(f"{len(search)} threshold searches given for {n} side(s)")
        return [get_search(s) for s in search]
    return [get_search(search)] * n


def tune(pool: Pool, d: Decision, *, min2: bool = True, search=FULL, union: str = "per_side") -> Decision:
    """Best T (then T2) for every side of ``d`` on ``pool``. Cached per pool.

    ``union="per_side"`` tunes each side for its own F1 (the seed's way); ``"joint"``
    then moves the sides' thresholds together for the union's F1. A decision with a graph
    step is tuned without it first, then by :func:`tune_graph`.
    """
    if d.graph is not None:
        return tune_graph(pool, tune(pool, d.plain, min2=min2, search=search, union=union), d.graph)
    if union not in UNION_TUNING:
        raise DecisionError(f"union tuning must be one of {', '.join(UNION_TUNING)}, got {union!r}")
    searches = _searches(search, len(d.sides))
    key = ("tune", tuple(pool.canonical(s) for s in d.sources), min2, tuple(searches),
           union if d.is_union else "")

    def make():
        sides = []
        for s, srch in zip(d.sides, searches):
            t, t2 = search_pair(pool.scorer(s.source), min2, search=srch)
            sides.append(replace(s, t=t, t2=t2))
        out = replace(d, sides=tuple(sides))
        if d.is_union and union == "joint":
            out = _joint(pool, out, min2, searches)
        return out
    return replace(pool.cached(key, make), name=d.name)


def _joint(pool: Pool, d: Decision, min2: bool, searches: list[Search]) -> Decision:
    """Coordinate ascent on the union's F1: each side's T over its grid (others fixed), then
    its T2, until a round changes nothing. Starts from the per-side optimum, so it never
    ends below it on this pool."""
    best = scores(pool, d)["f1"]
    for _ in range(JOINT_ROUNDS):
        moved = False
        for i, srch in enumerate(searches):
            table, sides = union_table(pool, d)
            ts = srch.ts()
            f1 = table.sweep(sides, sides[i][0], ts)["f1"]  # that side's Min2 held at its T2
            j = int(np.argmax(f1))
            if f1[j] > best + 1e-12:
                d, best, moved = d.with_side(i, t=float(ts[j]), t2=None if d.sides[i].t2 is None else
                                             max(d.sides[i].t2, float(ts[j]))), float(f1[j]), True
            if min2:
                t = d.sides[i].t
                curve = min2_curve(pool, d if d.sides[i].t2 is not None else d.with_side(i, t2=t), i, srch.t2s(t))
                j = int(np.argmax(curve["f1"].to_numpy()))
                if curve["f1"].iat[j] > best + 1e-12:
                    d, best, moved = d.with_side(i, t2=float(curve["t2"].iat[j])), float(curve["f1"].iat[j]), True
        if not moved:
            break
    return d


def tune_inb(pool: Pool, d: Decision, iters: int = 1, *, vectors: str = "normalised", per_stage: bool = False,
             min2: bool = True, search=FULL) -> Decision:
    """INB on a tuned decision: blend with its (T, T2), then search T′, T2′ on the blended pool
    with the search's ``for_inb()`` (the seed re-searched TF-IDF's blended vectors over its
    default 0.01-0.49, not TF-IDF's own 0.40-0.69). A union is blended side by side, each side
    with its own thresholds and re-searched on its own (``search``: one, or one per side), as the
    seed's union runs did. ``per_stage``: one-step blends chained ``iters`` times, each blending
    with the thresholds searched after the previous one (re-using the first stage's T lets every
    blend admit more neighbours than the last, and the groups snowball). Validation and test are
    blended alike, at the base (T, T2) — the seed's TF-IDF and union runs blended test at the
    re-tuned (T′, T2′) instead, an ordering slip this layer does not copy."""
    searches = _searches(search, len(d.sides))
    sides = []
    for side, srch in zip(d.sides, searches):
        srch = srch.for_inb()
        if not per_stage:
            src = inb_source(side.source, iters, side.t, side.t2, vectors)
            t, t2 = search_pair(pool.scorer(src), min2, search=srch)
        else:
            src, t, t2 = side.source, side.t, side.t2
            for stage in range(iters):
                src = inb_source(src, 1, t, t2, vectors if stage == 0 else "normalised")
                t, t2 = search_pair(pool.scorer(src), min2, search=srch)
        sides.append(Side(src, t, t2))
    return Decision(tuple(sides), d.name)


def inb_stages(source: tuple) -> list[dict]:
    """The blend thresholds of each stage of an INB chain, first stage first."""
    out = []
    while source[0] == "inb":
        out.append({"iters": source[2], "t": source[3], "t2": source[4], "vectors": source[5]})
        source = source[1]
    return out[::-1]


def calibrated_weights(pool: Pool, members, weights=None) -> list[float]:
    """Fusion weights that standardise each member's similarities on this pool.

    s'_m = (s_m − μ_m) / σ_m summed with weights w_m ranks pairs exactly like a mean fusion
    with weights w_m / σ_m (the μ terms add one constant), so calibration is a re-weighting:
    σ_m is the spread of the member's non-self candidate similarities. Without it a member
    whose cosines bunch near 1 (e5) barely moves the fused ranking while a widely spread
    one dominates.
    """
    members = list(members)
    w = np.ones(len(members)) if weights is None else np.asarray(weights, dtype=np.float64)
    sig = []
    for m in members:
        nb = pool.neighbors(model_source(m))
        s = nb.sim[~nb.is_self]
        sig.append(float(np.std(s)) if s.size else 1.0)
    sig = np.maximum(np.asarray(sig), 1e-6)
    out = w / sig
    return (out / out.sum()).round(6).tolist()


def weight_grid(n: int, step: float) -> list[tuple[float, ...]]:
    """Every weight vector on the simplex with entries in multiples of ``step`` (none all-zero)."""
    units = int(round(1.0 / step))
    out = []
    for cut in itertools.combinations(range(units + n - 1), n - 1):
        parts = np.diff((-1,) + cut + (units + n - 1,)) - 1
        out.append(tuple(float(p) / units for p in parts))
    return out


def search_weights(pool: Pool, members, *, step: float = 0.1, min2: bool = True, search=FULL,
                   calibrate: bool = False) -> tuple[list[float], float]:
    """Fusion weights that maximise F1 on this pool: every point of a simplex grid is scored
    on the members' candidate union (exact for those pairs, one cached gather), with its
    thresholds searched; returns the best weights (multiplied into the calibrated ones
    when ``calibrate``) and their F1."""
    members = list(members)
    if len(members) < 2:
        raise DecisionError("weights are searched for a fusion of at least two models")
    base = np.asarray(calibrated_weights(pool, members) if calibrate else np.ones(len(members)))
    best_w, best_f1 = None, -1.0
    for w in weight_grid(len(members), step):  # corners included: a lone member may be best
        eff = base * np.asarray(w)
        if eff.sum() <= 0:
            continue
        src = fusion_source(members, eff, knn="candidates")
        d = tune(pool, Decision.single(src, 0.5), min2=min2, search=search)
        f1 = scores(pool, d)["f1"]
        if f1 > best_f1 + 1e-12:
            best_w, best_f1 = eff / eff.sum(), f1
    return [round(float(x), 6) for x in best_w], float(best_f1)


GRAPH_ROUNDS = 2
GRAPH_T_SPAN = 0.15   # T is re-searched within ± this of its plain optimum, step GRAPH_T_STEP
GRAPH_T_STEP = 0.01


def graph_params(pool: Pool, d: Decision, step: G.GraphStep) -> list:
    """The parameter values a search tries for ``step`` on ``d``'s predicted graph, least
    intrusive first (closure: the largest cap; cluster: the largest S, i.e. every merge;
    cut-bridges: τ = −1, i.e. no cut), so a tie keeps the gentler value."""
    if step.step == "closure":
        return list(G.CLOSURE_CAPS)
    if step.step == "cluster":
        den = dendrogram(pool, d)
        top = den.n / max(den.n - len(den.height), 1)
        values = np.round(np.arange(1.0, top + G.CLUSTER_STEP, G.CLUSTER_STEP), 6)
        return [float(v) for v in values[::-1]]
    if step.step == "cut-bridges":
        *_, s = predicted_edges(pool, d)
        br = s[bridge_mask(pool, d)]
        levels = np.unique(np.round(np.floor(br / G.BRIDGE_STEP) * G.BRIDGE_STEP + G.BRIDGE_STEP, 6))
        return [-1.0] + [float(v) for v in levels if -1.0 < v <= 1.0]
    return [None]


def _graph_f1(pool: Pool, d: Decision, param) -> float:
    if d.graph.step == "mutual":
        return scores(pool, d)["f1"]
    return float(np.mean(groups_rows(graph_groups(pool, d, param), pool.labels)["f1"]))


def search_graph_param(pool: Pool, d: Decision, step) -> tuple[float | None, float]:
    """The best parameter of ``step`` on ``pool`` at ``d``'s thresholds, and its F1."""
    step = G.GraphStep.parse(step)
    probe = d.with_graph(G.GraphStep(step.step))
    best, best_f1 = None, -1.0
    for p in graph_params(pool, probe, step):
        f1 = _graph_f1(pool, probe, p)
        if f1 > best_f1 + 1e-12:
            best, best_f1 = p, f1
    return best, best_f1


def tune_graph(pool: Pool, d: Decision, step) -> Decision:
    """A graph step on a tuned decision: its parameter searched on ``pool`` when the step is
    given bare, then every side's T re-searched with the step applied (± GRAPH_T_SPAN around
    the plain optimum, step GRAPH_T_STEP: a step that prunes pairs often wants a looser T)
    and the parameter again, for at most GRAPH_ROUNDS rounds. Min2's T2 stays. Cached per pool."""
    step = G.GraphStep.parse(step)
    d = d.plain
    key = ("tune_graph", tuple((pool.canonical(s.source), s.t, s.t2) for s in d.sides), step)

    def make():
        cur = d.with_graph(step if not step.searched else G.GraphStep(step.step, search_graph_param(pool, d, step)[0]))
        best = scores(pool, cur)["f1"]
        for _ in range(GRAPH_ROUNDS):
            moved = False
            for i, side in enumerate(cur.sides):
                ts = np.round(np.arange(side.t - GRAPH_T_SPAN, side.t + GRAPH_T_SPAN + 1e-9, GRAPH_T_STEP), 6)
                for t in ts[(ts > 0) & (ts <= 1)]:
                    cand = cur.with_side(i, t=float(t))
                    f1 = scores(pool, cand)["f1"]
                    if f1 > best + 1e-12:
                        cur, best, moved = cand, f1, True
            if step.searched:
                p, f1 = search_graph_param(pool, cur.plain, step)
                if f1 > best + 1e-12:
                    cur, best, moved = cur.with_graph(G.GraphStep(step.step, p)), f1, True
            if not moved:
                break
        return cur
    return replace(pool.cached(key, make), name=d.name)


GRAPH_MODES = ("none", "auto")


def graph_mode(value) -> str | G.GraphStep:
    """``none``, ``auto`` (try every step, keep the best where it beats the plain decision) or one
    step (``closure:51``, a bare name: parameter searched) — checked, one line on bad input."""
    if value is None or value in GRAPH_MODES:
        return value or "none"
    return G.GraphStep.parse(value)


def best_graph(pool: Pool, d: Decision, mode="auto") -> tuple[Decision | None, dict]:
    """The graph step tuning picks for a tuned decision on ``pool``: ``mode`` ``auto`` tunes every
    step (:func:`tune_graph`) and keeps the best one only where its F1 beats ``d``'s own; a step
    (given or bare) is kept whatever it scores; ``none`` keeps none. Returns the decision with
    the step (None when none is kept) and every tried step's F1 on ``pool``."""
    mode = graph_mode(mode)
    if mode == "none":
        return None, {}
    plain = scores(pool, d.plain)["f1"]
    steps = [G.GraphStep(s) for s in G.GRAPH_STEPS] if mode == "auto" else [mode]
    tried, best, best_f1 = {}, None, plain if mode == "auto" else -1.0
    for step in steps:
        cand = tune_graph(pool, d, step)
        f1 = scores(pool, cand)["f1"]
        tried[cand.graph.text()] = round(float(f1), 6)
        if f1 > best_f1 + 1e-9:
            best, best_f1 = cand, f1
    return best, {"plain": round(float(plain), 6), "tried": tried}

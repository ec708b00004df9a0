"""A decision applied to a pool: predicted sets, per-row scores, mean scores.

Single-side decisions are scored with :class:`~shopee_core.matching.Scorer` (a
threshold move is one pass over the table); unions with the merged
:class:`~shopee_core.matching.union.PairTable`. A graph step (:mod:`.graph`) then works on
the predicted graph those give; a step that ends in components (closure, cluster,
cut-bridges) is scored from the component labels, never from an N × group-size matrix.
"""

from __future__ import annotations

import numpy as np

from ..errors import DecisionError
from ..metrics import counts_to_scores, group_sizes, row_scores, summarise
from . import graph as G
from .decision import Decision
from .pool import Pool
from .rules import predict, predict_mask
from .union import PairTable


def union_table(pool: Pool, d: Decision) -> tuple[PairTable, list]:
    """The merged table of a union's sources and its sides as (table side, t, t2)."""
    srcs = tuple(pool.canonical(s.source) for s in d.sides)
    uniq = tuple(dict.fromkeys(srcs))
    table = pool.pair_table(uniq)
    return table, [(uniq.index(src), s.t, s.t2) for src, s in zip(srcs, d.sides)]


def plain_key(pool: Pool, d: Decision) -> tuple:
    """Cache key of a decision's predicted sets before its graph step."""
    return tuple((pool.canonical(s.source), s.t, s.t2) for s in d.sides)


def candidate_pairs(pool: Pool, d: Decision, rows=None) -> tuple[np.ndarray, ...]:
    """Every non-self candidate pair of the decision's tables for ``rows`` (None: all):
    ``(i, j, s, predicted)`` — the pair's similarity as the decision sees it (a union: the
    largest similarity of the sides that hold it) and whether the decision before its graph
    step predicts j for i."""
    if not d.is_union:
        s = d.sides[0]
        nb = pool.neighbors(s.source)
        r = np.arange(nb.n) if rows is None else np.asarray(rows, dtype=np.int64)
        mask = predict_mask(nb, s.t, s.t2)[r]
        other = ~nb.is_self[r]
        rr, cc = np.nonzero(other)
        return (r[rr], nb.idx[r][rr, cc].astype(np.int64), nb.sim[r][rr, cc].astype(np.float64), mask[rr, cc])
    table, sides = union_table(pool, d)
    r = np.arange(table.n) if rows is None else np.asarray(rows, dtype=np.int64)
    mask = table.mask(sides)[r]
    dist = table.dist[:, r].min(axis=0)
    other = table.valid[r] & ~table.is_self[r]
    rr, cc = np.nonzero(other)
    return (r[rr], table.idx[r][rr, cc].astype(np.int64), (1.0 - dist[rr, cc]).astype(np.float64), mask[rr, cc])


def predicted_edges(pool: Pool, d: Decision) -> tuple[np.ndarray, ...]:
    """The decision's predicted graph before its graph step, cached: ``(rows, cols, sims)``
    of every directed non-self predicted pair and ``(a, b, s)`` its undirected edges."""
    def make():
        i, j, s, pred = candidate_pairs(pool, d.plain)
        i, j, s = i[pred], j[pred], s[pred]
        a, b, u = G.undirected(_n(pool, d), i, j, s)
        return i, j, s, a, b, u
    return pool.cached(("graph-edges", plain_key(pool, d)), make)


def _n(pool: Pool, d: Decision) -> int:
    if not d.is_union:
        return pool.neighbors(d.sides[0].source).n
    return union_table(pool, d)[0].n


def dendrogram(pool: Pool, d: Decision) -> G.Dendrogram:
    """Average-linkage merges of the decision's predicted graph (cached: any S reads it)."""
    def make():
        *_, a, b, s = predicted_edges(pool, d)
        return G.average_linkage(_n(pool, d), a, b, s)
    return pool.cached(("dendrogram", plain_key(pool, d)), make)


def bridge_mask(pool: Pool, d: Decision) -> np.ndarray:
    """Which undirected predicted edges are bridges (cached: any τ reads it)."""
    def make():
        *_, a, b, _s = predicted_edges(pool, d)
        return G.bridges(_n(pool, d), a, b)
    return pool.cached(("bridges", plain_key(pool, d)), make)


def graph_groups(pool: Pool, d: Decision, param=None) -> np.ndarray:
    """Component labels of a component step (closure, cluster, cut-bridges) at ``param``
    (None: the decision's own)."""
    step = d.graph
    if step is None or step.step == "mutual":
        raise DecisionError("only closure, cluster and cut-bridges end in components")
    p = step.resolved() if param is None else param
    n = _n(pool, d)
    *_, a, b, s = predicted_edges(pool, d)
    if step.step == "closure":
        return G.capped_components(n, a, b, s, int(p))
    if step.step == "cluster":
        den = dendrogram(pool, d)
        return den.labels(den.merges_for(float(p)))
    return G.cut_bridges_labels(n, a, b, s, float(p), bridge_mask(pool, d))


def _check_graph(pool: Pool, d: Decision) -> None:
    for s in d.sides:
        src = pool.canonical(s.source)
        if src[0] == "model" and src[1] in getattr(pool, "fixed_models", ()):
            raise DecisionError(f"{src[1]} is a predictions-only model (its sets are fixed, without similarities): "
                                f"graph steps need a model with embeddings or neighbour similarities")


def graph_result(pool: Pool, d: Decision) -> tuple[str, np.ndarray]:
    """``("sets", padded predictions)`` for mutual, ``("groups", component labels)`` for the
    others; cached per plain decision and step."""
    _check_graph(pool, d)
    step = d.graph
    p = step.resolved()

    def make():
        if step.step == "mutual":
            i, j, *_ = predicted_edges(pool, d)
            keep = G.mutual_mask(_n(pool, d), i, j)
            return "sets", G.sets_to_padded(_n(pool, d), i[keep], j[keep])
        return "groups", graph_groups(pool, d, p)
    return pool.cached(("graph", plain_key(pool, d), step.step, p), make)


def predictions(pool: Pool, d: Decision) -> np.ndarray:
    """Padded predicted sets (pool indices, -1 padding), self always included."""
    if d.graph is not None:
        kind, value = graph_result(pool, d)
        return value if kind == "sets" else G.groups_to_padded(value)
    if not d.is_union:
        s = d.sides[0]
        return predict(pool.neighbors(s.source), s.t, s.t2)
    table, sides = union_table(pool, d)
    return table.predictions(sides)


def groups_rows(groups: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row scores when every row predicts its group in ``groups``."""
    tp, n_pred = G.group_counts(groups, labels)
    n_true = group_sizes(labels)
    out = counts_to_scores(tp, n_pred, n_true)
    out.update(tp=tp, n_pred=n_pred, n_true=n_true)
    return out


def row_arrays(pool: Pool, d: Decision) -> dict[str, np.ndarray]:
    """Per-row ``f1``, ``precision``, ``recall``, ``tp``, ``n_pred``, ``n_true``."""
    pool.labels  # noqa: B018  (a clear error for an unlabelled pool)
    if d.graph is not None:
        kind, value = graph_result(pool, d)
        return row_scores(value, pool.labels) if kind == "sets" else groups_rows(value, pool.labels)
    if not d.is_union:
        s = d.sides[0]
        return pool.scorer(s.source).rows(s.t, s.t2)
    table, sides = union_table(pool, d)
    return table.rows(sides)


def scores(pool: Pool, d: Decision, rows: bool = False) -> dict:
    """Mean ``f1`` (primary), ``precision``, ``recall`` and ``n`` (+ ``rows``: per-row arrays)."""
    r = row_arrays(pool, d)
    out = summarise(r)
    if rows:
        out["rows"] = r
    return out

"""F1 / precision / recall as one threshold moves, the others held where they are.

A T curve is one histogram pass over the table (or the merged union table) without
that side's Min2, cached independently of its T and T2; Min2 is then added
analytically (at threshold T it gives each lonely row — best candidate at distance
>= T — that candidate when it is within T2), so neither a T nor a T2 move re-sweeps.
A T2 curve at fixed T touches only rows whose set is lonely: one sort and a
cumulative sum over those rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import counts_to_scores
from .apply import row_arrays, union_table
from .decision import Decision
from .pool import Pool
from .search import grid, min2_grid

SWEEP_STEP = 0.01
SWEEP = grid(0.0, 1.0, SWEEP_STEP)  # thresholds of the curves (T2: the search's candidates at this step)
METRICS = ("f1", "precision", "recall")


def curves(pool: Pool, d: Decision, side: int = 0, ts=None, min2: bool = True) -> pd.DataFrame:
    """F1/P/R while one side's T runs over ``ts`` (others fixed; Min2 at the side's fixed T2), of the
    decision before any graph step (a curve with one would re-run the step per threshold)."""
    d = d.plain
    if not min2:
        d = d.without_min2()
    ts = SWEEP if ts is None else np.asarray(ts, dtype=np.float64)
    plain = d.with_side(side, t=0.0, t2=None)
    key = ("curve", tuple((pool.canonical(s.source), s.t, s.t2) for s in plain.sides), side,
           tuple(np.round(ts, 6).tolist()))

    def make():
        if not plain.is_union:
            c = pool.scorer(plain.sides[0].source).sweep(ts, None)
        else:
            table, sides = union_table(pool, plain)
            c = table.sweep(sides, sides[side][0], ts)
        return {k: c[k] for k in METRICS}
    out = {k: v.copy() for k, v in pool.cached(key, make).items()}
    t2 = d.sides[side].t2
    if t2 is not None:
        d_nn, old, new, n_all = _min2_candidates(pool, d, side)
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


def _min2_candidates(pool: Pool, d: Decision, side: int):
    """Rows that Min2 on ``side`` could change while that side is lonely: their best candidate's
    distance, and their scores without / with it (the other sides at their thresholds)."""
    if not d.is_union:
        src = d.sides[0].source
        nb = pool.neighbors(src)
        lab = pool.labels
        rows = np.flatnonzero(nb.nn_pos >= 0)
        same = lab[nb.idx[rows, nb.nn_pos[rows]]] == lab[rows]
        n_true = pool.scorer(src).n_true[rows]
        one = np.ones(len(rows))
        return nb.nn_dist[rows], counts_to_scores(one, one, n_true), counts_to_scores(one + same, one + 1, n_true), nb.n
    table, sides = union_table(pool, d)
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
    return (table.dist[s_idx][rows, slot[rows]], counts_to_scores(tp, n_pred, n_true),
            counts_to_scores(tp + same, n_pred + 1, n_true), table.n)


def min2_curve(pool: Pool, d: Decision, side: int = 0, t2s=None) -> pd.DataFrame:
    """F1/P/R while one side's Min2 T2 runs over ``t2s`` at its fixed T (others fixed), before any
    graph step."""
    d = d.plain
    t = d.sides[side].t
    t2s = min2_grid(t, SWEEP_STEP) if t2s is None else np.asarray(t2s, float)
    base = d.with_side(side, t2=None)
    r = row_arrays(pool, base)
    if not d.is_union:
        nb = pool.neighbors(d.sides[0].source)
        lab = pool.labels
        rows = np.flatnonzero((r["n_pred"] == 1) & (nb.nn_pos >= 0))
        d_nn = nb.nn_dist[rows]
        same = lab[nb.idx[rows, nb.nn_pos[rows]]] == lab[rows]
    else:
        table, sides = union_table(pool, d)
        s_idx = sides[side][0]
        pred = table.mask([(x, tt, None if i == side else tt2) for i, (x, tt, tt2) in enumerate(sides)])
        dist = table.dist[s_idx]
        lonely = ~((dist < np.float32(t)) & ~table.is_self).any(axis=1)
        has = table.nn[s_idx].any(axis=1)
        slot = table.nn[s_idx].argmax(axis=1)
        n = np.arange(table.n)
        rows = np.flatnonzero(lonely & has & ~pred[n, slot])
        d_nn = dist[rows, slot[rows]]
        same = table.same[rows, slot[rows]]
    n_all = len(r["f1"])
    old = counts_to_scores(r["tp"][rows], r["n_pred"][rows], r["n_true"][rows])
    new = counts_to_scores(r["tp"][rows] + same, r["n_pred"][rows] + 1, r["n_true"][rows])
    order = np.argsort(d_nn, kind="stable")
    count = np.searchsorted(d_nn[order], np.asarray(t2s, dtype=np.float32), side="left")  # rows with d < T2
    out = {"t2": t2s}
    for k in METRICS:
        gain = np.concatenate([[0.0], np.cumsum((new[k] - old[k])[order])])
        out[k] = (r[k].sum() + gain[count]) / n_all
    return pd.DataFrame(out)

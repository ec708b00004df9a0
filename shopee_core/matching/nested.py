"""How a decision transfers to a bigger pool: nested sub-pools of whole groups, each tuned and scored.

Retrieval is within one pool, so the same threshold behaves differently in a pool of 1,000 and
one of 34,000 postings: the bigger pool has more near neighbours from other groups, and the best
T is usually stricter. :func:`pool_size_curve` draws nested pools from one pool (prefixes of
one random order of its label groups, so every group is whole and each pool holds the smaller
ones), restricts the decision's tables to each (:meth:`Neighbors.restrict`), searches its
thresholds there with the layer's own :func:`tune` and scores the decision both at those and
at the given thresholds. A restricted table is exact for rows whose stored candidates reach
past the threshold; ``may_miss`` is the share of rows where it does not (the sub-pool's own
top-k could then hold a candidate the big pool's table never stored).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DecisionError
from .apply import scores
from .decision import Decision, Side
from .pool import Pool
from .search import FULL
from .sources import model_source
from .tune import tune

SMALLEST = 1000


def default_sizes(n: int, smallest: int = SMALLEST) -> list[int]:
    """1k, 2k, 4k, ... doubling up to the whole pool (which is always last); a pool under 8k starts at
    an eighth of itself (at least 50), so a small pool still shows a curve."""
    out, s = [], min(smallest, max(50, n // 8))
    while s < n * 0.9:
        out.append(s)
        s *= 2
    return out + [n]


def nested_pools(labels, sizes=None, seed: int = 0) -> list[np.ndarray]:
    """Sorted rows of nested pools of whole label groups, one per size (the first groups of one
    random order whose postings add up to at least that size; the last holds the whole pool)."""
    labels = np.asarray(labels)
    n = len(labels)
    sizes = default_sizes(n) if sizes is None else sorted(int(s) for s in sizes)
    if not sizes or sizes[0] < 2:
        raise DecisionError(f"pool sizes must be >= 2, got {sizes}")
    groups, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    rank = np.empty(len(groups), dtype=np.int64)
    rank[np.random.default_rng(seed).permutation(len(groups))] = np.arange(len(groups))
    cum = np.cumsum(counts[np.argsort(rank)])
    out = []
    for s in sizes:
        g = min(int(np.searchsorted(cum, min(s, n))) + 1, len(groups))  # groups taken
        out.append(np.flatnonzero(rank[inverse] < g))
    return out


def sub_pool(pool: Pool, d: Decision, rows) -> tuple[Pool, Decision]:
    """The decision inside the sub-pool ``rows``: each side's table restricted, the side renamed
    to a plain table of the sub-pool (``side0``, ``side1``, ...)."""
    rows = np.asarray(rows)
    tables, sides = {}, []
    for i, s in enumerate(d.sides):
        tables[(f"side{i}", "base")] = pool.neighbors(s.source).restrict(rows)
        sides.append(Side(model_source(f"side{i}"), s.t, s.t2))
    sub = Pool(pool.labels[rows], k=pool.k, tables=tables, name=f"{pool.name}[{len(rows)}]", n=len(rows))
    return sub, Decision(tuple(sides), d.name)


class Nested:
    """The nested sub-pools of one pool for one decision's tables (cached in the pool: a threshold
    move re-scores them, the tables and each sub-pool's best thresholds are kept)."""

    def __init__(self, pool: Pool, d: Decision, sizes, seed: int):
        self.rows = nested_pools(pool.labels, sizes, seed)
        self.subs = [sub_pool(pool, d, rows)[0] for rows in self.rows]
        full = [pool.neighbors(s.source) for s in d.sides]
        self.reach = [np.min([nb.reach[rows] for nb in full], axis=0) for rows in self.rows]
        self.nbytes = int(sum(12 * len(r) * pool.k * len(d.sides) * 4 for r in self.rows))

    @staticmethod
    def at(d: Decision) -> Decision:
        """``d``'s thresholds on the sub-pools' renamed tables."""
        return Decision(tuple(Side(model_source(f"side{i}"), s.t, s.t2) for i, s in enumerate(d.sides)), d.name)


def pool_size_curve(pool: Pool, d: Decision, sizes=None, seed: int = 0, min2: bool | None = None,
                    search=FULL) -> pd.DataFrame:
    """Per nested pool: postings, groups, the best thresholds searched there (first side's ``t``,
    ``t2``; every side's in ``thresholds``), F1/P/R at them, F1/P/R at ``d``'s own thresholds, and
    ``may_miss`` (share of rows whose stored candidates end before the best threshold)."""
    min2 = any(s.t2 is not None for s in d.sides) if min2 is None else min2
    key = ("nested", tuple(pool.canonical(s.source) for s in d.sides), None if sizes is None else tuple(sizes), seed)
    nested = pool.cached(key, lambda: Nested(pool, d, sizes, seed))
    out, dd = [], nested.at(d)
    for sub, rows, reach in zip(nested.subs, nested.rows, nested.reach):
        best = tune(sub, dd, min2=min2, search=search)
        at_best, at_given = scores(sub, best), scores(sub, dd)
        limit = max(max(s.t, s.t2 or 0.0) for s in best.sides)
        out.append({"postings": len(rows), "groups": int(len(np.unique(sub.labels))),
                    "t": best.sides[0].t, "t2": best.sides[0].t2,
                    "thresholds": " / ".join(f"{s.t:.3f}" + ("" if s.t2 is None else f" ({s.t2:.3f})")
                                             for s in best.sides),
                    "f1_best": at_best["f1"], "precision_best": at_best["precision"], "recall_best": at_best["recall"],
                    "f1_given": at_given["f1"], "precision_given": at_given["precision"],
                    "recall_given": at_given["recall"], "may_miss": float((reach < limit).mean())})
    return pd.DataFrame(out)


def pool_size_draws(pool: Pool, d: Decision, sizes=None, draws: int = 5, seed: int = 0, min2: bool | None = None,
                    search=FULL) -> pd.DataFrame:
    """:func:`pool_size_curve` for ``draws`` random orders of the groups (seeds ``seed``, ``seed+1``,
    ...), one frame with a ``draw`` column: the spread between draws at one size is how much the
    best threshold and F1 depend on which groups a pool of that size happens to hold."""
    if draws < 1:
        raise DecisionError(f"draws must be >= 1, got {draws}")
    frames = [pool_size_curve(pool, d, sizes=sizes, seed=seed + i, min2=min2, search=search).assign(draw=i)
              for i in range(draws)]
    return pd.concat(frames, ignore_index=True)


def pool_size_band(draws: pd.DataFrame, columns=("t", "t2", "f1_best", "f1_given")) -> pd.DataFrame:
    """Per size (the draws' mean postings): mean, min and max of each column over the draws."""
    size = draws.groupby("draw").cumcount().rename("step")
    g = draws.assign(step=size).groupby("step")
    out = pd.DataFrame({"postings": g["postings"].mean().round().astype(int)})
    for c in columns:
        if c in draws and draws[c].notna().any():
            out[c] = g[c].mean()
            out[f"{c}_lo"] = g[c].min()
            out[f"{c}_hi"] = g[c].max()
    return out.reset_index(drop=True)


BOUNDS = {"t": (0.0, 2.0), "t2": (0.0, 2.0), "f1_best": (0.0, 1.0), "f1_given": (0.0, 1.0)}  # distances, scores


def extrapolate(draws: pd.DataFrame, target: int, columns=("t", "t2", "f1_best"), last: int = 3) -> dict:
    """Each draw's ``columns`` at ``target`` postings, from a straight line in log(postings) through
    the draw's ``last`` biggest pools, kept within what the quantity can be (a cosine distance is not
    below 0, an F1 not above 1: ``clipped`` says a line ran past it); returns per column the mean, min
    and max over draws.

    An extrapolation, not a measurement: it assumes the trend of the biggest pools goes on (denser
    neighbourhoods, a stricter best T) — read the spread, and trust it less the further the target.
    """
    if target < 2:
        raise DecisionError(f"the target pool size must be >= 2, got {target}")
    out = {"target": int(target)}
    for c in columns:
        if c not in draws or draws[c].isna().all():
            continue
        values = []
        for _, g in draws.groupby("draw"):
            g = g.dropna(subset=[c]).sort_values("postings").tail(last)
            if len(g) == 0:
                continue
            x = np.log(g["postings"].to_numpy(dtype=float))
            y = g[c].to_numpy(dtype=float)
            if len(g) == 1 or np.ptp(x) == 0:
                values.append(float(y[-1]))
                continue
            slope, icpt = np.polyfit(x, y, 1)
            values.append(float(icpt + slope * np.log(target)))
        if values:
            lo, hi = BOUNDS.get(c, (-np.inf, np.inf))
            raw = np.asarray(values)
            v = np.clip(raw, lo, hi)
            out[c] = {"mean": float(v.mean()), "lo": float(v.min()), "hi": float(v.max()), "values": v.tolist(),
                      "clipped": bool((raw != v).any())}
    return out

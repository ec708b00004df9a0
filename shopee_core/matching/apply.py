"""A decision applied to a pool: predicted sets, per-row scores, mean scores.

Single-side decisions are scored with :class:`~shopee_core.matching.Scorer` (a
threshold move is one pass over the table); unions with the merged
:class:`~shopee_core.matching.union.PairTable`.
"""

from __future__ import annotations

import numpy as np

from ..metrics import summarise
from .decision import Decision
from .pool import Pool
from .rules import predict
from .union import PairTable


def union_table(pool: Pool, d: Decision) -> tuple[PairTable, list]:
    """The merged table of a union's sources and its sides as (table side, t, t2)."""
    srcs = tuple(pool.canonical(s.source) for s in d.sides)
    uniq = tuple(dict.fromkeys(srcs))
    table = pool.pair_table(uniq)
    return table, [(uniq.index(src), s.t, s.t2) for src, s in zip(srcs, d.sides)]


def predictions(pool: Pool, d: Decision) -> np.ndarray:
    """Padded predicted sets (pool indices, -1 padding), self always included."""
    if not d.is_union:
        s = d.sides[0]
        return predict(pool.neighbors(s.source), s.t, s.t2)
    table, sides = union_table(pool, d)
    return table.predictions(sides)


def row_arrays(pool: Pool, d: Decision) -> dict[str, np.ndarray]:
    """Per-row ``f1``, ``precision``, ``recall``, ``tp``, ``n_pred``, ``n_true``."""
    pool.labels  # noqa: B018  (a clear error for an unlabelled pool)
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

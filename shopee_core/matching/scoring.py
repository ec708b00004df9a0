"""Fast F1 of a neighbour table under any threshold (the live-slider hot path).

Rows of a :class:`Neighbors` table are sorted by distance, so the candidates with
d < T form a prefix of each row. Cumulative counts of true and predicted non-self
candidates are computed once; a threshold move then costs one comparison pass
and a few gathers, and a whole threshold sweep one histogram.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..metrics import check_labels, counts_to_scores, group_sizes, mean_scores, summarise
from .knn import Neighbors

# (rows x thresholds) cells a sweep holds at once (32 MB per int64 array, a few such arrays live at a
# time); beyond, it runs in row blocks: a validation split (6,850 rows x 200 thresholds) in one, a
# 70,000-posting pool's curves in four, whose temporaries would otherwise be ~600 MB of the server's peak
SWEEP_CELLS = 4 * 2**20


class Scorer:
    """Scores a neighbour table against true labels for any (T, T2)."""

    def __init__(self, nb: Neighbors, labels: np.ndarray):
        self.nb = nb
        self.labels = check_labels(labels, nb.n)
        self.n_true = group_sizes(self.labels)
        same = self.labels[nb.idx] == self.labels[:, None]
        nonself = ~nb.is_self
        # cum_same[i, c] = true matches among the first c candidates of row i (self excluded), in the
        # narrowest integer that holds k (one byte for k < 255: a 70,000 x 51 table is 3.6 MB, not 14)
        small = np.uint8 if nb.k < 255 else np.uint16 if nb.k < 65535 else np.int32
        self._cum_same = np.zeros((nb.n, nb.k + 1), dtype=small)
        np.cumsum(same & nonself, axis=1, dtype=small, out=self._cum_same[:, 1:])
        # predicted non-self among the first c = c minus whether self is among them (its column)
        self._self_col = np.where(nb.is_self.any(axis=1), np.argmax(nb.is_self, axis=1), nb.k).astype(np.int32)
        pos = nb.nn_pos
        rows = np.arange(nb.n)
        self._nn_same = np.where(pos >= 0, same[rows, np.maximum(pos, 0)], False)
        self._rows = rows

    @property
    def nbytes(self) -> int:
        """Its prefix counts and per-row arrays (the table is cached on its own)."""
        return int(self._cum_same.nbytes + self.nb.n * 32)

    @cached_property
    def self_only(self) -> dict[str, float]:
        """Score of predicting every posting alone (the floor any model must beat)."""
        ones = np.ones(self.nb.n)
        return summarise(counts_to_scores(ones, ones, self.n_true))

    def _counts(self, prefix: np.ndarray, t2, rows=slice(None)) -> tuple[np.ndarray, np.ndarray]:
        """tp and |Y| for prefix lengths ``prefix`` (R, G) of ``rows`` (default all), with Min2 at ``t2``
        (None or (G,))."""
        r = self._rows[rows][:, None]
        tp = self._cum_same[r, prefix].astype(np.int64) + 1
        n_pred = prefix - (self._self_col[rows][:, None] < prefix) + 1
        if t2 is not None:
            add = (n_pred == 1) & (self.nb.nn_dist[rows][:, None] < np.asarray(t2, dtype=np.float32)[None, :])
            add &= (self.nb.nn_pos[rows] >= 0)[:, None]
            n_pred = n_pred + add
            tp = tp + (add & self._nn_same[rows][:, None])
        return tp, n_pred

    def _row_blocks(self, width: int) -> list:
        """Row slices for a sweep of ``width`` thresholds: all rows at once up to SWEEP_CELLS cells (the
        usual pools: the very same arithmetic as ever), blocks of rows beyond (a million-row table
        would otherwise hold gigabytes of (N, G) counts), their means combined by row counts."""
        n = self.nb.n
        if n * (width + 1) <= SWEEP_CELLS:
            return [slice(None)]
        step = max(1, SWEEP_CELLS // (width + 1))
        return [slice(a, min(a + step, n)) for a in range(0, n, step)]

    @staticmethod
    def _combine(parts: list, sizes: list) -> dict[str, np.ndarray]:
        if len(parts) == 1:
            return parts[0]
        total = float(sum(sizes))
        return {key: sum(p[key] * (m / total) for p, m in zip(parts, sizes)) for key in parts[0]}

    def prefix(self, t: float) -> np.ndarray:
        return (self.nb.dist < np.float32(t)).sum(axis=1)

    def rows(self, t: float, t2: float | None = None) -> dict[str, np.ndarray]:
        """Per-row precision/recall/f1/tp/n_pred/n_true at one setting."""
        tp, n_pred = self._counts(self.prefix(t)[:, None], None if t2 is None else [t2])
        tp, n_pred = tp[:, 0], n_pred[:, 0]
        out = counts_to_scores(tp, n_pred, self.n_true)
        out.update(tp=tp, n_pred=n_pred, n_true=self.n_true)
        return out

    def score(self, t: float, t2: float | None = None) -> dict[str, float]:
        return summarise(self.rows(t, t2))

    def _sweep_block(self, rows, sorted_ts: np.ndarray, t2) -> tuple[np.ndarray, np.ndarray]:
        """tp and n_pred of ``rows`` for the ascending thresholds ``sorted_ts`` (Min2 at ``t2``, in
        the same order), from one histogram pass over those rows of the table."""
        g = len(sorted_ts)
        dist = self.nb.dist[rows]
        m, k = dist.shape
        # entry (i, j) is predicted for thresholds sorted_ts[b:], b = searchsorted(right)
        bins = np.searchsorted(sorted_ts, dist.ravel(), side="right")
        flat = np.repeat(np.arange(m) * (g + 1), k) + bins
        hist = np.bincount(flat, minlength=m * (g + 1)).reshape(m, g + 1)
        prefix = np.cumsum(hist, axis=1)[:, :g]
        return self._counts(prefix, t2, rows)

    @staticmethod
    def _sorted(ts, t2):
        ts = np.asarray(ts, dtype=np.float32)
        order = np.argsort(ts, kind="stable")
        if t2 is not None:
            t2 = np.broadcast_to(np.asarray(t2, dtype=np.float32), ts.shape)[order]
        return ts[order], t2, np.argsort(order, kind="stable")

    def sweep_counts(self, ts, t2=None) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ``tp`` and ``n_pred`` (N, len(ts)) for every threshold in ``ts`` (Min2 at ``t2``:
        None, a scalar, or one value per threshold), from one histogram pass over the table (in row
        blocks: only the result is (N, G))."""
        sorted_ts, t2, inverse = self._sorted(ts, t2)
        parts = [self._sweep_block(rows, sorted_ts, t2) for rows in self._row_blocks(len(sorted_ts))]
        tp = np.concatenate([p[0] for p in parts]) if len(parts) > 1 else parts[0][0]
        n_pred = np.concatenate([p[1] for p in parts]) if len(parts) > 1 else parts[0][1]
        return tp[:, inverse], n_pred[:, inverse]

    def sweep(self, ts, t2=None) -> dict[str, np.ndarray]:
        """Mean f1/precision/recall for every threshold in ``ts`` (Min2 at ``t2``:
        None, a scalar, or one value per threshold)."""
        sorted_ts, t2, inverse = self._sorted(ts, t2)
        means = self._means(len(sorted_ts), lambda rows: self._sweep_block(rows, sorted_ts, t2))
        return {key: v[inverse] for key, v in means.items()}

    def _means(self, width: int, counts) -> dict[str, np.ndarray]:
        """Mean scores over every row of (rows, ``width``) counts, ``counts(rows)`` -> ``(tp, n_pred)`` of a
        slice of rows: the row blocks of :meth:`_row_blocks`, each block's mean made a chunk of rows at a
        time (``metrics.mean_scores``: the same numbers as one pass over the block)."""
        parts, sizes = [], []
        for rows in self._row_blocks(width):
            start, stop, _ = rows.indices(self.nb.n)

            def chunk(part, start=start):
                part = slice(start + part.start, start + part.stop)
                return (*counts(part), self.n_true[part][:, None])
            parts.append(mean_scores(stop - start, width, chunk))
            sizes.append(stop - start)
        return self._combine(parts, sizes)

    def min2_counts(self, t: float, t2s) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ``tp`` and ``n_pred`` (N, len(t2s)) at fixed T for every Min2 threshold in ``t2s``."""
        t2s = np.asarray(t2s, dtype=np.float32)
        prefix = np.repeat(self.prefix(t)[:, None], len(t2s), axis=1)
        return self._counts(prefix, t2s)

    def sweep_min2(self, t: float, t2s) -> dict[str, np.ndarray]:
        """Mean scores at fixed T for every Min2 threshold in ``t2s``."""
        t2s = np.asarray(t2s, dtype=np.float32)
        full = self.prefix(t)
        return self._means(len(t2s), lambda rows: self._counts(np.repeat(full[rows][:, None], len(t2s), axis=1),
                                                               t2s, rows))

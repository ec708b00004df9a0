"""Fast F1 of a neighbour table under any threshold (the live-slider hot path).

Rows of a :class:`Neighbors` table are sorted by distance, so the candidates with
d < T form a prefix of each row. Cumulative counts of true and predicted non-self
candidates are computed once; a threshold move then costs one comparison pass
and a few gathers, and a whole threshold sweep one histogram.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from ..metrics import check_labels, counts_to_scores, group_sizes, summarise
from .knn import Neighbors


class Scorer:
    """Scores a neighbour table against true labels for any (T, T2)."""

    def __init__(self, nb: Neighbors, labels: np.ndarray):
        self.nb = nb
        self.labels = check_labels(labels, nb.n)
        self.n_true = group_sizes(self.labels)
        same = self.labels[nb.idx] == self.labels[:, None]
        nonself = ~nb.is_self
        zeros = np.zeros((nb.n, 1), dtype=np.int32)
        # cum_*[i, c] = count among the first c candidates of row i (self excluded)
        self._cum_same = np.hstack([zeros, np.cumsum(same & nonself, axis=1, dtype=np.int32)])
        self._cum_pred = np.hstack([zeros, np.cumsum(nonself, axis=1, dtype=np.int32)])
        pos = nb.nn_pos
        rows = np.arange(nb.n)
        self._nn_same = np.where(pos >= 0, same[rows, np.maximum(pos, 0)], False)
        self._rows = rows

    @property
    def nbytes(self) -> int:
        return int(self.nb.idx.nbytes * 3)

    @cached_property
    def self_only(self) -> dict[str, float]:
        """Score of predicting every posting alone (the floor any model must beat)."""
        ones = np.ones(self.nb.n)
        return summarise(counts_to_scores(ones, ones, self.n_true))

    def _counts(self, prefix: np.ndarray, t2) -> tuple[np.ndarray, np.ndarray]:
        """tp and |Y| for prefix lengths ``prefix`` (N, G), with Min2 at ``t2`` (None or (G,))."""
        r = self._rows[:, None]
        tp = self._cum_same[r, prefix] + 1
        n_pred = self._cum_pred[r, prefix] + 1
        if t2 is not None:
            add = (n_pred == 1) & (self.nb.nn_dist[:, None] < np.asarray(t2, dtype=np.float32)[None, :])
            add &= (self.nb.nn_pos >= 0)[:, None]
            n_pred = n_pred + add
            tp = tp + (add & self._nn_same[:, None])
        return tp, n_pred

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

    def sweep_counts(self, ts, t2=None) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ``tp`` and ``n_pred`` (N, len(ts)) for every threshold in ``ts`` (Min2 at ``t2``:
        None, a scalar, or one value per threshold), from one histogram pass over the table."""
        ts = np.asarray(ts, dtype=np.float32)
        order = np.argsort(ts, kind="stable")
        sorted_ts = ts[order]
        g = len(ts)
        # entry (i, j) is predicted for thresholds sorted_ts[b:], b = searchsorted(right)
        bins = np.searchsorted(sorted_ts, self.nb.dist.ravel(), side="right")
        flat = np.repeat(np.arange(self.nb.n) * (g + 1), self.nb.k) + bins
        hist = np.bincount(flat, minlength=self.nb.n * (g + 1)).reshape(self.nb.n, g + 1)
        prefix = np.cumsum(hist, axis=1)[:, :g]
        if t2 is not None:
            t2 = np.broadcast_to(np.asarray(t2, dtype=np.float32), ts.shape)[order]
        tp, n_pred = self._counts(prefix, t2)
        inverse = np.argsort(order, kind="stable")
        return tp[:, inverse], n_pred[:, inverse]

    def sweep(self, ts, t2=None) -> dict[str, np.ndarray]:
        """Mean f1/precision/recall for every threshold in ``ts`` (Min2 at ``t2``:
        None, a scalar, or one value per threshold)."""
        tp, n_pred = self.sweep_counts(ts, t2)
        s = counts_to_scores(tp, n_pred, self.n_true[:, None])
        return {key: v.mean(axis=0) for key, v in s.items()}

    def min2_counts(self, t: float, t2s) -> tuple[np.ndarray, np.ndarray]:
        """Per-row ``tp`` and ``n_pred`` (N, len(t2s)) at fixed T for every Min2 threshold in ``t2s``."""
        t2s = np.asarray(t2s, dtype=np.float32)
        prefix = np.repeat(self.prefix(t)[:, None], len(t2s), axis=1)
        return self._counts(prefix, t2s)

    def sweep_min2(self, t: float, t2s) -> dict[str, np.ndarray]:
        """Mean scores at fixed T for every Min2 threshold in ``t2s``."""
        tp, n_pred = self.min2_counts(t, t2s)
        s = counts_to_scores(tp, n_pred, self.n_true[:, None])
        return {key: v.mean(axis=0) for key, v in s.items()}

"""Several candidate tables of one pool merged per row: the union engine.

A union's predicted set is the union of its sides' sets, each side at its own
(T, T2). Merging the sides' tables per row (each candidate once) makes every union
question one vectorised pass: Min2 is exact because "add the best non-self
candidate when the set is lonely and it is within T2" is the same as "the best
candidate is predicted when d < max(T, T2)" on that side.
"""

from __future__ import annotations

import numpy as np

from ..errors import DecisionError
from ..metrics import counts_to_scores, group_sizes, mean_scores
from .knn import Neighbors

BLOCK_SLOTS = 1 << 19  # candidate slots merged at a time (rows x the tables' summed k)


def _readonly(*arrays):
    for a in arrays:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False


class PairTable:
    """Several candidate tables of one pool merged per row (each candidate once).

    ``idx`` (N, W) candidate indices (-1 padding), ``dist`` (S, N, W) each table's
    distance to the candidate (inf where that table does not hold it), ``nn`` (S, N, W)
    where the candidate is the table's best non-self one, ``same`` (N, W) same label
    (None without labels: a merged candidate set for fusion, not for scoring).
    """

    def __init__(self, tables: list[Neighbors], labels_: np.ndarray | None, sources=None):
        if not tables:
            raise DecisionError("no tables to merge")
        n = tables[0].n
        if any(t.n != n for t in tables):
            raise DecisionError("tables of different pools")
        self.sources = tuple(sources) if sources is not None else tuple(range(len(tables)))
        k_all = sum(t.k for t in tables)
        src = np.concatenate([np.full(t.k, s, dtype=np.int64) for s, t in enumerate(tables)])
        cols = [np.arange(t.k) for t in tables]
        # blocks of rows: merging whole tables at once made ~480 MB of sort and index temporaries at
        # 70,000 postings x 3 tables (a one-off tracemalloc probe; the decision plane's peak); per block a few MB
        step = max(1, BLOCK_SLOTS // max(k_all, 1))
        blocks = [(a, min(a + step, n)) for a in range(0, n, step)]

        def cat(a, b, name):  # rows a:b of every table's ``idx`` or ``dist``, side by side
            return np.concatenate([getattr(t, name)[a:b] for t in tables], axis=1)
        w = 0  # the merged width: the most distinct values in a row (padding -1 counts as one)
        for a, b in blocks if k_all else ():
            srt = np.sort(cat(a, b, "idx"), axis=1)
            w = max(w, 1 + int((srt[:, 1:] != srt[:, :-1]).sum(axis=1).max()))
        self.idx = np.full((n, w), -1, dtype=np.int32)
        self.dist = np.full((len(tables), n, w), np.inf, dtype=np.float32)
        self.nn = np.zeros((len(tables), n, w), dtype=bool)
        flat_idx, flat_dist, flat_nn = self.idx.reshape(-1), self.dist.reshape(-1), self.nn.reshape(-1)
        nn_pos = [t.nn_pos for t in tables]
        for a, b in blocks if k_all else ():
            block = cat(a, b, "idx")
            order = np.argsort(block, axis=1, kind="stable")
            sidx = np.take_along_axis(block, order, axis=1)
            first = np.ones(sidx.shape, dtype=bool)
            first[:, 1:] = sidx[:, 1:] != sidx[:, :-1]
            # every candidate's place in the merged (n, w) table; one scatter per array for all tables
            # (a table's candidates picked out one table at a time took a third of the merge)
            place = np.cumsum(first, axis=1, dtype=np.int64) - 1
            place += (np.arange(a, b, dtype=np.int64) * w)[:, None]
            flat_idx[place] = sidx  # a value met twice in a row goes to the same place: written twice, alike
            place += src[order] * (n * w)
            flat_dist[place] = np.take_along_axis(cat(a, b, "dist"), order, axis=1)
            nn = np.concatenate([p[a:b, None] == c for p, c in zip(nn_pos, cols)], axis=1)
            flat_nn[place] = np.take_along_axis(nn, order, axis=1)
        self.n, self.w = n, w
        self.valid = self.idx >= 0
        self.is_self = self.idx == np.arange(n, dtype=np.int32)[:, None]
        self.labels = self.same = self.n_true = None
        if labels_ is not None:
            self.labels = np.asarray(labels_)
            self.same = np.empty((n, w), dtype=bool)
            for a, b in blocks:
                self.same[a:b] = self.valid[a:b] & (self.labels[np.maximum(self.idx[a:b], 0)]
                                                    == self.labels[a:b, None])
            self.n_true = group_sizes(self.labels)
        _readonly(self.idx, self.dist, self.nn, self.valid, self.is_self, self.same)

    @property
    def nbytes(self) -> int:
        arrays = (self.idx, self.dist, self.nn, self.valid, self.is_self, self.same)
        return int(sum(a.nbytes for a in arrays if a is not None))

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

        def counts(rows):  # a chunk of rows: its (rows, g) counts only
            r, c = np.nonzero(live[rows])
            m = len(base_pred[rows])
            bins = np.searchsorted(sorted_ts, d[rows][r, c], side="right")
            flat = r.astype(np.int64) * (g + 1) + bins
            hist = np.bincount(flat, minlength=m * (g + 1)).reshape(m, g + 1)
            hist_tp = np.bincount(flat, weights=self.same[rows][r, c], minlength=m * (g + 1)).reshape(m, g + 1)
            n_pred = base_pred[rows][:, None] + np.cumsum(hist, axis=1)[:, :g]
            tp = base_tp[rows][:, None] + np.cumsum(hist_tp, axis=1)[:, :g]
            return tp, n_pred, self.n_true[rows][:, None]
        inverse = np.argsort(order, kind="stable")
        return {k: v[inverse] for k, v in mean_scores(self.n, g, counts).items()}

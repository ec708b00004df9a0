"""Cosine k-nearest neighbours inside one candidate pool.

Exact by default: a single dense block goes to faiss's brute-force search (``faiss.knn``,
no copy of the rows); fused, sparse or mixed sets are scored in row chunks, block by block
(sparse products stay sparse until the chunk, a fused set's blocks are never stacked into
one copy), and the top k taken per row, so a 15,000-wide TF-IDF matrix or a 2,560-d fusion
of 34,250 rows costs a chunk of similarities at a time, not a second copy of the set.

``index=`` an approximate faiss index (:mod:`.index`: IVF or HNSW) for dense sets too big
for N² work; sparse sets stay exact (an approximate index needs dense rows).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
from tqdm.auto import tqdm

from ..errors import EmbeddingError
from .embeddings import Embeddings
from .index import ann_search, parse_index

DEFAULT_K = 50


class Neighbors:
    """Candidate table: ``idx`` (N, k) int32 pool indices, ``sim`` (N, k) float32.

    Rows are sorted by similarity, most similar first; every row holds itself.
    Derived arrays used by every threshold move are computed once and cached.
    """

    def __init__(self, idx: np.ndarray, sim: np.ndarray):
        idx = np.ascontiguousarray(idx, dtype=np.int32)
        sim = np.ascontiguousarray(sim, dtype=np.float32)
        if idx.shape != sim.shape or idx.ndim != 2:
            raise EmbeddingError(f"neighbour arrays disagree: idx {idx.shape}, sim {sim.shape}")
        n = idx.shape[0]
        if n and (idx.min() < 0 or idx.max() >= n):
            raise EmbeddingError("neighbour indices outside the pool")
        if n and not (idx == np.arange(n)[:, None]).any(axis=1).all():
            raise EmbeddingError("neighbour table misses a row's own index")
        if not np.isfinite(sim).all():
            raise EmbeddingError("neighbour similarities hold NaN or inf")
        if (np.diff(sim, axis=1) > 0).any():  # rows must run most similar first
            order = np.argsort(-sim, axis=1, kind="stable")
            idx = np.take_along_axis(idx, order, axis=1)
            sim = np.take_along_axis(sim, order, axis=1)
        self.idx, self.sim = idx, sim
        for a in (self.idx, self.sim):
            a.flags.writeable = False

    @property
    def n(self) -> int:
        return self.idx.shape[0]

    @property
    def k(self) -> int:
        return self.idx.shape[1]

    @property
    def nbytes(self) -> int:
        """The table and the derived arrays a threshold move computes from it (about as much again)."""
        return int(self.idx.nbytes * 3)

    def restrict(self, rows) -> Neighbors:
        """The table inside a sub-pool (``rows``, sorted pool indices; new indices are positions in
        ``rows``): each row keeps its candidates that are in the sub-pool, in order, padded with its
        own index at similarity -1 (never below a threshold). Exact for every row whose last stored
        candidate is farther than the thresholds used (:meth:`reach`); otherwise the sub-pool's own
        top-k could hold candidates this table never stored."""
        rows = np.asarray(rows, dtype=np.int64)
        pos = np.full(self.n, -1, dtype=np.int64)
        pos[rows] = np.arange(len(rows))
        idx = pos[self.idx[rows]]
        keep = idx >= 0
        width = max(int(keep.sum(axis=1).max(initial=1)), 1)
        order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
        idx = np.take_along_axis(idx, order, axis=1)
        sim = np.take_along_axis(self.sim[rows], order, axis=1)
        kept = np.take_along_axis(keep, order, axis=1)
        own = np.arange(len(rows))[:, None]
        return Neighbors(np.where(kept, idx, own), np.where(kept, sim, np.float32(-1.0)))

    @cached_property
    def reach(self) -> np.ndarray:
        """Per row, the distance of its last stored candidate: every candidate nearer than that is in
        the table, whatever pool the table is later restricted to."""
        return self.dist[:, -1] if self.k < self.n else np.full(self.n, np.inf, dtype=np.float32)

    @cached_property
    def dist(self) -> np.ndarray:
        """Cosine distance d = 1 - s, the quantity thresholds compare with."""
        d = np.float32(1.0) - self.sim
        d.flags.writeable = False
        return d

    @cached_property
    def is_self(self) -> np.ndarray:
        return self.idx == np.arange(self.n, dtype=np.int32)[:, None]

    @cached_property
    def nn_pos(self) -> np.ndarray:
        """Column of the best non-self candidate in each row (-1 if the row has none)."""
        if self.k < 2:
            return np.full(self.n, -1, dtype=np.int64)
        order = np.where(self.is_self, np.inf, self.dist)
        pos = np.argmin(order, axis=1)
        pos[np.isinf(order[np.arange(self.n), pos])] = -1
        return pos

    @cached_property
    def nn_dist(self) -> np.ndarray:
        """Distance to the best non-self candidate (inf if none)."""
        pos = self.nn_pos
        out = np.full(self.n, np.inf, dtype=np.float32)
        ok = pos >= 0
        out[ok] = self.dist[np.flatnonzero(ok), pos[ok]]
        return out


def _finish(idx: np.ndarray, sim: np.ndarray, self_sim: np.ndarray) -> Neighbors:
    """Put every row's own index in its candidates, then sort rows by similarity."""
    n, k = idx.shape
    rows = np.arange(n)
    has_self = (idx == rows[:, None]).any(axis=1)
    missing = np.flatnonzero(~has_self)
    if len(missing):
        idx[missing, -1] = missing
        sim[missing, -1] = self_sim[missing]
    # stable sort: most similar first, ties by pool index, so results never depend on
    # the search backend's tie order
    key_order = np.argsort(idx, axis=1, kind="stable")
    idx = np.take_along_axis(idx, key_order, axis=1)
    sim = np.take_along_axis(sim, key_order, axis=1)
    order = np.argsort(-sim, axis=1, kind="stable")
    return Neighbors(np.take_along_axis(idx, order, axis=1), np.take_along_axis(sim, order, axis=1))


def _faiss_search(x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    import faiss

    sim, idx = faiss.knn(x, x, k, metric=faiss.METRIC_INNER_PRODUCT)  # brute force, no index copy
    return idx.astype(np.int32), sim.astype(np.float32)


CHUNK_BYTES = 64 * 2**20  # similarity rows per chunk of a blocked search
PARTITION_SPLIT = 4  # a chunk's rows are partitioned in this many blocks (a quarter of its int64 picks)


def _chunked_search(emb: Embeddings, k: int, chunk: int, progress: bool):
    n = len(emb)
    # a fused set's members read in place: each member's pages given back after its product, chunk by chunk
    # (the exact search of a five-member 2,560-d set at 34,253 postings held all five, 350 MB, resident
    # beside its chunks; one at a time: peak 744 -> 486 MB, each chunk 6-9% slower, in a one-off timing)
    several = len(emb.blocks) > 1
    idx = np.empty((n, k), dtype=np.int32)
    sim = np.empty((n, k), dtype=np.float32)
    starts = range(0, n, chunk)
    if progress:
        starts = tqdm(starts, desc="kNN", unit="chunk", leave=False)
    for start in starts:
        stop = min(start + chunk, n)
        s = emb.similarity_rows(slice(start, stop), release_pages=several)
        if k < n:
            # negated in place and partitioned a few rows at a time (each row on its own, so the same
            # picks): -s and the (rows, N) int64 partition beside s were 3x the chunk at the search's peak
            np.negative(s, out=s)
            step = max(1, len(s) // PARTITION_SPLIT)
            for a in range(0, len(s), step):
                block = s[a:a + step]
                part = np.argpartition(block, k - 1, axis=1)[:, :k]
                idx[start + a:start + a + len(block)] = part
                sim[start + a:start + a + len(block)] = np.negative(np.take_along_axis(block, part, axis=1))
                del part
        else:
            part = np.broadcast_to(np.arange(n), (stop - start, n)).copy()
            idx[start:stop] = part
            sim[start:stop] = np.take_along_axis(s, part, axis=1)
        del s  # not alive beside the next chunk's similarities
    return idx, sim


def knn(emb: Embeddings, k: int = DEFAULT_K, chunk: int | None = None, progress: bool = False,
        index=None) -> Neighbors:
    """Top-``k`` candidates by similarity for every row, self included (k capped at N).
    ``index``: None / ``"exact"`` or an approximate :class:`~.index.IndexSpec` (dense sets)."""
    n = len(emb)
    if k < 1:
        raise EmbeddingError(f"k must be >= 1, got {k}")
    k = min(int(k), n)
    spec = parse_index(index)
    emb = emb.densified()  # a narrow sparse block (a few hundred words) searches faster dense
    if emb.is_dense and not spec.exact:
        idx, sim = ann_search(emb.dense(), k, spec)
    elif emb.is_dense and len(emb.blocks) == 1 and not emb.weighted:
        idx, sim = _faiss_search(emb.blocks[0], k)
    else:
        chunk = chunk or max(1, CHUNK_BYTES // (4 * n))
        idx, sim = _chunked_search(emb, k, chunk, progress)
    return _finish(idx, sim, emb.self_similarity())


JOINT_BYTES = 512 * 2**20  # similarity blocks held at once by a joint search (all sets of one chunk)


def _top_k(s: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    n = s.shape[1]
    part = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < n else np.broadcast_to(np.arange(n), s.shape).copy()
    return part, np.take_along_axis(s, part, axis=1)


def joint_knn(sets: dict, fusions: dict, k: int = DEFAULT_K, budget: int = JOINT_BYTES,
              progress: bool = False) -> dict[str, Neighbors]:
    """Exact top-``k`` tables of several sets of the same rows and of weighted means of them, in one pass.

    ``sets``: name -> :class:`Embeddings`; ``fusions``: name -> {set name: weight} (weights summing to
    1). Each chunk of query rows computes every set's similarity block once; a fusion's block is the
    weighted sum of its members' (the mean of cosines, exactly what its fused set's search computes),
    so a fusion costs additions and a top-k, not a second product over its members' dimensions (a
    five-model 2,560-d ensemble would repeat all five members' work)."""
    names = list(sets)
    n = len(sets[names[0]])
    if any(len(e) != n for e in sets.values()):
        raise EmbeddingError("joint kNN needs sets of the same rows")
    k = min(int(k), n)
    sets = {m: e.densified() for m, e in sets.items()}
    out = {m: (np.empty((n, k), dtype=np.int32), np.empty((n, k), dtype=np.float32)) for m in [*names, *fusions]}
    step = max(1, budget // (4 * n * (len(names) + 1)))
    starts = range(0, n, step)
    if progress:
        starts = tqdm(starts, desc="joint kNN", unit="chunk", leave=False)
    for start in starts:
        rows = slice(start, min(start + step, n))
        sims = {m: e.similarity_rows(rows) for m, e in sets.items()}
        for m in names:
            out[m][0][rows], out[m][1][rows] = _top_k(sims[m], k)
        for f, weights in fusions.items():
            acc = None
            for m, w in weights.items():
                acc = np.float32(w) * sims[m] if acc is None else acc + np.float32(w) * sims[m]
            out[f][0][rows], out[f][1][rows] = _top_k(acc, k)
    self_sim = {m: e.self_similarity() for m, e in sets.items()}
    for f, weights in fusions.items():
        self_sim[f] = sum(np.float32(w) * self_sim[m] for m, w in weights.items())
    return {m: _finish(idx, sim, self_sim[m]) for m, (idx, sim) in out.items()}

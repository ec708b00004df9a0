"""Embedding sets: one or more blocks whose dot products add up to a cosine.

A single model is one L2-normalised block (dense ``ndarray`` or sparse CSR for
TF-IDF). Mean fusion of m sets weighs each block's dot products by its weight (1/m
each by default): similarity = sum over blocks of w_b · x_i·x_j, the mean of the m
cosines, without ever densifying a sparse block and without copying a member's rows
(a fusion of five 512-d sets of 34,250 rows holds no 350 MB copy; the weights apply
to a chunk of query rows at a time). INB rewrites blocks and re-normalises the whole row.

A set also remembers each row's length before normalising (``norms``), so INB can
blend the raw vectors as the seed does; a fused or blended set has none (its rows
are unit length by construction).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..cache import release, sizeof
from ..errors import EmbeddingError

# pairs per chunk in pair_similarity: bounds the gathered rows to ~50 MB at 768-d float32
PAIR_CHUNK = 16384
# candidate_similarity: temporaries per block of rows, and the pool size (in candidate widths) up to
# which a BLAS product of a block with every row beats gathering the candidates' rows
CANDIDATE_CHUNK_BYTES = 32 * 2**20
GEMM_RATIO = 100
GEMM_RATIO_IN_PLACE = 10  # the same when faiss reads the candidates' rows in place (measured, see below)


def _faiss_ready(block) -> bool:
    """Whether faiss's indexed inner-product kernels can read this block in place: a dense,
    C-contiguous float32 array (a float16 or sparse block takes numpy's way)."""
    return isinstance(block, np.ndarray) and block.dtype == np.float32 and block.flags.c_contiguous


def _indexed_dots(block: np.ndarray, query: np.ndarray, cand: np.ndarray) -> np.ndarray:
    """(M, W) dot products of rows ``query[r]`` with rows ``cand[r, :]`` of ``block``, by faiss's
    ``fvec_inner_products_by_idx`` (OpenMP over rows, candidate rows read in place): numpy's way
    first copies every candidate row (M x W x d floats), ~4x slower at 34,253 x 233 x 512-d."""
    import faiss

    q = np.ascontiguousarray(block[query])
    ids = np.ascontiguousarray(cand, dtype=np.int64)
    out = np.empty(ids.shape, dtype=np.float32)
    faiss.fvec_inner_products_by_idx(faiss.swig_ptr(out), faiss.swig_ptr(q), faiss.swig_ptr(block),
                                     faiss.swig_ptr(ids), block.shape[1], ids.shape[0], ids.shape[1])
    return out


def _pair_dots(block: np.ndarray, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Dot products of row pairs (i[n], j[n]) of ``block`` by faiss's
    ``pairwise_indexed_inner_product`` (no gathered copy of either side)."""
    import faiss

    i = np.ascontiguousarray(i, dtype=np.int64)
    j = np.ascontiguousarray(j, dtype=np.int64)
    out = np.empty(len(i), dtype=np.float32)
    faiss.pairwise_indexed_inner_product(block.shape[1], len(i), faiss.swig_ptr(block), faiss.swig_ptr(i),
                                         faiss.swig_ptr(block), faiss.swig_ptr(j), faiss.swig_ptr(out))
    return out


def _gather_bytes(block, w: int) -> int:
    """Temporaries per query row of :meth:`Embeddings.candidate_similarity` for one block and W
    candidates: faiss's query copy and output, a sparse block's two gathered sides (12 bytes a
    stored value), or numpy's copy of every candidate row."""
    if sp.issparse(block):
        return 24 * w * max(1, block.nnz // max(block.shape[0], 1))
    if _faiss_ready(block):
        return 4 * block.shape[1] + 12 * w
    return 4 * w * block.shape[1]


CHECK_BYTES = 16 * 2**20  # rows of a dense set validated at a time


def _row_blocks(block: np.ndarray):
    """A dense array's rows, ~:data:`CHECK_BYTES` at a time. An array read in place from a file gives
    its pages back after each block (:func:`~shopee_core.cache.release`): checking a 70,000-row set
    held its whole file resident at once (213 MB for a 760-d model) beside the view that opened it.
    What is computed per block stays small (a value per row): a temporary of a block's size would come
    from glibc's heap and could stay resident after. Loading a 70,000 x 512 set in place: the process's
    peak +171 → +16 MB, 0.04 → 0.11 s (the pages are read again from the page cache after each release)."""
    step = max(1, CHECK_BYTES // max(1, block.shape[1] * block.itemsize))
    for start in range(0, block.shape[0], step):
        yield block[start:start + step]
        release(block)


def _first_rows(mask: np.ndarray) -> str:
    rows = np.flatnonzero(mask)
    return f"{len(rows)} row(s) (first: {', '.join(map(str, rows[:5]))})"


def check_block(block, name: str, allow_zero_rows: bool | None = None):
    """A validated float32 block (dense or CSR); a one-line EmbeddingError otherwise.

    All-zero rows have no direction, so their cosine is undefined: refused in dense
    sets. A sparse (TF-IDF) row is empty when a title holds no vocabulary word; it then
    matches nothing, which is what such a title deserves, so sparse sets keep them.
    """
    if sp.issparse(block):
        block = sp.csr_matrix(block)
        data = block.data
    else:
        block = np.asarray(block)
        if block.dtype == object:
            raise EmbeddingError(f"{name}: object array (pickled data is never loaded)")
        data = block
        if block.ndim != 2:
            raise EmbeddingError(f"{name}: expected a 2-D array, got shape {block.shape}")
    if not np.issubdtype(data.dtype, np.floating):
        raise EmbeddingError(f"{name}: dtype {data.dtype} is not floating point")
    if block.shape[0] == 0:
        raise EmbeddingError(f"{name}: zero rows")
    if block.shape[1] == 0:
        raise EmbeddingError(f"{name}: zero columns")
    if allow_zero_rows is None:
        allow_zero_rows = sp.issparse(block)
    if sp.issparse(block):
        finite = not data.size or np.isfinite(data).all()
    else:  # each row's max and min, a block of rows at a time (no temporary of the block's size): a NaN
        # or inf shows in them, and an all-zero row has both 0
        top, bottom = (np.concatenate(v) for v in zip(*((p.max(axis=1), p.min(axis=1)) for p in _row_blocks(block))))
        finite = np.isfinite(top).all() and np.isfinite(bottom).all()
    if not finite:
        if sp.issparse(block):
            bad = np.zeros(block.shape[0], dtype=bool)
            bad[np.repeat(np.arange(block.shape[0]), np.diff(block.indptr))[~np.isfinite(block.data)]] = True
        else:
            bad = ~(np.isfinite(top) & np.isfinite(bottom))
        raise EmbeddingError(f"{name}: {_first_rows(bad)} hold NaN or inf")
    if not allow_zero_rows:
        if sp.issparse(block):
            zero = np.asarray(abs(block).sum(axis=1)).ravel() == 0
        else:
            zero = (top == 0) & (bottom == 0)
        if zero.any():
            raise EmbeddingError(f"{name}: {_first_rows(zero)} are all zero (cosine is undefined there)")
    if sp.issparse(block):
        return block.astype(np.float32)
    return np.ascontiguousarray(block, dtype=np.float32)


def row_norms(block) -> np.ndarray:
    if sp.issparse(block):
        return np.sqrt(np.asarray(block.multiply(block).sum(axis=1), dtype=np.float64).ravel()).astype(np.float32)
    return np.linalg.norm(np.asarray(block, dtype=np.float32), axis=1)


def _scale_rows(block, scale: np.ndarray):
    if sp.issparse(block):
        return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ block)
    return np.ascontiguousarray(np.asarray(block, dtype=np.float32) * scale[:, None], dtype=np.float32)


def l2_normalise(block):
    """Rows scaled to unit length; all-zero rows stay zero (cosine undefined)."""
    if sp.issparse(block):
        block = sp.csr_matrix(block, dtype=np.float32)
    else:
        block = np.asarray(block, dtype=np.float32)
    norms = row_norms(block)
    return _scale_rows(block, np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0))


@dataclass(frozen=True)
class Embeddings:
    """Rows of one embedding set; similarity(i, j) = sum over blocks of x_i . x_j."""

    blocks: tuple
    norms: np.ndarray | None = None   # row lengths before normalising (None: unit rows)
    weights: tuple | None = None      # each block's weight in the similarity (None: 1 each)

    def _w(self) -> tuple:
        return self.weights if self.weights is not None else (1.0,) * len(self.blocks)

    @property
    def weighted(self) -> bool:
        return self.weights is not None and any(w != 1.0 for w in self.weights)

    def scaled_blocks(self) -> list:
        """The blocks with their weights folded in (sqrt(w) · rows: copies, where a weight is not 1)."""
        return [b if w == 1.0 else b * np.float32(np.sqrt(w)) for b, w in zip(self.blocks, self._w())]

    @classmethod
    def from_array(cls, array, name: str = "embeddings", normalise: bool = True,
                   norms: np.ndarray | None = None) -> Embeddings:
        """Validate one model's embeddings (dense or CSR) and L2-normalise them.

        ``norms``: the raw row lengths when ``array`` was stored normalised (a bundle's
        float16 rows), so raw-vector INB still sees them.
        """
        block = check_block(array, name)
        raw = row_norms(block)
        if norms is not None:
            norms = np.asarray(norms, dtype=np.float32)
            if norms.shape != (block.shape[0],) or not np.isfinite(norms).all() or (norms < 0).any():
                raise EmbeddingError(f"{name}: row norms must be {block.shape[0]} finite non-negative values")
            raw = norms
        if not normalise:
            return cls((block,), None)
        return cls((l2_normalise(block),), raw)

    @classmethod
    def from_unit_rows(cls, array, name: str = "embeddings", norms: np.ndarray | None = None) -> Embeddings:
        """Rows stored L2-normalised already (a bundle's, a build's storage form), validated and used as
        they are: no normalising copy of a set that may be a memory-mapped file or gigabytes big. Rows
        that are not unit length are normalised (copied) as :meth:`from_array` would."""
        block = check_block(array, name)
        if sp.issparse(block) or not all(np.allclose(np.sqrt(np.einsum("ij,ij->i", part, part)), 1.0, atol=1e-3)
                                         for part in _row_blocks(block)):
            return cls.from_array(block, name=name, norms=norms)
        if norms is not None:
            norms = np.asarray(norms, dtype=np.float32)
            if norms.shape != (block.shape[0],) or not np.isfinite(norms).all() or (norms < 0).any():
                raise EmbeddingError(f"{name}: row norms must be {block.shape[0]} finite non-negative values")
        return cls((block,), norms)

    def __len__(self) -> int:
        return self.blocks[0].shape[0]

    @property
    def dims(self) -> int:
        return int(sum(b.shape[1] for b in self.blocks))

    @property
    def is_dense(self) -> bool:
        return all(not sp.issparse(b) for b in self.blocks)

    @property
    def nbytes(self) -> int:
        """What the set holds in memory (blocks read in place from a file count as small: cache.sizeof)."""
        return int(sum(sizeof(b) for b in self.blocks) + (0 if self.norms is None else sizeof(self.norms)))

    def release_pages(self) -> None:
        """Give back the resident pages of blocks read in place from a file (see ``cache.release``)."""
        for b in self.blocks:
            release(b)

    def dense(self) -> np.ndarray:
        """One float32 matrix whose inner products are the similarities (dense blocks only; a copy
        unless the set is one unweighted block)."""
        if not self.is_dense:
            raise EmbeddingError("a sparse embedding cannot be densified here")
        if len(self.blocks) == 1 and not self.weighted:
            return self.blocks[0]
        return np.ascontiguousarray(np.hstack(self.scaled_blocks()), dtype=np.float32)

    def densified(self, max_columns: int = 2048) -> Embeddings:
        """The same set with every sparse block of at most ``max_columns`` columns made dense: a
        TF-IDF of a few hundred words searches as one BLAS product (N x V floats, a few MB), not as
        sparse products whose output is nearly dense anyway; wider vocabularies stay sparse."""
        if not any(sp.issparse(b) and b.shape[1] <= max_columns for b in self.blocks):
            return self
        blocks = tuple(b.toarray().astype(np.float32) if sp.issparse(b) and b.shape[1] <= max_columns else b
                       for b in self.blocks)
        return Embeddings(blocks, self.norms, self.weights)

    def take(self, rows) -> Embeddings:
        rows = np.asarray(rows)
        return Embeddings(tuple(b[rows] for b in self.blocks), None if self.norms is None else self.norms[rows],
                          self.weights)

    def scaled(self, factor: float) -> Embeddings:
        """The same rows with every similarity multiplied by ``factor``² (no copy)."""
        return Embeddings(self.blocks, None, tuple(w * float(factor) ** 2 for w in self._w()))

    def raw_weights(self) -> np.ndarray:
        """Per-row factor that turns a unit row back into the raw vector (1 when unknown)."""
        return np.ones(len(self), dtype=np.float32) if self.norms is None else self.norms

    def self_similarity(self) -> np.ndarray:
        """Each row's similarity with itself. A fused set's members read in place give their pages back
        one by one (as a chunked search does): the exact search of a five-member set at 34,253 postings
        ended with all five resident here, 335 MB, its peak."""
        total = np.zeros(len(self), dtype=np.float32)
        several = len(self.blocks) > 1
        for b, w in zip(self.blocks, self._w()):
            if sp.issparse(b):
                part = np.asarray(b.multiply(b).sum(axis=1), dtype=np.float32).ravel()
            else:
                part = np.einsum("ij,ij->i", b, b)
                if several:
                    release(b)
            total += part if w == 1.0 else np.float32(w) * part
        return total

    def similarity_rows(self, rows: slice | np.ndarray, release_pages: bool = False) -> np.ndarray:
        """Dense (len(rows), N) similarities of some rows against all rows (the weights applied to the
        query rows only: no copy of the set). ``release_pages``: give back a block's pages read in place
        once its product is made (a search chunk by chunk over a fused set: one member resident at a time,
        not all of them)."""
        out = None
        for b, w in zip(self.blocks, self._w()):
            q = b[rows]
            if w != 1.0:
                q = q * np.float32(w)
            part = q @ b.T
            if release_pages:
                release(b)
            part = part.toarray() if sp.issparse(part) else np.asarray(part)
            if out is None:
                out = part.astype(np.float32, copy=False)
            elif np.result_type(out, part) == out.dtype:
                out += part  # the same sums as out + part, without a third (rows, N) block alive
            else:
                out = out + part  # a float64 block makes the sum float64, as it always did
            del part
        return out

    def pair_similarity(self, i, j, chunk: int = PAIR_CHUNK) -> np.ndarray:
        """Similarities of row pairs (i[n], j[n]), in chunks: at most ``chunk`` gathered rows
        per block exist at a time, so millions of pairs cost megabytes, not gigabytes."""
        i = np.asarray(i, dtype=np.int64).ravel()
        j = np.asarray(j, dtype=np.int64).ravel()
        if i.shape != j.shape:
            raise EmbeddingError(f"pair indices disagree: {i.shape} vs {j.shape}")
        total = np.zeros(len(i), dtype=np.float32)
        for start in range(0, len(i), chunk):
            a, b_ = i[start:start + chunk], j[start:start + chunk]
            part = total[start:start + chunk]
            for b, w in zip(self.blocks, self._w()):
                if sp.issparse(b):
                    got = np.asarray(b[a].multiply(b[b_]).sum(axis=1), dtype=np.float32).ravel()
                elif _faiss_ready(b):
                    got = _pair_dots(b, a, b_)
                else:
                    got = np.einsum("ij,ij->i", b[a], b[b_], dtype=np.float32)
                part += got if w == 1.0 else np.float32(w) * got
        return total

    def candidate_similarity(self, idx: np.ndarray, rows=None, chunk_bytes: int = CANDIDATE_CHUNK_BYTES,
                             out: np.ndarray | None = None) -> np.ndarray:
        """(M, W) similarities of query row ``rows[r]`` (default: row r) with its candidates ``idx[r, :]``
        (-1: padding, NaN out), written into ``out`` when given (a member's plane of a re-weighting
        slot: no second (M, W) array beside it).

        Where the pool is small against the candidate width (N <= GEMM_RATIO · W) a block of rows is
        multiplied with all rows (one BLAS product, then the candidates picked out). In bigger pools
        each block takes its candidates' rows instead (work ∝ N·W, not N²): dense float32 blocks by
        faiss's indexed inner products, reading the rows in place (GEMM_RATIO_IN_PLACE = 10, a
        crossover near 1,500-2,000 rows at W = 150-233 in a one-off timing; ``scripts/bench_candidates.py``
        at W = 233 x 512-d: 0.08 s against 0.26 s for the product at 6,852 rows, 0.66 s against 5.93 s
        and 2.33 s for numpy's gathered copy at 34,253), others by numpy (GEMM_RATIO = 100). Either way
        at most ``chunk_bytes`` of temporaries exist at a time.
        """
        idx = np.asarray(idx)
        m, w = idx.shape
        rows = np.arange(m) if rows is None else np.asarray(rows, dtype=np.int64)
        if rows.shape != (m,):
            raise EmbeddingError(f"candidate rows {rows.shape} do not match the table {idx.shape}")
        if out is None:
            out = np.full((m, w), np.nan, dtype=np.float32)
        elif out.shape != (m, w) or out.dtype != np.float32:
            raise EmbeddingError(f"out must be float32 {(m, w)}, got {out.dtype} {out.shape}")
        if m == 0 or w == 0:
            return out
        n = len(self)
        in_place = all(_faiss_ready(b) for b in self.blocks)  # faiss reads every block's rows where they are
        gemm = n <= (GEMM_RATIO_IN_PLACE if in_place else GEMM_RATIO) * w
        per_row = 4 * n if gemm else max(_gather_bytes(b, w) for b in self.blocks)
        step = max(1, int(chunk_bytes // max(per_row, 1)))
        for start in range(0, m, step):
            stop = min(start + step, m)
            cand, query = idx[start:stop], rows[start:stop]
            cand = np.where(cand >= 0, cand, 0)  # padding reads row 0, then NaN
            if gemm:
                part = np.take_along_axis(self.similarity_rows(query), cand, axis=1)
            else:
                part = np.zeros(cand.shape, dtype=np.float32)
                for b, bw in zip(self.blocks, self._w()):
                    if sp.issparse(b):
                        got = np.asarray(b[np.repeat(query, w)].multiply(b[cand.ravel()]).sum(axis=1),
                                         dtype=np.float32).reshape(cand.shape)
                    elif _faiss_ready(b):
                        got = _indexed_dots(b, query, cand)
                    else:
                        got = np.einsum("bwd,bd->bw", b[cand], b[query], dtype=np.float32)
                    part += got if bw == 1.0 else np.float32(bw) * got
            out[start:stop] = part
        out[idx < 0] = np.nan
        return out


def fuse(sets: Sequence[Embeddings], weights: Sequence[float] | None = None) -> Embeddings:
    """Mean fusion: similarity = weighted mean of the members' similarities.

    With equal weights this is the seed's metric-layer fusion (mean of the
    cosine-similarity matrices) = normalise-then-concatenate scaled by 1/sqrt(m).
    """
    if not sets:
        raise EmbeddingError("fusion needs at least one embedding set")
    n = len(sets[0])
    if any(len(s) != n for s in sets):
        raise EmbeddingError(f"fused sets have different row counts: {[len(s) for s in sets]}")
    w = fusion_weights(len(sets), weights)
    blocks, block_w = [], []
    for s, wi in zip(sets, w):
        if wi > 0:
            blocks.extend(s.blocks)
            block_w.extend(float(wi) * x for x in s._w())
    return Embeddings(tuple(blocks), None, tuple(block_w))


def fusion_weights(n: int, weights=None) -> np.ndarray:
    """Weights normalised to sum 1 (None: equal); a one-line error for a bad list."""
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (n,) or not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise EmbeddingError(f"bad fusion weights {np.ravel(w).tolist()}: need one non-negative weight per set")
    return w / w.sum()

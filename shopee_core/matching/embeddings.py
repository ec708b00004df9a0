"""Embedding sets: one or more blocks whose dot products add up to a cosine.

A single model is one L2-normalised block (dense ``ndarray`` or sparse CSR for
TF-IDF). Mean fusion of m sets scales each block by 1/sqrt(m): the sum of block
dot products is then the mean of the m cosines, without ever densifying a sparse
block. INB rewrites blocks and re-normalises the whole row.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import scipy.sparse as sp

from ..errors import EmbeddingError

Block = "np.ndarray | sp.csr_matrix"


def _check_block(block, name: str):
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
    if data.size and not np.isfinite(data).all():
        bad = (~np.isfinite(block.toarray() if sp.issparse(block) else block)).any(axis=1)
        rows = np.flatnonzero(bad)
        raise EmbeddingError(
            f"{name}: {len(rows)} rows hold NaN or inf (first: {', '.join(map(str, rows[:5]))})"
        )
    if sp.issparse(block):
        return block.astype(np.float32)
    return np.ascontiguousarray(block, dtype=np.float32)


def l2_normalise(block):
    """Rows scaled to unit length; all-zero rows stay zero (cosine undefined)."""
    if sp.issparse(block):
        block = sp.csr_matrix(block, dtype=np.float32)
        norms = np.sqrt(np.asarray(block.multiply(block).sum(axis=1)).ravel())
        scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
        return sp.csr_matrix(sp.diags(scale.astype(np.float32)) @ block)
    block = np.asarray(block, dtype=np.float32)
    norms = np.linalg.norm(block, axis=1, keepdims=True)
    return np.divide(block, norms, out=np.zeros_like(block), where=norms > 0)


@dataclass(frozen=True)
class Embeddings:
    """Rows of one embedding set; similarity(i, j) = sum over blocks of x_i . x_j."""

    blocks: tuple

    @classmethod
    def from_array(cls, array, name: str = "embeddings", normalise: bool = True) -> "Embeddings":
        """Validate one model's raw embeddings (dense or CSR) and L2-normalise them."""
        block = _check_block(array, name)
        return cls((l2_normalise(block) if normalise else block,))

    def __len__(self) -> int:
        return self.blocks[0].shape[0]

    @property
    def dims(self) -> int:
        return int(sum(b.shape[1] for b in self.blocks))

    @property
    def is_dense(self) -> bool:
        return all(not sp.issparse(b) for b in self.blocks)

    def dense(self) -> np.ndarray:
        """One float32 matrix whose inner products are the similarities (dense blocks only)."""
        if not self.is_dense:
            raise EmbeddingError("a sparse embedding cannot be densified here")
        if len(self.blocks) == 1:
            return self.blocks[0]
        return np.ascontiguousarray(np.hstack(self.blocks))

    def take(self, rows) -> "Embeddings":
        rows = np.asarray(rows)
        return Embeddings(tuple(b[rows] for b in self.blocks))

    def scaled(self, factor: float) -> "Embeddings":
        return Embeddings(tuple(b * np.float32(factor) for b in self.blocks))

    def self_similarity(self) -> np.ndarray:
        total = np.zeros(len(self), dtype=np.float32)
        for b in self.blocks:
            if sp.issparse(b):
                total += np.asarray(b.multiply(b).sum(axis=1), dtype=np.float32).ravel()
            else:
                total += np.einsum("ij,ij->i", b, b)
        return total

    def similarity_rows(self, rows: slice | np.ndarray) -> np.ndarray:
        """Dense (len(rows), N) similarities of some rows against all rows."""
        out = None
        for b in self.blocks:
            part = b[rows] @ b.T
            part = part.toarray() if sp.issparse(part) else np.asarray(part)
            out = part.astype(np.float32, copy=False) if out is None else out + part
        return out

    def pair_similarity(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """Similarities of row pairs (i[n], j[n])."""
        total = np.zeros(len(i), dtype=np.float32)
        for b in self.blocks:
            if sp.issparse(b):
                total += np.asarray(b[i].multiply(b[j]).sum(axis=1), dtype=np.float32).ravel()
            else:
                total += np.einsum("ij,ij->i", b[i], b[j])
        return total


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
    w = np.ones(len(sets)) if weights is None else np.asarray(weights, dtype=np.float64)
    if len(w) != len(sets) or (w < 0).any() or w.sum() <= 0:
        raise EmbeddingError(f"bad fusion weights {list(w)}: need one non-negative weight per set")
    w = w / w.sum()
    blocks = []
    for s, wi in zip(sets, w):
        if wi > 0:
            blocks.extend(s.scaled(np.sqrt(wi)).blocks)
    return Embeddings(tuple(blocks))

"""INB, neighbourhood blending: e'_i = normalise(sum over j in pred(i) of s_ij v_j).

``v_j`` is the unit row (``vectors="normalised"``, the project's default) or the raw,
un-normalised embedding (``vectors="raw"``, the seed's code: its image rows are 30·cos
head outputs and its text rows mean-pooled vectors, so long rows weigh more).
Self enters with weight s_ii (= 1 for unit rows). The blend is one sparse (N, N)
matrix product per block, so dense, sparse and fused sets all blend without
densifying.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..errors import EmbeddingError
from .embeddings import Embeddings, row_norms
from .knn import DEFAULT_K, Neighbors, knn
from .rules import predict_mask

VECTORS = ("normalised", "raw")


def blend(emb: Embeddings, nb: Neighbors, t: float, t2: float | None = None,
          vectors: str = "normalised") -> Embeddings:
    """One INB step with neighbours chosen by (t, t2) (the Min2 rule)."""
    if vectors not in VECTORS:
        raise EmbeddingError(f"INB vectors must be one of {', '.join(VECTORS)}, got {vectors!r}")
    mask = predict_mask(nb, t, t2)
    weights = np.where(nb.is_self, np.float32(1.0), nb.sim)
    rows, cols = np.nonzero(mask)
    cols = nb.idx[rows, cols]
    w = weights[mask]
    if vectors == "raw":
        w = w * emb.raw_weights()[cols]
    a = sp.csr_matrix((w, (rows, cols)), shape=(nb.n, nb.n), dtype=np.float32)
    blocks = [a @ b for b in emb.scaled_blocks()]  # the weighted rows (a fusion's blocks at sqrt(w))
    sq = np.zeros(nb.n, dtype=np.float64)
    for b in blocks:
        sq += row_norms(b).astype(np.float64) ** 2
    norm = np.sqrt(sq).astype(np.float32)
    scale = np.divide(1.0, norm, out=np.zeros_like(norm), where=norm > 0)
    out = []
    for b in blocks:
        if sp.issparse(b):
            out.append(sp.csr_matrix(sp.diags(scale) @ b))
        else:
            out.append(np.ascontiguousarray(np.asarray(b) * scale[:, None], dtype=np.float32))
    return Embeddings(tuple(out))


def iterate(emb: Embeddings, nb: Neighbors, t: float, t2: float | None, iters: int,
            k: int = DEFAULT_K, progress: bool = False, vectors: str = "normalised") -> tuple[Embeddings, Neighbors]:
    """``iters`` INB steps, each re-searching neighbours on the blended set (later steps
    blend unit rows: a blended row has no raw length of its own)."""
    for step in range(iters):
        emb = blend(emb, nb, t, t2, vectors if step == 0 else "normalised")
        nb = knn(emb, k, progress=progress)
    return emb, nb


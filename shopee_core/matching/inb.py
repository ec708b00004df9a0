"""INB, neighbourhood blending: e'_i = normalise(sum over j in pred(i) of s_ij e_j).

Self enters with weight 1. The blend is one sparse (N, N) matrix product per
block, so dense, sparse and fused sets all blend without densifying.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .embeddings import Embeddings
from .knn import DEFAULT_K, Neighbors, knn
from .rules import predict_mask


def blend(emb: Embeddings, nb: Neighbors, t: float, t2: float | None = None) -> Embeddings:
    """One INB step with neighbours chosen by (t, t2)."""
    mask = predict_mask(nb, t, t2)
    weights = np.where(nb.is_self, np.float32(1.0), nb.sim)
    rows, cols = np.nonzero(mask)
    a = sp.csr_matrix((weights[rows, cols], (rows, nb.idx[rows, cols])), shape=(nb.n, nb.n), dtype=np.float32)
    blocks = [a @ b for b in emb.blocks]
    sq = np.zeros(nb.n, dtype=np.float64)
    for b in blocks:
        sq += np.asarray(b.multiply(b).sum(axis=1)).ravel() if sp.issparse(b) else np.einsum("ij,ij->i", b, b)
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
            k: int = DEFAULT_K, progress: bool = False) -> tuple[Embeddings, Neighbors]:
    """``iters`` INB steps, each re-searching neighbours on the blended set."""
    for _ in range(iters):
        emb = blend(emb, nb, t, t2)
        nb = knn(emb, k, progress=progress)
    return emb, nb

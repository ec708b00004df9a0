"""2-D maps of an embedding space (UMAP), precomputed once per model into the bundle.

:func:`pca_2d` is a fast linear stand-in (seconds, no JIT) for synthetic benchmark bundles."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp


def umap_2d(matrix, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1, knn=None) -> np.ndarray:
    """(n, 2) float32 UMAP coordinates under cosine distance (dense or sparse input).

    ``knn``: ``(idx, sim)`` rows of a cosine kNN table of the same rows, most similar first, self
    included (the builder's faiss table): UMAP then builds its graph from it instead of running its
    own nearest-neighbour descent, the slowest part of a fit."""
    n = matrix.shape[0]
    if n < 4:
        return np.zeros((n, 2), dtype=np.float32)
    import umap

    x = matrix if sp.issparse(matrix) else np.asarray(matrix, dtype=np.float32)
    k = min(n_neighbors, n - 1)
    extra = {}
    if knn is not None and n > 4096 and np.shape(knn[0])[1] >= k:  # below, umap-learn computes it exactly
        idx, sim = knn
        extra["precomputed_knn"] = (np.ascontiguousarray(idx[:, :k], dtype=np.int64),
                                    np.ascontiguousarray(np.clip(1.0 - np.asarray(sim[:, :k]), 0.0, 2.0),
                                                         dtype=np.float32), None)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_components=2, n_neighbors=k, min_dist=min_dist,
                            metric="cosine", random_state=seed, init="random" if n < 50 else "spectral", **extra)
        xy = reducer.fit_transform(x)
    xy = np.asarray(xy, dtype=np.float32)
    xy[~np.isfinite(xy)] = 0.0
    return xy


umap_2d.wants_knn = True  # the builder passes its kNN table (see table_model)


def pca_2d(matrix, **_) -> np.ndarray:
    """(n, 2) float32: the first two principal components (randomized SVD of the centred rows; sparse
    input uncentred, as truncated SVD) — a few O(n·d) passes, never a d × d eigenproblem."""
    from sklearn.utils.extmath import randomized_svd

    n = matrix.shape[0]
    if n < 4 or min(matrix.shape) < 3:
        return np.zeros((n, 2), dtype=np.float32)
    if sp.issparse(matrix):
        x = sp.csr_matrix(matrix, dtype=np.float32)
    else:
        x = np.asarray(matrix, dtype=np.float32)
        x = x - x.mean(axis=0)
    u, s, _ = randomized_svd(x, 2, n_oversamples=8, n_iter=3, random_state=0)
    xy = np.asarray(u * s, dtype=np.float32)
    xy[~np.isfinite(xy)] = 0.0
    return xy

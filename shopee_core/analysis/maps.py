"""2-D maps of an embedding space (UMAP), precomputed once per model into the bundle."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def umap_2d(matrix, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """(n, 2) float32 UMAP coordinates under cosine distance (dense or sparse input)."""
    import warnings

    n = matrix.shape[0]
    if n < 4:
        return np.zeros((n, 2), dtype=np.float32)
    import umap

    x = matrix if sp.issparse(matrix) else np.asarray(matrix, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reducer = umap.UMAP(n_components=2, n_neighbors=min(n_neighbors, n - 1), min_dist=min_dist,
                            metric="cosine", random_state=seed, init="random" if n < 50 else "spectral")
        xy = reducer.fit_transform(x)
    xy = np.asarray(xy, dtype=np.float32)
    xy[~np.isfinite(xy)] = 0.0
    return xy

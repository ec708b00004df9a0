"""Decision rules: distance threshold, Min2, union.

Exact semantics: predict candidates with d < T, self always; Min2 adds
the best non-self candidate when the set holds only self and that candidate has
d < T2; a union merges the sets each side predicted with its own thresholds.
"""

from __future__ import annotations

import numpy as np

from .knn import Neighbors


def min2_adds(set_size: np.ndarray, nn_dist: np.ndarray, t2: float) -> np.ndarray:
    """Min2: which rows get their nearest non-self candidate added — those whose predicted set is
    self alone (``set_size`` counts self) and whose nearest candidate lies within ``t2``."""
    return (np.asarray(set_size) <= 1) & (np.asarray(nn_dist) < np.float32(t2))


def predict_mask(nb: Neighbors, t: float, t2: float | None = None) -> np.ndarray:
    """Boolean (N, k) mask over the candidate table."""
    mask = (nb.dist < np.float32(t)) | nb.is_self
    if t2 is not None:
        rows = np.flatnonzero(min2_adds(mask.sum(axis=1), nb.nn_dist, t2) & (nb.nn_pos >= 0))
        mask[rows, nb.nn_pos[rows]] = True
    return mask


def predict_query(dist: np.ndarray, t: float, t2: float | None = None) -> np.ndarray:
    """The same rules for a query from outside the pool (an upload), which plays self: the pool's
    postings with d < T, and with Min2 the nearest one when that leaves the query alone."""
    dist = np.asarray(dist, dtype=np.float32)
    pred = dist < np.float32(t)
    if t2 is not None and len(dist):
        best = int(np.argmin(dist))
        if min2_adds(int(pred.sum()) + 1, dist[best], t2):
            pred[best] = True
    return pred


def mask_to_pred(nb: Neighbors, mask: np.ndarray) -> np.ndarray:
    """Padded prediction matrix (pool indices, -1 where not predicted)."""
    return np.where(mask, nb.idx, np.int32(-1))


def predict(nb: Neighbors, t: float, t2: float | None = None) -> np.ndarray:
    return mask_to_pred(nb, predict_mask(nb, t, t2))


def compact(pred: np.ndarray) -> np.ndarray:
    """Drop duplicate indices per row and trim all-empty trailing columns."""
    pred = np.sort(pred, axis=1)
    dup = np.zeros_like(pred, dtype=bool)
    dup[:, 1:] = pred[:, 1:] == pred[:, :-1]
    pred = np.where(dup, np.int32(-1), pred)
    pred = -np.sort(-pred, axis=1)  # valid indices first, descending; -1 padding last
    width = max(int((pred >= 0).sum(axis=1).max(initial=0)), 1)
    return np.ascontiguousarray(pred[:, :width])


def union(*preds: np.ndarray) -> np.ndarray:
    """Row-wise union of padded prediction matrices of the same pool."""
    if len({p.shape[0] for p in preds}) != 1:
        raise ValueError("union of predictions over different pools")
    return compact(np.concatenate(preds, axis=1))


def pred_lists(pred: np.ndarray) -> list[np.ndarray]:
    return [row[row >= 0] for row in pred]

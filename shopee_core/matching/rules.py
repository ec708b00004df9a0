"""Decision rules: distance threshold, Min2, union.

Exact semantics (DESIGN.md): predict candidates with d < T, self always; Min2 adds
the best non-self candidate when the set holds only self and that candidate has
d < T2; a union merges the sets each side predicted with its own thresholds.
"""

from __future__ import annotations

import numpy as np

from .knn import Neighbors


def predict_mask(nb: Neighbors, t: float, t2: float | None = None) -> np.ndarray:
    """Boolean (N, k) mask over the candidate table."""
    mask = (nb.dist < np.float32(t)) | nb.is_self
    if t2 is not None:
        lonely = mask.sum(axis=1) <= 1
        rows = np.flatnonzero(lonely & (nb.nn_dist < np.float32(t2)) & (nb.nn_pos >= 0))
        mask[rows, nb.nn_pos[rows]] = True
    return mask


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

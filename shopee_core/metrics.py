"""Row-wise precision, recall and F1 (the Kaggle metric), vectorised.

For posting i with true set X (its whole group inside the candidate pool, itself
included) and predicted set Y (always holding i): P = |X∩Y|/|Y|, R = |X∩Y|/|X|,
F1 = 2|X∩Y|/(|X|+|Y|). Scores are plain means over rows; mean F1 is not the
harmonic mean of mean P and mean R.

Predictions are padded index matrices: row i holds the pool indices predicted for
posting i, ``-1`` in unused slots, no index twice.
"""

from __future__ import annotations

import numpy as np

from .errors import ShopeeError


def group_sizes(labels: np.ndarray) -> np.ndarray:
    """|X| for every row: how many rows of the pool share its label."""
    labels = np.asarray(labels)
    _, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    return counts[inverse.ravel()].astype(np.int32)


def run_starts(values: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts (a mask; empty for no values)."""
    out = np.ones(len(values), dtype=bool)
    out[1:] = values[1:] != values[:-1]
    return out


def label_pairs(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(i, j)``: every ordered pair of distinct rows sharing a label (int64); groups in label order,
    within a group by ``i``'s row, then ``j``'s. Index arithmetic over the sorted labels: the plane
    and the agreement view each looped over groups in Python (22,000 at 70,000 postings)."""
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    s = labels[order]
    start = np.flatnonzero(run_starts(s))
    count = np.diff(np.r_[start, len(s)])
    size = np.repeat(count, count)  # per sorted position: the size of its group
    first = np.repeat(start, count)  # ... and where its group starts
    i = np.repeat(order, size).astype(np.int64)
    offset = np.arange(len(i), dtype=np.int64) - np.repeat(np.cumsum(size) - size, size)
    j = order[np.repeat(first, size) + offset].astype(np.int64)
    keep = i != j
    return i[keep], j[keep]


def check_labels(labels, n: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != n:
        raise ShopeeError(f"labels have shape {labels.shape}, expected ({n},)")
    return labels


def counts_to_scores(tp: np.ndarray, n_pred: np.ndarray, n_true: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row P/R/F1 from |X∩Y|, |Y| and |X| (any matching shapes)."""
    tp = tp.astype(np.float64)
    return {
        "precision": tp / n_pred,
        "recall": tp / n_true,
        "f1": 2.0 * tp / (n_pred + n_true),
    }


# (rows x thresholds) cells of one chunk of :func:`mean_scores`: ~4 MB per float64 array of the chunk
MEAN_CHUNK_CELLS = 2**19


def mean_scores(n: int, width: int, counts) -> dict[str, np.ndarray]:
    """Mean precision/recall/f1 over ``n`` rows of (rows, ``width``) counts, made a chunk of rows at a
    time by ``counts(rows)`` -> ``(tp, n_pred, n_true)`` (any shapes that broadcast to (rows, width)):
    the curves of a 70,000-row pool held ~10 such (n, width) arrays at once, 350-600 MB of the server's
    peak. To the bit ``counts_to_scores(*counts(slice(0, n)))[k].mean(axis=0)``: numpy adds a C-ordered
    (n, width >= 2) array down axis 0 a row after the other, so each chunk is added onto the running sum
    the same way (``tests/test_metrics.py`` checks it against the one-pass mean). One column is summed
    pairwise by numpy, so it stays one pass."""
    step = n if width < 2 else max(1, MEAN_CHUNK_CELLS // width)
    if n <= step:
        return {k: v.mean(axis=0) for k, v in counts_to_scores(*counts(slice(0, n))).items()}
    total = None
    for a in range(0, n, step):
        part = counts_to_scores(*counts(slice(a, min(a + step, n))))
        total = ({k: np.add.reduce(v, axis=0) for k, v in part.items()} if total is None else
                 {k: np.add.reduce(np.concatenate([total[k][None], v]), axis=0) for k, v in part.items()})
    return {k: v / n for k, v in total.items()}


def row_scores(pred: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Per-row arrays ``precision``, ``recall``, ``f1``, ``tp``, ``n_pred``, ``n_true``."""
    pred = np.asarray(pred)
    labels = check_labels(labels, pred.shape[0])
    valid = pred >= 0
    same = valid & (labels[np.where(valid, pred, 0)] == labels[:, None])
    tp = same.sum(axis=1)
    n_pred = valid.sum(axis=1)
    n_true = group_sizes(labels)
    out = counts_to_scores(tp, n_pred, n_true)
    out.update(tp=tp, n_pred=n_pred, n_true=n_true)
    return out


def summarise(rows: dict[str, np.ndarray]) -> dict[str, float]:
    """Flat metric dict: mean ``f1`` (primary), ``precision``, ``recall`` and ``n``."""
    n = int(len(rows["f1"]))
    if n == 0:
        return {"f1": float("nan"), "precision": float("nan"), "recall": float("nan"), "n": 0}
    return {
        "f1": float(np.mean(rows["f1"])),
        "precision": float(np.mean(rows["precision"])),
        "recall": float(np.mean(rows["recall"])),
        "n": n,
    }


def score(pred: np.ndarray, labels: np.ndarray) -> dict[str, float]:
    return summarise(row_scores(pred, labels))

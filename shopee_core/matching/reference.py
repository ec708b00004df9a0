"""The straightforward way: Python sets per row, as the seed computes F1.

Kept as the oracle for tests and the baseline for benchmarks; never used on a
hot path.
"""

from __future__ import annotations

import numpy as np


def naive_predict(idx, sim, t, t2=None) -> list[set]:
    out = []
    for i, (row_idx, row_sim) in enumerate(zip(idx.tolist(), sim.tolist())):
        pred = {i}
        best_j, best_d = None, None
        for j, s in zip(row_idx, row_sim):
            d = float(np.float32(1.0) - np.float32(s))
            if d < t:
                pred.add(j)
            if j != i and (best_d is None or d < best_d):
                best_j, best_d = j, d
        if t2 is not None and len(pred) <= 1 and best_j is not None and best_d < t2:
            pred.add(best_j)
        out.append(pred)
    return out


def naive_f1(preds: list[set], labels) -> dict[str, float]:
    labels = list(labels)
    groups: dict = {}
    for i, g in enumerate(labels):
        groups.setdefault(g, set()).add(i)
    f1 = p = r = 0.0
    for i, pred in enumerate(preds):
        truth = groups[labels[i]]
        inter = len(truth & pred)
        f1 += 2 * inter / (len(truth) + len(pred))
        p += inter / len(pred)
        r += inter / len(truth)
    n = len(preds)
    return {"f1": f1 / n, "precision": p / n, "recall": r / n, "n": n}

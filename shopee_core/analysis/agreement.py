"""Where models agree and disagree: pair-level agreement, per-group winners, F1 differences.

Everything here works on padded prediction matrices of one candidate pool (split-local
indices, ``-1`` padding, as :func:`shopee_core.matching.predict` returns them) and the
pool's true labels. No Streamlit.

Pairs are **ordered**: ``(i, j)`` with ``i != j`` is predicted by a model when ``j`` is in
row ``i``'s predicted set (row-wise F1 scores rows, and predictions need not be
symmetric). A pair is *true* when ``i`` and ``j`` share a label group. A model is
*right* on a pair when it predicted the pair exactly when the pair is true.

The pairs counted are the union of the pairs A predicted, the pairs B predicted and
the true pairs; every other pair is right for both (not predicted, not true) and is
left out. Inside that union:

* ``both_right``: a true pair both models found;
* ``only_a``: A right, B wrong - a true pair only A found, or a false pair only B predicted;
* ``only_b``: the mirror image;
* ``both_wrong``: a true pair both missed, or a false pair both predicted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..metrics import check_labels, label_pairs, row_scores

CELLS = ("both_right", "only_a", "only_b", "both_wrong")
CELL_LABELS = {
    "both_right": "both right",
    "only_a": "only A right",
    "only_b": "only B right",
    "both_wrong": "both wrong",
}
TIE = "tie"


# ----------------------------------------------------------------------------- pairs

def predicted_pairs(pred: np.ndarray) -> np.ndarray:
    """Sorted unique codes ``i * n + j`` of the ordered pairs a model predicted (self excluded)."""
    pred = np.asarray(pred)
    n = pred.shape[0]
    rows = np.repeat(np.arange(n, dtype=np.int64), pred.shape[1])
    cols = pred.astype(np.int64, copy=False).ravel()
    keep = (cols >= 0) & (cols != rows)
    return np.unique(rows[keep] * n + cols[keep])


def true_pairs(labels: np.ndarray) -> np.ndarray:
    """Sorted codes of every ordered pair of distinct rows sharing a label."""
    i, j = label_pairs(labels)
    return np.sort(i * len(labels) + j)


def _member(codes: np.ndarray, sorted_set: np.ndarray) -> np.ndarray:
    if len(sorted_set) == 0:
        return np.zeros(len(codes), dtype=bool)
    pos = np.searchsorted(sorted_set, codes)
    pos = np.minimum(pos, len(sorted_set) - 1)
    return sorted_set[pos] == codes


@dataclass
class Agreement:
    """Pair-level agreement of two models on one pool."""

    n: int                                   # rows in the pool
    counts: dict[str, int]                   # cell -> number of ordered pairs
    examples: dict[str, np.ndarray]          # cell -> (m, 2) split-local (i, j), m <= n_examples
    detail: dict[str, dict[str, int]] = field(default_factory=dict)  # cell -> {"true": .., "false": ..}

    @property
    def total(self) -> int:
        return int(sum(self.counts.values()))

    def matrix(self) -> np.ndarray:
        """2x2 counts: rows A right / A wrong, columns B right / B wrong."""
        c = self.counts
        return np.array([[c["both_right"], c["only_a"]], [c["only_b"], c["both_wrong"]]], dtype=np.int64)

    def table(self) -> pd.DataFrame:
        rows = []
        for cell in CELLS:
            rows.append({"cell": CELL_LABELS[cell], "pairs": self.counts[cell],
                         "share": self.counts[cell] / self.total if self.total else float("nan"),
                         "true pairs": self.detail.get(cell, {}).get("true", 0),
                         "false pairs": self.detail.get(cell, {}).get("false", 0)})
        return pd.DataFrame(rows)


def pair_agreement(pred_a: np.ndarray, pred_b: np.ndarray, labels: np.ndarray, n_examples: int = 12,
                   seed: int = 0) -> Agreement:
    """Counts of ordered pairs in each agreement cell, with up to ``n_examples`` examples each.

    Examples are drawn at random (fixed ``seed``) and returned sorted by row, so they
    are reproducible. The union considered is predicted-by-A ∪ predicted-by-B ∪ true.
    """
    pred_a, pred_b = np.asarray(pred_a), np.asarray(pred_b)
    if pred_a.shape[0] != pred_b.shape[0]:
        raise ValueError(f"predictions over different pools: {pred_a.shape[0]} vs {pred_b.shape[0]} rows")
    labels = check_labels(labels, pred_a.shape[0])
    n = pred_a.shape[0]
    pa, pb, tr = predicted_pairs(pred_a), predicted_pairs(pred_b), true_pairs(labels)
    universe = np.unique(np.concatenate([pa, pb, tr]))
    in_a, in_b, is_true = _member(universe, pa), _member(universe, pb), _member(universe, tr)
    right_a, right_b = in_a == is_true, in_b == is_true
    masks = {
        "both_right": right_a & right_b,
        "only_a": right_a & ~right_b,
        "only_b": ~right_a & right_b,
        "both_wrong": ~right_a & ~right_b,
    }
    rng = np.random.default_rng(seed)
    counts, examples, detail = {}, {}, {}
    for cell, mask in masks.items():
        codes = universe[mask]
        counts[cell] = int(len(codes))
        detail[cell] = {"true": int(is_true[mask].sum()), "false": int((~is_true[mask]).sum())}
        if len(codes) > n_examples:
            codes = np.sort(rng.choice(codes, size=n_examples, replace=False))
        examples[cell] = np.stack([codes // n, codes % n], axis=1).astype(np.int64) if len(codes) else \
            np.zeros((0, 2), dtype=np.int64)
    return Agreement(n=n, counts=counts, examples=examples, detail=detail)


def pairwise_agreement(preds: dict[str, np.ndarray], labels: np.ndarray) -> pd.DataFrame:
    """One row per unordered pair of models (A, B) with the four cell counts."""
    names = list(preds)
    rows = []
    for x in range(len(names)):
        for y in range(x + 1, len(names)):
            a = pair_agreement(preds[names[x]], preds[names[y]], labels, n_examples=0)
            rows.append({"A": names[x], "B": names[y], **a.counts, "total": a.total})
    return pd.DataFrame(rows, columns=["A", "B", *CELLS, "total"])


# ----------------------------------------------------------------------------- rows and groups

def row_f1(preds: dict[str, np.ndarray], labels: np.ndarray) -> pd.DataFrame:
    """Per-row F1 of each model (columns in ``preds`` order), one row per pool row."""
    return pd.DataFrame({name: row_scores(p, labels)["f1"] for name, p in preds.items()})


def f1_difference(pred_a: np.ndarray, pred_b: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-row F1(A) - F1(B): positive where A does better on that posting."""
    return row_scores(pred_a, labels)["f1"] - row_scores(pred_b, labels)["f1"]


def group_winners(preds: dict[str, np.ndarray], labels: np.ndarray, tol: float = 1e-9) -> pd.DataFrame:
    """Mean F1 of each model over each group's rows, and which model wins the group.

    Columns: ``label_group``, ``size``, one column per model (mean F1), ``winner`` (a
    model name or ``"tie"`` when the best scores are within ``tol``) and ``margin``
    (best minus second best; 0 for a tie). Sorted by margin, largest first.
    """
    if not preds:
        raise ValueError("group_winners needs at least one model")
    labels = np.asarray(labels)
    f1 = row_f1(preds, labels)
    f1.insert(0, "label_group", labels)
    names = list(preds)
    out = f1.groupby("label_group", sort=True).agg(size=(names[0], "size"), **{n: (n, "mean") for n in names})
    scores = out[names].to_numpy(dtype=np.float64)
    order = np.sort(scores, axis=1)
    best = order[:, -1]
    second = order[:, -2] if len(names) > 1 else np.full(len(out), -np.inf)
    winners = np.asarray(names, dtype=object)[np.argmax(scores, axis=1)]
    tie = (best - second) <= tol
    out["winner"] = np.where(tie, TIE, winners)
    out["margin"] = np.where(tie, 0.0, best - second) if len(names) > 1 else 0.0
    out = out.reset_index().sort_values(["margin", "size"], ascending=[False, False], kind="stable")
    return out.reset_index(drop=True)


def winner_counts(winners: pd.DataFrame, names: list[str]) -> pd.Series:
    """Groups won by each model (and ties), in ``names`` order then ``"tie"``."""
    counts = winners["winner"].value_counts()
    return pd.Series({n: int(counts.get(n, 0)) for n in [*names, TIE]}, name="groups won")

"""Pair and group helpers of the metric."""

import numpy as np
import pytest

from shopee_core.metrics import group_sizes, label_pairs


@pytest.mark.parametrize("labels", [
    [], ["a"], ["a", "b"], ["g", "g"], [3, 1, 3, 2, 1, 3, 7], ["x", "y", "x", "x", "z", "y", "w"],
    np.random.default_rng(5).integers(0, 40, 300),
])
def test_label_pairs_are_every_ordered_pair_of_distinct_rows_sharing_a_label(labels):
    """The loop over groups it replaced, pair for pair and in the same order (the plane samples by position)."""
    labels = np.asarray(labels)
    order = np.argsort(labels, kind="stable")
    want = [(a, b) for g in dict.fromkeys(labels[order].tolist())
            for a in order[labels[order] == g] for b in order[labels[order] == g] if a != b]
    i, j = label_pairs(labels)
    assert i.dtype == j.dtype == np.int64
    assert list(zip(i.tolist(), j.tolist())) == [(int(a), int(b)) for a, b in want]
    if len(labels):
        assert len(i) == int((group_sizes(labels) - 1).sum())

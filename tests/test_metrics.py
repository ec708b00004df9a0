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


@pytest.mark.parametrize("n,width", [(0, 3), (1, 5), (9, 1), (4000, 1), (4000, 2), (2500, 101), (7, 300)])
def test_mean_scores_in_chunks_are_the_one_pass_mean_to_the_bit(monkeypatch, n, width):
    """Curves of big pools add their scores a chunk of rows at a time (bounded memory); a tuned threshold
    is the argmax of these means, so they must not move by an ulp against ``mean(axis=0)`` of all rows."""
    from shopee_core import metrics

    rng = np.random.default_rng(n + width)
    n_true = rng.integers(1, 60, (n, 1))
    n_pred = rng.integers(1, 80, (n, width))
    tp = np.minimum(rng.integers(0, 60, (n, width)), np.minimum(n_pred, n_true))
    calls = []

    def counts(rows):
        calls.append(rows)
        return tp[rows], n_pred[rows], n_true[rows]
    monkeypatch.setattr(metrics, "MEAN_CHUNK_CELLS", 1000)  # chunks of 1000 // width rows
    with np.errstate(invalid="ignore"):
        got = metrics.mean_scores(n, width, counts)
        want = {k: v.mean(axis=0) for k, v in metrics.counts_to_scores(tp, n_pred, n_true).items()}
    assert set(got) == set(want)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k])
    assert len(calls) == (1 if width < 2 or n <= 1000 // width else -(-n // max(1, 1000 // width)))
    assert [r.start for r in calls] == sorted(r.start for r in calls)

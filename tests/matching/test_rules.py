"""Hand-worked examples for thresholds, Min2, union and the fast scorer."""

import numpy as np
import pytest

from shopee_core.matching import Neighbors, Scorer, predict, predict_mask, predict_query, union
from shopee_core.matching.reference import naive_f1, naive_predict
from shopee_core.metrics import row_scores, score

LABELS = np.array([1, 1, 2, 2])


@pytest.fixture
def table():
    # d = 1 - s:  row0 [0, .2, .5]   row1 [0, .2, .7]   row2 [0, .5, .55]   row3 [0, .55, .7]
    idx = [[0, 1, 2], [1, 0, 3], [2, 0, 3], [3, 2, 1]]
    sim = [[1.0, 0.8, 0.5], [1.0, 0.8, 0.3], [1.0, 0.5, 0.45], [1.0, 0.45, 0.3]]
    return Neighbors(np.array(idx), np.array(sim))


def sets(pred):
    return [set(r[r >= 0].tolist()) for r in pred]


def test_plain_threshold(table):
    assert sets(predict(table, 0.3)) == [{0, 1}, {0, 1}, {2}, {3}]
    s = score(predict(table, 0.3), LABELS)
    assert s["f1"] == pytest.approx((1 + 1 + 2 / 3 + 2 / 3) / 4)
    assert s["precision"] == pytest.approx(1.0)
    assert s["recall"] == pytest.approx(0.75)


def test_threshold_is_strict(table):
    # d < T, not <=: at T = 0.2 the 0.2-distant neighbour is not predicted
    assert sets(predict(table, np.float32(1) - np.float32(0.8))) == [{0}, {1}, {2}, {3}]


def test_self_always_predicted(table):
    assert sets(predict(table, 0.0)) == [{0}, {1}, {2}, {3}]


def test_min2_adds_best_non_self_within_t2(table):
    assert sets(predict(table, 0.3, 0.52)) == [{0, 1}, {0, 1}, {0, 2}, {3}]
    assert score(predict(table, 0.3, 0.52), LABELS)["f1"] == pytest.approx((1 + 1 + 0.5 + 2 / 3) / 4)
    assert score(predict(table, 0.3, 0.6), LABELS)["f1"] == pytest.approx((1 + 1 + 0.5 + 1) / 4)


def test_min2_only_for_lonely_rows(table):
    # rows 0 and 1 already have two members: nothing is added even with a loose T2
    assert sets(predict(table, 0.3, 0.99))[:2] == [{0, 1}, {0, 1}]


def test_a_query_from_outside_the_pool_plays_self():
    d = np.array([0.5, 0.3, 0.9], dtype=np.float32)
    assert predict_query(d, 0.2, None).tolist() == [False, False, False]
    assert predict_query(d, 0.2, 0.35).tolist() == [False, True, False]  # alone: Min2 adds its nearest
    assert predict_query(d, 0.2, 0.25).tolist() == [False, False, False]
    assert predict_query(d, 0.6, 0.9).tolist() == [True, True, False]  # not alone: Min2 adds nothing
    assert predict_query(np.zeros(0, dtype=np.float32), 0.5, 0.9).tolist() == []


def test_union_is_row_wise_set_union(table):
    other = Neighbors(np.array([[0, 3, 1], [1, 2, 0], [2, 3, 1], [3, 2, 0]]),
                      np.array([[1.0, 0.9, 0.1], [1.0, 0.1, 0.05], [1.0, 0.9, 0.1], [1.0, 0.9, 0.2]]))
    u = union(predict(table, 0.3), predict(other, 0.3))
    assert sets(u) == [{0, 1, 3}, {0, 1}, {2, 3}, {2, 3}]
    assert score(u, LABELS)["f1"] == pytest.approx((2 * 2 / 5 + 1 + 1 + 1) / 4)


def test_row_scores_padded():
    pred = np.array([[0, 1, -1], [1, -1, -1], [2, 0, 3], [3, 2, -1]])
    r = row_scores(pred, LABELS)
    np.testing.assert_allclose(r["f1"], [1, 2 / 3, 2 * 2 / 5, 1])
    np.testing.assert_allclose(r["precision"], [1, 1, 2 / 3, 1])
    np.testing.assert_allclose(r["recall"], [1, 0.5, 1, 1])


def test_scorer_matches_hand_values(table):
    sc = Scorer(table, LABELS)
    assert sc.score(0.3)["f1"] == pytest.approx(10 / 12)
    assert sc.score(0.3, 0.52)["f1"] == pytest.approx((1 + 1 + 0.5 + 2 / 3) / 4)
    assert sc.score(0.3, 0.6)["f1"] == pytest.approx(0.875)
    assert sc.self_only["f1"] == pytest.approx(2 / 3)


def random_table(seed, n=400, k=20, groups=120):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    from shopee_core.matching import Embeddings, knn

    x = rng.normal(size=(groups, 16))[labels] + rng.normal(size=(n, 16)) * 0.8
    return knn(Embeddings.from_array(x), k), labels


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("t,t2", [(0.2, None), (0.35, 0.5), (0.6, 0.9), (0.0, 0.3), (1.5, None)])
def test_fast_paths_agree_with_naive_sets(seed, t, t2):
    nb, labels = random_table(seed)
    expected = naive_f1(naive_predict(nb.idx, nb.sim, t, t2), labels)
    assert Scorer(nb, labels).score(t, t2) == pytest.approx(expected)
    assert score(predict(nb, t, t2), labels) == pytest.approx(expected)
    assert sets(predict(nb, t, t2)) == naive_predict(nb.idx, nb.sim, t, t2)


def test_sweep_equals_pointwise_scores():
    nb, labels = random_table(3)
    sc = Scorer(nb, labels)
    ts = np.array([0.5, 0.1, 0.3, 0.3, 0.9, 0.0])  # unsorted and repeated on purpose
    for t2 in (None, 0.7):
        sw = sc.sweep(ts, t2)
        for i, t in enumerate(ts):
            assert sw["f1"][i] == pytest.approx(sc.score(t, t2)["f1"])
            assert sw["recall"][i] == pytest.approx(sc.score(t, t2)["recall"])
    sw2 = sc.sweep_min2(0.3, [0.3, 0.5, 0.8])
    for i, t2 in enumerate([0.3, 0.5, 0.8]):
        assert sw2["f1"][i] == pytest.approx(sc.score(0.3, t2)["f1"])


def test_sweeps_in_row_blocks_give_the_same_per_row_counts_and_means(monkeypatch):
    """A big pool's sweeps run in row blocks (scoring.SWEEP_CELLS): per-row counts (the bootstrap's
    input) and mean curves are exactly those of every setting scored on its own."""
    from shopee_core.matching import scoring

    nb, labels = random_table(5)
    sc = Scorer(nb, labels)
    ts = np.array([0.5, 0.1, 0.3, 0.3, 0.9, 0.0])
    monkeypatch.setattr(scoring, "SWEEP_CELLS", 7 * 50)  # blocks of 50 rows, the last one shorter
    assert len(sc._row_blocks(len(ts))) == 8
    for t2 in (None, 0.7):
        tp, n_pred = sc.sweep_counts(ts, t2)
        sw = sc.sweep(ts, t2)
        for i, t in enumerate(ts):
            r = sc.rows(t, t2)
            np.testing.assert_array_equal(tp[:, i], r["tp"])
            np.testing.assert_array_equal(n_pred[:, i], r["n_pred"])
            assert sw["f1"][i] == pytest.approx(r["f1"].mean())
    tp, n_pred = sc.min2_counts(0.3, [0.3, 0.8])
    np.testing.assert_array_equal(n_pred[:, 1], sc.rows(0.3, 0.8)["n_pred"])
    assert sc.sweep_min2(0.3, [0.3, 0.8])["f1"][1] == pytest.approx(sc.score(0.3, 0.8)["f1"])


def test_sweeps_of_big_pools_in_chunks_of_rows_are_the_one_pass_sweeps_to_the_bit(monkeypatch):
    """Scorer sweeps add their means a chunk of rows at a time (metrics.MEAN_CHUNK_CELLS): the very
    numbers of the one-pass sweep, so no tuned threshold moves."""
    from shopee_core import metrics

    nb, labels = random_table(6, n=900)
    sc = Scorer(nb, labels)
    ts = np.linspace(0.0, 1.0, 41)
    want = [sc.sweep(ts), sc.sweep(ts, 0.6), sc.sweep_min2(0.3, ts)]
    monkeypatch.setattr(metrics, "MEAN_CHUNK_CELLS", 41 * 64)  # chunks of 64 rows
    got = [sc.sweep(ts), sc.sweep(ts, 0.6), sc.sweep_min2(0.3, ts)]
    for g, w in zip(got, want):
        for key in w:
            np.testing.assert_array_equal(g[key], w[key])


def test_min2_never_lowers_recall_and_adds_at_most_one():
    nb, labels = random_table(4)
    sc = Scorer(nb, labels)
    base, with_min2 = sc.rows(0.3), sc.rows(0.3, 0.8)
    assert (with_min2["recall"] >= base["recall"]).all()
    assert ((with_min2["n_pred"] - base["n_pred"]) <= 1).all()
    assert predict_mask(nb, 0.3, 0.8).sum() > predict_mask(nb, 0.3).sum()

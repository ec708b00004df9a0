"""Invariants of matching and scoring, checked with hypothesis on random pools."""

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shopee_core.matching import Embeddings, Scorer, fuse, knn, predict, predict_mask, union
from shopee_core.metrics import row_scores, score

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def pools(draw):
    n = draw(st.integers(4, 40))
    groups = draw(st.integers(1, max(1, n // 2)))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    dims = draw(st.integers(2, 12))
    x = rng.normal(size=(groups, dims))[labels] + rng.normal(size=(n, dims)) * draw(st.floats(0.05, 2.0))
    k = draw(st.integers(1, n))
    return labels, Embeddings.from_array(x), k


thresholds = st.floats(0.0, 1.5, allow_nan=False)


@SETTINGS
@given(pools(), thresholds, st.one_of(st.none(), thresholds))
def test_scores_in_unit_interval_and_self_predicted(pool, t, t2):
    labels, emb, k = pool
    nb = knn(emb, k)
    pred = predict(nb, t, t2)
    assert (pred == np.arange(len(labels))[:, None]).any(axis=1).all()
    r = row_scores(pred, labels)
    for key in ("f1", "precision", "recall"):
        assert ((r[key] >= 0) & (r[key] <= 1)).all()
    fast, slow = Scorer(nb, labels).score(t, t2), score(pred, labels)
    for key in ("f1", "precision", "recall"):
        assert np.isclose(fast[key], slow[key])


@SETTINGS
@given(pools())
def test_perfect_prediction_scores_one(pool):
    labels, _, _ = pool
    n = len(labels)
    pred = np.full((n, n), -1)
    for i in range(n):
        same = np.flatnonzero(labels == labels[i])
        pred[i, : len(same)] = same
    assert score(pred, labels) == {"f1": 1.0, "precision": 1.0, "recall": 1.0, "n": n}


@SETTINGS
@given(pools(), thresholds, thresholds)
def test_min2_never_lowers_recall_and_adds_at_most_one(pool, t, t2):
    labels, emb, k = pool
    nb = knn(emb, k)
    a, b = row_scores(predict(nb, t), labels), row_scores(predict(nb, t, t2), labels)
    assert (b["recall"] >= a["recall"]).all()
    assert ((b["n_pred"] - a["n_pred"] >= 0) & (b["n_pred"] - a["n_pred"] <= 1)).all()


@SETTINGS
@given(pools(), thresholds, thresholds)
def test_raising_t_never_removes_a_prediction(pool, t1, t2):
    labels, emb, k = pool
    nb = knn(emb, k)
    lo, hi = sorted((t1, t2))
    assert not (predict_mask(nb, lo) & ~predict_mask(nb, hi)).any()


@SETTINGS
@given(pools(), thresholds, thresholds)
def test_union_contains_each_side(pool, ta, tb):
    labels, emb, k = pool
    other = Embeddings.from_array(np.random.default_rng(0).normal(size=(len(labels), 3)))
    pa, pb = predict(knn(emb, k), ta), predict(knn(other, k), tb)
    u = union(pa, pb)
    for i in range(len(labels)):
        su = set(u[i][u[i] >= 0])
        assert set(pa[i][pa[i] >= 0]) <= su and set(pb[i][pb[i] >= 0]) <= su
    assert (row_scores(u, labels)["recall"] >= row_scores(pa, labels)["recall"]).all()


@SETTINGS
@given(pools(), thresholds)
def test_mean_fusion_with_itself_is_the_set(pool, t):
    labels, emb, _ = pool
    k = len(labels)  # all rows: float noise may reorder near-ties at a k-th boundary, not the set
    a, b = knn(emb, k), knn(fuse([emb, emb]), k)
    np.testing.assert_allclose(a.sim, b.sim, atol=1e-5)
    for nb_a, nb_b, i in ((a, b, i) for i in range(a.n)):
        clear_a = np.abs(nb_a.dist[i] - t) > 1e-4  # float noise may only flip candidates sitting on T
        clear_b = np.abs(nb_b.dist[i] - t) > 1e-4
        pa = set(nb_a.idx[i][clear_a & ((nb_a.dist[i] < t) | nb_a.is_self[i])])
        pb = set(nb_b.idx[i][clear_b & ((nb_b.dist[i] < t) | nb_b.is_self[i])])
        assert pa == pb


@SETTINGS
@given(pools(), thresholds, st.integers(0, 2**31 - 1))
def test_results_do_not_depend_on_row_order(pool, t, seed):
    labels, emb, k = pool
    t = round(t, 2) + 0.005  # keep thresholds off exact float ties
    perm = np.random.default_rng(seed).permutation(len(labels))
    s1 = row_scores(predict(knn(emb, len(labels)), t), labels)
    s2 = row_scores(predict(knn(emb.take(perm), len(labels)), t), labels[perm])
    np.testing.assert_allclose(s1["f1"][perm], s2["f1"], atol=1e-9)

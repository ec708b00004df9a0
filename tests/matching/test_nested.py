"""Nested pools of whole groups and a decision's thresholds as the pool grows."""

import numpy as np
import pytest

from shopee_core.matching import Decision, Embeddings, Pool, model_source, nested_pools, pool_size_curve, scores
from shopee_core.matching.nested import sub_pool


def grouped(n_groups=400, dim=16, noise=0.7, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(n_groups), rng.integers(2, 6, n_groups))
    x = rng.normal(size=(n_groups, dim))[labels] + noise * rng.normal(size=(len(labels), dim))
    return labels, Embeddings.from_array(x)


def test_nested_pools_are_nested_whole_groups_of_at_least_each_size():
    labels, _ = grouped()
    pools = nested_pools(labels, [100, 300, 700], seed=3)
    for small, large in zip(pools, pools[1:]):
        assert set(small) < set(large)
    for rows, size in zip(pools, [100, 300, 700]):
        assert len(rows) >= size and (np.diff(rows) > 0).all()
        inside = set(labels[rows])
        assert (np.isin(labels, list(inside)) == np.isin(np.arange(len(labels)), rows)).all()  # whole groups
    assert len(nested_pools(labels, [10**9])[0]) == len(labels)


def test_a_restricted_table_is_the_sub_pools_own_knn_where_it_reaches():
    labels, emb = grouped(seed=1)
    k = 20
    pool = Pool(labels, k=k, embeddings={"m": emb})
    rows = nested_pools(labels, [400], seed=2)[0]
    full = pool.neighbors("m")
    t2 = float(np.quantile(full.reach[rows], 0.4))
    d = Decision.single(model_source("m"), 0.8 * t2, t2)
    sub, dd = sub_pool(pool, d, rows)
    exact = Pool(labels[rows], k=k, embeddings={"m": emb.take(rows)})
    ok = full.reach[rows] >= t2  # rows whose stored candidates reach past both thresholds
    assert 0.5 < ok.mean() < 1
    got = scores(sub, dd, rows=True)["rows"]
    want = scores(exact, d, rows=True)["rows"]
    np.testing.assert_array_equal(got["n_pred"][ok], want["n_pred"][ok])
    np.testing.assert_array_equal(got["tp"][ok], want["tp"][ok])
    assert (got["n_pred"] <= want["n_pred"]).all()  # never more than the sub-pool's own top-k finds


def test_pool_size_curve_tunes_in_each_pool_and_is_cached():
    labels, emb = grouped(n_groups=600, seed=4)
    pool = Pool(labels, k=30, embeddings={"m": emb})
    d = Decision.single(model_source("m"), 0.3)  # no Min2: the full scan of T is the grid's optimum
    curve = pool_size_curve(pool, d, sizes=[200, 800])
    assert curve["postings"].iloc[-1] >= 800 and curve["t2"].isna().all()
    assert (curve["f1_best"] >= curve["f1_given"] - 1e-12).all()  # the searched thresholds are the best there
    last = curve.iloc[-1]
    assert last["f1_given"] == pytest.approx(scores(Pool(labels[nested_pools(labels, [800])[0]], k=30, tables={
        ("m", "base"): pool.neighbors("m").restrict(nested_pools(labels, [800])[0])}), d)["f1"])
    moved = pool_size_curve(pool, d.with_thresholds(0.35), sizes=[200, 800])
    assert (moved["t"] == curve["t"]).all() and not np.allclose(moved["f1_given"], curve["f1_given"])

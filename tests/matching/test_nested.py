"""Nested pools of whole groups and a decision's thresholds as the pool grows."""

import numpy as np
import pytest

from shopee_core.errors import DecisionError
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


def population(n_families=300, per_family=8, dim=16, seed=0):
    """A catalogue where look-alike groups come in families: a bigger pool holds more of each family,
    so its best threshold is stricter and its F1 lower — the effect the extrapolation must carry."""
    rng = np.random.default_rng(seed)
    families = rng.normal(size=(n_families, dim))
    centres = np.repeat(families, per_family, axis=0) + 0.55 * rng.normal(size=(n_families * per_family, dim))
    labels = np.repeat(np.arange(len(centres)), rng.integers(2, 5, len(centres)))
    return labels, centres[labels] + 0.35 * rng.normal(size=(len(labels), dim))


def draw_groups(labels, n, seed):
    groups = np.random.default_rng(seed).permutation(np.unique(labels))
    take = groups[: int(np.searchsorted(np.cumsum(np.bincount(labels)[groups]), n)) + 1]
    return np.flatnonzero(np.isin(labels, take))


def tuned_in(labels, x, rows, k=30):
    from shopee_core.matching import tune
    p = Pool(labels[rows], k=k, embeddings={"m": Embeddings.from_array(x[rows])})
    best = tune(p, Decision.single(model_source("m"), 0.3), min2=False)
    return p, best.sides[0].t, scores(p, best)["f1"]


def test_extrapolation_to_twice_the_pool_lands_near_the_truth_at_twice_the_pool():
    from shopee_core.matching import extrapolate, pool_size_band, pool_size_draws
    labels, x = population()
    rows = draw_groups(labels, 1500, seed=1)
    pool, t_here, f1_here = tuned_in(labels, x, rows)
    draws = pool_size_draws(pool, Decision.single(model_source("m"), t_here), draws=5, min2=False)
    assert sorted(draws["draw"].unique()) == [0, 1, 2, 3, 4]
    band = pool_size_band(draws)
    assert (band["t_lo"] <= band["t"]).all() and (band["t"] <= band["t_hi"]).all()
    assert band["t_hi"].iloc[0] > band["t_lo"].iloc[0]  # small pools differ between draws
    target = 2 * len(rows)
    ext = extrapolate(draws, target)
    # the truth: pools of twice the size drawn from the same population, each tuned there
    truth = [tuned_in(labels, x, draw_groups(labels, target, seed=10 + i))[1:] for i in range(3)]
    true_t, true_f1 = np.mean([t for t, _ in truth]), np.mean([f for _, f in truth])
    assert true_t < t_here and true_f1 < f1_here  # the effect is there: twice the pool is stricter and harder
    assert ext["t"]["lo"] - 0.005 <= true_t <= ext["t"]["hi"] + 0.005  # within the spread (± one grid step)
    assert abs(ext["t"]["mean"] - true_t) < abs(t_here - true_t) / 2
    assert abs(ext["f1_best"]["mean"] - true_f1) < abs(f1_here - true_f1) * 0.75  # closer than "as here"
    assert ext["target"] == target
    with pytest.raises(DecisionError):
        extrapolate(draws, 1)


def test_extrapolation_of_a_flat_trend_stays_flat():
    import pandas as pd

    from shopee_core.matching import extrapolate
    draws = pd.DataFrame({"draw": [0, 0, 0, 1, 1, 1], "postings": [100, 200, 400] * 2,
                          "t": [0.3] * 6, "f1_best": [0.8] * 6, "t2": [np.nan] * 6})
    ext = extrapolate(draws, 10_000)
    assert ext["t"]["mean"] == pytest.approx(0.3) and ext["f1_best"]["lo"] == pytest.approx(0.8)
    assert "t2" not in ext and not ext["t"]["clipped"]
    falling = draws.assign(t=[0.3, 0.2, 0.1] * 2)  # a line that would cross 0 before the target
    ext = extrapolate(falling, 10_000)
    assert ext["t"]["lo"] == 0.0 and ext["t"]["clipped"]  # a distance is never below 0

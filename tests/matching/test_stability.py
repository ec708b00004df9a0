"""Threshold stability: the threshold search re-run on group resamples of the tuning pool."""

import numpy as np
import pytest

from shopee_core import stats
from shopee_core.errors import ShopeeError
from shopee_core.matching import Decision, Embeddings, Pool, model_source, scores, threshold_stability, tune
from shopee_core.matching.search import SEARCHES, early_stop
from shopee_core.matching.stability import pick, resampled_thresholds


def pool(seed, n=400, groups=120, noise=0.9):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    x = rng.normal(size=(groups, 12))[labels] + rng.normal(size=(n, 12)) * noise
    y = rng.normal(size=(groups, 12))[labels] + rng.normal(size=(n, 12)) * (noise + 0.3)
    return Pool(labels, embeddings={"a": Embeddings.from_array(x), "b": Embeddings.from_array(y)}, name=f"p{seed}")


def test_each_resample_picks_what_a_plain_search_on_its_weighted_rows_picks():
    """The vectorised resampled search (one histogram pass, one matrix product) against a loop: for a
    resample, every grid T scored with Scorer.rows and the rows weighted by how often their group was
    drawn; the best T (first maximum) and then the best T2 at it must be the ones picked."""
    valid = pool(0)
    d = tune(valid, Decision.single(model_source("a"), 0.5))
    ((t_b, t2_b),) = resampled_thresholds(valid, d, resamples=20, seed=3)
    boot = stats.group_bootstrap(valid.labels, 20, seed=3)
    scorer = valid.scorer(model_source("a"))
    full = SEARCHES["full"]
    for b in range(5):
        w = boot.counts[b][boot.inverse]
        curve = [np.average(scorer.rows(t)["f1"], weights=w) for t in full.ts()]
        t = full.ts()[int(np.argmax(curve))]
        assert t_b[b] == pytest.approx(t)
        t2s = full.t2s(t)
        curve2 = [np.average(scorer.rows(t, x)["f1"], weights=w) for x in t2s]
        assert t2_b[b] == pytest.approx(t2s[int(np.argmax(curve2))])


def test_summary_spreads_hold_the_full_pool_pick_and_score_the_other_pool():
    valid, test = pool(1), pool(2)
    d = tune(valid, Decision.single(model_source("a"), 0.5))
    st = threshold_stability(valid, d, test, resamples=100, seed=0, values=True)
    (side,) = st["sides"]
    t = np.asarray(st["values"]["t"][0])
    assert side["t"]["min"] <= d.sides[0].t <= side["t"]["max"]
    assert side["t"]["interval"][0] <= side["t"]["median"] <= side["t"]["interval"][1]
    assert len(np.unique(t)) > 1  # a finite pool's optimum moves between resamples
    # each resample's F1 is the other pool's F1 at that resample's thresholds
    for b in (0, 7, 42):
        got = scores(test, Decision.single(model_source("a"), t[b], st["values"]["t2"][0][b]))["f1"]
        assert st["values"]["f1"][b] == pytest.approx(got)
    assert st["resamples"] == 100 and st["unit"] == "label_group" and st["scored_on"] == "p2"
    assert threshold_stability(valid, d, test, resamples=100, seed=0, values=True) == st  # seeded


def test_union_sides_are_each_re_searched():
    valid = pool(4)
    d = tune(valid, Decision.union([(model_source("a"), 0.5), (model_source("b"), 0.5)]))
    st = threshold_stability(valid, d, resamples=30)
    assert len(st["sides"]) == 2 and [s["source"] for s in st["sides"]] == ["a", "b"]
    no_min2 = threshold_stability(valid, d.without_min2(), resamples=30)
    assert all(s["t2"] is None for s in no_min2["sides"])


def test_the_seed_early_stop_is_applied_per_resample():
    rng = np.random.default_rng(0)
    curves = np.cumsum(rng.normal(size=(50, 30)), axis=1)
    np.testing.assert_array_equal(pick(curves, True), [early_stop(c) for c in curves])
    np.testing.assert_array_equal(pick(curves, False), np.argmax(curves, axis=1))
    flat = np.ones((3, 5))
    assert pick(flat, False).tolist() == [0, 0, 0] and pick(flat, True).tolist() == [0, 0, 0]


def test_bad_resample_counts_are_refused():
    valid = pool(5)
    d = tune(valid, Decision.single(model_source("a"), 0.5))
    with pytest.raises(ShopeeError, match="threshold-stability resamples must be a whole number"):
        threshold_stability(valid, d, resamples=3)

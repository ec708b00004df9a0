"""Decision-layer options: joint union tuning, calibrated / searched fusion weights, candidate fusion."""

import numpy as np
import pytest

from shopee_core.matching import (
    Decision,
    Embeddings,
    Pool,
    calibrated_weights,
    fuse,
    fusion_source,
    knn,
    model_source,
    predict,
    scores,
    search_weights,
    tune,
)
from shopee_core.metrics import score


def views(seed, n=500, groups=170, noise=(0.8, 1.1), spread=(1.0, 1.0)):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    out = []
    for sd, sp_ in zip(noise, spread):
        x = rng.normal(size=(groups, 12))[labels] + rng.normal(size=(n, 12)) * sd
        out.append(Embeddings.from_array(x + sp_))  # a shared offset bunches cosines towards 1
    return labels, out


def test_joint_union_tuning_never_loses_to_per_side_on_its_pool_and_can_win():
    labels, (a, b) = views(0, noise=(0.5, 0.5))
    pool = Pool(labels, embeddings={"a": a, "b": b})
    d = Decision.union([(model_source("a"), 0.5), (model_source("b"), 0.5)])
    per_side = tune(pool, d, union="per_side")
    joint = tune(pool, d, union="joint")
    f_per, f_joint = scores(pool, per_side)["f1"], scores(pool, joint)["f1"]
    assert f_joint >= f_per - 1e-12
    assert f_joint > f_per + 0.02  # two sides each tuned for itself over-predict together
    # per-side is each side's own optimum: exactly what tuning that side alone gives
    alone = tune(pool, Decision.single(model_source("a"), 0.5))
    assert per_side.sides[0].t == alone.sides[0].t and per_side.sides[0].t2 == alone.sides[0].t2


def test_calibrated_weights_undo_a_bunched_similarity_spread():
    labels, (a, b) = views(1, spread=(0.0, 6.0))  # b's cosines all sit near 1
    pool = Pool(labels, embeddings={"a": a, "b": b})
    w = calibrated_weights(pool, ["a", "b"])
    sd = []
    for m in ("a", "b"):
        nb = pool.neighbors(model_source(m))
        sd.append(nb.sim[~nb.is_self].std())
    assert w[1] / w[0] == pytest.approx(sd[0] / sd[1], rel=1e-4)
    assert w[1] > 0.7
    equal = scores(pool, tune(pool, Decision.single(fusion_source(["a", "b"]), 0.5)))["f1"]
    calib = scores(pool, tune(pool, Decision.single(fusion_source(["a", "b"], w), 0.5)))["f1"]
    assert calib > equal + 0.01


def test_searched_weights_are_the_best_grid_point():
    labels, (a, b) = views(2, noise=(0.6, 1.6))
    pool = Pool(labels, embeddings={"a": a, "b": b})
    w, f1 = search_weights(pool, ["a", "b"], step=0.25)
    for x in (0.0, 0.25, 0.5, 0.75, 1.0):
        d = tune(pool, Decision.single(fusion_source(["a", "b"], [x, 1 - x], knn="candidates"), 0.5))
        assert scores(pool, d)["f1"] <= f1 + 1e-12
    assert w[0] > w[1]  # the cleaner view weighs more


def test_candidate_fusion_is_exact_on_the_pairs_it_holds():
    labels, (a, b) = views(3, n=300, groups=100, spread=(0.0, 0.0))
    pool = Pool(labels, k=20, embeddings={"a": a, "b": b})
    fast = pool.neighbors(fusion_source(["a", "b"], [0.3, 0.7], knn="candidates"))
    x = fuse([a, b], [0.3, 0.7])
    r = np.repeat(np.arange(fast.n), fast.k)
    np.testing.assert_allclose(fast.sim.ravel(), x.pair_similarity(r, fast.idx.ravel()), atol=1e-5)
    exact = knn(x, 20)
    # every exact neighbour a threshold could reach (d < 0.5) is among some member's own top 20
    near = [(r, j) for r in range(exact.n) for j, d in zip(exact.idx[r], exact.dist[r]) if d < 0.5]
    held = np.mean([j in set(fast.idx[r]) for r, j in near])
    assert len(near) > 1000 and held > 0.99
    assert score(predict(fast, 0.4), labels)["f1"] == pytest.approx(score(predict(exact, 0.4), labels)["f1"],
                                                                     abs=0.01)


def test_tfidf_inb_thresholds_are_re_searched_over_the_single_model_range():
    """Issue 21, point 3: the seed tuned TF-IDF's T over 0.40-0.69 but re-searched T′, T2′ on the
    blended vectors with its default range, 0.01-0.49, early stop. Here every pair of a group sits
    at distance 0.0018 and groups are orthogonal (distance 1): F1 is 1 from the first threshold
    on, so each early-stopping scan ends on its first point. By hand: T = 0.40 and T2 = 0.40
    (TF-IDF's range), then after blending T′ = 0.01 and T2′ = 0.01 (not 0.40, the TF-IDF range's
    floor, which a re-search over 0.40-0.69 would give)."""
    from shopee_core.matching import tune_inb

    x = np.zeros((8, 8))
    for g in range(4):
        x[2 * g, 2 * g], x[2 * g, 2 * g + 1] = 1.0, 0.03
        x[2 * g + 1, 2 * g], x[2 * g + 1, 2 * g + 1] = 1.0, -0.03
    labels = np.repeat(np.arange(4), 2)
    pool = Pool(labels, k=4, embeddings={"t": Embeddings.from_array(x)})
    d = tune(pool, Decision.single(model_source("t"), 0.5), search="seed_tfidf")
    assert (d.sides[0].t, d.sides[0].t2) == (0.40, 0.40)
    inb = tune_inb(pool, d, 1, vectors="raw", search="seed_tfidf")
    assert (inb.sides[0].t, inb.sides[0].t2) == (0.01, 0.01)
    assert scores(pool, inb)["f1"] == 1.0


def test_candidate_similarities_outlast_a_full_cache_while_re_weighting():
    """A re-weighting step is one weighted sum of the members' gathered candidate similarities: they
    stay when the pool's bounded cache is too small to hold them (at 70,000 postings five members'
    were evicted by each step's own tables and gathered again, 28 s a step)."""
    from shopee_core.cache import Cache

    labels, (a, b) = views(3, n=300, groups=100, spread=(0.0, 0.0))
    pool = Pool(labels, k=20, embeddings={"a": a, "b": b}, shared_cache=Cache(1))  # keeps nothing
    first = pool.candidate_sims(("a", "b"))
    assert pool.holds(("cand_sims", ("a", "b")))
    for x in (0.2, 0.4, 0.6):
        pool.neighbors(fusion_source(["a", "b"], [x, 1 - x], knn="candidates"))
    assert pool.candidate_sims(("a", "b"))[1] is first[1]
    assert not first[1].flags.writeable
    pool.candidate_sims(("b", "a"))  # another member set replaces it: one set kept, not one per set
    assert not pool.holds(("cand_sims", ("a", "b")))
    pool.forget(lambda key: key[0] == "cand_sims")  # the pool's own forgetting reaches it (a cold start)
    assert not pool.holds(("cand_sims", ("b", "a")))


def test_the_slot_counts_against_the_pools_budget_down_to_half():
    """The pools' cache holds less while a re-weighting slot is kept (the server's memory is the two
    together), never below half its capacity, and all of it again once the slot is gone."""
    from shopee_core.cache import Cache, sizeof

    labels, (a, b) = views(3, n=300, groups=100, spread=(0.0, 0.0))
    shared = Cache(10 * 2**20)
    pool = Pool(labels, k=20, embeddings={"a": a, "b": b}, shared_cache=shared)
    other = Pool(labels, k=20, embeddings={"a": a, "b": b}, shared_cache=shared)
    slot = sizeof(pool.candidate_sims(("a", "b")))
    assert 0 < slot < 5 * 2**20 and shared.limit == 10 * 2**20 - slot
    other.candidate_sims(("a", "b"))  # a second pool's slot counts too
    assert shared.limit == 10 * 2**20 - 2 * slot
    pool.neighbors("a")
    assert shared.used <= shared.limit
    small = Cache(slot)  # a slot larger than half the budget: the floor
    tight = Pool(labels, k=20, embeddings={"a": a, "b": b}, shared_cache=small)
    tight.candidate_sims(("a", "b"))
    assert small.limit == slot // 2
    import shopee_core.matching.embeddings as E

    def broken(*args, **kwargs):
        raise MemoryError("no room")

    with pytest.MonkeyPatch.context() as mp:  # a gathering that fails leaves the count as the slot held
        mp.setattr(E.Embeddings, "candidate_similarity", broken)
        with pytest.raises(MemoryError):
            pool.candidate_sims(("b", "a"))
    assert shared.limit == 10 * 2**20 - 2 * slot and pool.holds(("cand_sims", ("a", "b")))
    pool.clear()
    other.forget(lambda key: key[0] == "cand_sims")
    assert shared.limit == 10 * 2**20

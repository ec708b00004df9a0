"""The one decision layer (Pool + Decision) against direct predict / union / score."""

import numpy as np
import pytest

from shopee_core.errors import ShopeeError
from shopee_core.matching import (
    Decision,
    Embeddings,
    Pool,
    Side,
    fuse,
    fusion_source,
    inb_source,
    knn,
    model_source,
    predict,
    predictions,
    scores,
    tune,
    tune_inb,
    union,
)
from shopee_core.metrics import score


def two_views(seed, n=600, groups=200):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    a = rng.normal(size=(groups, 16))[labels] + rng.normal(size=(n, 16)) * 0.9
    b = rng.normal(size=(groups, 16))[labels] + rng.normal(size=(n, 16)) * 0.9
    return labels, Embeddings.from_array(a), Embeddings.from_array(b)


def pool_of(labels, **sets):
    return Pool(labels, embeddings=sets)


A, B = model_source("a"), model_source("b")


def test_single_set_decision_equals_direct_predict():
    labels, a, _ = two_views(0)
    got = scores(pool_of(labels, a=a), Decision.single(A, 0.4, 0.6))
    direct = predict(knn(a, 50), 0.4, 0.6)
    got.pop("n")
    assert got == pytest.approx({k: v for k, v in score(direct, labels).items() if k != "n"})


def test_union_uses_each_sides_thresholds():
    labels, a, b = two_views(1)
    got = scores(pool_of(labels, a=a, b=b), Decision.union([(A, 0.3), (B, 0.5)]))
    expected = union(predict(knn(a, 50), 0.3), predict(knn(b, 50), 0.5))
    assert got == pytest.approx(score(expected, labels))
    sa = score(predict(knn(a, 50), 0.3), labels)
    assert got["recall"] >= sa["recall"]


def test_mean_fusion_beats_either_view_when_tuned():
    labels, a, b = two_views(2)
    pool = pool_of(labels, a=a, b=b)
    fused = scores(pool, tune(pool, Decision.single(fusion_source(["a", "b"]), 0.5)))
    only_a = scores(pool, tune(pool, Decision.single(A, 0.5)))
    only_b = scores(pool, tune(pool, Decision.single(B, 0.5)))
    assert fused["f1"] > max(only_a["f1"], only_b["f1"])


def test_tuned_decision_transfers_to_another_pool():
    lv, av, bv = two_views(3)
    lt, at, bt = two_views(4)
    valid = pool_of(lv, a=av, b=bv)
    d = tune(valid, Decision.single(fusion_source(["a", "b"]), 0.5))
    d = tune_inb(valid, d, 2)
    src = d.sides[0].source
    assert src[0] == "inb" and src[2] == 2 and d.sides[0].t is not None
    assert scores(valid, d)["f1"] > 0.5
    test = scores(pool_of(lt, a=at, b=bt), d)
    assert 0.4 < test["f1"] <= 1.0


def test_union_inb_blends_and_retunes_each_side_on_its_own():
    # the seed's union INB runs (14, 15): each side blended with its own (T, T2) and its T′, T2′
    # re-searched on its own blended validation set; the union then unites the sides' INB sets
    labels, a, b = two_views(7)
    valid = pool_of(labels, a=a, b=b)
    da = tune(valid, Decision.single(A, 0.5), search="seed_tfidf")
    db = tune(valid, Decision.single(B, 0.5), search="seed_single")
    u = tune_inb(valid, Decision.union(list(da.sides + db.sides)), 1, vectors="raw",
                 search=["seed_tfidf", "seed_single"])
    alone = [tune_inb(valid, da, 1, vectors="raw", search="seed_tfidf"),
             tune_inb(valid, db, 1, vectors="raw", search="seed_single")]
    assert u.sides == tuple(x.sides[0] for x in alone)
    assert u.sides[0].source == inb_source(A, 1, da.sides[0].t, da.sides[0].t2, "raw")
    lt, at, bt = two_views(8)
    test = pool_of(lt, a=at, b=bt)
    want = union(*(predict(test.neighbors(s.source), s.t, s.t2) for s in u.sides))
    assert scores(test, u) == pytest.approx(score(want, lt))


def test_decision_validation_messages():
    labels, a, b = two_views(5, n=60, groups=20)
    with pytest.raises(ShopeeError, match="union"):
        Decision.union([(A, 0.3)])
    with pytest.raises(ShopeeError, match="searches"):
        tune_inb(pool_of(labels, a=a, b=b), Decision.union([(A, 0.3), (B, 0.3)]), 1, search=["full"])
    with pytest.raises(ShopeeError, match="source"):
        Side(("max", "a"), 0.3)
    with pytest.raises(ShopeeError, match="no embeddings"):
        scores(pool_of(labels, a=a), Decision.single(model_source("c"), 0.3))


def test_results_do_not_depend_on_row_order():
    labels, a, b = two_views(6, n=300, groups=100)
    perm = np.random.default_rng(0).permutation(len(labels))
    d = Decision.single(model_source("f"), 0.45, 0.6)
    s1 = scores(pool_of(labels, f=fuse([a, b])), d)
    s2 = scores(pool_of(labels[perm], f=fuse([a.take(perm), b.take(perm)])), d)
    assert s1 == pytest.approx(s2)


def test_unlabelled_pool_predicts_but_does_not_score():
    labels, a, b = two_views(7, n=120, groups=40)
    pool = Pool(None, embeddings={"a": a, "b": b})
    d = Decision.union([(A, 0.3), (B, 0.4, 0.5)])
    want = union(predict(knn(a, 50), 0.3), predict(knn(b, 50), 0.4, 0.5))
    got = predictions(pool, d)
    assert [set(r[r >= 0]) for r in got] == [set(r[r >= 0]) for r in want]
    with pytest.raises(ShopeeError, match="label"):
        scores(pool, d)


def test_inb_source_in_a_pool_equals_blending_by_hand():
    from shopee_core.matching import inb as inb_mod

    labels, a, _ = two_views(8, n=200, groups=60)
    pool = pool_of(labels, a=a)
    src = inb_source(A, 2, 0.4, 0.5)
    _, nb = inb_mod.iterate(a, knn(a, 50), 0.4, 0.5, 2, 50)
    assert scores(pool, Decision.single(src, 0.3)) == pytest.approx(score(predict(nb, 0.3), labels))

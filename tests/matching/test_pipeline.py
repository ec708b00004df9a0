import numpy as np
import pytest

from shopee_core.errors import ShopeeError
from shopee_core.matching import Embeddings, Scorer, fuse, knn, predict, union
from shopee_core.matching.pipeline import Decision, apply, tune
from shopee_core.metrics import score


def two_views(seed, n=600, groups=200):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, groups, n)
    a = rng.normal(size=(groups, 16))[labels] + rng.normal(size=(n, 16)) * 0.9
    b = rng.normal(size=(groups, 16))[labels] + rng.normal(size=(n, 16)) * 0.9
    return labels, Embeddings.from_array(a), Embeddings.from_array(b)


def test_single_set_decision_equals_direct_predict():
    labels, a, _ = two_views(0)
    r = apply([a], Decision(t=[0.4], t2=[0.6]), labels)
    direct = predict(knn(a, 50), 0.4, 0.6)
    assert r.scores == pytest.approx(score(direct, labels))


def test_union_uses_each_sides_thresholds():
    labels, a, b = two_views(1)
    r = apply([a, b], Decision(t=[0.3, 0.5], combine="union"), labels)
    expected = union(predict(knn(a, 50), 0.3), predict(knn(b, 50), 0.5))
    assert r.scores == pytest.approx(score(expected, labels))
    sa = score(predict(knn(a, 50), 0.3), labels)
    assert r.scores["recall"] >= sa["recall"]


def test_mean_fusion_beats_either_view_when_tuned():
    labels, a, b = two_views(2)
    _, fused = tune([a, b], labels, combine="mean")
    _, only_a = tune([a], labels)
    _, only_b = tune([b], labels)
    assert fused["valid"]["f1"] > max(only_a["valid"]["f1"], only_b["valid"]["f1"])


def test_tuned_decision_transfers_to_another_pool():
    lv, av, bv = two_views(3)
    lt, at, bt = two_views(4)
    decision, info = tune([av, bv], lv, combine="mean", inb_iters=2)
    assert decision.inb_iters == 2 and decision.inb_t is not None
    assert info["valid"]["f1"] > 0.5
    test = apply([at, bt], decision, lt).scores
    assert 0.4 < test["f1"] <= 1.0


def test_decision_validation_messages():
    labels, a, b = two_views(5, n=60, groups=20)
    with pytest.raises(ShopeeError, match="threshold"):
        apply([a, b], Decision(t=[0.3], combine="union"), labels)
    with pytest.raises(ShopeeError, match="INB"):
        apply([a, b], Decision(t=[0.3, 0.3], combine="union", inb_iters=1, inb_t=0.2), labels)
    with pytest.raises(ShopeeError, match="combine"):
        apply([a], Decision(t=[0.3], combine="max"), labels)


def test_results_do_not_depend_on_row_order():
    labels, a, b = two_views(6, n=300, groups=100)
    perm = np.random.default_rng(0).permutation(len(labels))
    d = Decision(t=[0.45], t2=[0.6])
    s1 = apply([fuse([a, b])], d, labels).scores
    s2 = apply([fuse([a.take(perm), b.take(perm)])], d, labels[perm]).scores
    assert s1 == pytest.approx(s2)

"""Pair-level agreement, per-group winners and F1 differences, against hand-worked numbers
and a naive set-based oracle."""

import itertools

import numpy as np
import pytest

from shopee_core.analysis import agreement as ag
from shopee_core.metrics import row_scores

LABELS = np.array([0, 0, 0, 1, 1])
# A: finds (0,1), (1,0) and all of group 1; B: finds (0,1), (2,0) and a false pair (0,3)
PRED_A = np.array([[0, 1, -1], [1, 0, -1], [2, -1, -1], [3, 4, -1], [4, 3, -1]])
PRED_B = np.array([[0, 1, 3], [1, -1, -1], [2, 0, -1], [3, -1, -1], [4, -1, -1]])


def naive(pred_a, pred_b, labels):
    n = len(labels)
    sets = []
    for pred in (pred_a, pred_b):
        sets.append({(i, int(j)) for i in range(n) for j in pred[i] if j >= 0 and j != i})
    true = {(i, j) for i, j in itertools.permutations(range(n), 2) if labels[i] == labels[j]}
    counts = dict.fromkeys(ag.CELLS, 0)
    for pair in sets[0] | sets[1] | true:
        ra, rb = (pair in sets[0]) == (pair in true), (pair in sets[1]) == (pair in true)
        cell = "both_right" if ra and rb else "only_a" if ra else "only_b" if rb else "both_wrong"
        counts[cell] += 1
    return counts


def test_hand_worked_cells():
    a = ag.pair_agreement(PRED_A, PRED_B, LABELS, n_examples=10)
    # union: 8 true pairs + B's false (0,3)
    assert a.counts == {"both_right": 1, "only_a": 4, "only_b": 1, "both_wrong": 3}
    assert a.total == 9
    assert a.matrix().tolist() == [[1, 4], [1, 3]]
    assert a.detail["only_a"] == {"true": 3, "false": 1}
    assert sorted(map(tuple, a.examples["only_a"].tolist())) == [(0, 3), (1, 0), (3, 4), (4, 3)]
    assert a.examples["both_right"].tolist() == [[0, 1]]
    assert a.examples["only_b"].tolist() == [[2, 0]]
    assert sorted(map(tuple, a.examples["both_wrong"].tolist())) == [(0, 2), (1, 2), (2, 1)]
    t = a.table()
    assert t["pairs"].sum() == 9 and t["share"].sum() == pytest.approx(1.0)


def test_swapping_models_mirrors_the_cells():
    ab = ag.pair_agreement(PRED_A, PRED_B, LABELS)
    ba = ag.pair_agreement(PRED_B, PRED_A, LABELS)
    assert ab.counts["only_a"] == ba.counts["only_b"] and ab.counts["only_b"] == ba.counts["only_a"]
    assert ab.counts["both_right"] == ba.counts["both_right"]


def test_padding_self_and_duplicates_are_ignored():
    noisy = np.array([[1, 0, 1, -1], [-1, 0, 1, 1], [2, 2, -1, -1], [4, -1, 3, 3], [3, 4, -1, 4]])
    assert ag.pair_agreement(noisy, PRED_B, LABELS).counts == ag.pair_agreement(PRED_A, PRED_B, LABELS).counts


def test_identical_models_agree_everywhere():
    a = ag.pair_agreement(PRED_A, PRED_A, LABELS)
    assert a.counts["only_a"] == a.counts["only_b"] == 0
    assert a.counts["both_right"] == 4 and a.counts["both_wrong"] == 4  # (0,2),(1,2),(2,0),(2,1) missed


@pytest.mark.parametrize("seed", range(5))
def test_random_predictions_match_the_naive_oracle(seed):
    rng = np.random.default_rng(seed)
    n = 40
    labels = rng.integers(0, 12, n)
    preds = []
    for _ in range(2):
        width = 6
        pred = rng.integers(-1, n, (n, width))
        pred[:, 0] = np.arange(n)
        preds.append(pred)
    got = ag.pair_agreement(preds[0], preds[1], labels, n_examples=5, seed=seed)
    assert got.counts == naive(preds[0], preds[1], labels)
    for cell, ex in got.examples.items():
        assert len(ex) == min(5, got.counts[cell])
        assert all(i != j for i, j in ex)
    again = ag.pair_agreement(preds[0], preds[1], labels, n_examples=5, seed=seed)
    assert all(np.array_equal(got.examples[c], again.examples[c]) for c in ag.CELLS)


def test_true_pairs_and_predicted_pairs():
    n = len(LABELS)
    assert sorted(divmod(int(c), n) for c in ag.true_pairs(LABELS)) == [
        (0, 1), (0, 2), (1, 0), (1, 2), (2, 0), (2, 1), (3, 4), (4, 3)]
    assert sorted(divmod(int(c), n) for c in ag.predicted_pairs(PRED_B)) == [(0, 1), (0, 3), (2, 0)]
    assert len(ag.true_pairs(np.arange(4))) == 0


def test_pools_must_match():
    with pytest.raises(ValueError):
        ag.pair_agreement(PRED_A, PRED_B[:4], LABELS)


def test_pairwise_table():
    t = ag.pairwise_agreement({"a": PRED_A, "b": PRED_B, "c": PRED_A}, LABELS)
    assert list(zip(t["A"], t["B"])) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert t.loc[0, "only_a"] == 4 and t.loc[1, "only_a"] == 0 and t.loc[2, "only_b"] == 4
    assert (t["total"] == t[list(ag.CELLS)].sum(axis=1)).all()


def test_group_winners_hand_worked():
    w = ag.group_winners({"A": PRED_A, "B": PRED_B}, LABELS).set_index("label_group")
    # A: rows 0,1 F1 4/5, row 2 F1 1/2 -> 0.7; group 1 rows F1 1
    # B: row 0 4/6, row 1 2/4, row 2 4/5 -> 0.6556; group 1 rows 2/3
    assert w.loc[0, "A"] == pytest.approx(0.7)
    assert w.loc[0, "B"] == pytest.approx((4 / 6 + 0.5 + 0.8) / 3)
    assert w.loc[1, "A"] == pytest.approx(1.0) and w.loc[1, "B"] == pytest.approx(2 / 3)
    assert list(w["winner"]) == ["A", "A"]
    assert list(w.index) == [1, 0]  # clearest win first
    assert w.loc[1, "margin"] == pytest.approx(1 / 3) and w.loc[1, "size"] == 2
    counts = ag.winner_counts(w.reset_index(), ["A", "B"])
    assert counts.to_dict() == {"A": 2, "B": 0, "tie": 0}


def test_group_winners_ties():
    w = ag.group_winners({"A": PRED_A, "B": PRED_A.copy()}, LABELS)
    assert set(w["winner"]) == {"tie"} and (w["margin"] == 0).all()
    single = ag.group_winners({"A": PRED_A}, LABELS)
    assert set(single["winner"]) == {"A"}


def test_f1_difference_and_row_f1():
    d = ag.f1_difference(PRED_A, PRED_B, LABELS)
    assert d == pytest.approx(row_scores(PRED_A, LABELS)["f1"] - row_scores(PRED_B, LABELS)["f1"])
    assert d[3] == pytest.approx(1 / 3) and d[2] == pytest.approx(0.5 - 0.8)
    frame = ag.row_f1({"A": PRED_A, "B": PRED_B}, LABELS)
    assert list(frame.columns) == ["A", "B"] and len(frame) == 5

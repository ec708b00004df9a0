import numpy as np
import pytest

from shopee_core.matching import Neighbors, Scorer, search, search_t, search_t2
from shopee_core.matching.search import grid

from .test_rules import random_table


def test_grid_is_full_and_on_step():
    g = grid(step=0.01)
    assert len(g) == 100 and g[0] == pytest.approx(0.01) and g[-1] == pytest.approx(1.0)


def test_full_scan_finds_the_global_optimum_past_a_local_one():
    # row 0 is alone in its group until d 0.45 - 0.5 (d .45, .46, .47) where three true members sit:
    # F1 dips (a false match at 0.15) before rising; an early-stopping scan would halt at 0.1
    labels = np.array([0, 0, 0, 0, 1, 2, 3])
    n = len(labels)
    idx = np.array([[0, 4, 1, 2, 3, 5, 6]] + [[i] + [j for j in range(n) if j != i] for i in range(1, n)])
    sim = np.tile(np.array([1.0, 0.85, 0.55, 0.54, 0.53, 0.1, 0.05]), (n, 1))
    sim[1:, 1:] = 0.0
    sc = Scorer(Neighbors(idx, sim), labels)
    t, curve = search_t(sc, grid(step=0.01))
    assert t == pytest.approx(0.48, abs=1e-9)  # first grid point past the last true member (d 0.47)
    brute = max(sc.score(x)["f1"] for x in grid(step=0.01))
    assert max(curve["f1"]) == pytest.approx(brute)


def test_search_matches_brute_force_on_random_data():
    nb, labels = random_table(7)
    sc = Scorer(nb, labels)
    out = search(sc, min2=True, step=0.01)
    best = max(grid(step=0.01), key=lambda x: sc.score(x)["f1"])
    assert out["base"]["f1"] == pytest.approx(sc.score(best)["f1"])
    assert out["t2"] >= out["t"]
    assert out["min2"]["f1"] >= out["base"]["f1"] - 1e-12
    t2, _ = search_t2(sc, out["t"], [out["t"]])
    assert t2 == out["t"]


# ------------------------------------------------------------------ the seed's scans
def _dip_then_rise():
    """F1 rises at T 0.02 (a true pair at d .0175), dips at 0.03 (a false pair at d .0275), then rises
    far higher at 0.31 (a six-member group at d .30)."""
    labels = np.array([0, 0, 1, 2, 3, 3, 3, 3, 3, 3])
    idx, sim = [], []
    for i in range(len(labels)):
        if i in (0, 1):
            others, d = [1 - i], 0.0175
        elif i in (2, 3):
            others, d = [5 - i], 0.0275
        else:
            others, d = [j for j in range(4, 10) if j != i], 0.30
        row = [i] + others + [j for j in range(10) if j != i and j not in others]
        idx.append(row)
        sim.append([1.0] + [1.0 - d] * len(others) + [0.0] * (9 - len(others)))
    return Scorer(Neighbors(np.array(idx), np.array(sim)), labels)


def test_seed_scan_stops_where_the_seed_stops_and_misses_the_later_optimum():
    from shopee_core.matching.search import SEARCHES

    sc = _dip_then_rise()
    seed_t, _ = search_t(sc, search="seed_single")
    full_t, _ = search_t(sc, search="full")
    assert seed_t == pytest.approx(0.02)           # 0.01 -> 0.02 improves, 0.03 does not: stop
    assert 0.30 < full_t <= 0.31 + 1e-9            # the full scan finds the group at d 0.30
    assert sc.score(full_t)["f1"] > sc.score(seed_t)["f1"] + 0.3
    # the ensemble preset scans all of 0.01..0.49 (no early stop), so it finds it too
    assert search_t(sc, search="seed_ensemble")[0] == pytest.approx(0.31)
    assert SEARCHES["seed_tfidf"].ts()[0] == pytest.approx(0.40) and SEARCHES["seed_tfidf"].ts()[-1] == pytest.approx(0.69)


def test_seed_grids_are_the_seeds_ranges():
    from shopee_core.matching.search import SEARCHES, early_stop

    single = SEARCHES["seed_single"]
    ts = single.ts()
    assert len(ts) == 49 and ts[0] == pytest.approx(0.01) and ts[-1] == pytest.approx(0.49)
    t2s = single.t2s(0.40)  # T2 from T to T + 0.205 step 0.005, the end excluded (np.arange)
    assert len(t2s) == 41 and t2s[0] == pytest.approx(0.40) and t2s[-1] == pytest.approx(0.60)
    assert SEARCHES["seed_fusion"].ts()[-1] == pytest.approx(0.59)
    assert len(SEARCHES["seed_ensemble"].t2s(0.4)) == 39  # T .. T + 0.195
    assert early_stop([0.1, 0.2, 0.2, 0.9]) == 1  # a tie is not an improvement
    assert early_stop([0.3, 0.2, 0.9]) == 0
    assert early_stop([0.1, 0.2, 0.3]) == 2


def test_seed_min2_scan_stops_early_too():
    sc = _dip_then_rise()
    t2, _ = search_t2(sc, 0.01, search="seed_single")
    # T2 runs .01, .015, .02 ...: at .015 nothing joins (the nearest pair is at d .0175), F1 does not
    # improve, and the seed's loop ends there with T2 = T (Min2 off)
    assert t2 == pytest.approx(0.01)
    full_t2, _ = search_t2(sc, 0.01, search="full")
    assert full_t2 > 0.30  # every lonely row gains its nearest candidate, the group's included
    assert sc.score(0.01, full_t2)["f1"] > sc.score(0.01, t2)["f1"]

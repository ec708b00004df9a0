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
    # the seed's T is i / 100 for i in np.arange(1, 50): the same doubles
    assert ts.tolist() == [i / 100 for i in range(1, 50)]
    assert SEARCHES["seed_fusion"].ts()[-1] == pytest.approx(0.59)
    assert early_stop([0.1, 0.2, 0.2, 0.9]) == 1  # a tie is not an improvement
    assert early_stop([0.3, 0.2, 0.9]) == 0
    assert early_stop([0.1, 0.2, 0.3]) == 2


# The seed's Min2 grids (issue 21, point 4), written out: single models (and a union's sides, and
# TF-IDF) search T2 over np.arange(T*100, T*100 + 21, 0.5) / 100, ensembles and fusions over
# np.arange(T*100, T*100 + 20, 0.5) / 100. Counted by hand: 21 / 0.5 = 42 points (T .. T + 0.205),
# 20 / 0.5 = 40 (T .. T + 0.195); where T*100 falls a hair below the integer (0.29*100 =
# 28.999999999999996, 0.57*100, 0.58*100) np.arange's length ceil((stop - start) / step) takes one
# more point, T + 0.21 (T + 0.20).
STUDY_T2 = {  # (preset, T): (points, last value)
    ("seed_single", 0.15): (42, 0.355), ("seed_single", 0.40): (42, 0.605), ("seed_single", 0.29): (43, 0.50),
    ("seed_tfidf", 0.57): (43, 0.78), ("seed_tfidf", 0.58): (43, 0.79), ("seed_tfidf", 0.59): (42, 0.795),
    ("seed_ensemble", 0.44): (40, 0.635), ("seed_ensemble", 0.29): (41, 0.49), ("seed_fusion", 0.50): (40, 0.695),
    ("seed_fusion", 0.57): (41, 0.77),
}


@pytest.mark.parametrize("preset,t", sorted(STUDY_T2))
def test_seed_min2_grids_are_the_study_grids_point_by_point(preset, t):
    from shopee_core.matching.search import SEARCHES

    n, last = STUDY_T2[(preset, t)]
    got = SEARCHES[preset].t2s(t)
    assert len(got) == n
    assert got[-1] == pytest.approx(last, abs=1e-12)
    for i, v in enumerate(got):  # T, T + 0.005, T + 0.010, ...
        assert v == pytest.approx(t + 0.005 * i, abs=1e-12), i
    # value for value the doubles the seed's code makes, float error included
    stop = 20 if preset in ("seed_ensemble", "seed_fusion") else 21
    assert got.tolist() == (np.arange(t * 100, t * 100 + stop, 0.5) / 100).tolist()


def test_seed_min2_grid_keeps_the_float_error_of_t_times_100():
    from shopee_core.matching.search import SEARCHES

    # 0.14 * 100 = 14.000000000000002, so the seed's second grid point is 0.14500000000000002, not 0.145
    assert SEARCHES["seed_single"].t2s(0.14)[1] == 0.14500000000000002
    # compared with float32 distances, that error selects the same pairs as 0.145 does
    assert np.float32(0.14500000000000002) == np.float32(0.145)


def test_seed_min2_scan_stops_early_too():
    sc = _dip_then_rise()
    t2, _ = search_t2(sc, 0.01, search="seed_single")
    # T2 runs .01, .015, .02 ...: at .015 nothing joins (the nearest pair is at d .0175), F1 does not
    # improve, and the seed's loop ends there with T2 = T (Min2 off)
    assert t2 == pytest.approx(0.01)
    full_t2, _ = search_t2(sc, 0.01, search="full")
    assert full_t2 > 0.30  # every lonely row gains its nearest candidate, the group's included
    assert sc.score(0.01, full_t2)["f1"] > sc.score(0.01, t2)["f1"]

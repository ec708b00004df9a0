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

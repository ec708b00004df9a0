"""The decision plane on a Kaggle-sized pool: binned beyond what a person can see, within a memory bound."""

import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopee_core.analysis import decisions as D
from shopee_core.analysis import plane as P
from shopee_core.bundle import Bundle
from shopee_core.matching import Neighbors

N, K = 30_000, 50


def synthetic_tables(labels, rng) -> tuple[np.ndarray, np.ndarray]:
    """Candidate tables without a kNN: self, the row's group, then random others, similarities falling."""
    n = len(labels)
    order = np.argsort(labels, kind="stable")
    start = np.searchsorted(labels[order], labels)
    idx = rng.integers(0, n, (n, K)).astype(np.int32)
    idx[:, 0] = np.arange(n)
    idx[:, 1] = order[start]  # a group mate (or self, for the group's first row: a duplicate of self is fine)
    sim = np.sort(rng.uniform(-0.2, 0.95, (n, K)).astype(np.float32), axis=1)[:, ::-1].copy()
    sim[:, 0] = 1.0
    return idx, sim


@pytest.fixture(scope="module")
def big():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(N // 3), 3)[:N]
    postings = pd.DataFrame({"posting_id": [f"p{i}" for i in range(N)], "title": "t", "label_group": labels,
                             "split": "test", "image_phash": "0" * 16, "thumb": "thumbs/x.jpg"})
    th = {"t": 0.4, "t2": 0.5, "inb_t": None, "inb_t2": None, "inb_iters": 0}
    models = [{"id": m, "label": m, "family": fam, "recipe": None, "kind": fam, "spec": {}, "thresholds": th,
               "metrics": {}, "files": {"neighbors": {"path": "in-memory"}, "embeddings": {"path": "in-memory"}},
               "query": False}
              for m, fam in (("img", "image"), ("txt", "text"))]
    models.append({"id": "union", "label": "img ∪ txt", "family": "fusion", "recipe": None, "kind": "combo",
                   "spec": {"members": ["img", "txt"], "combine": "union"},
                   "thresholds": {**th, "sides": [{"model": "img", "t": 0.4, "t2": 0.5},
                                                  {"model": "txt", "t": 0.45, "t2": None}]},
                   "metrics": {}, "files": {}, "query": False})
    b = Bundle(Path("/nonexistent"), {"k": K, "models": models}, postings)
    for m, dim in (("img", 512), ("txt", 768)):
        x = rng.normal(size=(N, dim)).astype(np.float32)
        b.cached(("emb", m), lambda x=x: (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16))
        b.cached(("nb", m, "test", "base"), lambda: Neighbors(*synthetic_tables(labels, rng)))
    p = D.pool(b, "test")
    for m in ("img", "txt"):  # loaded before measuring: the plane's own work is what is bounded
        p.embeddings(m)
        p.neighbors(m)
    return b


def test_the_plane_of_a_big_pool_stays_within_a_memory_bound_and_is_binned(big):
    # 30,000 postings x up to 100 merged candidates: ~3 M pairs, ~2 M of them missing one of the two
    # similarities. Gathering them whole at 512 + 768 floats per side would take ~20 GB.
    tracemalloc.start()
    try:
        frame, info = P.plane(big, "union", "test", "img", "txt")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 400 * 2**20, f"peak {peak / 2**20:.0f} MB"
    assert info["mode"] == "density" and info["n_pairs"] > P.DENSITY_ABOVE
    counts = info["density"]["counts"]
    c = info["counts"]
    # every pair is binned (all have both positions here), each under its outcome
    assert counts.sum() + info["density"]["unplaced"] == info["n_pairs"]
    assert [int(counts[k].sum()) for k in range(4)] == [c["TP"], c["FP"], c["FN"] + c["FN outside tables"], c["TN"]]
    # the points drawn are errors only, at most the budget
    assert set(frame["outcome"]) <= {"FP", "FN"} and len(frame) <= 20_000
    assert frame[["s_image", "s_text"]].notna().all().all()


def test_a_small_pool_is_drawn_point_by_point(big):
    frame, info = P.plane(big, "union", "test", "img", "txt", density_above=10**9, max_points=5000)
    assert info["mode"] == "points" and info["density"] is None and len(frame) == 5000
    assert set(frame["outcome"]) == {"TP", "FP", "FN", "TN"}


def test_a_plane_beyond_the_memory_budget_is_one_readable_line(big, monkeypatch):
    monkeypatch.setenv("SHOPEE_MEMORY_BUDGET_MB", "50")
    with pytest.raises(D.DecisionError, match=r"decision plane of 30,000 postings needs about .* GB"):
        P.plane(big, "union", "test", "img", "txt", max_points=1234)  # a plane not made before


def test_coming_back_to_the_plane_is_its_kept_result_not_a_new_gathering(big, monkeypatch):
    """The view's result is kept per decision (its parts are too big to stay in the bounded cache at
    70,000 postings): the same decision again is not gathered again, a moved threshold is, and a
    caller's edit of the returned frame never reaches the next caller."""
    made = []
    real = P._plane
    monkeypatch.setattr(P, "_plane", lambda *a, **kw: made.append(a[2]) or real(*a, **kw))
    first, info = P.plane(big, "union", "test", "img", "txt", max_points=3000)
    first["outcome"] = "edited"
    again, info2 = P.plane(big, "union", "test", "img", "txt", max_points=3000)
    assert len(made) == 1 and set(again["outcome"]) <= {"FP", "FN"} and info2["counts"] == info["counts"]
    moved = D.decision(big, "union", sides=[(0.3, None), None])
    P.plane(big, moved, "test", "img", "txt", max_points=3000)
    assert len(made) == 2

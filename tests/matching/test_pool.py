"""The pool's own arithmetic: the candidate fusion's top-k."""

import numpy as np
import pytest

from shopee_core.matching import pool as P
from shopee_core.matching.pool import best_k


def _reference(idx, sim, k):
    """Sort each row by (-similarity, pool index), padding last, and keep k."""
    out_i, out_s = [], []
    for i_row, s_row in zip(idx, sim):
        pairs = sorted(zip(i_row.tolist(), s_row.tolist()), key=lambda p: (-p[1], p[0]))[:k]
        out_i.append([p[0] for p in pairs])
        out_s.append([p[1] for p in pairs])
    return np.asarray(out_i, dtype=np.int32), np.asarray(out_s, dtype=np.float32)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("block_cells", [24, 24 * 7, 1 << 20])  # a row, 7 rows (the last block shorter), all
def test_best_k_is_the_k_most_similar_ties_by_pool_index(monkeypatch, seed, block_cells):
    monkeypatch.setattr(P, "BEST_K_CELLS", block_cells)
    rng = np.random.default_rng(seed)
    n, width, k = 60, 24, 7
    idx = np.sort(rng.choice(500, size=(n, width)), axis=1).astype(np.int32)
    # few distinct values (ties everywhere, at the k-th place too), negatives, -0.0 and +0.0 alike
    sim = rng.choice(np.float32([-0.75, -0.5, -0.0, 0.0, 0.25, 0.5, 0.5, 0.9, 1.0]), size=(n, width))
    pad = rng.random((n, width)) < 0.3
    pad[:, :k] = False  # every row keeps at least k real candidates
    idx[pad], sim[pad] = -1, -np.inf
    want_i, want_s = _reference(idx, sim + np.float32(0.0), k)
    got_i, got_s = best_k(idx.copy(), sim.copy(), k)
    assert got_i.dtype == np.int32 and got_s.dtype == np.float32
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_array_equal(got_s, want_s)


def test_best_k_keeps_every_bit_of_the_similarity_and_whole_rows_when_k_is_their_width():
    sim = np.float32([[0.1234567, -3.5e-8, 1.0, -1.0], [np.finfo(np.float32).max, 1e-30, -1e-30, 0.0]])
    idx = np.int32([[4, 9, 2, 7], [0, 1, 2, 3]])
    got_i, got_s = best_k(idx.copy(), sim.copy(), 4)
    np.testing.assert_array_equal(got_i, [[2, 4, 9, 7], [0, 1, 3, 2]])
    np.testing.assert_array_equal(got_s, np.float32([[1.0, 0.1234567, -3.5e-8, -1.0],
                                                     [np.finfo(np.float32).max, 1e-30, 0.0, -1e-30]]))



def test_a_pair_table_makes_room_for_itself_before_it_is_merged(monkeypatch):
    """A merged table's room is made before the merge (its bytes bounded from the tables' summed k), after
    the tables it merges were asked for: those are the cache's most recently used, so what goes for it is
    older; the estimate is never below what the table holds."""
    from shopee_core.cache import Cache, sizeof
    from shopee_core.matching import Embeddings, model_source
    from shopee_core.matching.pool import Pool

    rng = np.random.default_rng(0)
    labels = rng.integers(0, 60, 240)
    sets = {m: Embeddings.from_array(rng.normal(size=(240, 8))) for m in "abcd"}
    probe = Pool(labels, k=10, embeddings=sets, shared_cache=Cache(2**30))
    for m in "dabc":
        probe.neighbors(m)
    expect = 240 * 30 * (4 + 5 * 3 + 3)
    keep = sum(sizeof(probe.neighbors(m)) for m in "abc")
    shared = Cache(keep + expect, floor=0)  # room for the merge: all but the three merged tables must go
    pool = Pool(labels, k=10, embeddings=sets, shared_cache=shared)
    for m in "dabc":  # d the oldest
        pool.neighbors(m)
    seen = {}
    real = shared._make_room

    def room(amount):
        real(amount)
        seen.update(amount=amount, held={m: pool.holds(("nb", model_source(m))) for m in "abcd"})

    monkeypatch.setattr(shared, "_make_room", room)
    table = pool.pair_table([model_source(m) for m in "abc"])
    assert seen["amount"] == expect >= table.nbytes
    assert seen["held"] == {"a": True, "b": True, "c": True, "d": False}  # the oldest went, not the merged


@pytest.mark.parametrize("block_cells", [7, 100, 1 << 20])
def test_a_reweighting_is_the_same_whatever_the_block_of_rows(monkeypatch, block_cells):
    """A candidate-union re-weighting sums its members' similarities a block of rows at a time (the whole
    sum was each step's peak at 70,000 postings): the table is the same whatever the block, and its
    similarities are the members' weighted sum, each product and sum rounded on its own."""
    from shopee_core.matching import Embeddings, fusion_source
    from shopee_core.matching.pool import Pool

    rng = np.random.default_rng(3)
    labels = rng.integers(0, 40, 150)
    sets = {m: Embeddings.from_array(rng.normal(size=(150, 6))) for m in "abc"}
    source = fusion_source(list("abc"), [0.5, 0.3, 0.2], knn="candidates")
    want = Pool(labels, k=12, embeddings=sets).neighbors(source)
    monkeypatch.setattr(P, "BEST_K_CELLS", block_cells)
    pool = Pool(labels, k=12, embeddings=sets)
    got = pool.neighbors(source)
    assert np.array_equal(got.idx, want.idx) and np.array_equal(got.sim, want.sim)
    cands, flat = pool.candidate_sims(tuple("abc"))
    idx = cands.padded()
    sims = np.stack([cands.scatter(slice(0, 150), f, np.float32(0.0)) for f in flat])
    w = [np.float32(x) for _, x in source[1]]
    total = sims[0] * w[0] + sims[1] * w[1] + sims[2] * w[2]
    rows = np.arange(150)[:, None]
    place = np.argmax(idx[:, :, None] == got.idx[:, None, :], axis=1)  # each kept candidate's column in idx
    assert np.array_equal(got.sim, total[rows, place])

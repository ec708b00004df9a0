"""The merged candidate table (shopee_core.matching.union.PairTable) built a block of rows at a time."""

import importlib

import numpy as np
import pytest

from shopee_core.matching import Neighbors

U = importlib.import_module("shopee_core.matching.union")  # the package re-exports a function of that name


def _table(rng, n, k):
    idx = np.stack([np.concatenate([[i], rng.choice(np.delete(np.arange(n), i), k - 1, replace=False)])
                    for i in range(n)])
    sim = np.sort(rng.uniform(-0.2, 1.0, (n, k)), axis=1)[:, ::-1].copy()
    sim[:, 0] = 1.0
    return Neighbors(idx, sim)


def _naive(tables, labels):
    """Row by row: the sorted distinct candidates, each table's distance where it holds one."""
    n = tables[0].n
    rows = [sorted(set(np.concatenate([t.idx[i] for t in tables]).tolist())) for i in range(n)]
    w = max(len(r) for r in rows)
    idx = np.full((n, w), -1)
    dist = np.full((len(tables), n, w), np.inf, np.float32)
    nn = np.zeros((len(tables), n, w), bool)
    for i, r in enumerate(rows):
        idx[i, :len(r)] = r
        for s, t in enumerate(tables):
            for c, j in enumerate(t.idx[i]):
                dist[s, i, r.index(j)] = t.dist[i, c]
                nn[s, i, r.index(j)] = t.nn_pos[i] == c
    same = (idx >= 0) & (labels[np.maximum(idx, 0)] == labels[:, None])
    return idx, dist, nn, same


@pytest.mark.parametrize("block_slots", [1, 7, 64, 1 << 19])
def test_blocks_of_rows_merge_as_the_whole_table(monkeypatch, block_slots):
    """At 70,000 postings x 3 tables, merging at once made ~480 MB of temporaries: rows are merged a
    block at a time (one row per block at 1 slot), with the same result as a row-by-row merge."""
    rng = np.random.default_rng(block_slots)
    n = 37
    tables = [_table(rng, n, k) for k in (5, 9, 3)]
    labels = rng.integers(0, 8, n)
    monkeypatch.setattr(U, "BLOCK_SLOTS", block_slots)
    got = U.PairTable(tables, labels)
    idx, dist, nn, same = _naive(tables, labels)
    assert got.w == idx.shape[1]
    np.testing.assert_array_equal(got.idx, idx)
    np.testing.assert_array_equal(got.dist, dist)
    np.testing.assert_array_equal(got.nn, nn)
    np.testing.assert_array_equal(got.same, same)
    assert got.is_self[np.arange(n), np.argmax(got.idx == np.arange(n)[:, None], axis=1)].all()
    assert U.PairTable(tables, None).same is None


def test_union_sweeps_in_chunks_of_rows_are_the_one_pass_sweeps_to_the_bit(monkeypatch):
    """A 70,000-row union's curve held ~10 (N, thresholds) arrays at once; it is made a chunk of rows at
    a time (metrics.MEAN_CHUNK_CELLS) with the very numbers of one pass."""
    from shopee_core import metrics

    rng = np.random.default_rng(11)
    n = 300
    tables = [_table(rng, n, k) for k in (12, 20)]
    table = U.PairTable(tables, rng.integers(0, 60, n))
    ts = np.linspace(0.0, 1.2, 33)
    settings = [([(0, 0.4, None), (1, 0.5, None)], 0), ([(0, 0.4, 0.7), (1, 0.5, 0.9)], 1)]
    want = [table.sweep(sides, which, ts) for sides, which in settings]
    monkeypatch.setattr(metrics, "MEAN_CHUNK_CELLS", 33 * 16)  # chunks of 16 rows
    for (sides, which), w in zip(settings, want):
        g = table.sweep(sides, which, ts)
        for key in w:
            np.testing.assert_array_equal(g[key], w[key])
    assert 0.0 < want[0]["f1"].max() <= 1.0

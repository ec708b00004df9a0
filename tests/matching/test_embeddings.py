"""Embedding sets: validation of what users pass in, and pair similarities without blowing memory."""

import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp

from shopee_core.errors import EmbeddingError
from shopee_core.matching import Embeddings


def test_all_zero_dense_rows_are_refused_naming_the_first():
    x = np.ones((6, 4), dtype=np.float32)
    x[[3, 5]] = 0
    with pytest.raises(EmbeddingError, match=r"2 row\(s\) \(first: 3, 5\) are all zero"):
        Embeddings.from_array(x, name="mine.npy")


def test_an_empty_tf_idf_row_is_kept_and_matches_nothing():
    m = sp.csr_matrix(np.array([[1, 0], [0, 0], [1, 1]], dtype=np.float32))
    e = Embeddings.from_array(m)
    assert e.self_similarity()[1] == 0


def test_raw_norms_are_kept_for_inb():
    e = Embeddings.from_array(np.array([[3, 4], [0, 2]], dtype=np.float32))
    np.testing.assert_allclose(e.norms, [5, 2])
    np.testing.assert_allclose(e.take([1]).norms, [2])
    with pytest.raises(EmbeddingError, match="norms"):
        Embeddings.from_array(np.ones((2, 2)), norms=[1.0])


def test_pair_similarity_equals_the_direct_dot_products():
    rng = np.random.default_rng(0)
    e = Embeddings.from_array(rng.normal(size=(50, 8)))
    i, j = rng.integers(0, 50, 1000), rng.integers(0, 50, 1000)
    x = e.dense()
    np.testing.assert_allclose(e.pair_similarity(i, j, chunk=97), np.einsum("ij,ij->i", x[i], x[j]), atol=1e-6)


def test_pair_similarity_of_many_pairs_stays_within_a_memory_bound():
    # 200,000 pairs of 256-d rows: gathering both sides whole would take 2 x 205 MB
    rng = np.random.default_rng(1)
    e = Embeddings.from_array(rng.normal(size=(4000, 256)).astype(np.float32))
    i, j = rng.integers(0, 4000, 200_000), rng.integers(0, 4000, 200_000)
    tracemalloc.start()
    try:
        out = e.pair_similarity(i, j)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.shape == (200_000,)
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MB"


@pytest.mark.parametrize("gemm", [True, False])
@pytest.mark.parametrize("in_place", [True, False])
def test_candidate_similarity_equals_the_direct_dot_products_every_way(gemm, in_place, monkeypatch):
    """The BLAS product, faiss's indexed dot products (rows read in place) and numpy's gathered
    copy give the same similarities, padding (-1) NaN, for dense, sparse, fused and float16 sets."""
    import shopee_core.matching.embeddings as E

    monkeypatch.setattr(E, "GEMM_RATIO", 10**9 if gemm else 0)
    monkeypatch.setattr(E, "GEMM_RATIO_IN_PLACE", 10**9 if gemm else 0)
    if not in_place:
        monkeypatch.setattr(E, "_faiss_ready", lambda block: False)
    rng = np.random.default_rng(2)
    x = rng.normal(size=(300, 16)).astype(np.float32)
    dense = Embeddings.from_array(x)
    half = Embeddings([np.asarray(dense.blocks[0], dtype=np.float16)])  # never read by faiss
    sparse = Embeddings.from_array(sp.random(300, 40, density=0.2, random_state=3, format="csr") + sp.eye(300, 40))
    fused = E.fuse([dense, sparse], [0.3, 0.7])
    idx = rng.integers(-1, 300, (120, 9))
    rows = rng.integers(0, 300, 120)
    for e in (dense, half, sparse, fused):
        full = np.zeros((300, 300))
        for b, w in zip(e.blocks, e._w()):
            m = b.toarray() if sp.issparse(b) else np.asarray(b, dtype=np.float64)
            full += w * (m @ m.T)
        ref = full[rows[:, None], np.maximum(idx, 0)]
        ref[idx < 0] = np.nan
        got = e.candidate_similarity(idx, rows=rows, chunk_bytes=4096)
        # a float16 block's BLAS product (the small-pool way) rounds in float16
        np.testing.assert_allclose(got, ref, atol=1e-3 if e is half and gemm else 1e-5)
        into = np.full((150, 9), 7.0, dtype=np.float32)  # a re-weighting slot's plane, written in place
        plane = into[10:130]
        assert e.candidate_similarity(idx, rows=rows, chunk_bytes=4096, out=plane) is plane
        np.testing.assert_array_equal(into[10:130], got)
        assert (into[:10] == 7).all() and (into[130:] == 7).all()
        i, j = np.repeat(rows, 9), np.maximum(idx, 0).ravel()
        np.testing.assert_allclose(e.pair_similarity(i, j, chunk=97), full[i, j], atol=1e-5)


def test_candidate_similarity_refuses_an_out_array_of_another_shape():
    e = Embeddings.from_array(np.eye(4, dtype=np.float32))
    with pytest.raises(EmbeddingError, match="out must be float32"):
        e.candidate_similarity(np.zeros((4, 2), dtype=np.int64), out=np.zeros((4, 3), dtype=np.float32))


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc/self/smaps")
def test_a_set_read_in_place_is_checked_a_block_of_rows_at_a_time(tmp_path, monkeypatch):
    """Validating a bundle's 70,000-row set read in place held its whole file resident (213 MB) beside
    the view that opened it: rows are checked a block at a time, each block's pages given back, and
    every bad row is still found and named."""
    import shopee_core.matching.embeddings as E

    from ..test_cache import _resident_kb

    monkeypatch.setattr(E, "CHECK_BYTES", 1 << 20)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16_384, 256)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    path = tmp_path / "rows.npy"
    np.save(path, x)  # 16 MB, 16 blocks
    mapped = np.load(path, mmap_mode="r")
    e = Embeddings.from_unit_rows(mapped)
    assert e.blocks[0] is mapped or np.shares_memory(e.blocks[0], mapped)  # used in place, not copied
    assert _resident_kb(path) < 2_000  # the check read all 16 MB
    bad = x.copy()
    bad[[9_000, 16_383], 3] = np.nan
    bad[[5, 12_000]] = 0.0
    with pytest.raises(EmbeddingError, match=r"2 row\(s\) \(first: 9000, 16383\) hold NaN or inf"):
        Embeddings.from_unit_rows(bad)
    bad[[9_000, 16_383], 3] = 0.5
    with pytest.raises(EmbeddingError, match=r"2 row\(s\) \(first: 5, 12000\) are all zero"):
        Embeddings.from_unit_rows(bad)
    bad[[5, 12_000], 0] = 2.0  # not unit length: normalised (copied), as from_array would
    assert np.allclose(np.linalg.norm(np.asarray(Embeddings.from_unit_rows(bad).blocks[0]), axis=1), 1.0, atol=1e-5)

import numpy as np
import pytest
import scipy.sparse as sp

from shopee_core.errors import EmbeddingError
from shopee_core.matching import Embeddings, fuse, knn


def test_dense_knn_is_exact_and_sorted():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 24)).astype(np.float32)
    emb = Embeddings.from_array(x)
    nb = knn(emb, 10)
    xn = emb.dense()
    full = xn @ xn.T
    expected = -np.sort(-full, axis=1)[:, :10]
    np.testing.assert_allclose(nb.sim, expected, atol=1e-5)
    assert (np.diff(nb.sim, axis=1) <= 0).all()
    assert nb.is_self.any(axis=1).all()


def test_sparse_and_dense_paths_agree():
    x = sp.random(200, 300, density=0.03, random_state=2, format="csr", dtype=np.float32)
    x = x + sp.eye(200, 300, dtype=np.float32)  # no empty rows
    s_nb = knn(Embeddings.from_array(x), 8)
    d_nb = knn(Embeddings.from_array(x.toarray()), 8)
    np.testing.assert_allclose(s_nb.sim, d_nb.sim, atol=1e-5)


def test_self_kept_among_more_duplicates_than_k():
    x = np.ones((6, 4), dtype=np.float32)
    nb = knn(Embeddings.from_array(x), 2)
    assert nb.is_self.any(axis=1).all()


def test_zero_rows_are_allowed_and_match_nothing():
    x = sp.csr_matrix(np.array([[1, 0], [0, 0], [1, 0.1]], dtype=np.float32))
    nb = knn(Embeddings.from_array(x), 3)
    assert nb.is_self.any(axis=1).all()
    row = nb.idx[1].tolist().index(1)
    assert nb.sim[1, row] == 0.0


def test_k_is_capped_at_pool_size():
    nb = knn(Embeddings.from_array(np.eye(3, dtype=np.float32)), 50)
    assert nb.k == 3


@pytest.mark.parametrize("bad, phrase", [
    (np.array([[np.nan, 1.0], [1.0, 0.0]]), "NaN"),
    (np.array([[np.inf, 1.0], [1.0, 0.0]]), "NaN or inf"),
    (np.zeros((0, 4)), "zero rows"),
    (np.ones((3, 4), dtype=np.int64), "dtype"),
    (np.array([{"a": 1}], dtype=object), "object"),
    (np.ones(4), "2-D"),
])
def test_bad_embeddings_are_rejected(bad, phrase):
    with pytest.raises(EmbeddingError, match=phrase):
        Embeddings.from_array(bad)


def test_mean_fusion_is_mean_of_cosines():
    rng = np.random.default_rng(1)
    a = Embeddings.from_array(rng.normal(size=(50, 8)))
    b = Embeddings.from_array(sp.random(50, 40, density=0.2, random_state=3, format="csr", dtype=np.float32)
                              + sp.eye(50, 40, dtype=np.float32))
    f = fuse([a, b])
    i, j = np.arange(50), rng.permutation(50)
    expected = (a.pair_similarity(i, j) + b.pair_similarity(i, j)) / 2
    np.testing.assert_allclose(f.pair_similarity(i, j), expected, atol=1e-6)
    np.testing.assert_allclose(f.self_similarity(), 1.0, atol=1e-5)


def test_weighted_fusion_and_fusion_with_itself():
    rng = np.random.default_rng(2)
    a = Embeddings.from_array(rng.normal(size=(40, 8)))
    b = Embeddings.from_array(rng.normal(size=(40, 8)))
    i, j = np.arange(40), rng.permutation(40)
    w = fuse([a, b], [3, 1]).pair_similarity(i, j)
    np.testing.assert_allclose(w, 0.75 * a.pair_similarity(i, j) + 0.25 * b.pair_similarity(i, j), atol=1e-6)
    np.testing.assert_allclose(knn(fuse([a, a]), 5).sim, knn(a, 5).sim, atol=1e-6)


def test_bad_fusion_weights():
    a = Embeddings.from_array(np.eye(3, dtype=np.float32))
    with pytest.raises(EmbeddingError, match="weights"):
        fuse([a, a], [1, -1])


def test_joint_search_equals_each_set_and_each_fusion_searched_alone():
    """One pass over chunks of rows gives every set's table and each weighted mean's (the fusion's
    similarities are its members' weighted sum), as their separate exact searches do."""
    from shopee_core.matching.knn import joint_knn

    rng = np.random.default_rng(3)
    centres = rng.normal(size=(200, 16))
    labels = rng.integers(0, 200, 1500)
    sets = {name: Embeddings.from_array((centres[labels] @ rng.normal(size=(16, d))
                                         + 0.8 * rng.normal(size=(1500, d))).astype(np.float32))
            for name, d in (("a", 24), ("b", 40), ("c", 8))}
    sets["t"] = Embeddings.from_array(sp.random(1500, 300, density=0.02, random_state=4, format="csr",
                                                dtype=np.float32) + sp.eye(1500, 300, dtype=np.float32))
    fusions = {"ab": {"a": 0.5, "b": 0.5}, "abct": {"a": 0.1, "b": 0.2, "c": 0.3, "t": 0.4}}
    got = joint_knn(sets, fusions, 20, budget=3_000_000)  # several chunks
    want = {m: knn(e, 20) for m, e in sets.items()}
    want["ab"] = knn(fuse([sets["a"], sets["b"]]), 20)
    want["abct"] = knn(fuse([sets[m] for m in "abct"], [0.1, 0.2, 0.3, 0.4]), 20)
    for name, nb in want.items():
        np.testing.assert_allclose(got[name].sim, nb.sim, atol=1e-5)
        above = nb.sim > nb.sim[:, -1:] + 1e-5  # the same rows, ties at the k-th similarity aside
        assert (got[name].idx[above] == nb.idx[above]).mean() > 0.999, name
        assert got[name].is_self.any(axis=1).all()


@pytest.mark.parametrize("split", [1, 3, 64])
def test_a_chunked_search_picks_as_one_partition_of_each_chunk(monkeypatch, split):
    """The blocked search of a weighted fusion negates each chunk in place and partitions it a few rows
    at a time (memory): the same picks and similarities, bit for bit, as one argpartition of -s per
    chunk, ties (repeated rows) included."""
    import importlib

    K = importlib.import_module("shopee_core.matching.knn")
    rng = np.random.default_rng(split)
    base = rng.normal(size=(23, 6)).astype(np.float32)
    a = Embeddings.from_array(base[rng.integers(0, 23, 90)])  # repeated rows: equal similarities
    b = Embeddings.from_array(rng.normal(size=(90, 5)).astype(np.float32))
    emb = fuse([a, b], [0.7, 0.3])
    k, chunk = 9, 16
    want_i, want_s = np.empty((90, k), np.int32), np.empty((90, k), np.float32)
    for start in range(0, 90, chunk):
        s = emb.similarity_rows(slice(start, start + chunk))
        part = np.argpartition(-s, k - 1, axis=1)[:, :k]
        want_i[start:start + chunk], want_s[start:start + chunk] = part, np.take_along_axis(s, part, axis=1)
    monkeypatch.setattr(K, "PARTITION_SPLIT", split)
    got_i, got_s = K._chunked_search(emb, k, chunk, progress=False)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_array_equal(got_s, want_s)


def test_an_exact_search_of_a_fused_set_gives_back_each_members_pages_after_its_product(tmp_path, monkeypatch):
    """A fused set's exact search reads every member in full for each chunk of rows: with the members read
    in place from files, all of them stayed resident beside the chunk (350 MB at 34,253 postings x five
    512-d members). Each member's pages go back after its product; the table is the same."""
    import shopee_core.matching.embeddings as E

    rng = np.random.default_rng(5)
    mapped = []
    for m in range(3):
        x = rng.normal(size=(90, 8)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        np.save(tmp_path / f"{m}.npy", x)
        mapped.append(Embeddings.from_unit_rows(np.load(tmp_path / f"{m}.npy", mmap_mode="r")))
    fused = fuse(mapped, [0.5, 0.3, 0.2])
    want = knn(Embeddings(tuple(np.array(b) for b in fused.blocks), None, fused.weights), k=7, chunk=20)
    released = []
    real = E.release
    monkeypatch.setattr(E, "release", lambda b: released.append(b.shape) or real(b))
    got = knn(fused, k=7, chunk=20)
    assert np.array_equal(got.idx, want.idx) and np.array_equal(got.sim, want.sim)
    # every member, after its product, in each of the five chunks, then once more after its self-similarity
    # (the search's last read of every row: all members stayed resident at its end, its peak at 34,253)
    assert len(released) == 3 * 5 + 3

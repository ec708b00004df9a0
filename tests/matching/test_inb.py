import numpy as np
import pytest

from shopee_core.matching import Embeddings, knn
from shopee_core.matching.inb import blend, iterate


def unit(v):
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_one_step_by_hand():
    # s01 = .8, s02 = 0, s12 = .6; at T = .3 rows 0 and 1 match each other, row 2 is alone
    x = np.array([[1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)
    emb = Embeddings.from_array(x)
    out = blend(emb, knn(emb, 3), 0.3).dense()
    np.testing.assert_allclose(out[0], unit(x[0] + 0.8 * x[1]), atol=1e-6)
    np.testing.assert_allclose(out[1], unit(x[1] + 0.8 * x[0]), atol=1e-6)
    np.testing.assert_allclose(out[2], x[2], atol=1e-6)


def test_min2_neighbour_is_blended_too():
    x = np.array([[1, 0], [0.8, 0.6], [0, 1]], dtype=np.float32)
    emb = Embeddings.from_array(x)
    out = blend(emb, knn(emb, 3), 0.1, 0.5).dense()  # T too strict; Min2 (d .2 < .5) pairs 0-1, and 2 with 1 (d .4)
    np.testing.assert_allclose(out[2], unit(x[2] + 0.6 * x[1]), atol=1e-6)


def test_sparse_and_fused_sets_blend():
    import scipy.sparse as sp

    from shopee_core.matching import fuse

    rng = np.random.default_rng(0)
    d = Embeddings.from_array(rng.normal(size=(30, 6)))
    s = Embeddings.from_array(sp.random(30, 50, density=0.2, random_state=1, format="csr", dtype=np.float32)
                              + sp.eye(30, 50, dtype=np.float32))
    f = fuse([d, s])
    emb, nb = iterate(f, knn(f, 10), 0.5, 0.7, iters=2, k=10)
    np.testing.assert_allclose(emb.self_similarity(), 1.0, atol=1e-5)
    assert nb.n == 30 and nb.k == 10


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_inb_raises_tuned_f1_on_noisy_groups(seed):
    from shopee_core.matching import Scorer, search

    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 100, 300)
    x = rng.normal(size=(100, 16))[labels] + rng.normal(size=(300, 16)) * 0.7
    emb = Embeddings.from_array(x)
    nb = knn(emb, 20)
    before = search(Scorer(nb, labels))
    _, nb2 = iterate(emb, nb, before["t"], before["t2"], iters=1, k=20)
    assert search(Scorer(nb2, labels))["min2"]["f1"] > before["min2"]["f1"] + 0.01


def test_raw_vectors_weigh_neighbours_by_their_length_as_the_seed_does():
    # rows 0 and 1 match (s01 = .8); row 1's raw vector is 10 times longer
    raw = np.array([[1, 0], [8, 6], [0, 1]], dtype=np.float32)
    emb = Embeddings.from_array(raw)
    nb = knn(emb, 3)
    unit_rows = emb.dense()
    normalised = blend(emb, nb, 0.3, vectors="normalised").dense()
    seed = blend(emb, nb, 0.3, vectors="raw").dense()
    np.testing.assert_allclose(normalised[0], unit(unit_rows[0] + 0.8 * unit_rows[1]), atol=1e-6)
    # the seed's code: sum of s_ij * e_j over the raw e_j (self weight s_ii = 1), then normalised
    np.testing.assert_allclose(seed[0], unit(raw[0] + 0.8 * raw[1]), atol=1e-6)
    np.testing.assert_allclose(seed[1], unit(raw[1] + 0.8 * raw[0]), atol=1e-6)
    assert not np.allclose(seed[0], normalised[0], atol=1e-3)
    np.testing.assert_allclose(seed[2], normalised[2], atol=1e-6)  # alone: its own direction either way


def test_raw_vectors_survive_storage_through_their_norms():
    raw = np.array([[1, 0], [8, 6], [0, 1]], dtype=np.float32)
    stored = Embeddings.from_array(raw).dense().astype(np.float16)  # what a bundle keeps
    restored = Embeddings.from_array(stored, norms=np.linalg.norm(raw, axis=1))
    got = blend(restored, knn(restored, 3), 0.3, vectors="raw").dense()
    np.testing.assert_allclose(got[0], unit(raw[0] + 0.8 * raw[1]), atol=2e-3)

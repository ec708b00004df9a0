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

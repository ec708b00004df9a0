"""2-D maps: UMAP builds its graph from the builder's own faiss kNN table (no second neighbour search)."""

import numpy as np

from shopee_core.analysis import maps


class FakeUMAP:
    """Records what umap.UMAP was given (fitting is umap-learn's business, and takes a minute of JIT)."""

    seen: dict = {}

    def __init__(self, **kwargs):
        FakeUMAP.seen = kwargs

    def fit_transform(self, x):
        return np.zeros((x.shape[0], 2), dtype=np.float32)


def test_umap_takes_the_knn_table_as_its_graph(monkeypatch):
    import umap

    monkeypatch.setattr(umap, "UMAP", FakeUMAP)
    n = 5000
    idx = np.tile(np.arange(50, dtype=np.int32), (n, 1))
    sim = np.linspace(1.0, 0.2, 50, dtype=np.float32)[None, :].repeat(n, axis=0)
    maps.umap_2d(np.ones((n, 8), dtype=np.float32), knn=(idx, sim))
    knn_idx, knn_dist, index = FakeUMAP.seen["precomputed_knn"]
    assert knn_idx.shape == (n, 15) and knn_dist.shape == (n, 15) and index is None
    np.testing.assert_allclose(knn_dist[0], 1.0 - sim[0, :15], atol=1e-6)  # cosine distance, self first
    maps.umap_2d(np.ones((300, 8), dtype=np.float32), knn=(idx[:300], sim[:300]))
    assert "precomputed_knn" not in FakeUMAP.seen  # a small set: umap-learn's own exact search


def test_the_builder_hands_its_table_to_a_map_that_wants_it(tmp_path):
    from shopee_core.bundle.builder import shown_pools, table_model
    from shopee_core.matching import model_source

    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(60), 2)
    x = (np.repeat(rng.normal(size=(60, 16)), 2, axis=0) + 0.1 * rng.normal(size=(120, 16))).astype(np.float32)
    split_rows = {"valid": np.arange(60), "test": np.arange(60, 120)}
    pools = shown_pools({s: labels[r] for s, r in split_rows.items()}, split_rows, {"m": x}, {"m": None}, k=10)
    got = {}

    def spy(matrix, knn=None):
        got["knn"] = knn
        return np.zeros((matrix.shape[0], 2), dtype=np.float32)
    spy.wants_knn = True
    table_model(pools, split_rows, tmp_path, "m", search="full", inb_iters=0, umap=spy)
    idx, sim = got["knn"]
    want = pools["shown"].neighbors(model_source("m"))
    assert idx is want.idx and sim is want.sim and idx.shape == (120, 10)

"""The 'all' pool (every labelled posting as one candidate pool) and the Kaggle-shaped synthetic bundle."""

import numpy as np
import pytest

from shopee_core.analysis import decisions as D
from shopee_core.bundle import check_bundle
from shopee_core.bundle.builder import build
from shopee_core.bundle.shaped import build_shaped, catalog


@pytest.fixture(scope="module")
def all_pool(tmp_path_factory):
    from tests.conftest import write_tiny_catalog

    root = tmp_path_factory.mktemp("allpool")
    write_tiny_catalog(root / "cat", n_groups=60)
    build("smoke", root / "cat", root / "bundle", only=["tfidf", "phash"], umap=False, pool_all=True)
    return root / "bundle"


def test_the_all_pool_holds_every_posting_with_its_own_tables_and_metrics(all_pool):
    b = check_bundle(all_pool)
    assert b.splits == ["valid", "test", "all"]
    assert set(b.postings["split"]) == {"train", "valid", "test"}
    assert len(b.split_rows("all")) == len(b.postings)
    for m in b.models:
        assert set(m["metrics"]) == {"valid", "test", "all"}
        nb = b.neighbors(m["id"], "all")
        assert nb.n == len(b.postings)
        # scored from the files, the dashboard gets the manifest's number
        f1 = D.scores(b, m["id"], "all", min2=True)["f1"]
        assert f1 == pytest.approx(m["metrics"]["all"]["min2"]["f1"], abs=1e-6)
    # TF-IDF is fitted within each pool: the 'all' fit has its own vocabulary state
    import json

    states = json.loads((all_pool / "models/tfidf/vectorizer.json").read_text())
    assert set(states) == {"valid", "test", "all"}
    # retrieval in 'all' crosses the splits
    nb = b.neighbors("tfidf", "all")
    split = b.postings["split"].to_numpy()
    assert (split[nb.idx] != split[:, None]).any()


def test_tables_read_in_pool_indices_name_the_stored_postings_and_refuse_other_splits(all_pool, tmp_path):
    """The 'all' pool's stored indices are already its own (every posting, in order: read as they are);
    a split's are mapped to its rows; a split table pointing into another split is refused."""
    import shutil

    from shopee_core.bundle import Bundle, BundleError

    b = Bundle.open(all_pool)
    path = b.file("tfidf", "neighbors")
    stored = np.load(path)
    for split in b.splits:
        nb = b.neighbors("tfidf", split)
        assert nb.idx.dtype == np.int32
        np.testing.assert_array_equal(b.split_rows(split)[nb.idx], stored[f"{split}_idx"])
    copy = tmp_path / "b"
    shutil.copytree(all_pool, copy)
    rel = path.relative_to(all_pool)
    arrays = dict(np.load(copy / rel))
    test_rows = b.split_rows("test")
    arrays["valid_idx"] = arrays["valid_idx"].copy()
    arrays["valid_idx"][0, -1] = test_rows[0]
    np.savez(copy / rel, **arrays)
    with pytest.raises(BundleError, match="another split"):
        Bundle.open(copy, verify=False).neighbors("tfidf", "valid")


def test_kaggle_shaped_catalog_has_shopee_group_sizes():
    frame, lat = catalog(34_250, seed=0)
    sizes = frame["label_group"].value_counts()
    assert sizes.min() >= 2 and sizes.median() == 2 and sizes.max() == 51
    counts = frame["split"].value_counts()
    assert abs(counts["valid"] - 6850) < 20 and abs(counts["test"] - 6850) < 20
    assert lat.image.shape == (34_250, 64) and np.isfinite(lat.text).all()


def test_kaggle_shaped_bundle_is_a_real_bundle_and_says_it_is_synthetic(tmp_path):
    manifest = build_shaped(tmp_path / "shaped", 400, profile="smoke")
    b = check_bundle(tmp_path / "shaped")
    assert b.splits == ["valid", "test"]
    assert "synthetic" in manifest["dataset"]["source"]
    dense = [m for m in b.models if m["kind"] in ("image", "text")]
    assert dense and all(m["spec"]["synthetic"] and "synthetic" in m["label"] for m in dense)
    shapes = {m["kind"]: b.embeddings(m["id"]).shape[1] for m in dense}
    assert shapes == {"image": 512, "text": 768}
    assert any(m["id"].endswith("_inb3") for m in b.models)
    for m in b.models:
        if "neighbors" in m["files"]:
            assert D.scores(b, m["id"], "test")["f1"] > 0


def test_pool_size_makes_one_pool_of_that_size_with_shopee_groups_and_its_index_recorded(tmp_path):
    """make_kaggle_shaped_bundle --pool-size N: a catalog of N postings shipped as one pool of N
    (Kaggle's hidden test set is ~70,000), beside its valid and test splits, tables made with the
    index asked for and its measured recall in the manifest."""
    manifest = build_shaped(tmp_path / "p", profile="smoke", pool_all=True, catalog_n=600, index="hnsw")
    b = check_bundle(tmp_path / "p")
    assert b.splits == ["valid", "test", "all"] and len(b.split_rows("all")) == 600 == len(b.postings)
    sizes = b.postings["label_group"].value_counts()
    assert sizes.min() >= 2 and sizes.median() == 2
    rec = manifest["index"]
    assert rec["kind"] == "hnsw" and set(rec["recall"]) >= {"all"} and 0 < rec["min_recall"] <= 1
    assert "--pool-size 600" in manifest["built"]["command"] and "--index hnsw" in manifest["built"]["command"]

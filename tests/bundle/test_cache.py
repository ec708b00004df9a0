"""The builder's cache is keyed by the data: other data is never served from it."""

import logging
import shutil

from shopee_core.bundle import check_bundle
from shopee_core.bundle.builder import build
from shopee_core.bundle.cache import DataFingerprints
from shopee_core.data import attach_splits, load_catalog, load_or_create_folds
from shopee_core.data.demo import generate_catalog


def metrics(manifest):
    return {m["id"]: m["metrics"] for m in manifest["models"]}


def fresh_catalog(path, n, seed):
    if path.exists():
        shutil.rmtree(path)
    generate_catalog(path, n_postings=n, seed=seed, progress=False)


def messages(caplog) -> str:
    """What the builder reported, one record a line."""
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("shopee_core.bundle"))
    caplog.clear()
    return text


def test_rebuild_after_the_data_changed_gives_the_fresh_metrics(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="shopee_core")
    data, out = tmp_path / "cat", tmp_path / "bundle"
    only = ["tfidf", "phash"]
    fresh_catalog(data, 200, seed=1)
    first = build("smoke", data, out, only=only, umap=False)
    fresh_catalog(data, 200, seed=2)  # same place, same size, other postings
    second = build("smoke", data, out, only=only, umap=False)
    reference = build("smoke", data, tmp_path / "clean", only=only, umap=False)  # an empty cache
    assert metrics(second) == metrics(reference)
    assert metrics(second) != metrics(first)
    said = messages(caplog)
    assert "dropped cache" in said and "computed" in said
    fresh_catalog(data, 120, seed=3)  # a smaller catalog after a bigger one
    third = build("smoke", data, out, only=only, umap=False)
    assert check_bundle(out).manifest["dataset"]["counts"] == third["dataset"]["counts"]
    assert metrics(third) == metrics(build("smoke", data, tmp_path / "clean3", only=only, umap=False))
    build("smoke", data, out, only=only, umap=False)
    assert "reused cached embeddings" in messages(caplog)


def test_fingerprints_follow_titles_and_image_bytes(tiny_catalog):
    def prints():
        cat = load_catalog(tiny_catalog)
        fp = DataFingerprints(cat, attach_splits(cat.frame, load_or_create_folds(tiny_catalog, cat.frame)))
        return fp.postings, fp.images
    p0, i0 = prints()
    assert prints() == (p0, i0)
    from PIL import Image

    image = sorted((tiny_catalog / "train_images").iterdir())[0]
    Image.new("RGB", (32, 32), (9, 99, 199)).save(image, quality=90)  # same name, other bytes
    p1, i1 = prints()
    assert p1 == p0 and i1 != i0
    csv = tiny_catalog / "train.csv"
    csv.write_text(csv.read_text().replace("kaos", "baju", 1))
    p2, _ = prints()
    assert p2 != p1

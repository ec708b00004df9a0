"""Build a smoke bundle end to end: every one of the 18 recipes (and each demo entry) trains a couple
of steps from random init at tiny size, is embedded, matched, tuned on validation and scored."""

import json

import numpy as np
import pytest

from shopee_core.bundle import Bundle, check_bundle
from shopee_core.bundle.builder import build
from shopee_core.bundle.cache import spec_hash
from shopee_core.data.demo import generate_catalog
from shopee_core.models import list_models


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    root = tmp_path_factory.mktemp("smoke")
    generate_catalog(root / "cat", n_postings=200, seed=5, progress=False)
    manifest = build("smoke", root / "cat", root / "bundle", workers=0)
    return root, manifest


def test_every_recipe_and_demo_entry_is_in_the_bundle(smoke):
    root, manifest = smoke
    b = check_bundle(root / "bundle")
    ids = {m["id"] for m in b.models}
    assert {e.id for e in list_models("smoke")} <= ids
    assert sorted(m["recipe"] for m in b.models if m["recipe"]) == list(range(1, 19))
    assert any(i.endswith("_inb3") for i in ids)  # the best fusion with iterated INB


def test_manifest_metrics_are_what_the_dashboard_recomputes_from_the_files(smoke):
    from shopee_core.analysis import decisions as D

    root, manifest = smoke
    b = check_bundle(root / "bundle")
    for m in manifest["models"]:
        for split in ("valid", "test"):
            for variant, prf in m["metrics"][split].items():
                inb = variant == "inb" and not m["id"].endswith("_inb3")
                got = D.scores(b, m["id"], split, min2=variant != "base", inb=int(inb),
                               graph="tuned" if variant == "graph" else None)
                assert got["f1"] == pytest.approx(prf["f1"], abs=2e-6), (m["id"], split, variant)
                assert got["recall"] == pytest.approx(prf["recall"], abs=2e-6), (m["id"], split, variant)
        th = m["thresholds"]
        if th["t"] is not None:
            assert 0 < th["t"] <= 1 and th["t2"] >= th["t"]
    by_id = {m["id"]: m for m in manifest["models"]}
    union = by_id["tfidf_union_resnet50"]["metrics"]["test"]["base"]["recall"]
    assert union >= by_id["tfidf"]["metrics"]["test"]["base"]["recall"] - 1e-9
    assert union >= by_id["resnet50"]["metrics"]["test"]["base"]["recall"] - 1e-9


def test_runs_are_real_and_honest(smoke):
    root, manifest = smoke
    runs = root / ".bundle.build" / "runs"
    for e in list_models("smoke"):
        if e.trainable:
            (run,) = runs.glob(f"{e.id}--{spec_hash(e)}-*")
            assert (run / "best.safetensors").exists(), e.id
            hist = json.loads((run / "metrics.json").read_text())["history"]
            assert hist and hist[0]["steps"] >= 1
    by_id = {m["id"]: m for m in manifest["models"]}
    assert by_id["resnet50"]["spec"]["weights"] == "none" and "smoke" in by_id["resnet50"]["label"]
    assert by_id["tfidf"]["query"] and not by_id["resnet50"]["query"]
    vec = json.loads((root / "bundle" / "models/tfidf/vectorizer.json").read_text())
    assert set(vec) == {"valid", "test"} and vec["test"]["vocabulary"]


def test_rebuild_reuses_work_and_an_interrupted_build_keeps_the_old_bundle(smoke, monkeypatch):
    root, manifest = smoke
    run = next((root / ".bundle.build" / "runs").glob("resnet50--*")) / "epoch_01.safetensors"
    stamp = run.stat().st_mtime_ns
    from shopee_core.bundle import builder

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(builder, "_thumbnails", boom)  # dies after every model is matched
    with pytest.raises(KeyboardInterrupt):
        build("smoke", root / "cat", root / "bundle", workers=0, umap=False)
    assert run.stat().st_mtime_ns == stamp  # nothing was retrained
    b = check_bundle(root / "bundle")  # the previous bundle is intact
    assert len(b.models) == len(manifest["models"])
    assert np.isfinite(b.umap("tfidf")).all()


def test_seed18_plans_then_fails_fast_naming_every_missing_weight(tiny_catalog, tmp_path, monkeypatch):
    import time

    from shopee_core.errors import ShopeeError

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    t0 = time.perf_counter()
    with pytest.raises(ShopeeError) as exc:
        build("seed18", tiny_catalog, tmp_path / "bundle")
    assert time.perf_counter() - t0 < 30
    msg = str(exc.value)
    for model in ("resnet50", "eca_nfnet_l0", "bert_multilingual", "xlmr_paraphrase"):
        assert f"{model}:" in msg
    assert not (tmp_path / "bundle").exists()


def test_tfidf_units_ships_a_query_vectorizer_fitted_with_its_option(smoke):
    from shopee_core.analysis import query as q

    root, _ = smoke
    b = Bundle.open(root / "bundle")
    vec = json.loads((root / "bundle" / "models/tfidf_units/vectorizer.json").read_text())
    assert vec["test"]["params"]["normalise_units"] is True
    rows = b.split_rows("test")
    for r in range(3):  # a posting's own title lands on its own row
        sims = q.query_similarities(b, "tfidf_units", "test", title=b.postings["title"].iat[rows[r]])
        assert sims[r] == pytest.approx(1.0, abs=1e-5)

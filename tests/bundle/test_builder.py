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
from tests.bundle.float16_flip import flip_rows


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
    assert "timm:resnet50.ram_in1k" in msg and "resnext50_32x4d_ra-d733960d.pth" in msg  # the pinned 2021 tags
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


# ------------------------------------------------------------------ issue 21, point 2: float32 tuning
def test_thresholds_and_metrics_come_from_float32_whatever_the_bundle_stores(tmp_path):
    from shopee_core.bundle.builder import shown_pools, table_model

    labels = np.repeat(np.arange(6), 2)
    split_rows = {"valid": np.arange(6), "test": np.arange(6, 12)}
    x, _ = flip_rows(labels, split_rows["valid"])
    pools = shown_pools({s: labels[r] for s, r in split_rows.items()}, split_rows, {"m": x}, {"m": None}, k=6)
    for dtype in ("float16", "float32"):
        (tmp_path / dtype).mkdir()
        _, th, metrics, files = table_model(pools, split_rows, tmp_path / dtype, "m", search="full", inb_iters=0,
                                            storage=x, umap=False, dtype=dtype)
        # by hand (tests/bundle/float16_flip.py): F1 first rises at T = 0.305 on float32 (0.300 on float16)
        assert (th["t"], th["t2"]) == (0.305, 0.305), dtype
        # valid: the pair's two rows F1 1, the other four alone in groups of two, F1 2/3 each
        assert metrics["valid"]["base"]["f1"] == pytest.approx((2 + 4 * 2 / 3) / 6)
        stored = np.load(tmp_path / dtype / files["neighbors"])
        assert stored["valid_sim"].dtype == np.dtype(dtype)
        assert np.load(tmp_path / dtype / files["embeddings"]).dtype == np.dtype(dtype)


def test_a_lean_float16_bundle_reads_back_with_float32_metrics(small_bundle_f16):
    from shopee_core.analysis import decisions as D

    b = check_bundle(small_bundle_f16)
    assert b.manifest["storage"] == "float16"
    assert b.embeddings("phash").dtype == np.float16
    assert np.load(b.file("tfidf", "neighbors"))["test_sim"].dtype == np.float16
    for m in b.models:  # the dashboard recomputes from float16 tables: the float32 numbers within rounding
        got = D.scores(b, m["id"], "test")["f1"]
        assert got == pytest.approx(m["metrics"]["test"]["min2"]["f1"], abs=0.02)


def test_profiles_store_float32_except_the_lean_demo():
    from shopee_core.bundle.builder import PROFILE_STORAGE, storage_of

    assert storage_of("seed18", None) == "float32" and storage_of("demo", None) == "float16"
    assert storage_of("demo", "float32") == "float32" and set(PROFILE_STORAGE.values()) == {"float32", "float16"}
    from shopee_core.errors import ShopeeError

    with pytest.raises(ShopeeError, match="--storage"):
        storage_of("seed18", "bfloat16")


# ------------------------------------------------------------------ issue 21, point 9: union INB
def test_unions_14_and_15_have_inb_rows_each_side_blended_and_re_searched_alone(smoke):
    from shopee_core.analysis import decisions as D
    from shopee_core.analysis.leaderboard import leaderboard
    from shopee_core.matching import predict, union
    from shopee_core.metrics import score

    root, manifest = smoke
    b = check_bundle(root / "bundle")
    assert b.manifest["storage"] == "float32"
    by_id = {m["id"]: m for m in manifest["models"]}
    for uid, sides in (("tfidf_union_resnet50", ["tfidf", "resnet50"]),
                       ("sbert_union_nfnet", ["xlmr_paraphrase", "eca_nfnet_l0"])):
        th = by_id[uid]["thresholds"]
        assert [s["model"] for s in th["inb_sides"]] == sides and th["inb_iters"] == 1
        for s in th["inb_sides"]:  # each side at the T′, T2′ its own INB row was re-searched to
            own = by_id[s["model"]]["thresholds"]
            assert (s["t"], s["t2"]) == (own["inb_t"], own["inb_t2"])
        for split in ("valid", "test"):
            labels = D.labels(b, split)
            want = union(*(predict(b.neighbors(s["model"], split, "inb"), s["t"], s["t2"]) for s in th["inb_sides"]))
            assert by_id[uid]["metrics"][split]["inb"]["f1"] == pytest.approx(score(want, labels)["f1"], abs=1e-6)
    assert "inb" not in by_id["image_union_text"]["metrics"]["test"]  # the seed's files have none for 18
    board = leaderboard(b, "test").set_index("id")
    assert board.at["tfidf_union_resnet50", "f1_inb"] == pytest.approx(
        by_id["tfidf_union_resnet50"]["metrics"]["test"]["inb"]["f1"])
    assert board.at["tfidf_union_resnet50", "inb_t"].count(" / ") == 1


def test_every_model_ships_its_per_row_counts_for_the_dashboards_intervals(smoke):
    """build-bundle writes rows.npz for every model (tables, unions with their INB, the iterated INB
    entry): per-row |X∩Y| and |Y| of each stored decision, exactly the rows the decision layer scores,
    so the Leaderboard's intervals read no neighbour table."""
    from shopee_core.analysis import decisions as D
    from shopee_core.analysis.intervals import variant_decision

    root, manifest = smoke
    b = check_bundle(root / "bundle")  # also checks each rows.npz's means against the manifest
    for m in manifest["models"]:
        assert "rows" in m["files"], m["id"]
        for split in ("valid", "test"):
            for variant in m["metrics"][split]:
                tp, n_pred = b.row_counts(m["id"], split, variant)
                r = D.row_arrays(b, variant_decision(b, m["id"], variant), split)
                np.testing.assert_array_equal(tp, r["tp"], err_msg=f"{m['id']} {split} {variant}")
                np.testing.assert_array_equal(n_pred, r["n_pred"], err_msg=f"{m['id']} {split} {variant}")


# ------------------------------------------------------------------ issue 23: approximate candidate search
def test_the_manifest_records_the_index_and_its_measured_recall(tmp_path):
    from tests.conftest import write_tiny_catalog

    write_tiny_catalog(tmp_path / "cat", n_groups=40)
    m = build("smoke", tmp_path / "cat", tmp_path / "ivf", only=["phash"], umap=False, index="ivf:nprobe=1")
    rec = m["index"]
    assert rec["kind"] == "ivf" and rec["params"] == {"nprobe": 1} and rec["recall_at_k"] == m["k"]
    assert set(rec["recall"]) == {"valid", "test"}
    values = [r for pool in rec["recall"].values() for r in pool.values()]
    assert all(0 < r <= 1 for r in values) and rec["min_recall"] == min(values)
    assert "phash" in rec["recall"]["test"] and "--index ivf:nprobe=1" in m["built"]["command"]
    check_bundle(tmp_path / "ivf")
    exact = build("smoke", tmp_path / "cat", tmp_path / "exact", only=["phash"], umap=False)
    assert exact["index"] == {"kind": "exact", "params": {}}


def test_build_bundle_refuses_an_unknown_index_before_any_work(tiny_catalog, tmp_path):
    from tests.test_cli import run_cli

    r = run_cli("build-bundle", "--profile", "smoke", "--data", tiny_catalog, "--out", tmp_path / "b", "--index",
                "annoy")
    assert r.returncode == 1 and r.stderr.strip() == "error: unknown index 'annoy'; choose one of: exact, ivf, hnsw"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["catalog"]  # nothing built, staged or cached

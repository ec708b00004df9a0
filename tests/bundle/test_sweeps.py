"""Sweep results and training histories in a bundle: added through the edit path, checksummed,
validated when read; refused edits change nothing; bundles without them still open."""

import json
import shutil

import pytest

from shopee_core.bundle import Bundle, BundleError, check_bundle
from shopee_core.bundle.sweeps import add_sweep, remove_sweep
from shopee_core.bundle.writer import seal
from shopee_core.errors import ShopeeError
from tests.analyses_bundle import SWEEP, TRAINED, analyses_bundle  # noqa: F401  (session fixture)


@pytest.fixture
def copy(analyses_bundle, tmp_path):  # noqa: F811
    dst = tmp_path / "b"
    shutil.copytree(analyses_bundle, dst)
    return dst


def _bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_built_bundle_ships_the_trained_models_history(analyses_bundle):  # noqa: F811
    b = check_bundle(analyses_bundle)
    records = b.history(TRAINED)
    assert [r["epoch"] for r in records] == [0, 1, 2] and all("lrs" in r for r in records)
    assert b.history("tfidf") is None  # nothing trained
    assert "seed_sweeps.csv" in " ".join(b.manifest["files"]) and len(b.seed_sweeps) == 70
    assert "image" in b.postings  # image file names, for the Data overview's shared files


def test_add_replace_and_remove_a_sweep(copy, analyses_bundle):  # noqa: F811
    sweep_dir = analyses_bundle.parent / SWEEP
    before = _bytes(copy)
    with pytest.raises(BundleError, match="already has a sweep"):
        add_sweep(copy, sweep_dir)
    assert _bytes(copy) == before  # a refused edit changes nothing
    entry = add_sweep(copy, sweep_dir, name="again")
    assert entry["configs"] == 2 and Bundle.open(copy).sweep_names == [SWEEP, "again"]
    add_sweep(copy, sweep_dir / "results.json", name="again", replace=True)
    b = check_bundle(copy)
    assert b.sweep("again")["results"] == b.sweep(SWEEP)["results"]
    assert [e["command"] for e in b.manifest["edits"]][-2:] == ["add-sweep", "add-sweep"]
    assert remove_sweep(copy, "again") == [SWEEP]
    with pytest.raises(BundleError, match="no sweep"):
        remove_sweep(copy, "again")
    with pytest.raises(BundleError, match="sweep name"):
        add_sweep(copy, sweep_dir, name="../evil")


def test_tampered_or_malformed_sweeps_and_histories_are_refused(copy):
    path = copy / "sweeps" / f"{SWEEP}.json"
    doc = json.loads(path.read_text())
    path.write_text(json.dumps({**doc, "name": "changed"}))
    with pytest.raises(BundleError, match="does not match its checksum"):
        Bundle.open(copy)
    bad_row = {**doc["results"][0], "test_base_f1": 1.5}
    path.write_text(json.dumps({**doc, "results": [bad_row]}))
    seal(copy, json.loads((copy / "manifest.json").read_text()))  # resealed: checksums fine, content not
    with pytest.raises(BundleError, match="not in \\[0, 1\\]"):
        check_bundle(copy)
    hist = copy / "models" / TRAINED / "history.json"
    hist.write_text(json.dumps({"history": [{"epoch": 0, "loss": "nan?"}]}))
    path.write_text(json.dumps(doc))
    seal(copy, json.loads((copy / "manifest.json").read_text()))
    with pytest.raises(BundleError, match=f"{TRAINED}: .*loss must be a finite number"):
        check_bundle(copy)


def test_a_bundle_from_before_sweeps_and_histories_still_opens(copy):
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest.pop("sweeps")
    for m in manifest["models"]:
        m["files"].pop("history", None)
    for rel in ("sweeps", f"models/{TRAINED}/history.json", "reference/seed_sweeps.csv"):
        p = copy / rel
        shutil.rmtree(p) if p.is_dir() else p.unlink()
    manifest["files"] = {k: v for k, v in manifest["files"].items() if not k.startswith(("sweeps/", "reference/seed_sw"))}
    seal(copy, manifest)
    b = check_bundle(copy)
    assert b.sweep_names == [] and b.history(TRAINED) is None and b.seed_sweeps is None
    with pytest.raises(ShopeeError, match="no sweep"):
        b.sweep(SWEEP)

"""Bundle edits: a staged, verified copy swapped in whole; the original never written through a link."""

import json
import shutil

import pytest

from shopee_core.bundle import check_bundle, edit
from shopee_core.bundle.writer import seal
from tests.bundle.test_importer import fingerprint, leftovers


@pytest.fixture
def bundle_dir(small_bundle, tmp_path):
    out = tmp_path / "b"
    shutil.copytree(small_bundle, out)
    return out


def _relabel(bundle_dir, stage, text: str) -> None:
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    manifest["models"][0]["label"] = text
    seal(stage, manifest)


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2-exchange", "two-renames"])
def test_staged_edit_swaps_in_and_never_touches_the_linked_originals(bundle_dir, monkeypatch, exchange):
    if not exchange:
        monkeypatch.setattr(edit, "_exchange", lambda a, b: False)
    old_postings = (bundle_dir / "postings.parquet").stat().st_ino
    before = fingerprint(bundle_dir)
    with edit.staged(bundle_dir) as stage:
        assert (stage / "postings.parquet").stat().st_ino == old_postings  # a hard link, not a copy
        assert not (stage / "manifest.json").exists()
        _relabel(bundle_dir, stage, "relabelled")
    after = fingerprint(bundle_dir)
    assert {k for k in after if after[k] != before.get(k)} == {"manifest.json"}
    assert check_bundle(bundle_dir).models[0]["label"] == "relabelled"
    assert leftovers(bundle_dir) == []


def test_dropped_files_are_gone_and_an_error_changes_nothing(bundle_dir):
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    gone = manifest["models"][-1]
    before = fingerprint(bundle_dir)
    with pytest.raises(ValueError):
        with edit.staged(bundle_dir, [f["path"] for f in gone["files"].values()]):
            raise ValueError("stop")
    assert fingerprint(bundle_dir) == before and leftovers(bundle_dir) == []
    with edit.staged(bundle_dir, [f["path"] for f in gone["files"].values()]) as stage:
        manifest["models"] = manifest["models"][:-1]
        seal(stage, manifest)
    assert not any((bundle_dir / f["path"]).exists() for f in gone["files"].values())
    assert [m["id"] for m in check_bundle(bundle_dir).models] == [m["id"] for m in manifest["models"]]


def test_a_staged_copy_that_is_not_a_valid_bundle_is_never_swapped_in(bundle_dir):
    from shopee_core.bundle import BundleError

    before = fingerprint(bundle_dir)
    with pytest.raises(BundleError):
        with edit.staged(bundle_dir) as stage:
            _relabel(bundle_dir, stage, "x")
            (stage / "models" / "stray.npy").write_bytes(b"not listed")
    assert fingerprint(bundle_dir) == before and leftovers(bundle_dir) == []
    with pytest.raises(RuntimeError, match="seal"):
        with edit.staged(bundle_dir):
            pass  # forgot the manifest
    assert fingerprint(bundle_dir) == before


def test_swap_in_to_a_new_place(tmp_path):
    new = tmp_path / "new"
    new.mkdir()
    (new / "a.txt").write_text("a")
    edit.swap_in(new, tmp_path / "out")
    assert (tmp_path / "out" / "a.txt").read_text() == "a" and not new.exists()

"""The label-noise finder's results built into a bundle: what users rely on is that a bundle that
ships them gives exactly the suspects, scores and words the finder gives, that stale ones (another
finder, other knobs, other models) are never served, and that shipping them loses nothing."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from shopee_core.analysis import noise as N
from shopee_core.analysis.reviews import default_path
from shopee_core.bundle import Bundle, check_bundle
from shopee_core.bundle.format import BundleError
from shopee_core.bundle.suspects import add_suspects
from shopee_core.bundle.writer import seal
from tests.analysis.bundles import tiny_bundle


@pytest.fixture
def bare(tmp_path_factory, tmp_path):
    """A copy of the tiny bundle without shipped suspects (as a bundle built before they existed)."""
    dst = tmp_path / "b"
    shutil.copytree(tiny_bundle(tmp_path_factory), dst)
    manifest = json.loads((dst / "manifest.json").read_text())
    manifest.pop("suspects", None)
    shutil.rmtree(dst / "suspects", ignore_errors=True)
    seal(dst, manifest)
    return dst


def _live(bundle, split, monkeypatch):
    with monkeypatch.context() as m:
        m.setattr(N, "FINDER_VERSION", N.FINDER_VERSION + 1)  # what was shipped is another finder's: ignored
        fresh = Bundle.open(bundle.root)
        ctx = N.pool_context(fresh, split)
        assert not ctx["shipped"]
        return N.bundle_suspects(fresh, split), ctx


def test_a_build_ships_each_labelled_pools_suspects_and_they_are_the_finders(tmp_path_factory, monkeypatch):
    root = tiny_bundle(tmp_path_factory)
    bundle = check_bundle(root)  # the shipped files are checked with everything else
    shipped = bundle.manifest["suspects"]
    assert shipped["finder"] == N.FINDER_VERSION and set(shipped["pools"]) == set(bundle.splits)
    for split in bundle.splits:
        ctx = N.pool_context(bundle, split)
        assert ctx["shipped"]
        got = N.bundle_suspects(bundle, split)
        live, live_ctx = _live(bundle, split, monkeypatch)
        assert len(got) > 0
        pd.testing.assert_frame_equal(got, live)  # the same suspects, scores and evidence in words
        for r in got.head(5).itertuples(index=False):
            pd.testing.assert_frame_equal(N.model_table(ctx, r), N.model_table(live_ctx, r))


def test_stale_shipped_suspects_are_not_served(tmp_path_factory, monkeypatch, caplog):
    bundle = Bundle.open(tiny_bundle(tmp_path_factory))
    other = N.SuspectConfig(min_score=-1.0)
    assert not N.pool_context(bundle, "test", other)["shipped"]  # other knobs: found again
    with monkeypatch.context() as m:  # another model set (an import since): found again, and said why
        m.setattr(N, "witnesses", lambda b, s, _w=N.witnesses: [
            N.Witness(w.id, w.modality, w.weight * 0.5, w.neighbors, w.seen) for w in _w(b, s)])
        with caplog.at_level("INFO", logger="shopee_core.analysis.noise"):
            assert not N.pool_context(Bundle.open(bundle.root), "test")["shipped"]
        assert "another witnesses" in caplog.text


def test_storing_suspects_in_an_older_bundle_is_one_edit_and_changes_no_suspect(bare, monkeypatch):
    before = N.bundle_suspects(Bundle.open(bare), "all")
    files = {p.relative_to(bare).as_posix() for p in bare.rglob("*") if p.is_file()}
    entry = add_suspects(bare)
    assert set(entry["pools"]) == {"valid", "test"}
    b = check_bundle(bare)
    assert b.manifest["edits"][-1]["command"] == "suspects --store"
    assert {p.relative_to(bare).as_posix() for p in bare.rglob("*") if p.is_file()} - files == {
        "suspects/valid.parquet", "suspects/valid.npz", "suspects/test.parquet", "suspects/test.npz"}
    assert all(N.pool_context(b, s)["shipped"] for s in b.splits)
    pd.testing.assert_frame_equal(N.bundle_suspects(b, "all"), before)
    add_suspects(bare)  # again: replaced, not listed twice
    assert check_bundle(bare).manifest["suspects"]["pools"].keys() == {"valid", "test"}


def test_storing_is_refused_while_a_review_file_holds_verdicts(bare):
    default_path(bare).write_text('{"action": "verdict"}\n')
    manifest = (bare / "manifest.json").read_bytes()
    with pytest.raises(BundleError, match="holds verdicts"):
        add_suspects(bare)
    assert (bare / "manifest.json").read_bytes() == manifest and not (bare / "suspects").exists()


def test_shipped_suspects_that_do_not_fit_the_pool_are_refused(bare, tmp_path):
    add_suspects(bare)
    manifest = json.loads((bare / "manifest.json").read_text())
    rel = manifest["suspects"]["pools"]["test"]["suspects"]
    frame = pd.read_parquet(bare / rel)
    frame.loc[0, ["kind", "row"]] = ["posting", 0]  # a posting suspect whose row is another posting
    frame.to_parquet(bare / rel, index=False)
    seal(bare, manifest)  # checksums made to match: only the content is wrong
    with pytest.raises(BundleError, match="rows and posting ids disagree"):
        check_bundle(bare)
    with pytest.raises(N.NoiseError, match="other postings"):
        N.bundle_suspects(Bundle.open(bare), "test")
    state = manifest["suspects"]["pools"]["valid"]["state"]
    with np.load(bare / state) as z:
        arrays = {k: z[k] for k in z.files if k != "absent"}
    np.savez(bare / state, **arrays)
    seal(bare, manifest)
    with pytest.raises(BundleError, match="suspects of pool valid: .*lacks 'absent'"):
        check_bundle(bare)
    manifest["suspects"]["pools"]["test"]["suspects"] = "suspects/missing.parquet"
    (bare / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match="not among the manifest's checksummed files"):
        Bundle.open(bare)


def test_the_command_stores_and_writes(bare, tmp_path, capsys):
    from shopee_core.cli import main

    assert main(["suspects", "--bundle", str(bare), "--quiet"]) == 1
    assert capsys.readouterr().err.strip().startswith("error: name --out CSV, --store")
    out = tmp_path / "s.csv"
    assert main(["suspects", "--bundle", str(bare), "--store", "--out", str(out), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "suspects shipped for pool(s) valid" in said and out.is_file()
    assert Bundle.open(bare).manifest["suspects"]["pools"]["test"]["count"] > 0

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


def _live(root, split, monkeypatch):
    """The finder's own answer: what was shipped is another finder's, so it is not used."""
    with monkeypatch.context() as m:
        m.setattr(N, "FINDER_VERSION", N.FINDER_VERSION + 1)
        fresh = Bundle.open(root)
        assert not N.finder_shipped(fresh, split)
        found = N.bundle_suspects(fresh, split)
        return found, [N.suspect_evidence(fresh, r) for r in found.itertuples(index=False)]


def test_a_build_ships_each_labelled_pools_suspects_and_they_are_the_finders(tmp_path_factory, monkeypatch):
    root = tiny_bundle(tmp_path_factory)
    bundle = check_bundle(root)  # the shipped files are checked with everything else
    shipped = bundle.manifest["suspects"]
    assert shipped["finder"] == N.FINDER_VERSION and set(shipped["pools"]) == set(bundle.splits)
    mine = {}
    with monkeypatch.context() as m:  # shown from what is shipped: no finder run, no model table read
        def never(*a, **k):
            raise AssertionError("the finder ran")
        m.setattr(N, "find_suspects", never)
        m.setattr(N, "witnesses", never)
        assert N.finder_shipped(bundle, "all")
        for split in bundle.splits:
            got = N.bundle_suspects(bundle, split)
            mine[split] = got, [N.suspect_evidence(bundle, r) for r in got.itertuples(index=False)]
            pd.testing.assert_frame_equal(N.bundle_suspects(bundle, split, evidence=False),
                                          got.drop(columns="evidence"))
    for split, (got, evidence) in mine.items():
        live, live_evidence = _live(root, split, monkeypatch)
        assert len(got) > 0
        pd.testing.assert_frame_equal(got, live)  # the same suspects, scores and evidence in words
        for r, (table, words), (l_table, l_words) in zip(got.itertuples(index=False), evidence, live_evidence):
            pd.testing.assert_frame_equal(table, l_table)  # every model's numbers, to the bit
            assert words == l_words == r.evidence


def test_stale_shipped_suspects_are_not_served(tmp_path_factory, monkeypatch, caplog):
    bundle = Bundle.open(tiny_bundle(tmp_path_factory))
    assert not N.finder_shipped(bundle, "test", N.SuspectConfig(min_score=-1.0))  # other knobs: found again
    with monkeypatch.context() as m:  # another model set (an import since): found again, and said why
        m.setattr(N, "_witness_rows", lambda b, s, _w=N._witness_rows: [
            (i, mod, w * 0.5, t) for i, mod, w, t in _w(b, s)])
        with caplog.at_level("INFO", logger="shopee_core.analysis.noise"):
            assert not N.finder_shipped(Bundle.open(bundle.root), "test")
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
    assert N.finder_shipped(b, "all")
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
    frame.copy().assign(kind=["posting"] + list(frame["kind"][1:]), row=[0] + list(frame["row"][1:])).to_parquet(
        bare / rel, index=False)  # a posting suspect whose row is another posting
    seal(bare, manifest)  # checksums made to match: only the content is wrong
    with pytest.raises(BundleError, match="rows and posting ids disagree"):
        check_bundle(bare)
    with pytest.raises(N.NoiseError, match="rows and posting ids disagree"):
        N.bundle_suspects(Bundle.open(bare), "test")
    frame.to_parquet(bare / rel, index=False)  # as it was
    tables = manifest["suspects"]["pools"]["valid"]["tables"]
    with np.load(bare / tables) as z:
        one_short = z["tables"][:-1]
    np.savez(bare / tables, tables=one_short)
    seal(bare, manifest)
    with pytest.raises(BundleError, match="suspects of pool valid: shipped model tables are"):
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

"""The graph step as a bundle variant: import-model --graph stores what the dashboard recomputes;
seed18 builds none; bad steps and steps on predicted sets are refused with the bundle unchanged."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from shopee_core.analysis import decisions as D
from shopee_core.bundle import Bundle, check_bundle
from shopee_core.bundle.builder import GRAPH_BY_PROFILE
from shopee_core.cli import main
from tests.bundle.test_importer import fingerprint, manifest_model, noisy_embeddings, run


@pytest.fixture
def bundle_dir(small_bundle, tmp_path):
    out = tmp_path / "b"
    shutil.copytree(small_bundle, out)
    return out


def test_the_smoke_build_stores_graph_variants_the_dashboard_recomputes(small_bundle):
    b = Bundle.open(small_bundle)
    kept = [m for m in b.models if m["thresholds"].get("graph")]
    for m in kept:
        g = m["thresholds"]["graph"]
        assert g["chosen"] == "auto" and g["valid"]["tried"]   # every step tried on valid ...
        assert m["metrics"]["valid"]["graph"]["f1"] > m["metrics"]["valid"]["min2"]["f1"]  # ... kept as it won there
        for split in b.splits:
            got = D.scores(b, m["id"], split, graph="tuned")
            assert got["f1"] == pytest.approx(m["metrics"][split]["graph"]["f1"], abs=2e-6)
    for m in b.models:
        if not m["thresholds"].get("graph"):
            assert all("graph" not in v for v in m["metrics"].values())
    assert kept, "on the tiny catalog some model's graph step beats its plain decision on valid"
    assert json.loads((small_bundle / "manifest.json").read_text())["graph"] == "auto"


def test_seed18_builds_no_graph_step_and_tuned_only_the_one_that_won_on_both_catalogs():
    # the Fidelity table: the seed had no graph steps; tuned adopts cluster (README, "Graph steps")
    assert GRAPH_BY_PROFILE["seed18"] == "none" and GRAPH_BY_PROFILE["tuned"] == "cluster"


def test_import_with_a_given_step_stores_it(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    np.save(tmp_path / "mine.npy", noisy_embeddings(b))
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    rc, out, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "mine", "--label", "noisy",
                       "--family", "text", "--embeddings", tmp_path / "mine.npy", "--ids", tmp_path / "ids.csv",
                       "--no-umap", "--inb-iters", "0", "--graph", "closure")
    assert rc == 0, err
    m = manifest_model(bundle_dir, "mine")
    g = m["thresholds"]["graph"]
    assert g["step"] == "closure" and g["param"] is not None and g["chosen"] == "given"
    assert "closure" in out
    b = check_bundle(bundle_dir)
    for split in b.splits:
        assert D.scores(b, "mine", split, graph="tuned")["f1"] == pytest.approx(m["metrics"][split]["graph"]["f1"],
                                                                               abs=2e-6)


@pytest.mark.parametrize("graph, message", [("ring", "unknown graph step"), ("cluster:0", "S must be >= 1")])
def test_bad_graph_step_refused_and_bundle_unchanged(bundle_dir, tmp_path, capsys, graph, message):
    b = Bundle.open(bundle_dir)
    np.save(tmp_path / "mine.npy", noisy_embeddings(b))
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    before = fingerprint(bundle_dir)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "mine", "--label", "noisy",
                     "--family", "text", "--embeddings", tmp_path / "mine.npy", "--ids", tmp_path / "ids.csv",
                     "--graph", graph)
    assert rc != 0 and err.strip().startswith("error: ") and message in err and len(err.strip().splitlines()) == 1
    assert fingerprint(bundle_dir) == before


def test_graph_step_on_predicted_sets_refused(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    rows = b.postings.assign(matches=b.postings["posting_id"])[["posting_id", "matches"]]
    rows.to_csv(tmp_path / "sub.csv", index=False)
    before = fingerprint(bundle_dir)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "sub", "--label", "a submission",
                     "--family", "text", "--predictions", tmp_path / "sub.csv", "--graph", "mutual")
    assert rc != 0 and "predictions CSV has only its sets" in err
    assert fingerprint(bundle_dir) == before
    # imported without a step, the dashboard refuses one on it in one line
    assert main(["import-model", "--bundle", str(bundle_dir), "--id", "sub", "--label", "a submission",
                 "--family", "text", "--predictions", str(tmp_path / "sub.csv")]) == 0
    b = Bundle.open(bundle_dir)
    with pytest.raises(Exception, match="predictions-only"):
        D.scores(b, "sub", "test", graph="mutual")


def test_build_bundle_refuses_a_bad_graph_step_before_any_work(tiny_catalog, tmp_path, capsys):
    rc = main(["build-bundle", "--profile", "smoke", "--data", str(tiny_catalog), "--out", str(tmp_path / "x"),
               "--models", "tfidf", "--graph", "closure:1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and "cap MAX must be an integer >= 2" in err[0]
    assert not (tmp_path / "x").exists() and not (tmp_path / ".x.build").exists()

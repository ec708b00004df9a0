"""evaluate --bootstrap / --seed / --compare / --threshold-stability, and their bad-input errors."""

import json

import numpy as np
import pandas as pd
import pytest

from shopee_core.cli import main


@pytest.fixture
def setup(tiny_catalog, tmp_path):
    """The tiny catalog split into folds, two synthetic embedding sets (a good and a noisier one)."""
    assert main(["split", "--data", str(tiny_catalog)]) == 0
    frame = pd.read_csv(tiny_catalog / "train.csv")
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(frame.label_group.max() + 1, 8))
    for name, noise in (("good", 0.6), ("noisy", 1.2)):
        x = (centers[frame.label_group] + rng.normal(size=(len(frame), 8)) * noise).astype(np.float32)
        np.save(tmp_path / f"{name}.npy", x)
    return tiny_catalog / "train.csv", tmp_path


def evaluate(csv, tmp_path, emb, out, *extra):
    return main(["evaluate", "--postings", str(csv), "--embeddings", str(tmp_path / f"{emb}.npy"), "--tune-split",
                 "valid", "--search-min2", "--split", "test", "--json", str(tmp_path / out), *map(str, extra)])


def one_error(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: "), err
    return err[0]


def test_bootstrap_adds_a_reproducible_interval_around_the_scores(setup, capsys):
    csv, tmp = setup
    assert evaluate(csv, tmp, "good", "a.json", "--bootstrap", 200) == 0
    res = json.loads((tmp / "a.json").read_text())
    ci = res["ci"]
    assert ci["resamples"] == 200 and ci["unit"] == "label_group" and ci["seed"] == 0
    for k in ("f1", "precision", "recall"):
        assert ci[k][0] <= res[k] <= ci[k][1]
    assert ci["f1"][0] < ci["f1"][1]
    assert ci["groups"] == res["pool"]["groups"] == len(set(
        pd.read_csv(csv).merge(pd.read_csv(csv.parent / "folds.csv")).query("split == 'test'").label_group))
    assert len(res["rows"]["tp"]) == res["n"] and len(res["rows"]["n_pred"]) == res["n"]
    assert "95% interval (200 resamples" in capsys.readouterr().out
    assert evaluate(csv, tmp, "good", "b.json", "--bootstrap", 200) == 0
    assert json.loads((tmp / "b.json").read_text())["ci"] == ci
    assert evaluate(csv, tmp, "good", "c.json", "--bootstrap", 200, "--seed", 5) == 0
    assert json.loads((tmp / "c.json").read_text())["ci"]["f1"] != ci["f1"]


def test_compare_gives_the_paired_difference_from_the_same_resamples(setup, capsys):
    csv, tmp = setup
    assert evaluate(csv, tmp, "noisy", "noisy.json") == 0
    assert evaluate(csv, tmp, "good", "same.json", "--compare", tmp / "noisy.json") == 0  # B defaults to 1000
    assert evaluate(csv, tmp, "noisy", "self.json", "--compare", tmp / "noisy.json", "--bootstrap", 300) == 0
    self_ = json.loads((tmp / "self.json").read_text())["compare"]
    assert self_["ci"]["f1"] == [0.0, 0.0] and self_["difference"]["f1"] == 0.0
    assert self_["p_better"] == 0.0 and not self_["significant"] and self_["resamples"] == 300
    good = json.loads((tmp / "same.json").read_text())
    noisy = json.loads((tmp / "noisy.json").read_text())
    c = good["compare"]
    assert c["difference"]["f1"] == pytest.approx(good["f1"] - noisy["f1"], abs=1e-6)
    assert c["ci"]["f1"][0] <= c["difference"]["f1"] <= c["ci"]["f1"][1]
    assert c["resamples"] == 1000 and c["unit"] == "label_group" and c["other"] == str(tmp / "noisy.json")
    assert 0 <= c["p_better"] <= 1 and c["significant"] == (c["ci"]["f1"][0] > 0 or c["ci"]["f1"][1] < 0)
    assert "P(this > other)" in capsys.readouterr().out


def test_threshold_stability_reports_the_spread_of_the_tuned_thresholds(setup):
    csv, tmp = setup
    assert evaluate(csv, tmp, "good", "s.json", "--threshold-stability", 50) == 0
    res = json.loads((tmp / "s.json").read_text())
    st = res["threshold_stability"]
    (side,) = st["sides"]
    t = res["thresholds"]["t"][0]
    assert side["t"]["min"] <= t <= side["t"]["max"] and side["t2"] is not None
    assert st["resamples"] == 50 and st["tuned_on"] == "validation" and st["scored_on"] == "test"
    assert st["f1"]["interval"][0] <= st["f1"]["median"] <= st["f1"]["interval"][1]


@pytest.mark.parametrize("flag, value, message", [
    ("--bootstrap", "5", "--bootstrap must be a whole number of resamples >= 10, got '5'"),
    ("--bootstrap", "abc", "--bootstrap must be a whole number"),
    ("--bootstrap", "1e3", "--bootstrap must be a whole number"),
    ("--bootstrap", "10.5", "--bootstrap must be a whole number"),
    ("--threshold-stability", "2", "--threshold-stability must be a whole number of resamples >= 10"),
    ("--seed", "-3", "--seed must be a whole number >= 0"),
])
def test_bad_resample_counts_are_one_line_errors_and_write_nothing(setup, capsys, flag, value, message):
    csv, tmp = setup
    assert evaluate(csv, tmp, "good", "bad.json", flag, value) == 1
    assert message in one_error(capsys)
    assert not (tmp / "bad.json").exists()


def test_compare_refuses_another_pool_an_old_file_and_junk(setup, capsys):
    csv, tmp = setup
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(tmp / "good.npy"), "--tune-split", "valid",
                 "--split", "valid", "--json", str(tmp / "valid.json")]) == 0
    capsys.readouterr()
    assert evaluate(csv, tmp, "good", "x.json", "--compare", tmp / "valid.json") == 1
    line = one_error(capsys)
    assert "scored on another pool" in line and "split 'valid'" in line and "split 'test'" in line
    old = json.loads((tmp / "valid.json").read_text())
    for k in ("rows", "pool"):
        old.pop(k)
    (tmp / "old.json").write_text(json.dumps(old))
    (tmp / "junk.json").write_text("{not json")
    for name, message in (("old.json", "not a JSON file written by evaluate"), ("junk.json", "not a JSON file"),
                          ("missing.json", "cannot read it")):
        assert evaluate(csv, tmp, "good", "x.json", "--compare", tmp / name) == 1
        assert message in one_error(capsys)
    assert not (tmp / "x.json").exists()


def test_stability_needs_a_search_and_a_pool_needs_two_groups(setup, capsys, tmp_path):
    csv, tmp = setup
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(tmp / "good.npy"), "--threshold", "0.3",
                 "--json", str(tmp / "y.json"), "--threshold-stability", "50"]) == 1
    assert "give --tune-split or --search-threshold" in one_error(capsys)
    one = pd.DataFrame({"posting_id": [f"p{i}" for i in range(4)], "label_group": [7, 7, 7, 7]})
    one.to_csv(tmp_path / "one.csv", index=False)
    np.save(tmp_path / "one.npy", np.eye(4, 3, dtype=np.float32) + 0.1)
    assert main(["evaluate", "--postings", str(tmp_path / "one.csv"), "--embeddings", str(tmp_path / "one.npy"),
                 "--threshold", "0.3", "--json", str(tmp_path / "one.json"), "--bootstrap", "100"]) == 1
    assert "has 1 label group: intervals resample whole label groups and need at least 2" in one_error(capsys)
    assert not (tmp_path / "one.json").exists()
    assert not (tmp / "y.json").exists()

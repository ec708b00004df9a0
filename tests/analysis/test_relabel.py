"""relabel: a new catalog folder with the reviewed fixes, folds kept group-whole, the input untouched."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from shopee_core.analysis.relabel import FIXES_FILE, group_whole_folds, relabel
from shopee_core.analysis.reviews import ReviewError, ReviewFile, Suspect
from shopee_core.cli import main
from shopee_core.data import load_catalog, load_or_create_folds
from shopee_core.errors import DataError

SHA = "c" * 64


def _digest(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture
def reviewed(tiny_catalog):
    """The tiny catalog split, and a review file that merges two groups of different folds and
    moves one posting into a third group of yet another fold."""
    frame = load_catalog(tiny_catalog, check_images=False).frame
    folds = load_or_create_folds(tiny_catalog, frame)
    table = frame.assign(fold=folds["fold"].to_numpy())
    fold_of = table.groupby("label_group")["fold"].first()
    a = int(fold_of[fold_of == 0].index[0])
    b = int(fold_of[fold_of == 3].index[0])
    c = int(fold_of[fold_of == 2].index[0])
    d = int(fold_of[fold_of == 4].index[0])
    moved = table[table["label_group"] == c]["posting_id"].iat[0]
    path = tiny_catalog.parent / "catalog.reviews.jsonl"
    rf = ReviewFile(path, SHA, postings=frame["posting_id"], groups=frame["label_group"])
    rf.add(Suspect("group_pair", "", b, a), "y")
    rf.add(Suspect("posting", moved, c, d), "y")
    rf.add(Suspect("group_pair", "", c, d), "n")
    return tiny_catalog, path, dict(a=a, b=b, c=c, d=d, moved=moved), table


def test_relabel_writes_a_new_folder_with_group_whole_folds(reviewed, tmp_path):
    data, reviews, g, before = reviewed
    untouched = _digest(data)
    out = tmp_path / "clean"
    r = relabel(data, reviews, out)
    assert _digest(data) == untouched  # the input is never changed
    after = pd.read_csv(out / "train.csv")
    assert list(after.columns) == list(pd.read_csv(data / "train.csv").columns)
    lab = dict(zip(after["posting_id"], after["label_group"]))
    a, b = sorted((g["a"], g["b"]))
    assert {lab[p] for p in before.loc[before["label_group"].isin([a, b]), "posting_id"]} == {a}
    assert lab[g["moved"]] == g["d"]
    untouched_rows = ~before["label_group"].isin([a, b]) & (before["posting_id"] != g["moved"])
    assert (after.loc[untouched_rows.to_numpy(), "label_group"].to_numpy()
            == before.loc[untouched_rows, "label_group"].to_numpy()).all()
    folds = pd.read_csv(out / "folds.csv")
    merged = after.merge(folds, on="posting_id")
    assert (merged.groupby("label_group")["fold"].nunique() == 1).all()  # every group in one fold
    assert set(folds["split"]) <= {"train", "valid", "test"}
    assert len(r.fold_moves) >= 2 and set(r.fold_moves["label_group"]) == {a, g["d"]}
    fixes = pd.read_csv(out / FIXES_FILE)
    assert list(fixes.columns) == ["posting_id", "old_label_group", "new_label_group", "reason"]
    assert g["moved"] in set(fixes["posting_id"]) and fixes["reason"].str.contains("fold").any()
    assert r.groups_after == r.groups_before - 1
    # the next run trains on it: a valid catalog, images through the link
    assert len(load_catalog(out, check_images=True).frame) == len(before)


def test_group_whole_folds_keep_the_majority():
    assert group_whole_folds([1, 1, 1, 2, 2], [0, 0, 3, 4, 4]).tolist() == [0, 0, 0, 4, 4]
    assert group_whole_folds([1, 1], [3, 2]).tolist() == [2, 2]  # a tie: the lowest fold


def test_bad_input_changes_nothing(reviewed, tmp_path, capsys):
    data, reviews, g, _ = reviewed
    untouched = _digest(data)
    with pytest.raises(DataError, match="never in place"):
        relabel(data, reviews, data)
    with pytest.raises(DataError, match="never in place"):
        relabel(data, reviews, data / "sub")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "x").write_text("keep")
    with pytest.raises(DataError, match="not empty"):
        relabel(data, reviews, busy)
    other = tmp_path / "other.jsonl"
    ReviewFile(other, "d" * 64).add(Suspect("posting", "train_9", 1, 2), "y")  # postings of another catalog
    with pytest.raises(ReviewError, match="unknown posting"):
        relabel(data, other, tmp_path / "new")
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(reviews.read_bytes())
    ReviewFile(mixed, "e" * 64).add(Suspect("group_pair", "", g["a"], g["c"]), "y")
    with pytest.raises(ReviewError, match="different bundles"):
        relabel(data, mixed, tmp_path / "new")
    assert not (tmp_path / "new").exists() and not list(tmp_path.glob(".new.*"))
    assert (busy / "x").read_text() == "keep" and _digest(data) == untouched
    # the command says it in one line
    assert main(["relabel", "--data", str(data), "--reviews", str(reviews), "--out", str(data)]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err
    assert main(["relabel", "--data", str(data), "--reviews", str(tmp_path / "none.jsonl"), "--out",
                 str(tmp_path / "new")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_relabel_command(reviewed, tmp_path, capsys):
    data, reviews, _, _ = reviewed
    assert main(["relabel", "--data", str(data), "--reviews", str(reviews), "--out", str(tmp_path / "clean")]) == 0
    out = capsys.readouterr().out
    assert "relabelled from 3 verdicts" in out and "moved from fold" in out
    assert np.isin(["train.csv", "folds.csv", FIXES_FILE, "catalog.json", "train_images"],
                   [p.name for p in (tmp_path / "clean").iterdir()]).all()

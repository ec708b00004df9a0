"""The review file (atomic locked appends, torn last line, two writers, undo, bad input) and the
truth its verdicts make (moves, merges, and F1 re-scored through the one decision layer)."""

from __future__ import annotations

import json
import logging
import multiprocessing as mp

import numpy as np
import pandas as pd
import pytest

from shopee_core.analysis.reviews import (
    ReviewError,
    ReviewFile,
    Suspect,
    check_outside,
    corrected_labels,
    default_path,
    manifest_sha,
)

SHA = "a" * 64
POSTINGS = ["p1", "p2", "p3", "p4", "p5", "p6"]
GROUPS = [10, 10, 20, 20, 30, 30]


def _file(path, sha=SHA):
    return ReviewFile(path, sha, postings=POSTINGS, groups=GROUPS, name="bundle t")


MOVE = Suspect("posting", "p2", 10, 20)
MERGE = Suspect("group_pair", "", 30, 20)


def test_verdicts_round_trip_one_line_each(tmp_path):
    rf = _file(tmp_path / "t.reviews.jsonl")
    a = rf.add(MOVE, "y", split="test", score=3.5)
    rf.add(MERGE, "n")
    lines = (tmp_path / "t.reviews.jsonl").read_text().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["bundle"] == SHA and first["verdict"] == "y" and first["id"] == a["id"] and first["time"].endswith("Z")
    assert first["suspect"] == {**MOVE.as_dict(), "score": 3.5} and first["split"] == "test"
    table = rf.verdicts()
    assert table[["kind", "posting_id", "verdict"]].values.tolist() == [["posting", "p2", "y"], ["group_pair", "", "n"]]
    # a group pair is one suspect whichever group comes first: a later verdict replaces the earlier one
    rf.add(Suspect("group_pair", "", 20, 30), "y")
    assert rf.verdicts()["verdict"].tolist() == ["y", "y"]
    assert ReviewFile(tmp_path / "missing.jsonl", SHA).records() == []


def test_undo_takes_back_the_latest_or_a_given_verdict(tmp_path):
    rf = _file(tmp_path / "r.jsonl")
    first = rf.add(MOVE, "n")
    second = rf.add(MOVE, "y")
    third = rf.add(MERGE, "y")
    assert rf.undo()["undoes"] == third["id"]            # the latest standing verdict
    assert rf.verdicts()["verdict"].tolist() == ["y"]
    assert rf.undo(second["id"])["undoes"] == second["id"]  # an earlier verdict of the suspect stands again
    assert rf.verdicts()["id"].tolist() == [first["id"]]
    assert rf.undo(second["id"]) is None                   # undoing twice changes nothing
    with pytest.raises(ReviewError, match="no verdict"):
        rf.undo("nope")
    rf.undo()
    assert rf.undo() is None and rf.verdicts().empty
    assert sum(1 for _ in open(tmp_path / "r.jsonl")) == 6  # only ever appended to


def test_a_torn_last_line_is_ignored_with_a_note_and_cut_by_the_next_append(tmp_path, caplog):
    path = tmp_path / "r.jsonl"
    rf = _file(path)
    rf.add(MOVE, "y")
    with open(path, "ab") as fh:
        fh.write(b'{"time": "2026-01-01T00:00:00Z", "id": "x", "bun')  # a crash mid-append
    with caplog.at_level(logging.WARNING):
        assert len(rf.records()) == 1
    assert "torn last line" in caplog.text
    rf.add(MERGE, "n")
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and all(json.loads(x)["bundle"] == SHA for x in lines)


def test_a_writer_waits_for_the_review_files_lock(tmp_path):
    """Verdicts and undos go through the file's writer lock (:mod:`shopee_core.locking`): while
    another writer holds it, nothing is appended; once it lets go, the verdict lands."""
    import threading

    from shopee_core.analysis.reviews import lock_path
    from shopee_core.locking import exclusive

    path = tmp_path / "r.jsonl"
    rf = _file(path)
    with exclusive(lock_path(path)):
        t = threading.Thread(target=rf.add, args=(MERGE, "y"))
        t.start()
        t.join(0.5)
        assert t.is_alive() and not path.exists()
    t.join(10)
    assert [r["verdict"] for r in rf.records()] == ["y"]


def _writer(path, n, tag):
    rf = _file(path)
    for i in range(n):
        rf.add(MOVE if i % 2 else MERGE, "y" if tag == "a" else "n", split=tag)


def test_two_writers_lose_nothing(tmp_path):
    path = tmp_path / "r.jsonl"
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, 60, tag)) for tag in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    records = _file(path).records()
    assert len(records) == 120 and len({r["id"] for r in records}) == 120
    assert sorted(pd.Series([r["split"] for r in records]).value_counts().tolist()) == [60, 60]


@pytest.mark.parametrize("line, message", [
    ("not json", "not valid JSON"),
    ('["a list"]', "not a JSON object"),
    ('{"bundle": "%s", "id": "1", "action": "verdict", "verdict": "maybe", "suspect": {}}'.replace("%s", SHA), "verdict must be"),
    ('{"bundle": "%s", "id": "1", "action": "verdict", "verdict": "y", "suspect": {"kind": "posting", '
     '"posting_id": "ghost", "label_group": 10, "other_label_group": 20}}'.replace("%s", SHA), "unknown posting 'ghost'"),
    ('{"bundle": "%s", "id": "1", "action": "verdict", "verdict": "y", "suspect": {"kind": "group_pair", '
     '"posting_id": "", "label_group": 10, "other_label_group": 99}}'.replace("%s", SHA), "unknown label group 99"),
    ('{"bundle": "%s", "id": "1", "action": "verdict", "verdict": "y", "suspect": {"kind": "group_pair", '
     '"posting_id": "", "label_group": 10, "other_label_group": 20}}'.replace("%s", "b" * 64), "another bundle"),
    ('{"bundle": "%s", "id": "1", "action": "undo", "undoes": "zz"}'.replace("%s", SHA), "which no earlier line is"),
    ('{"bundle": "%s", "id": "1", "action": "delete"}'.replace("%s", SHA), "action must be"),
])
def test_bad_lines_are_one_line_errors_and_nothing_is_written(tmp_path, line, message):
    path = tmp_path / "r.jsonl"
    path.write_text(line + "\n" + json.dumps({"bundle": SHA, "id": "2", "action": "verdict", "verdict": "n",
                                              "suspect": MERGE.as_dict()}) + "\n")
    before = path.read_bytes()
    rf = _file(path)
    with pytest.raises(ReviewError, match=message) as err:
        rf.records()
    assert "\n" not in str(err.value) and "line 1" in str(err.value)
    with pytest.raises(ReviewError):
        rf.undo()
    assert path.read_bytes() == before


def test_a_verdict_on_an_unknown_posting_is_refused_before_writing(tmp_path):
    rf = _file(tmp_path / "r.jsonl")
    with pytest.raises(ReviewError, match="unknown posting"):
        rf.add(Suspect("posting", "ghost", 10, 20), "y")
    with pytest.raises(ReviewError, match="verdict must be"):
        rf.add(MOVE, "maybe")
    with pytest.raises(ReviewError, match="two different groups"):
        Suspect.from_dict({"kind": "group_pair", "posting_id": "", "label_group": 10, "other_label_group": 10})
    assert not (tmp_path / "r.jsonl").exists()


def test_the_review_file_lives_beside_the_bundle(tmp_path):
    bundle = tmp_path / "demo"
    bundle.mkdir()
    (bundle / "manifest.json").write_text("{}")
    assert default_path(bundle) == tmp_path / "demo.reviews.jsonl"
    assert check_outside(tmp_path / "elsewhere.jsonl", bundle) == tmp_path / "elsewhere.jsonl"
    with pytest.raises(ReviewError, match="beside the bundle"):
        check_outside(bundle / "r.jsonl", bundle)
    assert len(manifest_sha(bundle)) == 64


# ----------------------------------------------------------------------------- corrected labels
def _verdicts(*rows):
    return pd.DataFrame([{"kind": k, "posting_id": p, "label_group": a, "other_label_group": b, "verdict": v,
                          "time": "t", "id": str(i)} for i, (k, p, a, b, v) in enumerate(rows)])


def test_moves_then_merges_whatever_the_order():
    ids, labels = np.array(POSTINGS), np.array(GROUPS)
    v = _verdicts(("group_pair", "", 30, 20, "y"), ("posting", "p2", 10, 20, "y"), ("posting", "p1", 10, 30, "n"))
    new, fixes = corrected_labels(ids, labels, v)
    assert new.tolist() == [10, 20, 20, 20, 20, 20]  # p2 moved to 20, then 20 and 30 merged under 20
    assert fixes["posting_id"].tolist() == ["p2", "p5", "p6"]
    assert fixes.loc[0, "reason"].startswith("moved to group 20")
    assert "merged" in fixes.loc[1, "reason"]
    again, _ = corrected_labels(ids, labels, v.iloc[::-1])
    assert again.tolist() == new.tolist()
    with pytest.raises(ReviewError, match="labelled 10"):
        corrected_labels(ids, labels, _verdicts(("posting", "p1", 20, 30, "y")))


def test_a_merge_changes_f1_exactly_as_the_oracle_says(tmp_path_factory):
    """Re-scoring through the bundle's truth view and the one decision layer equals row-wise F1
    computed by hand (Python sets) from the same predicted sets and the corrected labels."""
    from shopee_core.analysis import decisions as D
    from shopee_core.bundle import Bundle
    from tests.analysis.bundles import tiny_bundle

    bundle = Bundle.open(tiny_bundle(tmp_path_factory))
    split, model = "test", "tfidf"
    pred = D.predictions(bundle, model, split)
    rows = bundle.split_rows(split)
    labels = bundle.labels(split).astype(np.int64)
    # merge the two groups the model confuses most (a false-positive pair), so the fix matters
    i, j = next((i, int(j)) for i in range(len(pred)) for j in pred[i] if j >= 0 and labels[j] != labels[i])
    a, b = int(labels[i]), int(labels[j])
    v = _verdicts(("group_pair", "", a, b, "y"))
    new_all, fixes = corrected_labels(bundle.postings["posting_id"], bundle.postings["label_group"], v)
    view = bundle.relabelled(new_all, "with my fixes")
    new = new_all[rows]

    def oracle(lab):
        f1 = []
        for r in range(len(lab)):
            y = {int(x) for x in pred[r] if x >= 0} | {r}
            x = {q for q in range(len(lab)) if lab[q] == lab[r]}
            f1.append(2 * len(x & y) / (len(x) + len(y)))
        return float(np.mean(f1))
    assert D.scores(bundle, model, split)["f1"] == pytest.approx(oracle(labels), abs=1e-12)
    assert D.scores(view, model, split)["f1"] == pytest.approx(oracle(new), abs=1e-12)
    assert oracle(new) != pytest.approx(oracle(labels))  # the fix changes the score (here, down: the model
    # predicted one cross pair, not the two whole groups as one)
    assert len(fixes) == int((labels == max(a, b)).sum())  # the larger label joins the smaller (groups are whole)
    assert view.labelled is bundle and bundle.labels(split).tolist() == labels.tolist()  # the bundle is untouched
    # the view keeps what labels make (pools, scorers) apart and shares what the files hold
    assert D.pool(view, split) is not D.pool(bundle, split)
    nv, nb = view.neighbors(model, split), bundle.neighbors(model, split)  # read from the same files
    assert np.array_equal(nv.idx, nb.idx) and np.array_equal(nv.sim, nb.sim)
    assert view.digest != bundle.digest and view.digest.startswith(bundle.digest)
    # per-row intervals under the fixes come from the fixed labels, not from the stored rows.npz
    from shopee_core.analysis import intervals

    assert view.row_counts(model, split, "min2") is None  # the tuned decision: Min2 on, as D.predictions
    assert np.mean(intervals.rows(view, split, model, "min2")["f1"]) == pytest.approx(oracle(new), abs=1e-12)


def test_the_leaderboard_under_an_unchanged_truth_is_the_manifest(tmp_path_factory):
    """Scores re-made under a truth view equal the builder's stored numbers when nothing changed,
    and move when a fix does."""
    from shopee_core.analysis import leaderboard as lb
    from shopee_core.bundle import Bundle
    from tests.analysis.bundles import tiny_bundle

    bundle = Bundle.open(tiny_bundle(tmp_path_factory))
    same = bundle.relabelled(bundle.postings["label_group"].to_numpy(), "unchanged")
    stored, again = lb.leaderboard(bundle, "test", "base"), lb.leaderboard(same, "test", "base")
    for col in ("f1", "precision", "recall", "valid_f1", "f1_min2", "f1_inb", "f1_graph"):
        np.testing.assert_allclose(again[col].to_numpy(float), stored[col].to_numpy(float), atol=2e-6, equal_nan=True)
    labels = bundle.postings["label_group"].to_numpy().copy()
    test_rows = bundle.split_rows("test")
    test_labels = labels[test_rows]
    other = test_labels[test_labels != test_labels[0]][0]  # another group (the rows' order is the builder's)
    labels[test_rows[test_labels == other]] = test_labels[0]  # merge two test groups
    moved = lb.leaderboard(bundle.relabelled(labels, "merged"), "test", "base")
    assert not np.allclose(moved["f1"].to_numpy(float), stored["f1"].to_numpy(float))

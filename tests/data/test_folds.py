import numpy as np
import pandas as pd
import pytest

from shopee_core.data import folds as folds_mod
from shopee_core.data.folds import (
    SPLIT_OF_FOLD,
    adopt_folds,
    attach_splits,
    load_or_create_folds,
    make_folds,
)
from shopee_core.errors import DataError


def catalog_frame(n_groups=300, seed=0):
    """Postings with group sizes 2..12, rows shuffled like a real catalog."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 13, size=n_groups)
    labels = np.repeat(rng.choice(10**9, size=n_groups, replace=False), sizes)
    rng.shuffle(labels)
    n = len(labels)
    return pd.DataFrame(
        {
            "posting_id": [f"train_{i}" for i in range(n)],
            "image": [f"{i}.jpg" for i in range(n)],
            "image_phash": ["ff"] * n,
            "title": ["t"] * n,
            "label_group": labels.astype(np.int64),
        }
    )


def test_split_of_fold():
    assert SPLIT_OF_FOLD == {0: "test", 1: "valid", 2: "train", 3: "train", 4: "train"}


def _crafted(sizes):
    """One label group per size, in this catalog order."""
    labels = np.repeat(np.arange(len(sizes)) + 100, sizes)
    return pd.DataFrame({"posting_id": [f"p{i}" for i in range(len(labels))], "label_group": labels})


def test_fold_sizes_on_a_crafted_catalog():
    # five groups of distinct sizes: the largest goes to fold 0 (test), the next to fold 1 (valid), ...
    folds = make_folds(_crafted([4, 10, 2, 8, 6]))
    sizes = folds.groupby("fold")["posting_id"].size().to_dict()
    assert sizes == {0: 10, 1: 8, 2: 6, 3: 4, 4: 2}
    assert folds.groupby("split")["posting_id"].size().to_dict() == {"test": 10, "valid": 8, "train": 12}
    assert folds["posting_id"].tolist() == [f"p{i}" for i in range(30)]  # catalog order kept
    # ten groups: greedy balancing leaves every fold at 2 groups with equal totals
    folds = make_folds(_crafted([9, 1, 8, 2, 7, 3, 6, 4, 5, 5]))
    assert folds.groupby("fold")["posting_id"].size().tolist() == [10] * 5
    pd.testing.assert_frame_equal(make_folds(_crafted([9, 1, 8, 2, 7, 3, 6, 4, 5, 5])), folds)  # deterministic


def test_no_group_spans_folds_and_sizes_are_fifths():
    frame = catalog_frame(n_groups=500, seed=3)
    folds = make_folds(frame)
    per_group = pd.DataFrame({"g": frame["label_group"], "f": folds["fold"]}).groupby("g")["f"].nunique()
    assert (per_group == 1).all()
    counts = folds["fold"].value_counts().sort_index()
    assert counts.index.tolist() == [0, 1, 2, 3, 4]
    assert (abs(counts - len(frame) / 5) <= 0.02 * len(frame)).all()
    split_counts = folds["split"].value_counts()
    assert abs(split_counts["test"] / len(frame) - 0.2) < 0.02
    assert abs(split_counts["valid"] / len(frame) - 0.2) < 0.02
    assert abs(split_counts["train"] / len(frame) - 0.6) < 0.02
    assert folds.loc[folds["fold"] == 0, "split"].eq("test").all()
    assert folds.loc[folds["fold"] == 1, "split"].eq("valid").all()


def test_fewer_than_five_groups():
    frame = catalog_frame(n_groups=4)
    with pytest.raises(DataError, match="at least 5 label groups.*has 4"):
        make_folds(frame)


def test_make_folds_needs_labels():
    with pytest.raises(DataError, match="without label_group"):
        make_folds(catalog_frame().drop(columns="label_group"))


def test_folds_written_once_then_reused(tmp_path, monkeypatch):
    frame = catalog_frame()
    first = load_or_create_folds(tmp_path, frame)
    path = tmp_path / "folds.csv"
    assert path.is_file()
    on_disk = pd.read_csv(path, dtype={"posting_id": str})
    assert on_disk.columns.tolist() == ["posting_id", "fold", "split"]
    assert on_disk["fold"].tolist() == first["fold"].tolist()
    assert not list(tmp_path.glob(".folds.csv.*"))  # no temp file left

    # second call reads the file and never recomputes
    mtime = path.stat().st_mtime_ns

    def boom(_):
        raise AssertionError("recomputed")

    monkeypatch.setattr(folds_mod, "make_folds", boom)
    again = load_or_create_folds(tmp_path, frame)
    pd.testing.assert_frame_equal(again, first)
    assert path.stat().st_mtime_ns == mtime


def test_persisted_folds_win_over_recomputation(tmp_path):
    frame = catalog_frame()
    load_or_create_folds(tmp_path, frame)
    path = tmp_path / "folds.csv"
    # an edited (still group-consistent) folds.csv is what counts, e.g. from another sklearn
    disk = pd.read_csv(path, dtype={"posting_id": str})
    disk["fold"] = (disk["fold"] + 1) % 5
    disk["split"] = disk["fold"].map(SPLIT_OF_FOLD)
    disk.iloc[::-1].to_csv(path, index=False)  # file order differs from the catalog's
    out = load_or_create_folds(tmp_path, frame)
    assert out["posting_id"].tolist() == frame["posting_id"].tolist()  # frame order
    expected = disk.set_index("posting_id").loc[frame["posting_id"], "fold"].to_numpy()
    np.testing.assert_array_equal(out["fold"].to_numpy(), expected)
    assert out["fold"].dtype == np.int64


def test_folds_for_other_ids_error(tmp_path):
    load_or_create_folds(tmp_path, catalog_frame(seed=0))
    other = catalog_frame(seed=1)
    other["posting_id"] = [f"other_{i}" for i in range(len(other))]
    with pytest.raises(DataError, match="does not cover exactly") as err:
        load_or_create_folds(tmp_path, other)
    msg = str(err.value)
    assert "delete" in msg and "folds.csv" in msg and "other_0" in msg


def test_folds_missing_some_ids_error(tmp_path):
    frame = catalog_frame()
    load_or_create_folds(tmp_path, frame.iloc[:-3])
    with pytest.raises(DataError, match="3 catalog postings are not in it"):
        load_or_create_folds(tmp_path, frame)


def test_folds_with_split_groups_error(tmp_path):
    frame = catalog_frame()
    load_or_create_folds(tmp_path, frame)
    shuffled = frame.copy()
    shuffled["label_group"] = frame["label_group"].sample(frac=1, random_state=0).to_numpy()
    with pytest.raises(DataError, match="label groups span several splits"):
        load_or_create_folds(tmp_path, shuffled)


@pytest.mark.parametrize(
    "content,phrase",
    [
        ("posting_id,fold,split\ntrain_0,x,test\n", "fold must be an integer"),
        ("posting_id,fold,split\ntrain_0,0,holdout\n", "split must be"),
        ("posting_id,split\ntrain_0,test\n", "no fold column"),
        ("posting_id,fold\ntrain_0,0\ntrain_0,1\n", "listed twice"),
        ("", "unreadable"),
    ],
)
def test_broken_folds_file(tmp_path, content, phrase):
    (tmp_path / "folds.csv").write_text(content)
    with pytest.raises(DataError, match=phrase) as err:
        load_or_create_folds(tmp_path, catalog_frame())
    assert "delete" in str(err.value)


def test_folds_file_without_split_column(tmp_path):
    frame = catalog_frame()
    made = make_folds(frame)
    made[["posting_id", "fold"]].to_csv(tmp_path / "folds.csv", index=False)
    out = load_or_create_folds(tmp_path, frame)
    pd.testing.assert_frame_equal(out, made)


def test_unlabelled_frame_is_all_test_and_writes_nothing(tmp_path):
    frame = catalog_frame().drop(columns="label_group")
    out = load_or_create_folds(tmp_path, frame)
    assert out["posting_id"].tolist() == frame["posting_id"].tolist()
    assert (out["fold"] == -1).all() and (out["split"] == "test").all()
    assert not (tmp_path / "folds.csv").exists()


def test_attach_splits(tmp_path):
    frame = catalog_frame()
    folds = load_or_create_folds(tmp_path, frame)
    out = attach_splits(frame, folds.iloc[::-1])
    assert out["posting_id"].tolist() == frame["posting_id"].tolist()
    assert out.columns.tolist() == frame.columns.tolist() + ["fold", "split"]
    np.testing.assert_array_equal(out["fold"].to_numpy(), folds["fold"].to_numpy())
    assert out["fold"].dtype == np.int64
    # re-attaching replaces, not duplicates
    again = attach_splits(out, folds)
    assert again.columns.tolist() == out.columns.tolist()
    assert "fold" not in frame.columns  # input untouched
    with pytest.raises(DataError, match="3 postings have no fold"):
        attach_splits(frame, folds.iloc[3:])


# --------------------------------------------------------------------------- --folds-from


def _fold_file(tmp_path, frame, folds, name="seed_folds.csv", extra=None):
    path = tmp_path / name
    rows = pd.DataFrame({"posting_id": frame["posting_id"], "fold": folds})
    if extra is not None:
        rows = pd.concat([rows, extra])
    rows.to_csv(path, index=False)
    return path


def test_adopt_folds_pins_a_given_split(tmp_path):
    frame = catalog_frame()
    load_or_create_folds(tmp_path, frame)  # an existing split is replaced
    groups = pd.unique(frame["label_group"])
    mine = dict(zip(groups, np.arange(len(groups)) % 5))  # any group-consistent assignment
    wanted = frame["label_group"].map(mine).to_numpy()
    src = _fold_file(tmp_path, frame.iloc[::-1], wanted[::-1])  # file order differs from the catalog's
    out = adopt_folds(tmp_path, frame, src)
    np.testing.assert_array_equal(out["fold"].to_numpy(), wanted)
    assert out["split"].tolist() == [SPLIT_OF_FOLD[f] for f in wanted]
    again = load_or_create_folds(tmp_path, frame)  # and is what later runs read
    np.testing.assert_array_equal(again["fold"].to_numpy(), wanted)


@pytest.mark.parametrize("case,phrase", [
    ("missing", "catalog postings are not in it"),
    ("twice", "listed twice"),
    ("fold5", "folds must be 0-4"),
    ("foreign", "of its postings are not in the catalog"),
    ("split_group", "label groups span several splits"),
    ("text", "fold must be an integer"),
])
def test_adopt_folds_refuses_a_bad_file_in_one_line(tmp_path, case, phrase):
    frame = catalog_frame()
    folds = make_folds(frame)["fold"].to_numpy()
    rows, extra = frame, None
    if case == "missing":
        rows, folds = frame.iloc[1:], folds[1:]
    elif case == "twice":
        extra = pd.DataFrame({"posting_id": [frame["posting_id"].iloc[0]], "fold": [folds[0]]})
    elif case == "fold5":
        folds = folds.copy()
        folds[frame["label_group"] == frame["label_group"].iloc[0]] = 5
    elif case == "foreign":
        extra = pd.DataFrame({"posting_id": ["nobody"], "fold": [0]})
    elif case == "split_group":
        folds = folds.copy()
        other = np.flatnonzero(frame["label_group"].to_numpy() == frame["label_group"].iloc[0])[1:]
        folds[0], folds[other] = 0, 1  # one member in test, the rest of its group in valid
    src = _fold_file(tmp_path, rows, folds.astype(object) if case != "text" else ["x"] * len(rows), extra=extra)
    with pytest.raises(DataError, match=phrase) as err:
        adopt_folds(tmp_path, frame, src)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "folds.csv").exists()


def test_split_folds_from_on_the_command_line(tiny_catalog, tmp_path, capsys):
    from shopee_core import cli
    from shopee_core.data import load_catalog

    frame = load_catalog(tiny_catalog, check_images=False).frame
    groups = pd.unique(frame["label_group"])
    folds = frame["label_group"].map(dict(zip(groups, np.arange(len(groups)) % 5)))
    src = _fold_file(tmp_path, frame, folds)
    assert cli.main(["split", "--data", str(tiny_catalog), "--folds-from", str(src)]) == 0
    assert "adopted from" in capsys.readouterr().out
    disk = pd.read_csv(tiny_catalog / "folds.csv", dtype={"posting_id": str})
    assert disk["fold"].tolist() == folds.tolist()
    assert cli.main(["split", "--data", str(tiny_catalog), "--folds-from", str(tmp_path / "none.csv")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: --folds-from") and err.count("\n") == 1

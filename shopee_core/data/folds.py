"""The seed's split, persisted.

``GroupKFold(n_splits=5)`` on ``label_group``, unshuffled, rows in catalog order: fold 0 =
test, fold 1 = validation, folds 2-4 = train. This is the seed's call, and on the Kaggle
train.csv it gives the seed's sizes (train 20,550 / valid 6,849 / test 6,851). It need not give
the seed's *members*: recent scikit-learn sorts the groups by size with a stable sort before
assigning them (ties in catalog order), the seed's 2021 version did not, and the seed
published no fold file. So the fold of every posting is written once to
``<catalog>/folds.csv`` and read back from then on, and :func:`adopt_folds` (``split
--folds-from CSV``) pins a given assignment, e.g. the seed's folds if you have them.
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, examples
from ..io import atomic_write_csv

N_FOLDS = 5
SPLIT_OF_FOLD = {0: "test", 1: "valid", 2: "train", 3: "train", 4: "train"}
SPLITS = ("train", "valid", "test")
FOLDS_FILE = "folds.csv"




def _group_kfold():
    # scikit-learn >= 1.6 has `shuffle`; the seed's split is the unshuffled one. Imported here: the
    # dashboard reads this package (titles, folds of a bundle) and never splits; scikit-learn and the
    # scipy.stats it pulls in were 0.8 s of the server's start and ~50 MB of its resident memory.
    from sklearn.model_selection import GroupKFold
    if "shuffle" in inspect.signature(GroupKFold).parameters:
        return GroupKFold(n_splits=N_FOLDS, shuffle=False)
    return GroupKFold(n_splits=N_FOLDS)  # pragma: no cover - older scikit-learn


def make_folds(frame: pd.DataFrame) -> pd.DataFrame:
    """``posting_id, fold, split`` for ``frame`` (in its order): the seed's GroupKFold call (same
    fold sizes; members as this scikit-learn assigns them, see the module docstring)."""
    if "label_group" not in frame.columns:
        raise DataError("cannot split postings without label_group (prediction-only data)")
    groups = frame["label_group"].to_numpy()
    n_groups = len(pd.unique(groups))
    if n_groups < N_FOLDS:
        raise DataError(
            f"the {N_FOLDS}-fold split needs at least {N_FOLDS} label groups, "
            f"the catalog has {n_groups}"
        )
    fold = np.full(len(frame), -1, dtype=np.int64)
    dummy = np.zeros((len(frame), 1))
    for f, (_, test_idx) in enumerate(_group_kfold().split(dummy, groups=groups)):
        fold[test_idx] = f
    return pd.DataFrame(
        {
            "posting_id": frame["posting_id"].astype(str).to_numpy(),
            "fold": fold,
            "split": [SPLIT_OF_FOLD[int(f)] for f in fold],
        }
    )


def _unlabelled(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "posting_id": frame["posting_id"].astype(str).to_numpy(),
            "fold": np.full(len(frame), -1, dtype=np.int64),
            "split": ["test"] * len(frame),
        }
    )


def _read_folds(path: Path, fix: str | None = None, derive_split: bool = False) -> pd.DataFrame:
    """Parse a folds file; ``derive_split``: the split always follows the fold (a split column is ignored)."""
    fix = fix or f"delete {path} to recompute the split"
    try:
        folds = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False)
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: unreadable ({first}); {fix}") from None
    for col in ("posting_id", "fold"):
        if col not in folds.columns:
            raise DataError(f"{path}: no {col} column; {fix}")
    folds["posting_id"] = folds["posting_id"].astype(str).str.strip()
    fold_text = folds["fold"].astype(str).str.strip()
    bad = ~fold_text.str.fullmatch(r"-?\d+")
    if bad.any():
        raise DataError(
            f"{path}: fold must be an integer, found {examples(fold_text[bad].unique())}; {fix}"
        )
    folds["fold"] = fold_text.astype(np.int64)
    if "split" in folds.columns and not derive_split:
        folds["split"] = folds["split"].astype(str).str.strip()
        odd = ~folds["split"].isin(SPLITS)
        if odd.any():
            raise DataError(
                f"{path}: split must be train, valid or test, found "
                f"{examples(folds.loc[odd, 'split'].unique())}; {fix}"
            )
    else:
        unknown = ~folds["fold"].isin(list(SPLIT_OF_FOLD))
        if unknown.any() and not derive_split:
            raise DataError(f"{path}: no split column and folds outside 0-4; {fix}")
        folds["split"] = folds["fold"].map(SPLIT_OF_FOLD)
    dup = folds["posting_id"][folds["posting_id"].duplicated()].unique()
    if len(dup):
        raise DataError(f"{path}: {len(dup):,} posting_ids listed twice: {examples(dup)}; {fix}")
    return folds[["posting_id", "fold", "split"]].reset_index(drop=True)


def _check_matches(path: Path, folds: pd.DataFrame, frame: pd.DataFrame, subset: bool = False,
                   fix: str | None = None) -> None:
    """folds.csv must be the one made for ``frame`` (``subset``: for a catalog ``frame`` is part of)."""
    fix = fix or f"it was made for other data; delete {path} to recompute the split"
    ids = frame["posting_id"].astype(str)
    in_file = set(folds["posting_id"])
    in_frame = set(ids)
    absent = [p for p in ids if p not in in_file]
    foreign = [] if subset else [p for p in folds["posting_id"] if p not in in_frame]
    if absent or foreign:
        parts = []
        if absent:
            parts.append(
                f"{len(absent):,} catalog postings are not in it (e.g. {examples(absent)})"
            )
        if foreign:
            parts.append(
                f"{len(foreign):,} of its postings are not in the catalog "
                f"(e.g. {examples(foreign)})"
            )
        raise DataError(
            f"{path} does not cover exactly the catalog's {len(in_frame):,} postings: "
            f"{'; '.join(parts)}; {fix}"
        )
    split = folds.set_index("posting_id")["split"].reindex(ids).to_numpy()
    spans = (
        pd.DataFrame({"g": frame["label_group"].to_numpy(), "s": split})
        .groupby("g")["s"]
        .nunique()
    )
    spanning = spans[spans > 1]
    if len(spanning):
        raise DataError(
            f"{path}: {len(spanning):,} label groups span several splits "
            f"(e.g. {examples(spanning.index.tolist())}); {fix}"
        )


def load_folds(root: str | os.PathLike, frame: pd.DataFrame, subset: bool = False) -> pd.DataFrame | None:
    """Folds for ``frame`` (labelled) from ``root/folds.csv``, in ``frame``'s order; None without the file.

    A file made for other data (postings it lacks, or a label group across splits) raises a
    DataError that says so; ``subset=True`` accepts a ``frame`` that is part of the catalog the
    file covers (a pool CSV beside it).
    """
    path = Path(root) / FOLDS_FILE
    if not path.exists():
        return None
    folds = _read_folds(path)
    _check_matches(path, folds, frame, subset=subset)
    ordered = folds.set_index("posting_id").reindex(frame["posting_id"].astype(str))
    return pd.DataFrame(
        {
            "posting_id": ordered.index.to_numpy(),
            "fold": ordered["fold"].to_numpy(dtype=np.int64),
            "split": ordered["split"].to_numpy(),
        }
    )


def load_or_create_folds(root: str | os.PathLike, frame: pd.DataFrame) -> pd.DataFrame:
    """Folds for ``frame``, from ``root/folds.csv`` (written atomically the first time).

    The result is in ``frame``'s order. A folds.csv that does not cover exactly the
    frame's posting_ids (or splits a label group) raises DataError. Without labels
    every posting is ``split == "test"``, ``fold == -1`` and nothing is written.
    """
    if "label_group" not in frame.columns:
        return _unlabelled(frame)
    folds = load_folds(root, frame)
    if folds is not None:
        return folds
    path = Path(root) / FOLDS_FILE
    folds = make_folds(frame)
    atomic_write_csv(path, folds)
    return folds


def attach_splits(frame: pd.DataFrame, folds: pd.DataFrame) -> pd.DataFrame:
    """``frame`` plus ``fold`` and ``split`` columns (frame order kept)."""
    lookup = (
        folds.assign(posting_id=folds["posting_id"].astype(str))
        .drop_duplicates("posting_id")
        .set_index("posting_id")
    )
    ids = frame["posting_id"].astype(str)
    missing = ~ids.isin(lookup.index)
    if missing.any():
        raise DataError(
            f"{int(missing.sum()):,} postings have no fold: {examples(ids[missing].tolist())}"
        )
    out = frame.drop(columns=[c for c in ("fold", "split") if c in frame.columns]).copy()
    out["fold"] = lookup["fold"].reindex(ids).to_numpy(dtype=np.int64)
    out["split"] = lookup["split"].reindex(ids).to_numpy()
    return out


def adopt_folds(root: str | os.PathLike, frame: pd.DataFrame, source: str | os.PathLike) -> pd.DataFrame:
    """Make ``source`` (``posting_id,fold``) the split of ``frame``: written to ``root/folds.csv``.

    Every posting of the catalog must be listed exactly once, with a fold in 0-4, and no label
    group may span two splits; otherwise DataError (one line) and nothing is written. Replaces
    an existing folds.csv. Returns the folds in ``frame``'s order.
    """
    source = Path(source)
    if "label_group" not in frame.columns:
        raise DataError(f"--folds-from {source}: the catalog has no label_group (prediction-only data is all test)")
    if not source.is_file():
        raise DataError(f"--folds-from {source}: no such file")
    folds = _read_folds(source, fix="give a posting_id,fold file with folds 0-4", derive_split=True)
    odd = ~folds["fold"].isin(list(SPLIT_OF_FOLD))
    if odd.any():
        raise DataError(f"{source}: folds must be 0-4, found {examples(folds.loc[odd, 'fold'].unique())}")
    _check_matches(source, folds, frame, fix="it must list every posting of the catalog once")
    ordered = folds.set_index("posting_id").reindex(frame["posting_id"].astype(str))
    out = pd.DataFrame({"posting_id": ordered.index.to_numpy(), "fold": ordered["fold"].to_numpy(dtype=np.int64)})
    out["split"] = out["fold"].map(SPLIT_OF_FOLD)
    atomic_write_csv(Path(root) / FOLDS_FILE, out)
    return out

"""``relabel``: a catalog folder with the reviewed label fixes, for the next training run.

The fixes are :func:`~shopee_core.analysis.reviews.corrected_labels` of a review file's live
``y`` verdicts. The input folder is never changed: the corrected ``train.csv`` (every other
column as it was), ``folds.csv`` (when the input has one), ``label_fixes.csv`` and
``catalog.json`` go to a new folder, built under a temporary name beside it and renamed into
place, with ``train_images`` a link to the input's images.

Folds stay group-whole: the seed's GroupKFold keeps each label group inside one fold, and a
training run that found one product in train and in valid would score its own memory. So a
merged group, or a group that receives a moved posting, lands whole in the fold holding most
of its postings (ties: the lowest fold, test before valid before train); every posting whose
fold changes is reported.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..data import load_catalog
from ..data.folds import FOLDS_FILE, SPLIT_OF_FOLD, load_folds
from ..errors import DataError
from .reviews import ReviewFile, corrected_labels

FIXES_FILE = "label_fixes.csv"


@dataclass
class Relabelled:
    out: Path
    fixes: pd.DataFrame          # posting_id, old_label_group, new_label_group, reason
    fold_moves: pd.DataFrame     # posting_id, label_group, old_fold, new_fold
    verdicts: int                # live verdicts read (any verdict)
    groups_before: int
    groups_after: int


def group_whole_folds(labels, folds) -> np.ndarray:
    """Each label group's postings moved into one fold: the fold holding most of them (ties: the
    lowest fold). ``folds`` of groups already whole come back unchanged."""
    frame = pd.DataFrame({"g": np.asarray(labels), "f": np.asarray(folds, dtype=np.int64)})
    counts = frame.groupby(["g", "f"]).size().reset_index(name="n")
    counts = counts.sort_values(["g", "n", "f"], ascending=[True, False, True])
    best = counts.drop_duplicates("g").set_index("g")["f"]
    return best.reindex(frame["g"]).to_numpy(dtype=np.int64)


def relabel(data, reviews, out) -> Relabelled:
    """Write ``out`` (a new folder) from ``data`` with the verdicts of ``reviews`` applied."""
    data, out = Path(data), Path(out)
    src, dst = data.resolve(), out.resolve()
    if dst == src or src in dst.parents:
        raise DataError(f"--out {out} is the input folder {data} (or inside it): relabel writes a new folder, "
                        f"never in place")
    if dst.exists() and (not dst.is_dir() or any(dst.iterdir())):
        raise DataError(f"--out {out} already exists and is not empty; name a new folder")
    if not (src / "train.csv").is_file():
        raise DataError(f"{data}: no train.csv")
    catalog = load_catalog(src, kind="train", check_images=False)
    frame = catalog.frame
    ids = frame["posting_id"].astype(str).to_numpy()
    labels = frame["label_group"].to_numpy(dtype=np.int64)
    review = ReviewFile(reviews, None, postings=ids, groups=labels, name=str(data))
    verdicts = review.verdicts()
    new_labels, fixes = corrected_labels(ids, labels, verdicts)
    folds = load_folds(src, frame)
    fold_moves = pd.DataFrame(columns=["posting_id", "label_group", "old_fold", "new_fold"])
    new_folds = None
    if folds is not None:
        old = folds["fold"].to_numpy(dtype=np.int64)
        new = group_whole_folds(new_labels, old)
        moved = np.flatnonzero(new != old)
        fold_moves = pd.DataFrame({"posting_id": ids[moved], "label_group": new_labels[moved], "old_fold": old[moved],
                                   "new_fold": new[moved]})
        new_folds = pd.DataFrame({"posting_id": ids, "fold": new, "split": [SPLIT_OF_FOLD.get(int(f), "test")
                                                                             for f in new]})
        if len(fold_moves):
            where = dict(zip(fold_moves["posting_id"], zip(fold_moves["old_fold"], fold_moves["new_fold"])))
            fixes = fixes.copy()
            fixes["reason"] = [r + (f"; fold {where[p][0]} ({SPLIT_OF_FOLD.get(int(where[p][0]))}) -> "
                                    f"{where[p][1]} ({SPLIT_OF_FOLD.get(int(where[p][1]))}), so the group stays "
                                    f"in one fold" if p in where else "")
                               for p, r in zip(fixes["posting_id"], fixes["reason"])]
    # the CSV as the user has it, only label_group changed
    try:
        raw = pd.read_csv(src / "train.csv", dtype=str, keep_default_na=False, na_filter=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{data / 'train.csv'}: unreadable ({' '.join(str(exc).split())})") from None
    by_id = dict(zip(ids, new_labels))
    raw_ids = raw["posting_id"].astype(str).str.strip()
    raw["label_group"] = [str(by_id.get(p, v)) for p, v in zip(raw_ids, raw["label_group"])]
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".tmp", dir=dst.parent))
    try:
        raw.to_csv(tmp / "train.csv", index=False)
        if new_folds is not None:
            new_folds.to_csv(tmp / FOLDS_FILE, index=False)
        fixes.to_csv(tmp / FIXES_FILE, index=False)
        meta = {}
        if (src / "catalog.json").is_file():
            try:
                meta = json.loads((src / "catalog.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                meta = {}
        meta.update(relabelled_from=str(src), reviews=str(Path(reviews).resolve()), label_fixes=int(len(fixes)),
                    fold_moves=int(len(fold_moves)))
        (tmp / "catalog.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
        images = src / "train_images"
        if images.exists():
            os.symlink(images, tmp / "train_images", target_is_directory=True)
        if dst.exists():
            dst.rmdir()  # empty, checked above
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return Relabelled(out, fixes, fold_moves, len(verdicts), int(len(np.unique(labels))),
                      int(len(np.unique(new_labels))))

"""Loading and validating a catalog in the Kaggle layout.

A catalog folder holds ``train.csv`` + ``train_images/`` (labelled) or
``test.csv`` + ``test_images/`` (prediction only, no ``label_group``).
Everything a user can get wrong in such a folder is reported in one line:
fatal problems raise :class:`~shopee_core.errors.DataError`, benign ones are
fixed up and listed in :attr:`Catalog.warnings`.

Fatal: missing / empty / header-only file, invalid UTF-8 (byte offset and line),
UTF-16, unparseable CSV, duplicate column names, missing required columns (with a
suggestion when a column looks renamed), empty posting_id or image, image names
that are paths, duplicate posting_ids, non-integer label_group, and (with
``check_images``) image files absent from the image folder.

Tolerated with a warning: UTF-8 BOM (stripped), extra columns (kept), values with
surrounding spaces in the id columns (trimmed), empty image_phash, empty titles
(-> ""), control characters in titles (-> spaces), literal escape sequences in
titles (kept raw; :func:`~shopee_core.data.text.clean_title` decodes them),
titles over 1,000 characters (truncated), label_group written as floats ("12.0"),
label groups with a single posting, a label_group column in test mode (dropped).
CRLF line endings are simply fine.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..errors import DataError, examples
from .images import open_image
from .text import LITERAL_ESCAPE_RE

REQUIRED_COLUMNS = ("posting_id", "image", "image_phash", "title", "label_group")
LABEL_COLUMN = "label_group"
MAX_TITLE_CHARS = 1000
KINDS = ("train", "test")

_CONTROL_CHARS = r"[\x00-\x1f\x7f-\x9f]"
_INT_RE = r"[+-]?\d+"
_INTEGRAL_FLOAT_RE = r"[+-]?\d+\.0*"


@dataclass
class Catalog:
    """A validated catalog: the postings table plus where its images live."""

    root: Path
    kind: str
    frame: pd.DataFrame
    image_dir: Path
    warnings: list[str] = field(default_factory=list)

    @property
    def has_labels(self) -> bool:
        return LABEL_COLUMN in self.frame.columns

    def image_path(self, i: int) -> Path:
        """Path of the image of row ``i`` (positional)."""
        return self.image_dir / self.frame["image"].iat[i]

    def image_paths(self) -> list[Path]:
        return [self.image_dir / name for name in self.frame["image"]]

    def __len__(self) -> int:
        return len(self.frame)


# --------------------------------------------------------------------- helpers

def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _normalise_name(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", str(name).strip().lower()).strip("_")


def _suggest(missing: str, columns: list[str]) -> str | None:
    target = _normalise_name(missing)
    for col in columns:
        if col != missing and _normalise_name(col) == target:
            return col
    return None


def _header(text: str) -> list[str]:
    try:
        return next(csv.reader(io.StringIO(text)))
    except (StopIteration, csv.Error):
        return []


def _decode(path: Path, raw: bytes, warnings: list[str]) -> str:
    offset = 0
    if raw.startswith(codecs.BOM_UTF8):
        raw = raw[len(codecs.BOM_UTF8) :]
        offset = len(codecs.BOM_UTF8)
        warnings.append(f"{path.name}: UTF-8 byte-order mark (BOM) stripped")
    elif raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise DataError(f"{path}: the file is UTF-16 encoded; save it as UTF-8")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        bad = raw[exc.start]
        raise DataError(
            f"{path}: not valid UTF-8 (byte 0x{bad:02x} at byte offset {exc.start + offset}, "
            f"line {line}); save the file as UTF-8"
        ) from None


def _parse(path: Path, text: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.StringIO(text),
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=True,
        )
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file (no header, no rows)") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot parse as CSV ({first})") from None


def _ids_where(frame: pd.DataFrame, mask) -> list[str]:
    return frame.loc[np.asarray(mask, dtype=bool), "posting_id"].tolist()


def _rows_where(mask) -> list[int]:
    return (np.flatnonzero(np.asarray(mask, dtype=bool)) + 1).tolist()


# ---------------------------------------------------------------- read + check
def read_postings_csv(
    path: str | os.PathLike, require_labels: bool | None = None, required=REQUIRED_COLUMNS
) -> tuple[pd.DataFrame, list[str]]:
    """Parse and validate one postings CSV; return ``(frame, warnings)``.

    ``require_labels``: True -> ``label_group`` must be present (train.csv);
    False -> prediction-only, a ``label_group`` column is dropped with a warning
    (test.csv); None -> optional, validated when present.

    The frame has ``posting_id, image, image_phash, title`` as strings (title raw,
    cleaned only as the module docstring lists), ``label_group`` as int64 when
    kept, then any extra columns as strings. Raises DataError on fatal problems.
    ``required`` narrows the required columns for files that only carry ids and labels
    (e.g. the postings table given to ``evaluate``); checks of absent columns are skipped.
    """
    path = Path(path)
    warnings: list[str] = []
    frame = _parse(path, _read_text(path, warnings))
    frame, base, keep_labels = _select_columns(path, frame, required, require_labels, warnings)
    _trim_ids(frame, [c for c in ("posting_id", "image", "image_phash") if c in base]
              + ([LABEL_COLUMN] if keep_labels else []), warnings)
    _check_ids(path, frame)
    if "image" in base:
        _check_image_names(path, frame)
    if "image_phash" in base:
        _warn_empty_phash(frame, warnings)
    if keep_labels:
        frame[LABEL_COLUMN] = _parse_labels(path, frame, warnings)
    if "title" in base:
        frame["title"] = _clean_titles(frame, warnings)
    return frame, warnings


def _read_text(path: Path, warnings: list[str]) -> str:
    """The file's text (UTF-8, BOM stripped), refusing missing, unreadable, empty or misnamed files."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, expected a CSV file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if not raw.strip():
        raise DataError(f"{path}: empty file (no header, no rows)")
    text = _decode(path, raw, warnings)
    if not text.strip():
        raise DataError(f"{path}: empty file (no header, no rows)")
    header = _header(text)
    dupes = sorted({c for c in header if header.count(c) > 1})
    if dupes:
        raise DataError(f"{path}: duplicate column names: {examples(dupes)}")
    return text


def _select_columns(path: Path, frame: pd.DataFrame, required, require_labels, warnings):
    """The required columns (with a rename hint for near-misses), labels if kept, extras last."""
    columns = [str(c) for c in frame.columns]
    frame.columns = columns
    needed = [c for c in required if c != LABEL_COLUMN]
    missing = [c for c in needed + ([LABEL_COLUMN] if require_labels else []) if c not in columns]
    if missing:
        hints = []
        for col in missing:
            guess = _suggest(col, columns)
            if guess is not None:
                hints.append(f'"{guess}" looks like {col} (rename it to exactly "{col}")')
        msg = (
            f"{path}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)} (found: {', '.join(repr(c) for c in columns)})"
        )
        if hints:
            msg += "; " + "; ".join(hints)
        raise DataError(msg)
    if len(frame) == 0:
        raise DataError(f"{path}: header only, no rows")
    keep_labels = LABEL_COLUMN in columns and require_labels is not False
    if LABEL_COLUMN in columns and require_labels is False:
        warnings.append(f"{LABEL_COLUMN} column ignored (prediction-only data)")
    base = list(needed) + ([LABEL_COLUMN] if keep_labels else [])
    extra = [c for c in columns if c not in base and c not in REQUIRED_COLUMNS]
    if extra:
        warnings.append(
            f"{_plural(len(extra), 'extra column')} kept: {', '.join(repr(c) for c in extra)}"
        )
    frame = frame[base + extra].copy().reset_index(drop=True)
    for col in frame.columns:
        frame[col] = frame[col].fillna("").astype(str)
    return frame, base, keep_labels


def _trim_ids(frame: pd.DataFrame, columns: list[str], warnings: list[str]) -> None:
    trimmed = 0
    for col in columns:
        stripped = frame[col].str.strip()
        trimmed += int((stripped != frame[col]).sum())
        frame[col] = stripped
    if trimmed:
        warnings.append(
            f"{_plural(trimmed, 'value')} with surrounding spaces in posting_id/image/"
            f"image_phash/label_group trimmed"
        )


def _check_ids(path: Path, frame: pd.DataFrame) -> None:
    """posting_ids must be non-empty and unique."""
    empty_id = (frame["posting_id"] == "").to_numpy()
    if empty_id.any():
        raise DataError(
            f"{path}: {_plural(int(empty_id.sum()), 'row')} with an empty posting_id "
            f"(data rows {examples(_rows_where(empty_id))})"
        )
    counts = frame["posting_id"].value_counts(sort=False)
    dup = counts[counts > 1]
    if len(dup):
        ex = [f"{pid} ({n}x)" for pid, n in dup.items()]
        verb = "occurs" if len(dup) == 1 else "occur"
        raise DataError(
            f"{path}: {_plural(len(dup), 'posting_id')} {verb} more than once "
            f"({int(dup.sum()):,} rows): {examples(ex)}; posting_ids must be unique"
        )


def _check_image_names(path: Path, frame: pd.DataFrame) -> None:
    """Every posting names an image, as a plain file name inside the image folder."""
    images = frame["image"]
    empty_image = (images == "").to_numpy()
    if empty_image.any():
        raise DataError(
            f"{path}: {_plural(int(empty_image.sum()), 'posting')} without an image file name: "
            f"{examples(_ids_where(frame, empty_image))}"
        )
    unsafe = (
        images.str.contains(r"[/\\\x00]", regex=True)
        | images.isin([".", ".."])
        | images.str.match(r"^[A-Za-z]:")
    ).to_numpy()
    if unsafe.any():
        raise DataError(
            f"{path}: image must be a plain file name inside the image folder; "
            f"{_plural(int(unsafe.sum()), 'value')} {'is' if unsafe.sum() == 1 else 'are'} not: "
            f"{examples(images[unsafe].tolist())}"
        )


def _warn_empty_phash(frame: pd.DataFrame, warnings: list[str]) -> None:
    empty_phash = (frame["image_phash"] == "").to_numpy()
    if empty_phash.any():
        warnings.append(
            f"{_plural(int(empty_phash.sum()), 'empty image_phash', 'empty image_phashes')}: "
            f"{examples(_ids_where(frame, empty_phash))}"
        )


def _parse_labels(path: Path, frame: pd.DataFrame, warnings: list[str]) -> np.ndarray:
    """label_group as int64 (integral floats such as ``12.0`` accepted with a warning)."""
    labels = frame[LABEL_COLUMN]
    is_int = labels.str.fullmatch(_INT_RE).to_numpy()
    is_float_int = ~is_int & labels.str.fullmatch(_INTEGRAL_FLOAT_RE).to_numpy()
    bad = ~(is_int | is_float_int)
    if bad.any():
        ex = [f"{v!r} ({pid})" for v, pid in zip(labels[bad], frame["posting_id"][bad])]
        raise DataError(
            f"{path}: label_group must be an integer; {_plural(int(bad.sum()), 'value')} "
            f"{'is' if bad.sum() == 1 else 'are'} not: {examples(ex)}"
        )
    if is_float_int.any():
        warnings.append(
            f"{_plural(int(is_float_int.sum()), 'label_group value')} written as floats "
            f"(e.g. {labels[is_float_int].iloc[0]!r}) read as integers"
        )
        labels = labels.str.replace(r"\.0*$", "", regex=True)
    try:
        values = np.array([int(v) for v in labels], dtype=np.int64)
    except OverflowError:
        raise DataError(f"{path}: label_group values must fit in a 64-bit integer") from None
    sizes = pd.Series(values).value_counts()
    singles = sizes[sizes == 1]
    if len(singles):
        warnings.append(
            f"{_plural(len(singles), 'label group')} with a single posting "
            f"(every Kaggle group has >= 2): {examples(singles.index.tolist())}"
        )
    return values


def _clean_titles(frame: pd.DataFrame, warnings: list[str]) -> pd.Series:
    """Titles with control characters replaced, over-long ones cut; escapes kept raw (warned)."""
    titles = frame["title"]
    control = titles.str.contains(_CONTROL_CHARS, regex=True).to_numpy()
    if control.any():
        titles = titles.str.replace(_CONTROL_CHARS, " ", regex=True)
        warnings.append(
            f"{_plural(int(control.sum()), 'title')} with control characters (replaced by spaces): "
            f"{examples(_ids_where(frame, control))}"
        )
    empty_title = (titles.str.strip() == "").to_numpy()
    if empty_title.any():
        titles = titles.where(~empty_title, "")
        warnings.append(
            f"{_plural(int(empty_title.sum()), 'empty title')}: "
            f"{examples(_ids_where(frame, empty_title))}"
        )
    escapes = titles.str.contains(LITERAL_ESCAPE_RE.pattern, regex=True).to_numpy()
    if escapes.any():
        warnings.append(
            f"{_plural(int(escapes.sum()), 'title')} with literal escape sequences such as \\xe2 "
            f"(kept raw; clean_title decodes them): {examples(_ids_where(frame, escapes))}"
        )
    long = (titles.str.len() > MAX_TITLE_CHARS).to_numpy()
    if long.any():
        titles = titles.where(~long, titles.str.slice(0, MAX_TITLE_CHARS))
        warnings.append(
            f"{_plural(int(long.sum()), 'title')} longer than {MAX_TITLE_CHARS:,} characters "
            f"truncated: {examples(_ids_where(frame, long))}"
        )
    return titles.astype(str)


# ------------------------------------------------------------------- catalogs
def _list_files(folder: Path) -> set[str]:
    """Names of the plain files in ``folder`` (one directory scan, no stat per row)."""
    try:
        with os.scandir(folder) as entries:
            return {e.name for e in entries if e.is_file()}
    except OSError as exc:
        raise DataError(f"{folder}: cannot list the image folder ({exc.strerror or exc})") from None


def _unique(values) -> list[str]:
    return list(dict.fromkeys(values))


def load_catalog(root: str | os.PathLike, kind: str = "auto", check_images: bool = True) -> Catalog:
    """Load a Kaggle-layout folder.

    ``kind``: "train" (train.csv + train_images/), "test" (test.csv +
    test_images/, no labels) or "auto" (train.csv when present, else test.csv).
    ``root`` may also be the train.csv / test.csv file itself.
    With ``check_images`` every referenced image file must exist (existence only,
    one scan of the folder); use :func:`find_bad_images` with ``verify=True`` to
    check that they decode.
    """
    root = Path(root)
    if kind not in ("auto",) + KINDS:
        raise DataError(f"unknown catalog kind {kind!r}; use auto, train or test")
    if root.is_file():
        stem = root.name.lower()
        if stem not in ("train.csv", "test.csv"):
            raise DataError(
                f"{root}: expected a catalog folder (train.csv + train_images/ or "
                f"test.csv + test_images/), got a file"
            )
        if kind == "auto":
            kind = stem[: -len(".csv")]
        root = root.parent
    if not root.exists():
        raise DataError(f"{root}: no such folder")
    if not root.is_dir():
        raise DataError(f"{root}: not a folder")
    if kind == "auto":
        if (root / "train.csv").is_file():
            kind = "train"
        elif (root / "test.csv").is_file():
            kind = "test"
        else:
            raise DataError(
                f"{root}: no train.csv or test.csv (expected the Kaggle layout: train.csv + "
                f"train_images/ or test.csv + test_images/)"
            )
    csv_path = root / f"{kind}.csv"
    if not csv_path.is_file():
        raise DataError(f"{root}: no {kind}.csv")
    frame, warnings = read_postings_csv(csv_path, require_labels=(kind == "train"))
    image_dir = root / f"{kind}_images"
    if check_images:
        if not image_dir.is_dir():
            raise DataError(f"{root}: no {kind}_images/ folder beside {kind}.csv")
        present = _list_files(image_dir)
        names = _unique(frame["image"])
        missing = [n for n in names if n not in present]
        if missing:
            raise DataError(
                f"{image_dir}: {len(missing):,} of {len(names):,} image files are missing: "
                f"{examples(missing)}"
            )
    return Catalog(root=root, kind=kind, frame=frame, image_dir=image_dir, warnings=warnings)


def find_bad_images(
    catalog: Catalog, verify: bool = False, progress: bool = False
) -> dict[str, list[str]]:
    """Image files of ``catalog`` that are missing or (with ``verify``) do not decode.

    Returns ``{"missing": [...], "unreadable": [...]}`` of image file names (each
    once, in catalog order). Every file is checked; nothing stops half-way.
    ``verify`` opens each present file with :func:`~shopee_core.data.images.open_image`
    (header checks and a full decode), on a few threads.
    """
    names = _unique(catalog.frame["image"])
    present = _list_files(catalog.image_dir) if catalog.image_dir.is_dir() else set()
    missing = [n for n in names if n not in present]
    unreadable: list[str] = []
    if verify:
        todo = [n for n in names if n in present]

        def bad(name: str) -> bool:
            try:
                open_image(catalog.image_dir / name)
            except Exception:  # DataError, or anything odd: report it, keep going
                return True
            return False

        bar = None
        if progress:
            bar = tqdm(total=len(todo), desc="checking images", unit="img")
        workers = max(1, min(8, os.cpu_count() or 1))
        try:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                for name, is_bad in zip(todo, pool.map(bad, todo)):
                    if is_bad:
                        unreadable.append(name)
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()
    return {"missing": missing, "unreadable": unreadable}

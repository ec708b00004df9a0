"""Atomic artefact writing, pickle-free loading and a locked JSON-lines log.

Every artefact is written to a temporary file in the destination folder and
renamed into place, so an interrupted run leaves either the previous good file
or the new one, never half of one. A temporary file names its writer's pid
(``.NAME.PID-XXXX.tmp``): one left by a killed process is removed by
:func:`sweep_temp` once that process is gone, never one a live writer is filling.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import io
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from . import faults
from .errors import EmbeddingError, ShopeeError
from .locking import pid_alive

logger = logging.getLogger(__name__)
_TEMP = re.compile(r"\..+\.(\d+)-[^.]+\.tmp")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        faults.step(f"write:{path.name}")  # written, not yet in place
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def sweep_temp(folder, recursive: bool = False, name: str | None = None) -> list[str]:
    """Remove the temporary files of :func:`atomic_path` in ``folder`` whose writer is gone
    (killed before its rename); returns their names. A live writer's file is left alone.
    ``name``: only those of that file (a folder that is not ours, such as ``embed --out``'s)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = []
    pattern = f".{glob.escape(name)}.*.tmp" if name else ".*.tmp"
    for p in (folder.rglob(pattern) if recursive else folder.glob(pattern)):
        m = _TEMP.fullmatch(p.name)
        if m and p.is_file() and not pid_alive(int(m.group(1))):
            try:
                p.unlink()
                gone.append(p.name)
            except OSError:
                pass
    if gone:
        logger.info("removed %d temporary file(s) left by killed runs in %s", len(gone), folder)
    return gone


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """``durable=False`` skips the fsync (~4 ms a file): for many small files that can be made again,
    such as a generated catalog's images, or that a caller syncs once before it publishes them
    (bundle.writer.seal); the rename still makes each one whole or absent."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def atomic_save_npy(path: str | os.PathLike, array: np.ndarray) -> None:
    array = np.asarray(array)
    if array.dtype == object:
        raise EmbeddingError(f"refusing to save an object array to {path}")
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=False)
    atomic_write_bytes(path, buf.getvalue())


def atomic_save_npz(path: str | os.PathLike, compress: bool = True, **arrays: np.ndarray) -> None:
    buf = io.BytesIO()
    (np.savez_compressed if compress else np.savez)(buf, **arrays)
    atomic_write_bytes(path, buf.getvalue())


def atomic_write_csv(path: str | os.PathLike, frame) -> None:
    """Write a pandas DataFrame as UTF-8 CSV atomically (no index)."""
    atomic_write_text(path, frame.to_csv(index=False, lineterminator="\n"))


# A text cell starting with one of these is read as a formula (or its start) by spreadsheets
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_safe(frame):
    """A copy of ``frame`` a spreadsheet opens as data: every *text* cell (and column name) that
    starts with ``= + - @``, a tab or a carriage return gets a leading apostrophe, as OWASP advises
    against CSV injection (a seller title ``=HYPERLINK(...)`` would otherwise run when a colleague
    opens the export). Numbers stay numbers (``-0.5`` is not text); ids and titles keep every
    other character. For CSVs written for people, never for files read back by programs (Kaggle
    submissions, folds, catalogs)."""

    def cell(v):
        return "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v

    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(cell)
    out.columns = [cell(c) for c in out.columns]
    return out


def people_csv(frame) -> str:
    """``frame`` as CSV text for people (spreadsheets): :func:`formula_safe`, no index, RFC 4180
    line ends (so a cell holding a carriage return is quoted, not split)."""
    return formula_safe(frame).to_csv(index=False, lineterminator="\r\n")


def atomic_write_people_csv(path: str | os.PathLike, frame) -> None:
    """Write :func:`people_csv` atomically (exports such as suspects or label fixes)."""
    atomic_write_text(path, people_csv(frame))


def load_npy(path: str | os.PathLike, mmap: bool = False, error=EmbeddingError) -> np.ndarray:
    """Load a ``.npy`` file without ever unpickling; a one-line ``error`` otherwise.

    ``mmap``: memory-map read-only (bundle arrays the dashboard only reads).
    """
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: no such file")
    try:
        return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)
    except ValueError as exc:  # object arrays need pickle
        raise error(f"{path.name}: unreadable .npy file: not plain numeric data, and pickles are never "
                    f"loaded ({' '.join(str(exc).split())})") from None
    except Exception as exc:
        raise error(f"{path.name}: unreadable .npy file ({' '.join(str(exc).split())})") from None


def load_matrix(path: str | os.PathLike):
    """Embeddings from ``.npy`` (dense) or ``.npz`` (CSR, scipy's format), never unpickling."""
    path = Path(path)
    if path.suffix == ".npz":
        if not path.is_file():
            raise EmbeddingError(f"{path}: no such file")
        try:
            return sp.load_npz(path).tocsr()
        except Exception as exc:
            raise EmbeddingError(f"{path}: not a sparse matrix .npz file ({exc})") from None
    return load_npy(path)


def save_matrix(path: str | os.PathLike, matrix) -> None:
    """Write dense (``.npy``) or sparse (``.npz``) embeddings atomically."""
    path = Path(path)
    if sp.issparse(matrix):
        if path.suffix != ".npz":
            raise EmbeddingError(f"{path}: sparse embeddings are written as .npz")
        buf = io.BytesIO()
        sp.save_npz(buf, sp.csr_matrix(matrix), compressed=True)
        atomic_write_bytes(path, buf.getvalue())
    else:
        if path.suffix != ".npy":
            raise EmbeddingError(f"{path}: dense embeddings are written as .npy")
        atomic_save_npy(path, matrix)


# --------------------------------------------------------------------------- JSON lines
def append_jsonl(path: str | os.PathLike, *records: dict) -> None:
    """Append ``records`` to a JSON-lines file, one object a line, safely under concurrency and crashes.

    Appends of several processes are serialised by an exclusive ``flock`` on the file itself
    (it is only ever appended to, never replaced, so its inode is a stable lock). Each call
    writes its lines in one ``write`` and fsyncs before returning: a record is stored once
    this returns. A line torn by a crash (no final newline: its writer never returned) is cut
    off before the new lines, with a note, so it cannot glue onto them.
    """
    path = Path(path)
    data = "".join(json.dumps(r, ensure_ascii=False, allow_nan=False, sort_keys=False) + "\n"
                   for r in records).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            keep = _last_newline(fd, size)
            logger.warning(f"note: {path.name}: dropped a torn last line ({size - keep} bytes) left by an "
                           f"interrupted write")
            os.ftruncate(fd, keep)
        faults.step(f"append:{path.name}")
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)  # releases the lock


def _last_newline(fd: int, size: int) -> int:
    """The length of the file up to and including its last newline (0 if none)."""
    end = size
    while end > 0:
        start = max(0, end - (1 << 16))
        block = os.pread(fd, end - start, start)
        at = block.rfind(b"\n")
        if at >= 0:
            return start + at + 1
        end = start
    return 0


def read_jsonl(path: str | os.PathLike, error=ShopeeError) -> list[dict]:
    """Every record of a JSON-lines file written by :func:`append_jsonl` ([] when it does not exist).

    A torn last line (a crash mid-append: no final newline, not valid JSON) is ignored with a
    note; any other line that is not a JSON object is a one-line ``error`` naming it."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    lines = raw.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    out = []
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        out.append(_record(line, path, i, error))
    if tail.strip():
        try:
            out.append(_record(tail, path, len(lines) + 1, error))
        except error:
            logger.warning(f"note: {path.name}: ignored a torn last line (line {len(lines) + 1}, {len(tail)} bytes) "
                           f"left by an interrupted write")
    return out


def _record(line: bytes, path: Path, number: int, error) -> dict:
    try:
        value = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"{path}: line {number} is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise error(f"{path}: line {number} is not a JSON object")
    return value

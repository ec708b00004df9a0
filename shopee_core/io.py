"""Atomic artefact writing and pickle-free loading.

Every artefact is written to a temporary file in the destination folder and
renamed into place, so an interrupted run leaves either the previous good file
or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

import numpy as np

from .errors import EmbeddingError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, durable: bool = True) -> None:
    """``durable=False``: no fsync of this file (a caller writing thousands of small files into a
    staging folder syncs once before it publishes them, see bundle.writer.seal)."""
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            if durable:
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
        import scipy.sparse as sp

        if not path.is_file():
            raise EmbeddingError(f"{path}: no such file")
        try:
            return sp.load_npz(path).tocsr()
        except Exception as exc:
            raise EmbeddingError(f"{path}: not a sparse matrix .npz file ({exc})") from None
    return load_npy(path)


def save_matrix(path: str | os.PathLike, matrix) -> None:
    """Write dense (``.npy``) or sparse (``.npz``) embeddings atomically."""
    import scipy.sparse as sp

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

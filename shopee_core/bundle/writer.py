"""Writing bundle files atomically and sealing them with a checksummed manifest."""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..io import atomic_path, atomic_save_npy, atomic_save_npz, atomic_write_bytes, atomic_write_json
from .format import FORMAT_VERSION, MANIFEST, OPTIONAL_POSTING_COLUMNS, POSTING_COLUMNS, POSTINGS


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_postings(root: Path, frame: pd.DataFrame) -> None:
    missing = [c for c in POSTING_COLUMNS if c not in frame]
    if missing:
        raise ValueError(f"postings frame lacks {missing}")
    table = frame[list(POSTING_COLUMNS) + [c for c in OPTIONAL_POSTING_COLUMNS if c in frame]].reset_index(drop=True)
    table["label_group"] = table["label_group"].astype("Int64")
    with atomic_path(root / POSTINGS) as tmp:
        table.to_parquet(tmp, index=False)


def write_embeddings(root: Path, rel_dir: str, matrix, dtype: str = "float32") -> str:
    """Dense ``embeddings.npy`` (``dtype``: float32, or float16 for a lean bundle) or sparse
    ``embeddings.npz`` (float32 CSR arrays); returns the relative path."""
    if sp.issparse(matrix):
        m = sp.csr_matrix(matrix, dtype=np.float32)
        rel = f"{rel_dir}/embeddings.npz"
        atomic_save_npz(root / rel, data=m.data, indices=m.indices.astype(np.int32),
                        indptr=m.indptr.astype(np.int64), shape=np.array(m.shape, dtype=np.int64))
        return rel
    rel = f"{rel_dir}/embeddings.npy"
    atomic_save_npy(root / rel, np.asarray(matrix, dtype=np.dtype(dtype)))
    return rel


def write_neighbors(root: Path, rel: str, tables: dict, dtype: str = "float32") -> str:
    """``tables``: split -> (global idx int32 (n, k), sim (n, k)); similarities stored as ``dtype``.
    A lean float16 bundle (the committed demo) compresses its tables; a float32 one, made for scale,
    does not: float32 similarities hardly compress, and deflating them was ~14 % of a Kaggle-shaped
    build (and an inflate on every table the dashboard opens)."""
    arrays = {}
    for split, (idx, sim) in tables.items():
        arrays[f"{split}_idx"] = np.asarray(idx, dtype=np.int32)
        arrays[f"{split}_sim"] = np.asarray(sim, dtype=np.dtype(dtype))
    atomic_save_npz(root / rel, compress=np.dtype(dtype) != np.float32, **arrays)
    return rel


def rows_key(split: str, variant: str, name: str) -> str:
    return f"{split}.{variant}.{name}"


def write_rows(root: Path, rel: str, rows: dict) -> str:
    """``rows``: (split, variant) -> per-row arrays with ``tp`` and ``n_pred`` (|X∩Y| and |Y|, self
    included). With the pool's labels they give every row's F1, precision and recall exactly, so
    intervals and paired comparisons need no neighbour table at page load."""
    arrays = {}
    for (split, variant), r in rows.items():
        for name in ("tp", "n_pred"):
            arrays[rows_key(split, variant, name)] = np.asarray(r[name], dtype=np.int32)
    atomic_save_npz(root / rel, **arrays)
    return rel


def write_array(root: Path, rel: str, array: np.ndarray) -> str:
    atomic_save_npy(root / rel, array)
    return rel


def write_jpeg(root: Path, rel: str, image, quality: int = 80) -> str:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality, optimize=True)
    atomic_write_bytes(root / rel, buf.getvalue(), durable=False)  # synced once, before the manifest (seal)
    return rel


def seal(root: Path, manifest: dict) -> dict:
    """Fill in the sha256 of every file and write ``manifest.json`` last (atomically).

    ``manifest["models"][i]["files"]`` maps names to relative paths; top-level
    ``files`` gets every other file of the bundle.
    """
    manifest = dict(manifest)
    manifest["format_version"] = FORMAT_VERSION
    claimed = set()
    for model in manifest["models"]:
        files = {}
        for name, rel in model["files"].items():
            rel = rel["path"] if isinstance(rel, dict) else rel
            files[name] = {"path": rel, "sha256": sha256(root / rel)}
            claimed.add(rel)
        model["files"] = files
    others = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_file() and rel != MANIFEST and rel not in claimed and not path.name.startswith("."):
            others[rel] = sha256(path)
    manifest["files"] = others
    os.sync()  # every file (thumbnails are written without an fsync each) is on disk before the manifest
    atomic_write_json(root / MANIFEST, manifest)
    return manifest


def reseal(root: Path, manifest: dict, added=(), dropped=()) -> dict:
    """:func:`seal` for a sealed folder that gained the files ``added`` and lost ``dropped`` since
    (paths relative to it): only those are hashed, where a 70,000-posting bundle's gigabytes would be."""
    manifest, dropped = dict(manifest), set(dropped)
    files = {rel: sha for rel, sha in manifest["files"].items() if rel not in dropped}
    files.update({rel: sha256(root / rel) for rel in added})
    manifest["files"] = dict(sorted(files.items()))
    os.sync()
    atomic_write_json(root / MANIFEST, manifest)
    return manifest

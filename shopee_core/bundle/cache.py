"""The builder's cache of trained runs and embeddings, keyed by everything they come from.

A cached artefact's key is the model id, a hash of its recipe and a fingerprint of
the data it was computed from: every posting's id, title, label, split and pHash
and, for image models, the bytes of every image. Regenerate the catalog, change a
fold, swap an image, and the key changes: the work is redone, never served stale.
Cached matrices are checked against the catalog's row count on reuse, and each
step says whether it reused or recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import time
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.fingerprint import images_digest
from ..errors import ShopeeError
from ..io import atomic_save_npy, atomic_write_json, load_matrix, load_npy, save_matrix
from ..matching.embeddings import row_norms
from ..models.embedders import to_storage
from ..models.registry import ModelEntry

IMAGE_KINDS = ("image", "image_frozen", "image_zeroshot")
log = logging.getLogger(__name__)


class Stage:
    """Cached intermediate results in the staging folder beside the bundle."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, *parts) -> Path:
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p

    def prune(self, folder: str, model_id: str, keep: str) -> list[str]:
        """Remove the model's cached entries made under another key (other data or recipe)."""
        gone = []
        where = self.root / folder
        if not where.is_dir():
            return gone
        for p in where.iterdir():
            if p.name.startswith(f"{model_id}--") and not p.name.startswith(keep):
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
                gone.append(p.name)
        return gone


def spec_hash(entry: ModelEntry) -> str:
    return hashlib.sha256(json.dumps(entry.as_dict(), sort_keys=True).encode()).hexdigest()[:10]


class DataFingerprints:
    """Fingerprints of a catalog with its splits: ``postings`` (ids, titles, labels, splits,
    images' names and pHashes) and ``images`` (that plus every image's bytes, hashed on first use)."""

    def __init__(self, catalog, frame: pd.DataFrame):
        self.catalog, self.frame = catalog, frame

    @cached_property
    def postings(self) -> str:
        h = hashlib.sha256()
        for col in ("posting_id", "title", "label_group", "split", "image", "image_phash"):
            if col in self.frame:
                h.update(col.encode())
                h.update(pd.util.hash_pandas_object(self.frame[col].astype(str), index=False).to_numpy().tobytes())
        return h.hexdigest()[:12]

    @cached_property
    def images(self) -> str:
        return images_digest(self.catalog.image_dir, self.frame["image"], salt=self.postings)

    def of(self, entry: ModelEntry) -> str:
        return self.images if entry.kind in IMAGE_KINDS else self.postings


def cache_key(entry: ModelEntry, fingerprints) -> str:
    return f"{entry.id}--{spec_hash(entry)}-{fingerprints.of(entry)}"


def run_folder(entry: ModelEntry, stage: Stage, fingerprints) -> Path:
    """Where a trained entry's run lives in the cache (its history ships with the bundle)."""
    return stage.root / "runs" / cache_key(entry, fingerprints)


def leaf_embeddings(entry: ModelEntry, data_dir: Path, catalog, frame, stage: Stage, fingerprints,
                    device, workers) -> tuple:
    """Rows of every posting (train.csv order, storage form: float32 unit rows or CSR), their raw norms (dense only),
    and how they were obtained ("reused cache ..." or "computed ...")."""
    key = cache_key(entry, fingerprints)
    out = stage.path("emb", f"{key}.npz" if entry.kind == "tfidf" else f"{key}.npy")
    norms_path = stage.path("emb", f"{key}.norms.npy")
    if out.exists():
        m = load_matrix(out)
        # float16 dense rows were written by an older version: thresholds are now searched on float32
        if m.shape[0] == len(frame) and (sp.issparse(m) or m.dtype == np.float32):
            norms = load_npy(norms_path) if norms_path.exists() else None
            return m, norms, f"reused cached embeddings {out.name}"
        out.unlink()  # a cache file that does not fit the catalog is never used
    for gone in stage.prune("emb", entry.id, key) + stage.prune("runs", entry.id, key):
        log.info(f"    {entry.id}: dropped cache {gone} (made from other data or another recipe)")
    how = "computed"
    features = stage.root / "features"  # pooled backbone features, shared by models of one backbone and size
    if entry.trainable:
        from ..training.embed import embed_run
        from ..training.loop import train

        run = stage.path("runs", key)
        if not (run / "done.json").exists():
            resumed = (run / "config.json").exists()
            train(entry, data_dir, run, resume=resumed, device=device, workers=workers, features_dir=features)
            atomic_write_json(run / "done.json", {"finished": time.time()})
            how = "trained (resumed) and embedded" if resumed else "trained and embedded"
        else:
            how = "embedded with the cached trained run"
        x, _ = embed_run(run, data_dir, device=device, workers=workers, features_dir=features)
    else:
        from ..training.embed import embed_untrained

        x = embed_untrained(entry, catalog, frame, device=device, features_dir=features)
    if x.shape[0] != len(frame):
        raise ShopeeError(f"{entry.id}: {x.shape[0]} embedding rows for {len(frame)} postings")
    norms = None if sp.issparse(x) else row_norms(np.asarray(x, dtype=np.float32))
    m = to_storage(x)
    if norms is not None:
        atomic_save_npy(norms_path, norms)
    save_matrix(out, m)
    return m, norms, how

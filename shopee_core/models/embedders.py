"""Embeddings of the baselines that need no network (TF-IDF, pHash, E5), and how rows are stored.

Zero-shot and trained neural encoders are embedded by :mod:`shopee_core.training.embed`.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.text import title_cleaning
from ..errors import ShopeeError
from ..matching import l2_normalise
from . import phash, tfidf
from .registry import ModelEntry

BASELINE_KINDS = ("tfidf", "phash", "e5")


def embed_baseline(entry: ModelEntry, frame, progress: bool = True):
    """Rows for every posting of ``frame`` (which carries ``split`` for the per-split TF-IDF)."""
    if entry.kind == "tfidf":
        return tfidf.per_split(frame["title"].tolist(), frame["split"] if "split" in frame else ["all"] * len(frame),
                         **tfidf_overrides(entry))
    if entry.kind == "phash":
        return phash.embeddings(frame["image_phash"].tolist())
    if entry.kind == "e5":
        from .text import E5Encoder  # torch + transformers: imported only when E5 is asked for

        return E5Encoder().encode(frame["title"].tolist(), clean=title_cleaning(entry.spec, default=False),
                                  progress=progress)
    raise ShopeeError(f"model {entry.id!r} ({entry.kind}) is not a baseline")


def tfidf_overrides(entry: ModelEntry) -> dict:
    """A TF-IDF entry's parameters that differ from the seed's (``spec["params"]``): what it is
    fitted with, for its embeddings and for the vectorizer state a bundle ships for queries."""
    params = dict(entry.spec.get("params", {}))
    return {k: v for k, v in params.items() if tfidf.SEED_PARAMS.get(k) != v}


def to_storage(matrix):
    """Dense embeddings are kept L2-normalised as float32 (thresholds are searched on them; a lean
    bundle may round its copy to float16 when writing); sparse ones stay float32 CSR."""
    if sp.issparse(matrix):
        return matrix
    return l2_normalise(np.asarray(matrix, dtype=np.float32))

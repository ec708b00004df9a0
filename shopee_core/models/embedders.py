"""Embeddings of models that need no training run: TF-IDF, pHash and zero-shot encoders."""

from __future__ import annotations

import numpy as np

from ..errors import ShopeeError
from .registry import ModelEntry


def embed_untrained(entry: ModelEntry, catalog, frame, progress: bool = True, device: str | None = None):
    """Rows for every posting of ``frame`` (which carries ``split`` for per-split models)."""
    if entry.kind == "tfidf":
        from .tfidf import per_split

        return per_split(frame["title"].tolist(), frame["split"] if "split" in frame else ["all"] * len(frame),
                         **tfidf_overrides(entry))
    if entry.kind == "phash":
        from .phash import embeddings

        return embeddings(frame["image_phash"].tolist())
    if entry.kind == "e5":
        from ..data.text import title_cleaning
        from .text import E5Encoder

        return E5Encoder().encode(frame["title"].tolist(), clean=title_cleaning(entry.spec, default=False),
                                  progress=progress)
    if entry.kind in ("text_zeroshot", "image_zeroshot"):
        from ..training.inference import embed_postings, pick_device
        from ..training.model import build_model

        model = build_model(entry, None)
        dev = pick_device(device)
        if entry.kind == "image_zeroshot":
            if dev.type == "cpu":
                from ..speed import enable_cpu_speed

                enable_cpu_speed()
            paths = [catalog.image_dir / n for n in frame["image"]]
            return embed_postings(model, entry.spec, paths=paths, device=dev, progress=progress, desc=entry.id)
        return embed_postings(model, entry.spec, titles=frame["title"].tolist(), device=dev, workers=0,
                              progress=progress, desc=entry.id)
    raise ShopeeError(f"model {entry.id!r} ({entry.kind}) needs a trained run: `train` it, then `embed --run`")


def tfidf_overrides(entry: ModelEntry) -> dict:
    """A TF-IDF entry's parameters that differ from the seed's (``spec["params"]``): what it is
    fitted with, for its embeddings and for the vectorizer state a bundle ships for queries."""
    params = dict(entry.spec.get("params", {}))
    from .tfidf import SEED_PARAMS

    return {k: v for k, v in params.items() if SEED_PARAMS.get(k) != v}


def to_storage(matrix):
    """Dense embeddings are stored L2-normalised as float16; sparse ones stay float32 CSR."""
    import scipy.sparse as sp

    if sp.issparse(matrix):
        return matrix
    from ..matching import l2_normalise

    x = l2_normalise(np.asarray(matrix, dtype=np.float32))
    return x.astype(np.float16)

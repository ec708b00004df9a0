"""Scoring one trained configuration exactly as the bundle builder scores a model.

The study re-tuned thresholds on validation for every configuration of its sweeps; a sweep's
numbers must also be comparable with the bundle's leaderboard. So a finished run is embedded
(:func:`~shopee_core.training.embed.embed_run`), its valid and test rows stored as the builder
stores them (L2-normalised float16) and handed to the builder's own per-model step
(:func:`~shopee_core.bundle.builder.table_model`): T then Min2 T2 searched on valid with the
recipe's search, one INB step with T′, T2′ re-searched, F1/P/R per split for base, Min2 and INB.
Its neighbour tables land in ``<run>/scored/`` beside the score.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ..bundle.builder import SHOWN, search_of, shown_pools, table_model
from ..data import attach_splits, load_catalog, load_or_create_folds
from ..matching.embeddings import row_norms
from ..models.embedders import to_storage
from ..models.registry import ModelEntry
from ..training.history import kept_epoch, read_history


def score_run(entry: ModelEntry, run_dir, data_dir, *, features_dir=None, device=None, workers=None,
              progress: bool = True, search: str | None = None) -> dict:
    """The run's valid/test metrics (base, Min2, INB), thresholds, kept epoch and timings."""
    from ..training.embed import embed_run

    run = Path(run_dir)
    t0 = time.time()
    x, rows = embed_run(run, data_dir, device=device, progress=progress, workers=workers, features_dir=features_dir)
    catalog = load_catalog(data_dir, check_images=False)
    frame = attach_splits(catalog.frame, load_or_create_folds(data_dir, catalog.frame)).iloc[rows]
    split = frame["split"].to_numpy()
    shown = np.flatnonzero(np.isin(split, SHOWN))
    labels_all = frame["label_group"].to_numpy()
    split_rows = {s: np.flatnonzero(split[shown] == s) for s in SHOWN}
    labels = {s: labels_all[shown][r] for s, r in split_rows.items()}
    raw = {entry.id: to_storage(x[shown])}
    norms = {entry.id: row_norms(x[shown])}
    pools = shown_pools(labels, split_rows, raw, norms, int(entry.spec.get("k", 50)))
    srch = search_of(entry, search)
    _, thresholds, metrics, _ = table_model(pools, split_rows, run / "scored", entry.id, search=srch,
                                            inb_vectors=entry.spec.get("inb_vectors", "normalised"), umap=False)
    history = read_history(run)
    return {"metrics": metrics, "thresholds": thresholds, "kept_epoch": kept_epoch(history),
            "epochs": len(history), "train_seconds": round(sum(r.get("seconds") or 0 for r in history), 2),
            "score_seconds": round(time.time() - t0, 2), "n": {s: int(len(r)) for s, r in split_rows.items()}}

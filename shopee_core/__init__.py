"""Shopee product matching: data, models, matching, metrics and bundles.

Imports run one way, each layer using only those before it:

    errors, io, metrics, stats, submission, speed   (the base; stats: group-bootstrap intervals)
    -> data       Kaggle-layout loading and validation, folds, demo catalog
    -> matching   kNN, thresholds, Min2, fusion, union, INB: the one decision layer
    -> models     the recipe registry, encoders, heads, TF-IDF, pHash
    -> training   the loop, optimisers and schedules, checkpoints, embedding runs
    -> analysis   error taxonomy, agreement, leaderboard, query, UMAP, the bundle adapter
    -> bundle     format, reader, writer, the builder (which orchestrates all of the above)
    -> cli        ``python -m shopee_core``

The dashboard (``app.py``, ``app_pages/``, ``dashboard/``) and ``scripts/`` import from
here, never the reverse; the core never imports Streamlit. analysis reads bundles
through the objects bundle's reader hands it (duck-typed), so it needs no import of
bundle. Imports placed inside functions are only for heavy optional libraries (torch,
timm, transformers, faiss, umap) that a command may not need.
"""

__version__ = "0.1.0"

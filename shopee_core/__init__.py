"""Shopee product matching: data, models, matching, metrics and bundles.

Imports run one way, each layer using only those before it:

    errors, faults, locking, io, metrics, submission, speed, cache, stats   (the base; stats: group-bootstrap intervals)
    -> data       Kaggle-layout loading and validation, folds, demo catalog, image hashing
    -> matching   kNN, thresholds, Min2, fusion, union, INB: the one decision layer
    -> models     the recipe registry, encoders, heads, TF-IDF, pHash
    -> training   the loop, optimisers and schedules, checkpoints, embedding runs
    -> analysis   error taxonomy, agreement, leaderboard, query, 2-D maps, the bundle adapter
    -> bundle     format, reader, writer, the builder (which orchestrates all of the above)
    -> sweep      a recipe over a grid of spec values (Optuna), each run scored as the builder does
    -> cli        ``python -m shopee_core``

The dashboard (``app.py``, ``app_pages/``, ``dashboard/``) and ``scripts/`` import from
here, never the reverse; the core never imports Streamlit. analysis reads bundles through
the objects bundle's reader hands it (a bundle, its :class:`~shopee_core.bundle.ModelEntry`
objects), duck-typed, so it needs no import of bundle; the builder uses analysis' 2-D maps.
An import inside a function is only ever of a heavy library (torch, timm, transformers,
faiss, umap, scikit-learn, an optional weights package) or of a module of ours that loads
one, for a caller that may not need it; ``tests/test_imports.py`` checks all of this.
"""

__version__ = "0.1.0"

"""Matching: kNN within a pool, thresholds, Min2, fusion, union, INB — and the one decision layer.

A :class:`Decision` (sides of sources and thresholds, :mod:`.sources`) is applied to a
:class:`Pool` (one split's labels, embeddings and stored tables) by :func:`predictions`,
:func:`row_arrays` and :func:`scores`, searched by :func:`tune` / :func:`tune_inb`,
and drawn by :func:`curves` / :func:`min2_curve`. The CLI, the bundle builder and the
dashboard all go through these.
"""

from ..errors import DecisionError
from .apply import predictions, row_arrays, scores, union_table
from .curves import SWEEP, curves, min2_curve
from .decision import Decision, Side
from .embeddings import Embeddings, fuse, l2_normalise
from .knn import DEFAULT_K, Neighbors, knn
from .nested import extrapolate, nested_pools, pool_size_band, pool_size_curve, pool_size_draws
from .pool import Pool
from .rules import compact, mask_to_pred, predict, predict_mask, predict_query, union
from .scoring import Scorer
from .search import FULL, SEARCHES, Search, get_search, search, search_pair, search_t, search_t2
from .sources import MAX_INB_ITERS, describe_source, fusion_source, inb_source, model_source, roots
from .stability import threshold_stability
from .tune import calibrated_weights, inb_stages, search_weights, tune, tune_inb

__all__ = [
    "DEFAULT_K", "FULL", "MAX_INB_ITERS", "SEARCHES", "SWEEP", "Decision", "DecisionError", "Embeddings", "Neighbors", "Pool",
    "Scorer", "Search", "Side", "calibrated_weights", "compact", "curves", "describe_source", "fuse",
    "fusion_source", "get_search", "inb_source", "inb_stages", "knn", "l2_normalise", "mask_to_pred",
    "min2_curve", "model_source", "nested_pools", "pool_size_curve", "pool_size_draws", "pool_size_band", "extrapolate", "predict", "predict_mask", "predict_query",
    "predictions",
    "roots", "row_arrays", "scores",
    "search", "search_pair", "search_t", "search_t2", "search_weights", "threshold_stability", "tune", "tune_inb",
    "union",
    "union_table",
]

"""Matching: kNN within a pool, thresholds, Min2, fusion, union, INB — and the one decision layer.

A :class:`Decision` (sides of sources and thresholds, :mod:`.sources`) is applied to a
:class:`Pool` (one split's labels, embeddings and stored tables) by :func:`predictions`,
:func:`row_arrays` and :func:`scores`, searched by :func:`tune` / :func:`tune_inb`,
and drawn by :func:`curves` / :func:`min2_curve`; a decision's optional graph step
(:class:`GraphStep`: mutual, closure, cluster, cut-bridges) runs after its thresholds.
The CLI, the bundle builder and the dashboard all go through these.
"""

from ..errors import DecisionError
from .apply import candidate_pairs, graph_result, predicted_edges, predictions, row_arrays, scores, union_table
from .curves import SWEEP, curves, min2_curve
from .decision import Decision, Side
from .embeddings import Embeddings, fuse, l2_normalise
from .graph import GRAPH_STEPS, GraphStep
from .knn import DEFAULT_K, Neighbors, knn
from .nested import extrapolate, nested_pools, pool_size_band, pool_size_curve, pool_size_draws
from .pool import Pool
from .rules import compact, mask_to_pred, predict, predict_mask, predict_query, union
from .scoring import Scorer
from .search import FULL, SEARCHES, Search, get_search, search, search_pair, search_t, search_t2
from .sources import MAX_INB_ITERS, describe_source, fusion_source, inb_source, model_source, roots
from .stability import threshold_stability
from .tune import (
                   best_graph,
                   calibrated_weights,
                   graph_mode,
                   inb_stages,
                   search_graph_param,
                   search_weights,
                   tune,
                   tune_graph,
                   tune_inb,
)

__all__ = [
    "DEFAULT_K", "FULL", "GRAPH_STEPS", "MAX_INB_ITERS", "SEARCHES", "SWEEP", "Decision", "DecisionError",
    "Embeddings", "GraphStep", "Neighbors", "Pool", "Scorer", "Search", "Side", "best_graph", "calibrated_weights",
    "candidate_pairs", "compact", "curves", "describe_source", "fuse", "graph_mode", "graph_result",
    "predicted_edges", "search_graph_param", "tune_graph",
    "fusion_source", "get_search", "inb_source", "inb_stages", "knn", "l2_normalise", "mask_to_pred",
    "min2_curve", "model_source", "nested_pools", "pool_size_curve", "pool_size_draws", "pool_size_band", "extrapolate", "predict", "predict_mask", "predict_query",
    "predictions",
    "roots", "row_arrays", "scores",
    "search", "search_pair", "search_t", "search_t2", "search_weights", "threshold_stability", "tune", "tune_inb",
    "union",
    "union_table",
]

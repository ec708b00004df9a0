"""Matching: kNN within a pool, thresholds, Min2, fusion, union, INB, search."""

from .embeddings import Embeddings, fuse, l2_normalise
from .knn import DEFAULT_K, Neighbors, knn
from .rules import compact, mask_to_pred, predict, predict_mask, union
from .scoring import Scorer
from .search import search, search_pair, search_t, search_t2

__all__ = [
    "DEFAULT_K", "Embeddings", "Neighbors", "Scorer", "compact", "fuse", "knn", "l2_normalise",
    "mask_to_pred", "predict", "predict_mask", "search", "search_pair", "search_t", "search_t2", "union",
]

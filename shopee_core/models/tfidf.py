"""Model 7, TF-IDF on raw titles with the seed's settings, fitted per split.

Each split gets its own vocabulary (the seed fits on each split separately).
The per-split matrices are stacked block-diagonally into one CSR matrix: rows
of different splits share no column, so cross-split similarity is zero and
within-split similarity is exactly the per-split model's cosine.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

SEED_PARAMS = {"stop_words": "english", "binary": True, "max_features": 15000}


def fit_transform(titles, **overrides) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows of one pool (float32 CSR)."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    titles = ["" if t is None else str(t) for t in titles]
    try:
        x = TfidfVectorizer(**{**SEED_PARAMS, **overrides}, dtype=np.float32).fit_transform(titles)
    except ValueError:  # empty vocabulary: every title empty or stop words only
        x = sp.csr_matrix((len(titles), 1), dtype=np.float32)
    return sp.csr_matrix(x, dtype=np.float32)


def per_split(titles, splits, **overrides) -> sp.csr_matrix:
    """One vectoriser per split value, stacked block-diagonally in row order."""
    titles = np.asarray(titles, dtype=object)
    splits = np.asarray(splits)
    rows, parts = [], []
    for name in sorted(set(splits.tolist())):
        where = np.flatnonzero(splits == name)
        rows.append(where)
        parts.append(fit_transform(titles[where], **overrides))
    stacked = sp.csr_matrix(sp.block_diag(parts, format="csr"), dtype=np.float32)
    order = np.argsort(np.concatenate(rows), kind="stable")
    return stacked[order]

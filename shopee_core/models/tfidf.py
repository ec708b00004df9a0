"""Model 7, TF-IDF on raw titles with the seed's settings, fitted per split.

Each split gets its own vocabulary (the seed fits on each split separately).
The per-split matrices are stacked block-diagonally into one CSR matrix: rows
of different splits share no column, so cross-split similarity is zero and
within-split similarity is exactly the per-split model's cosine.

Option (not the seed's): ``normalise_units=True`` rewrites every stated quantity as one
canonical token before vectorising (``100 ML`` / ``0,1L`` -> ``100ml``, ``1kg`` -> ``1000g``,
``isi 2`` -> ``2pcs``; :func:`shopee_core.data.units.normalise_units`), so one quantity
written several ways is one word. It is kept in the fitted state, so queries get it too.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.units import normalise_units

SEED_PARAMS = {"stop_words": "english", "binary": True, "max_features": 15000}
TEXT_OPTIONS = ("normalise_units",)  # ours, applied to the titles before sklearn sees them


def _vectorizer(**overrides):
    from sklearn.feature_extraction.text import TfidfVectorizer

    params = {k: v for k, v in {**SEED_PARAMS, **overrides}.items() if k not in TEXT_OPTIONS}
    return TfidfVectorizer(**params, dtype=np.float32)


def _texts(titles, params: dict) -> list[str]:
    texts = ["" if t is None else str(t) for t in titles]
    if params.get("normalise_units"):
        texts = [normalise_units(t) for t in texts]
    return texts


def fit(titles, **overrides):
    """(L2-normalised float32 CSR rows, fitted vectoriser or None when no vocabulary)."""
    titles = _texts(titles, overrides)
    vec = _vectorizer(**overrides)
    try:
        x = vec.fit_transform(titles)
    except ValueError:  # empty vocabulary: every title empty or stop words only
        return sp.csr_matrix((len(titles), 1), dtype=np.float32), None
    return sp.csr_matrix(x, dtype=np.float32), vec


def fit_transform(titles, **overrides) -> sp.csr_matrix:
    return fit(titles, **overrides)[0]


def per_split(titles, splits, return_states: bool = False, **overrides):
    """One vectoriser per split value, stacked block-diagonally in row order.

    ``return_states``: also return ``{split: state}`` (see :func:`state`) so queries can
    be embedded later in the same space.
    """
    titles = np.asarray(titles, dtype=object)
    splits = np.asarray(splits)
    rows, parts, states = [], [], {}
    for name in sorted(set(splits.tolist())):
        where = np.flatnonzero(splits == name)
        rows.append(where)
        x, vec = fit(titles[where], **overrides)
        parts.append(x)
        states[str(name)] = state(vec, overrides)
    stacked = sp.csr_matrix(sp.block_diag(parts, format="csr"), dtype=np.float32)
    order = np.argsort(np.concatenate(rows), kind="stable")
    out = stacked[order]
    return (out, states) if return_states else out


def state(vec, overrides: dict | None = None) -> dict:
    """JSON-able fitted state: vocabulary (term -> column), idf, parameters."""
    params = {**SEED_PARAMS, **(overrides or {})}
    if vec is None:
        return {"vocabulary": {}, "idf": [], "params": params}
    return {"vocabulary": {t: int(c) for t, c in vec.vocabulary_.items()},
            "idf": [float(v) for v in vec.idf_], "params": params}


def transform(st: dict, titles) -> sp.csr_matrix:
    """Embed new titles with a fitted state, exactly as the fitted vectoriser would."""
    if not st["vocabulary"]:
        return sp.csr_matrix((len(titles), 1), dtype=np.float32)
    params = {k: v for k, v in st["params"].items() if k != "max_features"}
    vec = _vectorizer(**params, vocabulary=st["vocabulary"])
    vec.idf_ = np.asarray(st["idf"], dtype=np.float64)
    return sp.csr_matrix(vec.transform(_texts(titles, params)), dtype=np.float32)

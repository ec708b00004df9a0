"""Error taxonomy of a model's predictions, per posting, and the unit/quantity parser it needs.

Types (a row can have several):

- ``orphan`` — only itself predicted (every true group has >= 2 members, so always wrong);
- ``over_merged`` — the predicted set swallows other groups: at least ``over_fp`` false
  positives and either twice the true group's size or members of >= 2 other groups;
- ``wrong_members`` — any false positive (FP > 0; over-merged rows are the severe ones);
- ``missed`` — true members not predicted (FN > 0);
- ``unit_conflict`` — a false-positive pair whose titles state different quantities of the
  same kind (``100ml`` vs ``250 ml``, ``1 pcs`` vs ``3pcs``, ``1kg`` vs ``500 g``), compared
  in normalised units; the typical hard negative top teams vetoed;
- ``label_noise`` — a false-positive pair that looks like the same listing: the same image
  (pHash Hamming distance <= ``hamming``) or near-identical titles (token Jaccard >=
  ``jaccard``) in different groups — likely wrong labels rather than model errors.

All pair checks are vectorised over the false-positive pairs (sparse row products).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data.units import BASE_UNITS, parse_quantities, quantity_conflict  # noqa: F401  (part of this API)
from ..metrics import row_scores

ERROR_TYPES = ("orphan", "over_merged", "wrong_members", "missed", "unit_conflict", "label_noise")
ERROR_LABELS = {
    "orphan": "orphan (only itself predicted)",
    "over_merged": "over-merged (absorbs other groups)",
    "wrong_members": "wrong members (FP > 0)",
    "missed": "missed members (FN > 0)",
    "unit_conflict": "unit / quantity conflict",
    "label_noise": "likely label noise",
}

# ----------------------------------------------------------------------------- units
# the parser lives in data/units.py (TF-IDF's unit option uses the same one)


def quantity_matrix(titles) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix]:
    """Sparse indicators: (n, V) of (dimension, value) per title, (n, D) of dimensions per
    title, and (V, D) mapping each value column to its dimension."""
    vocab: dict = {}
    dims: dict = {}
    rows_v, cols_v, rows_d, cols_d, v2d = [], [], [], [], []
    for i, t in enumerate(titles):
        for dim, values in parse_quantities(t).items():
            d = dims.setdefault(dim, len(dims))
            rows_d.append(i)
            cols_d.append(d)
            for v in values:
                if (dim, v) not in vocab:
                    vocab[(dim, v)] = len(vocab)
                    v2d.append(d)
                rows_v.append(i)
                cols_v.append(vocab[(dim, v)])
    n, nv, nd = len(titles), max(len(vocab), 1), max(len(dims), 1)
    mv = sp.csr_matrix((np.ones(len(rows_v), np.float32), (rows_v, cols_v)), shape=(n, nv))
    md = sp.csr_matrix((np.ones(len(rows_d), np.float32), (rows_d, cols_d)), shape=(n, nd))
    vd = sp.csr_matrix((np.ones(len(v2d), np.float32), (np.arange(len(v2d)), v2d)), shape=(nv, nd))
    return mv, md, vd


# ----------------------------------------------------------------------------- titles and images
_TOKEN = re.compile(r"[a-z0-9]+")


def title_tokens(titles) -> sp.csr_matrix:
    """Binary (n, V) token matrix of lower-cased alphanumeric tokens."""
    vocab: dict = {}
    rows, cols = [], []
    for i, t in enumerate(titles):
        for tok in set(_TOKEN.findall(str(t).lower())):
            rows.append(i)
            cols.append(vocab.setdefault(tok, len(vocab)))
    return sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(titles), max(len(vocab), 1)))


def phash_bits(phashes) -> tuple[np.ndarray, np.ndarray]:
    """uint64 of each hex pHash and whether it parsed."""
    out = np.zeros(len(phashes), dtype=np.uint64)
    ok = np.zeros(len(phashes), dtype=bool)
    for i, h in enumerate(phashes):
        try:
            out[i] = np.uint64(int(str(h), 16) & 0xFFFFFFFFFFFFFFFF)
            ok[i] = True
        except (TypeError, ValueError):
            pass
    return out, ok


def hamming(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.bitwise_count(np.bitwise_xor(a, b)).astype(np.int64)


def _pair_dot(m: sp.csr_matrix, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    if len(i) == 0:
        return np.zeros(0, dtype=np.float32)
    return np.asarray(m[i].multiply(m[j]).sum(axis=1), dtype=np.float32).ravel()


class PostingFeatures:
    """Per-posting features of a pool the pair checks use, computed once."""

    def __init__(self, titles, phashes):
        self.titles = np.asarray(titles, dtype=object)
        self.qty_values, self.qty_dims, self.value_dims = quantity_matrix(self.titles)
        self.tokens = title_tokens(self.titles)
        self.n_tokens = np.asarray(self.tokens.sum(axis=1), dtype=np.float32).ravel()
        self.phash, self.phash_ok = phash_bits(phashes)

    def unit_conflict(self, i, j) -> np.ndarray:
        """Pairs whose titles state a quantity of the same dimension with no value in common."""
        i, j = np.asarray(i), np.asarray(j)
        if len(i) == 0:
            return np.zeros(0, dtype=bool)
        both = self.qty_dims[i].multiply(self.qty_dims[j]).tocsr()              # dims both state
        if both.nnz == 0:
            return np.zeros(len(i), dtype=bool)
        shared = self.qty_values[i].multiply(self.qty_values[j]).tocsr() @ self.value_dims  # dims agreeing
        agreeing = both.multiply(shared > 0)
        return np.asarray(both.sum(axis=1)).ravel() > np.asarray(agreeing.sum(axis=1)).ravel()

    def jaccard(self, i, j) -> np.ndarray:
        inter = _pair_dot(self.tokens, np.asarray(i), np.asarray(j))
        uni = self.n_tokens[i] + self.n_tokens[j] - inter
        return np.divide(inter, uni, out=np.zeros_like(inter), where=uni > 0)

    def image_distance(self, i, j) -> np.ndarray:
        """pHash Hamming distance (64 where either hash is missing)."""
        i, j = np.asarray(i), np.asarray(j)
        d = hamming(self.phash[i], self.phash[j])
        d[~(self.phash_ok[i] & self.phash_ok[j])] = 64
        return d


# ----------------------------------------------------------------------------- taxonomy
def fp_pairs(pred: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Directed false-positive pairs (i, j): j predicted for i, different labels."""
    pred = np.asarray(pred)
    labels = np.asarray(labels)
    valid = pred >= 0
    safe = np.where(valid, pred, 0)
    fp = valid & (labels[safe] != labels[:, None])
    r, c = np.nonzero(fp)
    return r.astype(np.int64), pred[r, c].astype(np.int64)


def classify(pred: np.ndarray, labels: np.ndarray, features: PostingFeatures, *, over_fp: int = 2,
             hamming_max: int = 4, jaccard_min: float = 0.9) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-row scores and error flags, and the flagged false-positive pairs.

    Returns ``(rows, pairs)``: ``rows`` has f1, precision, recall, tp, fp, fn, n_pred,
    n_true, other_groups and one boolean column per :data:`ERROR_TYPES`; ``pairs`` has
    i, j, unit_conflict, label_noise, hamming, jaccard for every false-positive pair.
    """
    labels = np.asarray(labels)
    r = row_scores(pred, labels)
    n = len(labels)
    tp, n_pred, n_true = r["tp"], r["n_pred"], r["n_true"]
    fp, fn = n_pred - tp, n_true - tp
    i, j = fp_pairs(pred, labels)
    # distinct other groups absorbed per row
    if len(i):
        codes = np.unique(np.stack([i, np.unique(labels, return_inverse=True)[1].ravel()[j]], axis=1), axis=0)
        other_groups = np.bincount(codes[:, 0], minlength=n)
    else:
        other_groups = np.zeros(n, dtype=np.int64)
    unit = features.unit_conflict(i, j)
    ham = features.image_distance(i, j)
    jac = features.jaccard(i, j)
    noise = (ham <= hamming_max) | (jac >= jaccard_min)
    rows = pd.DataFrame({
        "f1": r["f1"], "precision": r["precision"], "recall": r["recall"],
        "tp": tp, "fp": fp, "fn": fn, "n_pred": n_pred, "n_true": n_true, "other_groups": other_groups,
        "orphan": (n_pred == 1) & (n_true > 1),
        "over_merged": (fp >= over_fp) & ((n_pred >= 2 * n_true) | (other_groups >= 2)),
        "wrong_members": fp > 0,
        "missed": fn > 0,
        "unit_conflict": np.bincount(i[unit], minlength=n) > 0,
        "label_noise": np.bincount(i[noise], minlength=n) > 0,
    })
    pairs = pd.DataFrame({"i": i, "j": j, "unit_conflict": unit, "label_noise": noise, "hamming": ham,
                          "jaccard": jac})
    return rows, pairs


def error_list(rows: pd.DataFrame) -> list[list[str]]:
    flags = rows[list(ERROR_TYPES)].to_numpy()
    names = np.asarray(ERROR_TYPES)
    return [names[f].tolist() for f in flags]


def features(bundle, split: str) -> PostingFeatures:
    """Cached per bundle and split."""
    from .decisions import _cache

    def make():
        rows = bundle.split_rows(split)
        p = bundle.postings
        return PostingFeatures(p["title"].to_numpy()[rows], p["image_phash"].to_numpy()[rows])
    return _cache(bundle).get(("features", split), make)


def failure_table(bundle, model, split: str, setting: dict | None = None, **kw) -> pd.DataFrame:
    """Every posting of the split with its scores and error types, worst F1 first.

    ``model``: a model id or a :class:`~shopee_core.analysis.decisions.Decision`;
    ``setting``: overrides passed to :func:`decisions.decision` (t, t2, min2, inb, weights...).
    Columns: row (split-local), posting_id, title, label_group, f1, precision, recall, n_pred,
    n_true, tp, fp, fn, other_groups, the :data:`ERROR_TYPES` flags, ``errors`` (list of names).
    """
    from . import decisions

    pred = decisions.predictions(bundle, model, split, **(setting or {}))
    labels = decisions.labels(bundle, split)
    rows, _ = classify(pred, labels, features(bundle, split), **kw)
    split_rows = bundle.split_rows(split)
    p = bundle.postings
    rows.insert(0, "row", np.arange(len(rows)))
    rows.insert(1, "posting_id", p["posting_id"].to_numpy()[split_rows])
    rows.insert(2, "title", p["title"].to_numpy()[split_rows])
    rows.insert(3, "label_group", labels)
    rows["errors"] = error_list(rows)
    order = np.lexsort((-(rows["fp"] + rows["fn"]).to_numpy(), rows["f1"].to_numpy()))
    return rows.iloc[order].reset_index(drop=True)


def failure_pairs(bundle, model, split: str, setting: dict | None = None, **kw) -> pd.DataFrame:
    """The false-positive pairs with their unit-conflict / label-noise flags (and posting ids)."""
    from . import decisions

    pred = decisions.predictions(bundle, model, split, **(setting or {}))
    _, pairs = classify(pred, decisions.labels(bundle, split), features(bundle, split), **kw)
    ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)]
    return pairs.assign(posting_i=ids[pairs["i"]], posting_j=ids[pairs["j"]])


def summary(table: pd.DataFrame) -> dict[str, int]:
    """How many postings carry each error type."""
    return {t: int(table[t].sum()) for t in ERROR_TYPES}


def filter_table(table: pd.DataFrame, types=(), mode: str = "any") -> pd.DataFrame:
    """Rows with any (or all) of ``types``; no types: rows with F1 < 1."""
    types = [t for t in types if t in ERROR_TYPES]
    if not types:
        return table[table["f1"] < 1.0]
    flags = table[types].to_numpy()
    keep = flags.all(axis=1) if mode == "all" else flags.any(axis=1)
    return table[keep]


# ----------------------------------------------------------------------------- one posting
def _fmt_values(dim: str, values) -> str:
    unit = BASE_UNITS.get(dim, "")
    return "/".join(f"{v:g}" if isinstance(v, float) else str(v) for v in sorted(values, key=str)) + f" {unit}"


def pair_reasons(titles_i: str, titles_j: str, hamming_d: int, jaccard_ij: float, *, hamming_max: int = 4,
                 jaccard_min: float = 0.9) -> list[str]:
    """Why a false-positive pair is flagged, in words (empty: not flagged)."""
    out = []
    qa, qb = parse_quantities(titles_i), parse_quantities(titles_j)
    for dim in quantity_conflict(titles_i, titles_j):
        out.append(f"{dim}: {_fmt_values(dim, qa[dim])} vs {_fmt_values(dim, qb[dim])}")
    if hamming_d <= hamming_max:
        out.append("same image (pHash identical)" if hamming_d == 0 else f"near-identical image (pHash Δ{hamming_d})")
    if jaccard_ij >= jaccard_min:
        out.append(f"near-identical titles ({jaccard_ij:.0%} of words shared)")
    return out


def row_detail(bundle, model, split: str, row: int, setting: dict | None = None) -> pd.DataFrame:
    """The posting's true group and predicted set, one line per member.

    Columns: row (split-local), posting (row of ``bundle.postings``), in_truth, predicted,
    mark (``query`` | ``correct`` | ``wrong`` | ``missed``), reason (why a wrong member is
    a unit conflict / likely label noise, in words). Query first, then correct, wrong, missed.
    """
    from . import decisions

    pred = decisions.predictions(bundle, model, split, **(setting or {}))
    labels = decisions.labels(bundle, split)
    feats = features(bundle, split)
    p = pred[row]
    p = p[p >= 0]
    truth = np.flatnonzero(labels == labels[row])
    members = np.unique(np.concatenate([p, truth, [row]])).astype(np.int64)
    in_truth = labels[members] == labels[row]
    predicted = np.isin(members, p) | (members == row)
    mark = np.where(members == row, "query", np.where(in_truth & predicted, "correct",
                                                      np.where(predicted, "wrong", "missed")))
    reasons = [""] * len(members)
    wrong = np.flatnonzero(mark == "wrong")
    if len(wrong):
        js = members[wrong]
        ii = np.full(len(js), row)
        ham, jac = feats.image_distance(ii, js), feats.jaccard(ii, js)
        for k, j, h, jc in zip(wrong, js, ham, jac):
            reasons[k] = "; ".join(pair_reasons(feats.titles[row], feats.titles[j], int(h), float(jc)))
    order = np.argsort(pd.Categorical(mark, ["query", "correct", "wrong", "missed"]).codes, kind="stable")
    split_rows = bundle.split_rows(split)
    frame = pd.DataFrame({"row": members, "posting": split_rows[members], "in_truth": in_truth,
                          "predicted": predicted, "mark": mark, "reason": reasons})
    return frame.iloc[order].reset_index(drop=True)

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
- ``shared_photo_variant`` — a false-positive pair with the same photo (pHash Hamming distance
  <= ``hamming``, titles sharing at least :data:`PHOTO_TITLE_MIN` of their words) whose titles
  name different variants: a quantity, colour, size or model code that differs (sellers list the
  red and the blue phone case, or the 100ml and the 250ml bottle, with one stock photo). These
  are correctly labelled hard negatives, not noise;
- ``label_noise`` — a false-positive pair that looks like the same listing (the same photo as
  above, or near-identical titles: token Jaccard >= ``jaccard``) and has *no* variant attribute
  that differs — likely wrong labels rather than model errors. A photo shared by products whose
  titles have next to nothing in common is a pHash collision (plain packshots), neither.

All pair checks are vectorised over the false-positive pairs (sparse row products).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..cache import memoize
from ..data.text import decode_escapes
from ..data.units import (
    BASE_UNITS,
    TITLE_MEMO,
    find_quantities,
    lower_text,
    parse_quantities,
    quantities_of,
    quantity_conflict,  # noqa: F401  (part of this module's API)
    scan_quantities,
)
from ..metrics import row_scores
from . import decisions

ERROR_TYPES = ("orphan", "over_merged", "wrong_members", "missed", "unit_conflict", "shared_photo_variant",
               "label_noise")
ERROR_LABELS = {
    "orphan": "orphan (only itself predicted)",
    "over_merged": "over-merged (absorbs other groups)",
    "wrong_members": "wrong members (FP > 0)",
    "missed": "missed members (FN > 0)",
    "unit_conflict": "unit / quantity conflict",
    "shared_photo_variant": "shared photo, different variant",
    "label_noise": "likely label noise",
}
# a shared photo counts only when the titles share at least this share of their words (token Jaccard):
# unrelated products with near-identical photos (plain packshots on white) are pHash collisions, not one
# listing. On the 5,000-posting demo catalog 0.2 keeps 66 of 91 same-photo sibling pairs and drops 1,529
# of 1,629 same-photo pairs of unrelated products.
PHOTO_TITLE_MIN = 0.2
# what each flag means, for the dashboard's help texts
ERROR_HELP = {
    "orphan": "Only the posting itself is predicted. Every true group has at least 2 members, so this is always "
              "wrong (Min2 exists to fix it).",
    "over_merged": "The predicted set swallows other groups: at least 2 false positives and either twice the true "
                   "group's size or members of 2 or more other groups.",
    "wrong_members": "At least one predicted posting belongs to another group (FP > 0).",
    "missed": "At least one member of the true group is not predicted (FN > 0).",
    "unit_conflict": "A false positive whose title states another quantity of the same kind (100ml vs 250 ml, "
                     "1kg vs 500 g, 2 pcs vs 3pcs), compared in normalised units: a hard negative.",
    "shared_photo_variant": "A false positive with the same photo (pHash) and a related title that names another "
                            "variant: a different quantity, colour, size or model code. Sellers list sibling variants "
                            "with one stock photo; the labels are right and the model must read the title.",
    "label_noise": "A false positive that looks like the very same listing: the same photo with a related title, "
                   "or near-identical titles, and no quantity, colour, size or model code that differs. Likely a "
                   "wrong label, not a model error.",
}

# ----------------------------------------------------------------------------- units
# the parser lives in data/units.py (TF-IDF's unit option uses the same one)


def title_parses(titles) -> tuple[list[dict], list[dict]]:
    """:func:`parse_quantities` and :func:`variant_attributes` of every title, each distinct title scanned
    once, outside the process's memo of parses (it keeps the last
    :data:`~shopee_core.data.units.TITLE_MEMO`): a 70,000-title pool's parses live while they are used,
    not for the server's life, and a title's quantities are found once for both."""
    done: dict = {}
    quantities, variants = [], []
    for t in titles:
        try:
            q, v = done[t]
        except KeyError:
            text = str(t)
            found = scan_quantities(lower_text(text))
            decoded = decode_escapes(t)
            q, v = done[t] = (quantities_of(found), _variants(decoded, found if decoded == text
                                                              else scan_quantities(lower_text(decoded))))
        quantities.append(q)
        variants.append(v)
    return quantities, variants


# ----------------------------------------------------------------------------- variant attributes
# colour words (Indonesian and English) -> one name
_COLOURS = {w: c for c, words in {
    "red": ("merah", "red"), "blue": ("biru", "blue"), "black": ("hitam", "black"), "white": ("putih", "white"),
    "green": ("hijau", "green"), "yellow": ("kuning", "yellow"), "pink": ("pink",), "grey": ("abu", "grey", "gray"),
    "brown": ("coklat", "cokelat", "brown"), "navy": ("navy",), "maroon": ("maroon",), "purple": ("ungu", "purple"),
    "cream": ("cream", "krem"), "orange": ("orange", "oranye", "jingga"), "teal": ("tosca", "teal"),
    "mint": ("mint",), "gold": ("gold", "emas"), "silver": ("silver",), "beige": ("beige",), "khaki": ("khaki",),
}.items() for w in words}
# material words -> one name: a watch's strap, a bag, a case ("tali kulit" vs "tali rantai" are two products)
_MATERIALS = {w: m for m, words in {
    "leather": ("kulit", "leather"), "metal": ("rantai", "chain", "stainless", "metal", "logam"),
    "rubber": ("karet", "rubber", "silikon", "silicone", "silicon"), "canvas": ("kanvas", "canvas"),
    "nylon": ("nilon", "nylon"),
}.items() for w in words}
_LETTER_SIZES = {"xs", "s", "m", "l", "xl", "xxl", "xxxl", "2xl", "3xl", "4xl", "nb"}
_WORD_SIZES = {"kecil": "small", "small": "small", "sedang": "medium", "medium": "medium", "besar": "large",
               "large": "large"}
_PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s*%")
_DIGIT = re.compile(r"\d")


@memoize(TITLE_MEMO)
def variant_attributes(title: str) -> dict[str, frozenset]:
    """The colour, size, material and model-code words of a title: ``{kind: frozenset(values)}``.

    Codes are the words holding a digit once the stated quantities (``100ml``, ``isi 3``) and
    percentages (``100% ori``) are taken out: ``a51``, ``12`` (iPhone 12), ``38`` (size 38),
    shade ``02``; sizes are letter sizes (``M``, ``XL``) and bag sizes.
    """
    title = decode_escapes(title)  # "\\xc2\\xae" is a character, not the codes xc2 and xae
    return _variants(title, find_quantities(title))


def _variants(title: str, quantities) -> dict[str, frozenset]:
    """:func:`variant_attributes` of a title whose escapes are decoded, given its quantities."""
    text = lower_text(title)
    for q in reversed(quantities):
        text = text[:q.start] + " " + text[q.end:]
    tokens = _TOKEN.findall(_PERCENT.sub(" ", text))
    found = {
        "colour": {_COLOURS[t] for t in tokens if t in _COLOURS},
        "size": {_WORD_SIZES.get(t, t) for t in tokens if t in _LETTER_SIZES or t in _WORD_SIZES},
        "material": {_MATERIALS[t] for t in tokens if t in _MATERIALS},
        "code": {t.lstrip("0") or "0" for t in tokens  # "no 08" and "shade 8" agree
                 if _DIGIT.search(t) and t not in _LETTER_SIZES},
    }
    return {k: frozenset(v) for k, v in found.items() if v}


def variant_conflict(a: str, b: str) -> list[str]:
    """Kinds of variant attribute where each title has a value the other lacks (colour, size, material,
    code; "100ml" vs "250 ml" is a quantity conflict, see :func:`quantity_conflict`).

    Both-sided, so a seller who adds one more code ("30s") or a product line named after a
    colour ("Green Tea") does not make a variant; "hitam" vs "putih", "A51" vs "A12" do.
    """
    va, vb = variant_attributes(a), variant_attributes(b)
    return sorted(k for k in va.keys() & vb.keys() if va[k] - vb[k] and vb[k] - va[k])


def _indicators(per_title: list[dict]) -> tuple[sp.csr_matrix, sp.csr_matrix, sp.csr_matrix, list]:
    """Sparse indicators of ``{kind: values}`` per title: (n, V) of (kind, value), (n, D) of
    kinds, (V, D) mapping each value column to its kind, and the D kinds' names in column order."""
    vocab: dict = {}
    dims: dict = {}
    rows_v, cols_v, rows_d, cols_d, v2d = [], [], [], [], []
    for i, found in enumerate(per_title):
        for dim, values in found.items():
            d = dims.setdefault(dim, len(dims))
            rows_d.append(i)
            cols_d.append(d)
            for v in sorted(values):  # not the set's order, which changes per process (string hashing)
                if (dim, v) not in vocab:
                    vocab[(dim, v)] = len(vocab)
                    v2d.append(d)
                rows_v.append(i)
                cols_v.append(vocab[(dim, v)])
    n, nv, nd = len(per_title), max(len(vocab), 1), max(len(dims), 1)
    mv = sp.csr_matrix((np.ones(len(rows_v), np.float32), (rows_v, cols_v)), shape=(n, nv))
    md = sp.csr_matrix((np.ones(len(rows_d), np.float32), (rows_d, cols_d)), shape=(n, nd))
    vd = sp.csr_matrix((np.ones(len(v2d), np.float32), (np.arange(len(v2d)), v2d)), shape=(nv, nd))
    return mv, md, vd, list(dims)


# ----------------------------------------------------------------------------- titles and images
_TOKEN = re.compile(r"[a-z0-9]+")


def title_tokens(titles, vocab: dict | None = None) -> sp.csr_matrix:
    """Binary (n, V) token matrix of lower-cased alphanumeric tokens; ``vocab`` (token -> column),
    when given, is filled so the columns can be named."""
    vocab = {} if vocab is None else vocab
    rows, cols = [], []
    for i, t in enumerate(titles):
        for tok in dict.fromkeys(_TOKEN.findall(str(t).lower())):  # a set's order changes per process
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
        quantities, attrs = title_parses(self.titles)
        self.qty_values, self.qty_dims, self.value_dims = _indicators(quantities)[:3]
        self.attr_values, _, attr_kinds, self.attr_kind_names = _indicators(attrs)
        self.attr_counts = (self.attr_values @ attr_kinds).toarray()  # (n, kinds): values per kind
        self.attr_kinds = attr_kinds
        vocab: dict = {}
        self.tokens = title_tokens(self.titles, vocab)
        self.token_names = np.asarray(list(vocab), dtype=object)  # column order (insertion order)
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

    def variant_conflict(self, i, j) -> np.ndarray:
        """Pairs where, for some kind (colour, size, material, code), each title has a value the other lacks."""
        i, j = np.asarray(i), np.asarray(j)
        if len(i) == 0:
            return np.zeros(0, dtype=bool)
        shared = (self.attr_values[i].multiply(self.attr_values[j]).tocsr() @ self.attr_kinds).toarray()
        ci, cj = self.attr_counts[i], self.attr_counts[j]
        return ((ci > shared) & (cj > shared)).any(axis=1)

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
             hamming_max: int = 4, jaccard_min: float = 0.9,
             photo_title_min: float = PHOTO_TITLE_MIN) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-row scores and error flags, and the flagged false-positive pairs.

    Returns ``(rows, pairs)``: ``rows`` has f1, precision, recall, tp, fp, fn, n_pred,
    n_true, other_groups and one boolean column per :data:`ERROR_TYPES`; ``pairs`` has
    i, j, unit_conflict, variant (the titles name different variants: a quantity, colour, size
    or code differs), shared_photo_variant, label_noise, hamming, jaccard for every
    false-positive pair. Same photo or near-identical titles make a pair look like one listing;
    it is label noise only when no variant attribute tells the two apart.
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
    variant = unit | features.variant_conflict(i, j)
    same_photo = (ham <= hamming_max) & (jac >= photo_title_min)  # a photo alone can be a pHash collision
    photo_variant = same_photo & variant
    noise = (same_photo | (jac >= jaccard_min)) & ~variant
    rows = pd.DataFrame({
        "f1": r["f1"], "precision": r["precision"], "recall": r["recall"],
        "tp": tp, "fp": fp, "fn": fn, "n_pred": n_pred, "n_true": n_true, "other_groups": other_groups,
        "orphan": (n_pred == 1) & (n_true > 1),
        "over_merged": (fp >= over_fp) & ((n_pred >= 2 * n_true) | (other_groups >= 2)),
        "wrong_members": fp > 0,
        "missed": fn > 0,
        "unit_conflict": np.bincount(i[unit], minlength=n) > 0,
        "shared_photo_variant": np.bincount(i[photo_variant], minlength=n) > 0,
        "label_noise": np.bincount(i[noise], minlength=n) > 0,
    })
    pairs = pd.DataFrame({"i": i, "j": j, "unit_conflict": unit, "variant": variant,
                          "shared_photo_variant": photo_variant, "label_noise": noise, "hamming": ham,
                          "jaccard": jac})
    return rows, pairs


def error_list(rows: pd.DataFrame) -> list[list[str]]:
    flags = rows[list(ERROR_TYPES)].to_numpy()
    names = np.asarray(ERROR_TYPES)
    return [names[f].tolist() for f in flags]


def features(bundle, split: str) -> PostingFeatures:
    """Cached per bundle and split."""
    def make():
        rows = bundle.split_rows(split)
        p = bundle.postings
        return PostingFeatures(p["title"].to_numpy()[rows], p["image_phash"].to_numpy()[rows])
    return decisions.pool(bundle, split).cached(("features",), make)


def failure_table(bundle, model, split: str, setting: dict | None = None, **kw) -> pd.DataFrame:
    """Every posting of the split with its scores and error types, worst F1 first.

    ``model``: a model id or a :class:`~shopee_core.analysis.decisions.Decision`;
    ``setting``: overrides passed to :func:`decisions.decision` (t, t2, min2, inb, weights...).
    Columns: row (split-local), posting_id, title, label_group, f1, precision, recall, n_pred,
    n_true, tp, fp, fn, other_groups, the :data:`ERROR_TYPES` flags, ``errors`` (list of names).
    """
    d = decisions.as_decision(bundle, model, **decisions.overrides(setting or {}))

    def make():
        pred = decisions.predictions(bundle, d, split)
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
    # per decision in the pool's cache (a page rerun at 70,000 postings would classify every row again);
    # a copy out, so a caller's edits never reach the next caller
    return decisions.pool(bundle, split).cached(("failure_table", d, tuple(sorted(kw.items()))), make).copy()


def failure_pairs(bundle, model, split: str, setting: dict | None = None, **kw) -> pd.DataFrame:
    """The false-positive pairs with their unit-conflict / label-noise flags (and posting ids)."""
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
                 jaccard_min: float = 0.9, photo_title_min: float = PHOTO_TITLE_MIN) -> list[str]:
    """Why a false-positive pair is flagged and what tells the two apart, in words (empty: nothing).

    A verdict first when the pair looks like one listing ("shared photo, different variant" or
    "likely label noise", the same rule as :func:`classify`), then the differing quantities and
    variant attributes, then the look-alike evidence (same image, near-identical titles).
    """
    details = []
    qa, qb = parse_quantities(titles_i), parse_quantities(titles_j)
    for dim in quantity_conflict(titles_i, titles_j):
        details.append(f"{dim}: {_fmt_values(dim, qa[dim])} vs {_fmt_values(dim, qb[dim])}")
    va, vb = variant_attributes(titles_i), variant_attributes(titles_j)
    for kind in variant_conflict(titles_i, titles_j):
        details.append(f"{kind}: {'/'.join(sorted(va[kind] - vb[kind]))} vs {'/'.join(sorted(vb[kind] - va[kind]))}")
    photo, same_title = hamming_d <= hamming_max, jaccard_ij >= jaccard_min
    same_photo = photo and jaccard_ij >= photo_title_min
    verdict = []
    if same_photo and details:
        verdict = [ERROR_LABELS["shared_photo_variant"]]
    elif (same_photo or same_title) and not details:
        verdict = [ERROR_LABELS["label_noise"]]
    if photo:
        details.append("same image (pHash identical)" if hamming_d == 0 else
                       f"near-identical image (pHash Δ{hamming_d})")
    if same_title:
        details.append(f"near-identical titles ({jaccard_ij:.0%} of words shared)")
    return verdict + details


def row_detail(bundle, model, split: str, row: int, setting: dict | None = None) -> pd.DataFrame:
    """The posting's true group and predicted set, one line per member.

    Columns: row (split-local), posting (row of ``bundle.postings``), in_truth, predicted,
    mark (``query`` | ``correct`` | ``wrong`` | ``missed``), reason (what tells a wrong member
    apart - quantity, colour, size, code - and whether it is a shared-photo variant or likely
    label noise, in words, see :func:`pair_reasons`). Query first, then correct, wrong, missed.
    """
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

"""Query by example on bundle data (no Streamlit).

Two kinds of query:

* **an existing posting** (:func:`posting_matches`): for one model, the posting's
  candidates from the bundle's neighbour table with similarity, distance to the
  threshold and a mark against its true group - ``correct`` (predicted, same group),
  ``wrong`` (predicted, other group), ``missed`` (same group, not predicted; members
  outside the top-k are included, their similarity computed from the embeddings) and
  ``candidate`` (a near miss: neither predicted nor in the group);
* **an upload** (:func:`upload_matches`): an image and/or a typed title embedded with
  the encoders the bundle ships for queries (``model["query"]``: TF-IDF through the
  bundle's fitted vectorizer, pHash, zero-shot MiniLM / e5 / EfficientNet-Lite), then
  retrieved by cosine among one split's postings. Mean fusions and unions whose
  members all ship encoders work too.

``margin`` is ``T - d``: positive inside the threshold (predicted by the plain rule),
negative outside. Indices called ``row`` are split-local; ``posting`` are rows of
``bundle.postings``.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..cache import Cache, one
from ..data.images import file_phash, open_image
from ..data.text import display_title, title_cleaning
from ..errors import DataError, ShopeeError
from ..matching import Side, describe_source, model_source, predict_query
from ..metrics import counts_to_scores
from ..models import phash, tfidf
from ..models.registry import ModelEntry as Recipe
from . import decisions

MAX_UPLOAD_BYTES = 10 * 1024 * 1024      # matches .streamlit/config.toml server.maxUploadSize
MAX_UPLOAD_PIXELS = 25_000_000
MARKS = ("correct", "wrong", "missed", "candidate")
MATCH_COLUMNS = ["row", "posting", "posting_id", "title", "label_group", "sim", "dist", "margin", "predicted",
                 "same", "mark", "rank", "via", "min2"]


class QueryError(ShopeeError):
    """A query that cannot be answered, with a one-line reason for the user."""


# ============================================================================ settings

def sides(bundle, model_id: str, inb: bool = False, t: float | None = None, t2: float | None = None) -> list[Side]:
    """The sides of ``model_id``'s decision, each a stored neighbour table (source ``("model", id,
    "base" | "inb")``) with its thresholds.

    The decision is :func:`shopee_core.analysis.decisions.decision`'s: a union gives one side per
    member at its own tuned thresholds; a model that only ships an INB table (``<id>_inb3``)
    always uses it; ``t``/``t2`` override a single table's tuned values.
    """
    try:
        d = decisions.decision(bundle, model_id, t=t, t2=t2, inb=int(bool(inb)))
    except decisions.DecisionError as exc:
        raise QueryError(str(exc)) from None
    for s in d.sides:
        if s.source[0] != "model":
            raise QueryError(f"{model_id}: {describe_source(s.source)} is not a stored table")
    return list(d.sides)


def _table(side: Side) -> tuple[str, str]:
    """(model id, variant) of a side that is a stored table."""
    return side.source[1], side.source[2]


def default_models(bundle, n_text: int = 1, n_image: int = 1) -> list[str]:
    """The bundle's best fusion, then its best image and best text models (by validation F1)."""
    def best_f1(e):
        split = "valid" if "valid" in e.metrics else next(iter(e.metrics), None)
        if split is None:
            return float("-inf")
        vals = [v.get("f1") for v in e.metrics[split].values() if isinstance(v, dict)]
        vals = [v for v in vals if v is not None and np.isfinite(v)]
        return max(vals) if vals else float("-inf")

    ranked = sorted(bundle.entries, key=best_f1, reverse=True)
    out = [e.id for e in ranked if e.family == "fusion"][:1]
    out += [e.id for e in ranked if e.family == "image" and e.id not in out][:n_image]
    out += [e.id for e in ranked if e.family == "text" and e.id not in out][:n_text]
    if not out:
        out = [e.id for e in ranked][:3]
    return out


# ============================================================================ similarities

def _dense_rows(emb, rows: np.ndarray) -> np.ndarray:
    return np.asarray(emb[np.asarray(rows)], dtype=np.float32)


def pair_similarity(bundle, model_id: str, split: str, i: int, rows) -> np.ndarray:
    """Cosine similarity (the model's own, fusions included) of split row ``i`` to ``rows``.

    NaN where it cannot be computed from the bundle (an INB-blended space or a union).
    """
    rows = np.asarray(rows, dtype=np.int64)
    if len(rows) == 0:
        return np.zeros(0, dtype=np.float32)
    e = bundle.entry(model_id)
    glob = bundle.split_rows(split)
    emb = bundle.embeddings(model_id)
    if emb is not None:
        if sp.issparse(emb):
            a = emb[glob[i]]
            b = emb[glob[rows]]
            return np.asarray((b @ a.T).toarray(), dtype=np.float32).ravel()
        a = _dense_rows(emb, [glob[i]])[0]
        return _dense_rows(emb, glob[rows]) @ a
    if e.is_mean_fusion:
        w = np.asarray(e.weights or [1.0] * len(e.members), dtype=np.float64)
        w = w / w.sum()
        total = np.zeros(len(rows), dtype=np.float64)
        for m, wi in zip(e.members, w):
            total += wi * pair_similarity(bundle, m, split, i, rows)
        return total.astype(np.float32)
    return np.full(len(rows), np.nan, dtype=np.float32)


# ============================================================================ existing posting

def fusion_parts(bundle, model_id: str) -> tuple[list[str], np.ndarray]:
    """The members of a mean fusion (of the fusion an INB-only entry blends) and their normalised
    weights; empty for any other model."""
    e = bundle.entry(model_id)
    if e.is_inb_only and e.of:
        e = bundle.entry(e.of)
    if not e.is_mean_fusion:
        return [], np.zeros(0)
    w = np.asarray(e.weights or [1.0] * len(e.members), dtype=np.float64)
    return list(e.members), w / w.sum()


def member_similarities(bundle, model_id: str, split: str, row: int, rows) -> pd.DataFrame | None:
    """Per posting of ``rows``: each fusion member's own cosine similarity to ``row`` (a column per
    member) and ``carried``, the member whose weighted similarity contributed most to the fused one —
    whether image or text made (or failed) the match. None for a model that is not a mean fusion."""
    members, w = fusion_parts(bundle, model_id)
    if not members:
        return None
    rows = np.asarray(rows, dtype=np.int64)
    sims = {m: pair_similarity(bundle, m, split, row, rows) for m in members}
    stack = np.vstack([w[i] * np.nan_to_num(sims[m], nan=-np.inf) for i, m in enumerate(members)])
    frame = pd.DataFrame(sims)
    frame.insert(0, "row", rows)
    frame["carried"] = [members[i] for i in stack.argmax(axis=0)] if len(rows) else []
    return frame


def _side_candidates(bundle, side: Side, split: str, row: int) -> pd.DataFrame:
    model, variant = _table(side)
    nb = decisions.neighbors(bundle, split, model_source(model, variant))  # the pool's cached table
    idx, sim = nb.idx[row], nb.sim[row]
    keep = idx != row
    idx, sim = idx[keep], sim[keep]
    dist = 1.0 - sim
    return pd.DataFrame({"row": idx.astype(np.int64), "sim": sim.astype(np.float32), "dist": dist.astype(np.float32),
                         "margin": (np.float32(side.t) - dist).astype(np.float32),
                         "rank": np.arange(1, len(idx) + 1), "via": model})


def posting_matches(bundle, model_id: str, split: str, row: int, predicted, *, inb: bool = False,
                    t: float | None = None, t2: float | None = None, extra: int = 3) -> pd.DataFrame:
    """The matches of split row ``row`` under one model, marked against its true group.

    ``predicted``: the split-local indices the model predicts for this row (a padded
    row of :func:`shopee_core.analysis.decisions.predictions` is fine; ``-1`` and the row
    itself are ignored). Returns the predicted postings (``correct``/``wrong``), then
    every ``missed`` group member, then the ``extra`` nearest non-predicted candidates of
    other groups (``candidate``), each part deepest inside the threshold first (largest
    ``margin``; for a single table that is most similar first). The query row itself is
    left out. ``sim``/``dist``/``margin`` come from the side that got closest to
    accepting the posting; ``rank`` is its place in that candidate list (NaN: outside
    the top-k); ``min2`` marks postings predicted although d >= T.
    """
    split_rows = bundle.split_rows(split)
    if not 0 <= row < len(split_rows):
        raise QueryError(f"row {row} is outside split {split!r} ({len(split_rows)} postings)")
    model_sides = sides(bundle, model_id, inb=inb, t=t, t2=t2)
    parts = [_side_candidates(bundle, s, split, row) for s in model_sides]
    cand = pd.concat(parts, ignore_index=True)
    # per posting keep the side with the largest margin (closest to / deepest inside its threshold)
    cand = cand.sort_values(["row", "margin"], ascending=[True, False], kind="stable").drop_duplicates("row")
    predicted = np.asarray(predicted, dtype=np.int64).ravel()
    predicted = np.unique(predicted[(predicted >= 0) & (predicted != row)])
    labels = bundle.labels(split)
    has_labels = not pd.isna(labels[row])
    group = np.flatnonzero(labels == labels[row]) if has_labels else np.zeros(0, dtype=np.int64)
    group = group[group != row]
    wanted = np.union1d(predicted, group)
    outside = np.setdiff1d(wanted, cand["row"].to_numpy())
    if len(outside):
        cand = pd.concat([cand, _outside_candidates(bundle, model_sides, split, row, outside)], ignore_index=True)
        cand = cand.sort_values(["row", "margin"], ascending=[True, False], kind="stable", na_position="last")
        cand = cand.drop_duplicates("row")
    cand["predicted"] = cand["row"].isin(predicted)
    cand["same"] = cand["row"].isin(group)
    cand["mark"] = np.select([cand["predicted"] & cand["same"], cand["predicted"] & ~cand["same"],
                              ~cand["predicted"] & cand["same"]], ["correct", "wrong", "missed"], "candidate")
    cand["min2"] = cand["predicted"] & ~(cand["margin"] > 0)
    order = {"correct": 0, "wrong": 0, "missed": 1, "candidate": 2}
    cand["_o"] = cand["mark"].map(order)
    # margins compare across a union's sides (a single table: the same order as similarity)
    cand["_m"] = cand["margin"].fillna(-np.inf)
    cand["_s"] = cand["sim"].fillna(-np.inf)
    cand = cand.sort_values(["_o", "_m", "_s"], ascending=[True, False, False], kind="stable")
    near = cand[cand["mark"] == "candidate"].head(max(int(extra), 0))
    cand = pd.concat([cand[cand["mark"] != "candidate"], near]).drop(columns=["_o", "_m", "_s"])
    return _finish(bundle, split, cand)


def _outside_candidates(bundle, model_sides: list[Side], split: str, row: int, outside: np.ndarray) -> pd.DataFrame:
    """Postings beyond every side's top-k: similarity from the embeddings where the bundle has them."""
    parts = []
    for side in model_sides:
        model, variant = _table(side)
        if variant == "base":
            sims = pair_similarity(bundle, model, split, row, outside)
        else:  # an INB-blended space is not stored
            sims = np.full(len(outside), np.nan, dtype=np.float32)
        dist = (np.float32(1.0) - sims).astype(np.float32)
        parts.append(pd.DataFrame({"row": outside, "sim": sims, "dist": dist,
                                   "margin": (np.float32(side.t) - dist).astype(np.float32), "rank": np.nan,
                                   "via": model}))
    return pd.concat(parts, ignore_index=True)


def _finish(bundle, split: str, cand: pd.DataFrame) -> pd.DataFrame:
    split_rows = bundle.split_rows(split)
    cand = cand.reset_index(drop=True)
    cand["row"] = cand["row"].astype(np.int64)
    cand["posting"] = split_rows[cand["row"].to_numpy()]
    post = bundle.postings
    cand["posting_id"] = post["posting_id"].to_numpy()[cand["posting"].to_numpy()]
    cand["title"] = post["title"].to_numpy()[cand["posting"].to_numpy()]
    cand["label_group"] = post["label_group"].to_numpy()[cand["posting"].to_numpy()]
    for col, default in (("same", False), ("predicted", False), ("min2", False), ("mark", "candidate"),
                         ("rank", np.nan), ("via", "")):
        if col not in cand:
            cand[col] = default
    return cand[MATCH_COLUMNS]


def row_summary(matches: pd.DataFrame, group_size: int) -> dict:
    """Precision/recall/F1 of the query row from its marked matches (self counted as right)."""
    tp = int((matches["mark"] == "correct").sum()) + 1
    n_pred = int(matches["predicted"].sum()) + 1
    scores = counts_to_scores(np.array([tp]), np.array([n_pred]), np.array([int(group_size)]))
    return {"tp": tp, "n_pred": n_pred, "n_true": int(group_size), **{k: float(v[0]) for k, v in scores.items()},
            "wrong": int((matches["mark"] == "wrong").sum()), "missed": int((matches["mark"] == "missed").sum())}


def shown_titles(bundle, split: str) -> np.ndarray:
    """The split's titles as shown (escapes decoded: "L\\xc3\\xa9ngket" reads "Léngket"), in split-row order,
    decoded once per bundle: searching or listing 70,000 postings decoded every title on every rerun."""
    def make():
        titles = bundle.postings["title"].to_numpy()[bundle.split_rows(split)]
        out = np.asarray([display_title(t) for t in titles], dtype=object)
        out.flags.writeable = False
        return out
    return bundle.cached(("shown_titles", split), make)


def search_postings(bundle, split: str, text: str, limit: int = 200) -> np.ndarray:
    """Split rows whose title (as shown, escapes decoded) or posting id contains every word of
    ``text`` (case-insensitive)."""
    rows = bundle.split_rows(split)
    words = [w for w in str(text or "").lower().split() if w]
    if not words:
        return np.arange(min(limit, len(rows)))
    post = bundle.postings.iloc[rows]
    titles = pd.Series(shown_titles(bundle, split), index=post.index)  # "léngket" finds "L\\xc3\\xa9ngket"
    hay = (titles + " " + post["posting_id"].astype(str)).str.lower()
    mask = np.ones(len(rows), dtype=bool)
    for w in words:
        mask &= hay.str.contains(w, regex=False).to_numpy()
    return np.flatnonzero(mask)[:limit]


# ============================================================================ uploads

@dataclass
class UploadedImage:
    image: object          # PIL.Image.Image, 8-bit RGB
    name: str
    phash: str             # 16 hex digits (imagehash.phash)

    @property
    def size(self) -> tuple[int, int]:
        return self.image.size


def read_upload(data: bytes | io.IOBase, name: str = "upload", max_bytes: int = MAX_UPLOAD_BYTES,
                max_pixels: int = MAX_UPLOAD_PIXELS) -> UploadedImage:
    """Validate and decode an uploaded image; any problem -> one readable :class:`QueryError`.

    Goes through :func:`shopee_core.data.images.open_image` (header pixel check before
    decoding, full decode, EXIF orientation, RGB), on a private temporary copy. The pHash
    is taken from the image as stored, before that EXIF rotation, exactly as the data's
    ``image_phash`` column was (:func:`shopee_core.data.images.image_phash`).
    """
    if hasattr(data, "read"):
        data = data.read(max_bytes + 1)
    data = bytes(data or b"")
    label = Path(str(name)).name or "upload"
    if not data:
        raise QueryError(f"{label}: the file is empty")
    if len(data) > max_bytes:
        raise QueryError(f"{label}: larger than {max_bytes / 1024 / 1024:.0f} MB; upload a smaller product photo")
    suffix = Path(label).suffix if len(Path(label).suffix) <= 6 else ""
    fd, tmp = tempfile.mkstemp(prefix="shopee-upload-", suffix=suffix)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        try:
            image = open_image(tmp, max_pixels=max_pixels)
            phash = file_phash(tmp)  # decoded fine just above
        except DataError as exc:
            text = str(exc).replace(f"image {tmp}: ", "").replace(tmp, label)
            raise QueryError(f"{label}: {text}") from None
        except (OSError, ValueError) as exc:
            raise QueryError(f"{label}: cannot compute its pHash ({type(exc).__name__})") from None
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return UploadedImage(image=image, name=label, phash=phash)


# ---------------------------------------------------------------------------- TF-IDF

class TfidfQuery:
    """One split's fitted TF-IDF vectorizer, from its saved state (vocabulary, idf, params).

    ``transform`` is :func:`shopee_core.models.tfidf.transform`: sklearn's own
    ``TfidfVectorizer.transform`` with the saved vocabulary and idf, so a typed title
    lands exactly where the bundle's rows are.
    """

    def __init__(self, state: dict):
        try:
            vocabulary = {str(k): int(v) for k, v in state["vocabulary"].items()}
            idf = [float(v) for v in state["idf"]]
            params = dict(state.get("params") or {})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise QueryError(f"TF-IDF vectorizer state is malformed ({exc})") from None
        if len(idf) != len(vocabulary):
            raise QueryError(f"TF-IDF vectorizer: {len(idf)} idf values for {len(vocabulary)} terms")
        if vocabulary and sorted(vocabulary.values()) != list(range(len(vocabulary))):
            raise QueryError("TF-IDF vectorizer: vocabulary columns are not 0..V-1")
        self.state = {"vocabulary": vocabulary, "idf": idf, "params": params}

    @property
    def n_features(self) -> int:
        return max(len(self.state["idf"]), 1)

    def transform(self, titles) -> sp.csr_matrix:
        return tfidf.transform(self.state, list(titles))


def tfidf_vectorizer(bundle, split: str, model_id: str = "tfidf") -> TfidfQuery:
    """The split's fitted vectorizer from ``models/<id>/vectorizer.json`` (read once per bundle object)."""
    return bundle.cached(("tfidf_query", model_id, split), lambda: _read_vectorizer(bundle, split, model_id))


def _read_vectorizer(bundle, split: str, model_id: str) -> TfidfQuery:
    path = bundle.entry(model_id).path("vectorizer")
    if path is None or not path.is_file():
        raise QueryError(f"bundle {bundle.name} ships no TF-IDF vectorizer for {model_id}; "
                         "rebuild it to query TF-IDF by typed title")
    try:
        state = bundle.load_file(path, lambda p: json.loads(p.read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise QueryError(f"{path.name}: unreadable ({exc})") from None
    if split not in state:
        raise QueryError(f"{path.name} has no vectorizer for split {split!r} (it has {', '.join(state)})")
    return TfidfQuery(state[split])


def tfidf_query(bundle, split: str, title: str, model_id: str = "tfidf") -> sp.csr_matrix:
    """A typed title as a (1, V) TF-IDF row in ``split``'s vocabulary (sklearn's transform exactly)."""
    return tfidf_vectorizer(bundle, split, model_id).transform([title])


def _split_block(bundle, model_id: str, split: str, n_features: int) -> sp.csr_matrix:
    """The split's rows of a block-diagonal per-split TF-IDF matrix, restricted to its own columns.

    A vectorizer fitted on a split keeps only terms that occur there, so its first column
    is the smallest column any of the split's rows uses: that is the block's offset.
    """
    emb = bundle.embeddings(model_id)
    rows = emb[bundle.split_rows(split)]
    if rows.nnz == 0:
        return sp.csr_matrix((rows.shape[0], n_features), dtype=np.float32)
    lo, hi = int(rows.indices.min()), int(rows.indices.max())
    if hi - lo + 1 > n_features:
        raise QueryError(f"TF-IDF embeddings of split {split!r} span {hi - lo + 1} columns, the vectorizer "
                         f"has {n_features}: the vectorizer does not belong to this bundle")
    return sp.csr_matrix(rows[:, lo:lo + n_features])


# ---------------------------------------------------------------------------- neural encoders

# encoders depend on their spec alone, so they are the process's, shared by every bundle and session
_ENCODERS = Cache(8, size=one)


def encoder(entry):
    """The query encoder of a zero-shot model (a bundle's model entry), built once per process from
    its spec (two sessions asking at once: one builds, the other waits for it)."""
    key = (entry.kind, json.dumps(dict(entry.spec), sort_keys=True, default=str))
    return _ENCODERS.get(key, lambda: _build_encoder(entry))


def _build_encoder(entry):
    if entry.kind == "e5":
        from ..models.text import E5Encoder  # torch and transformers: only for a query that needs them

        enc = E5Encoder(batch_size=1)
    elif entry.kind in ("text_zeroshot", "image_zeroshot"):
        from ..training.model import build_model  # torch

        recipe = Recipe(entry.id, entry.label, entry.family, entry.recipe, "demo", entry.kind, dict(entry.spec))
        enc = build_model(recipe, None).eval()
        if entry.kind == "image_zeroshot":
            from ..models.image import image_transforms  # torch

            enc._query_transform = image_transforms(enc.encoder.data_config, entry.spec["image_size"],
                                                    train=False, augment="none")
    else:
        raise QueryError(f"model {entry.id!r} ({entry.kind}) ships no query encoder")
    return enc


def _normalise(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).ravel()
    n = float(np.linalg.norm(v))
    return v / n if n > 0 else v


def needs(bundle, model_id: str) -> set[str]:
    """Which inputs a model's query needs: a subset of {"title", "image"} (empty: not queryable)."""
    e = bundle.entry(model_id)
    if e.kind == "tfidf":  # queries need the fitted vocabulary, saved by newer builders
        vectorizer = e.path("vectorizer")
        return {"title"} if e.query and vectorizer is not None and vectorizer.is_file() else set()
    if e.kind in ("e5", "text_zeroshot"):
        return {"title"} if e.query else set()
    if e.kind in ("phash", "image_zeroshot"):
        return {"image"} if e.query else set()
    if e.kind == "combo" and e.members and not e.spec.get("inb_iters"):
        out: set[str] = set()
        for m in e.members:
            sub = needs(bundle, m)
            if not sub:
                return set()
            out |= sub
        return out
    return set()


def queryable(bundle) -> list[str]:
    """Models an upload can be run against (their encoders, or all their members', ship)."""
    return [e.id for e in bundle.entries if needs(bundle, e.id)]


def unqueryable_reasons(bundle) -> dict[str, str]:
    """Models marked ``query: true`` that still cannot be queried here, with the reason."""
    out = {}
    for e in bundle.entries:
        if e.query and not needs(bundle, e.id):
            out[e.id] = ("no saved TF-IDF vectorizer in this bundle (rebuild it with a current builder)"
                         if e.kind == "tfidf" else "no query encoder for this kind of model")
    return out


def query_embedding(bundle, model_id: str, split: str, title: str | None = None,
                    image: UploadedImage | None = None):
    """The query's vector for a single (non-combination) model: dense float32 or a CSR row."""
    e = bundle.entry(model_id)
    kind = e.kind
    if kind in ("tfidf", "e5", "text_zeroshot") and not (title and str(title).strip()):
        raise QueryError(f"{e.label} needs a title")
    if kind in ("phash", "image_zeroshot") and image is None:
        raise QueryError(f"{e.label} needs an image")
    if kind == "tfidf":
        return tfidf_query(bundle, split, title, model_id)
    if kind == "phash":
        return _normalise(phash.embeddings([image.phash])[0])
    if kind == "e5":
        return _normalise(encoder(e).encode([str(title)], clean=title_cleaning(e.spec, default=False))[0])
    import torch  # the neural encoders' queries only

    enc = encoder(e)
    with torch.inference_mode():
        if kind == "text_zeroshot":
            tokens = enc.encoder.tokenize([str(title)], clean=title_cleaning(e.spec))
            z = enc.embed({"input_ids": tokens["input_ids"], "attention_mask": tokens["attention_mask"]})
        elif kind == "image_zeroshot":
            pixels = enc._query_transform(image.image)[None]
            z = enc.embed({"pixels": pixels})
        else:
            raise QueryError(f"model {model_id!r} ({kind}) ships no query encoder")
    return _normalise(z.float().cpu().numpy()[0])


def query_similarities(bundle, model_id: str, split: str, title: str | None = None,
                       image: UploadedImage | None = None) -> np.ndarray:
    """Cosine similarity of the query to every posting of ``split`` (float32, split order).

    Mean fusions average their members' similarities (with the spec's weights).
    """
    e = bundle.entry(model_id)
    if not needs(bundle, model_id):
        raise QueryError(f"{e.label}: no query encoder ships with this bundle")
    if e.is_union:
        raise QueryError(f"{e.label} is a union: query its sides (upload_matches does)")
    if e.kind == "combo":
        w = np.asarray(e.weights or [1.0] * len(e.members), dtype=np.float64)
        w = w / w.sum()
        total = None
        for m, wi in zip(e.members, w):
            s = wi * query_similarities(bundle, m, split, title, image).astype(np.float64)
            total = s if total is None else total + s
        return total.astype(np.float32)
    q = query_embedding(bundle, model_id, split, title, image)
    emb = bundle.embeddings(model_id)
    if emb is None:
        raise QueryError(f"{e.label}: the bundle holds no embeddings for it")
    if sp.issparse(emb):
        block = _split_block(bundle, model_id, split, q.shape[1])
        return np.asarray((block @ q.T).toarray(), dtype=np.float32).ravel()
    rows = bundle.split_rows(split)
    x = np.asarray(emb[rows], dtype=np.float32)
    if x.shape[1] != q.shape[0]:
        raise QueryError(f"{e.label}: the query encoder gives {q.shape[0]} dimensions, "
                         f"the bundle's embeddings {x.shape[1]}")
    return x @ q


def upload_matches(bundle, model_id: str, split: str, title: str | None = None, image: UploadedImage | None = None,
                   top: int = 12, inb: bool = False) -> pd.DataFrame:
    """Top matches of an uploaded image and/or typed title among ``split``'s postings.

    Uses the model's tuned (T, T2) on the plain embedding space (INB-blended spaces are
    not stored, so ``inb`` is ignored). Marks are ``predicted`` or ``candidate``; a union
    predicts what any side predicts. Returns at least every predicted posting among the
    ``top`` most similar, most similar first.
    """
    union = bundle.entry(model_id).is_union
    frames = []
    for side in sides(bundle, model_id):
        model, variant = _table(side)
        if variant != "base":  # the plain space at its own tuned thresholds
            e = bundle.entry(model)
            side = Side(model_source(model), e.t, e.t2)
        sims = query_similarities(bundle, model if union else model_id, split, title, image)
        dist = (1.0 - sims).astype(np.float32)
        pred = predict_query(dist, side.t, side.t2)
        frames.append(pd.DataFrame({"row": np.arange(len(sims)), "sim": sims, "dist": dist,
                                    "margin": (np.float32(side.t) - dist).astype(np.float32), "predicted": pred,
                                    "via": model}))
    allc = pd.concat(frames, ignore_index=True)
    predicted_rows = set(allc.loc[allc["predicted"], "row"].tolist())
    allc = allc.sort_values(["row", "margin"], ascending=[True, False], kind="stable").drop_duplicates("row")
    allc["predicted"] = allc["row"].isin(predicted_rows)
    allc = allc.sort_values("sim", ascending=False, kind="stable")
    allc["rank"] = np.arange(1, len(allc) + 1, dtype=np.float64)
    head = allc.head(max(int(top), 1))
    extra = allc[allc["predicted"] & ~allc["row"].isin(head["row"])]
    out = pd.concat([head, extra])
    out["same"] = False
    out["mark"] = np.where(out["predicted"], "predicted", "candidate")
    out["min2"] = out["predicted"] & ~(out["margin"] > 0)
    return _finish(bundle, split, out)

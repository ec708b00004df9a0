"""The data before any model: the study's opening analysis of the catalog, per candidate pool.

Everything here reads the bundle's postings only (ids, titles, labels, splits, pHashes and,
for bundles that ship it, the image file name) and returns plain tables, so the Data overview
page draws them and offers each one as CSV:

- split sizes (postings and groups per split; the catalog's counts from the manifest too);
- group sizes per pool (how many groups have 2, 3, ... members; the study's largest is 51,
  one more than its k = 50 candidates) and the largest groups;
- titles repeated across postings (after lower-casing and collapsing spaces), split into
  repeats inside one group and repeats across groups (the same title for different products);
- title lengths in characters and words;
- the most frequent tokens (TF-IDF's own tokenizer and English stop words, so the counts are
  what the TF-IDF model sees) and a word cloud image when the ``wordcloud`` package is there;
- postings sharing a pHash or an image file, within a group and across groups.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from ..errors import ShopeeError

CAP = 51               # the study's (and Kaggle's) largest group; k = 50 candidates cannot hold it whole
TOKEN = re.compile(r"(?u)\b\w\w+\b")  # scikit-learn's default token pattern (the TF-IDF model's)
SAME, ACROSS = "same group", "across groups"


def pool_frame(bundle, pool: str) -> pd.DataFrame:
    """The pool's postings (bundle rows in ``row``) with the columns the views use."""
    rows = bundle.split_rows(pool)
    post = bundle.postings
    cols = ["posting_id", "title", "label_group", "split", "image_phash"] + (["image"] if "image" in post else [])
    frame = post.iloc[rows][cols].reset_index(drop=True)
    frame.insert(0, "row", np.asarray(rows))
    frame["title_key"] = _norm_titles(frame["title"])  # what "the same title" means here, computed once
    return frame


def split_sizes(bundle) -> pd.DataFrame:
    """Postings and groups per split: the whole catalog (manifest counts) and what the bundle holds."""
    counts = (bundle.manifest.get("dataset") or {}).get("counts") or {}
    post = bundle.postings
    rows = []
    for split in ("train", "valid", "test"):
        held = post[post["split"] == split]
        rows.append({"split": split, "catalog_postings": counts.get(split), "bundle_postings": int(len(held)),
                     "bundle_groups": int(held["label_group"].nunique()) if len(held) else 0})
    return pd.DataFrame(rows)


def group_size_counts(bundle, pools) -> pd.DataFrame:
    """``pool, size, groups, postings``: how many groups of each size each pool holds."""
    out = []
    for pool in pools:
        labels = pd.Series(bundle.labels(pool)).dropna()
        sizes = labels.value_counts().value_counts().sort_index()
        for size, groups in sizes.items():
            out.append({"pool": pool, "size": int(size), "groups": int(groups), "postings": int(size * groups)})
    return pd.DataFrame(out, columns=["pool", "size", "groups", "postings"])


def largest_groups(frame: pd.DataFrame, n: int = 6) -> pd.DataFrame:
    """The ``n`` largest groups: ``label_group, size``, largest first (ties by label)."""
    sizes = frame["label_group"].dropna().value_counts()
    sizes = sizes.rename_axis("label_group").reset_index(name="size")
    return sizes.sort_values(["size", "label_group"], ascending=[False, True]).head(n).reset_index(drop=True)


def _norm_titles(titles: pd.Series) -> pd.Series:
    return titles.fillna("").astype(str).str.lower().str.split().str.join(" ")


def _shared(frame: pd.DataFrame, key: pd.Series, what: str) -> pd.DataFrame:
    """Values of ``key`` held by >= 2 postings: ``value, postings, groups, kind`` (same group if all
    its postings share one label), most shared first."""
    f = pd.DataFrame({"value": key.to_numpy(), "label_group": frame["label_group"].to_numpy()})
    f = f[f["value"].astype(str) != ""]
    g = f.groupby("value", sort=False)["label_group"].agg(postings="size", groups="nunique")
    g = g[g["postings"] >= 2].reset_index()
    g["kind"] = np.where(g["groups"] <= 1, SAME, ACROSS)
    g = g.rename(columns={"value": what})
    return g.sort_values(["postings", what], ascending=[False, True], kind="stable").reset_index(drop=True)


def repeated_titles(frame: pd.DataFrame) -> pd.DataFrame:
    """Titles (lower-cased, spaces collapsed) that >= 2 postings share: ``title, postings, groups, kind``."""
    key = frame["title_key"] if "title_key" in frame else _norm_titles(frame["title"])
    return _shared(frame, key, "title")


def repeat_histogram(shared: pd.DataFrame) -> pd.DataFrame:
    """``postings, kind, values``: how many titles (or hashes) are shared by 2, 3, ... postings."""
    if shared.empty:
        return pd.DataFrame(columns=["postings", "kind", "values"])
    h = shared.groupby(["postings", "kind"]).size().reset_index(name="values")
    return h.sort_values(["postings", "kind"]).reset_index(drop=True)


def rows_with(frame: pd.DataFrame, column: str, value) -> pd.DataFrame:
    """The postings whose ``column`` equals ``value`` (``title_key``: titles compared as
    :func:`repeated_titles` compares them)."""
    return frame[frame[column].astype(str).to_numpy() == str(value)]


def title_lengths(frame: pd.DataFrame) -> pd.DataFrame:
    """``posting_id, characters, words`` of every posting's title."""
    titles = frame["title"].fillna("").astype(str)
    return pd.DataFrame({"posting_id": frame["posting_id"].to_numpy(), "characters": titles.str.len().to_numpy(),
                         "words": titles.str.split().str.len().fillna(0).astype(int).to_numpy()})


def length_counts(lengths: pd.DataFrame) -> pd.DataFrame:
    """``unit, length, postings``: how many titles have each length in characters and in words
    (the histograms' numbers; the per-posting table is the download)."""
    out = []
    for unit in ("characters", "words"):
        c = lengths[unit].value_counts().sort_index()
        out.append(pd.DataFrame({"unit": unit, "length": c.index.astype(int), "postings": c.to_numpy()}))
    return pd.concat(out, ignore_index=True)


def token_counts(frame: pd.DataFrame, top: int = 30, stop_words: bool = True) -> pd.DataFrame:
    """``token, postings, count``: the most frequent tokens (TF-IDF's tokenizer on lower-cased
    titles; ``postings``: titles holding it, what the TF-IDF model's binary counts see)."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    stop = ENGLISH_STOP_WORDS if stop_words else frozenset()
    tokens = frame["title"].fillna("").astype(str).str.lower().str.findall(TOKEN)
    flat = pd.Series([t for ts in tokens for t in ts if t not in stop], dtype=object)
    if flat.empty:
        return pd.DataFrame(columns=["token", "postings", "count"])
    count = flat.value_counts()
    per_title = pd.Series([t for ts in tokens for t in set(ts) if t not in stop], dtype=object).value_counts()
    out = pd.DataFrame({"token": count.index, "count": count.to_numpy()})
    out["postings"] = per_title.reindex(out["token"]).to_numpy()
    return out.sort_values(["count", "token"], ascending=[False, True]).head(top)[["token", "postings", "count"]] \
        .reset_index(drop=True)


def word_cloud_png(counts: pd.DataFrame, width: int = 900, height: int = 360) -> bytes | None:
    """A word cloud of ``token_counts`` as PNG bytes (None when the wordcloud package is missing)."""
    try:
        from wordcloud import WordCloud
    except ImportError:
        return None
    if counts.empty:
        return None
    freq = dict(zip(counts["token"].astype(str), counts["count"].astype(float)))
    image = WordCloud(width=width, height=height, background_color="white", random_state=0,
                      prefer_horizontal=0.9, colormap="viridis").generate_from_frequencies(freq).to_image()
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def shared_images(frame: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """Postings sharing a pHash (and an image file, when the bundle has file names):
    ``{"image_phash": table, "image": table}``, each as :func:`_shared` makes it."""
    out = {"image_phash": _shared(frame, frame["image_phash"].fillna("").astype(str), "image_phash")}
    if "image" in frame:
        out["image"] = _shared(frame, frame["image"].fillna("").astype(str), "image")
    return out


def sharing_summary(shared: pd.DataFrame, n_postings: int) -> pd.DataFrame:
    """``kind, values, postings, share``: values shared within one group vs across groups."""
    rows = []
    for kind in (SAME, ACROSS):
        s = shared[shared["kind"] == kind]
        rows.append({"kind": kind, "values": int(len(s)), "postings": int(s["postings"].sum()),
                     "share": float(s["postings"].sum() / n_postings) if n_postings else float("nan")})
    return pd.DataFrame(rows)


def check_pool(bundle, pool: str) -> None:
    if pool not in bundle.splits:
        raise ShopeeError(f"bundle {bundle.name} has no pool {pool!r} (it has {', '.join(bundle.splits)})")

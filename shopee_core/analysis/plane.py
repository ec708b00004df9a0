"""The decision plane: candidate pairs at (image similarity, text similarity), labelled TP/FP/FN/TN.

Serves the "Decision plane" view of the Thresholds page. Pairs are the directed
candidates i -> j in the decision's tables and the two axis models' tables (merged
per row), plus the true pairs no table holds; each pair's two similarities come from
the tables where they hold it and from the embeddings elsewhere (in blocks of rows,
never gathering all rows at once). A person can see a few tens of thousands of points:
beyond ``DENSITY_ABOVE`` pairs the plane is a density grid with TP/FP/FN/TN counts per
cell, with a sample of the errors drawn on top.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DecisionError
from ..matching import Decision, model_source, roots
from ..matching.union import PairTable
from ..metrics import label_pairs
from . import budget
from .decisions import (
    OUTCOMES,
    as_decision,
    can_embed,
    canonical,
    combine_of,
    modality,
    model_setting,
    pool,
    table_models,
)

# above this many pairs the plane is a density grid (+ a sample of the errors), not one point per pair
DENSITY_ABOVE = 200_000
BINS = 60
ROWS_BYTES = 16 * 2**20  # temporaries per block when gathering positions or binning


def default_plane_models(bundle, model) -> tuple[str | None, str | None]:
    """An (image model, text model) pair for the plane: the decision's own members when
    it joins an image and a text model (single models before ensembles), else the first image
    and text tables."""
    if isinstance(model, Decision):
        ids = [m for side in model.sides for m in roots(side.source)]
    else:
        s = model_setting(bundle, model)
        ids = [x["model"] for x in s.get("sides", [])] or [model]
    tables = table_models(bundle)

    def expand(mid, seen=()):
        if mid in seen:
            return []
        e = bundle.entry(mid)
        if e.of:
            return expand(e.of, seen + (mid,))
        out = [mid] if mid in tables else []
        for m in e.members:
            out += expand(m, seen + (mid,))
        return out

    # single models first: a fused axis needs every member's similarity for the pairs its table lacks
    # (an ensemble of five 768-d models costs five times one model)
    ids = sorted(dict.fromkeys(m for r in ids for m in expand(r)),
                 key=lambda m: bool(bundle.entry(m).members))
    img = next((m for m in ids if modality(bundle, m) == "image"), None)
    txt = next((m for m in ids if modality(bundle, m) == "text"), None)
    if img is None:
        img = next((m for m in tables if modality(bundle, m) == "image"), None)
    if txt is None:
        txt = next((m for m in tables if modality(bundle, m) == "text"), None)
    return img, txt


def boundary(bundle, model, image_model: str, text_model: str) -> dict:
    """The decision's boundary in the (image sim, text sim) plane, where it is one.

    ``{"kind": "line", "w": w_img, "c": 1 - T}`` for a mean fusion of the two
    (w·s_img + (1-w)·s_txt = 1 - T); ``{"kind": "axes", "image": 1 - T_img,
    "text": 1 - T_txt}`` (either may be None) for a union or a single model; else
    ``{"kind": None}``. Min2 is not drawn (it adds one neighbour to lonely rows).
    """
    d = as_decision(bundle, model)
    axes = {"image": None, "text": None}
    if len(d.sides) == 1:
        s = d.sides[0]
        src = canonical(bundle, s.source)
        w = _fusion_weights(bundle, src)
        if w is not None and set(w) == {image_model, text_model}:
            return {"kind": "line", "w": w[image_model], "c": 1.0 - s.t}
    for s in d.sides:
        src = canonical(bundle, s.source)
        if src == model_source(image_model):
            axes["image"] = 1.0 - s.t
        elif src == model_source(text_model):
            axes["text"] = 1.0 - s.t
        else:
            return {"kind": None}
    return {"kind": "axes", **axes}


def _fusion_weights(bundle, src) -> dict | None:
    if src[0] == "fusion":
        return dict(src[1])
    if src[0] == "model" and src[2] == "base" and combine_of(bundle, src[1]) == "mean":
        e = bundle.entry(src[1])
        w = np.ones(len(e.members)) if not e.weights else np.asarray(e.weights, float)
        return dict(zip(e.members, (w / w.sum()).tolist()))
    return None


def _plane_positions(bundle, split, table: PairTable, image_model, text_model):
    """(s_img, s_txt) for every slot of the merged table: the model's own table where it holds the
    pair, the embeddings elsewhere (in blocks of rows, so temporaries stay a few tens of MB)."""
    def make():
        out = []
        for m in (image_model, text_model):
            s = table.side_of(model_source(m))
            sim = np.float32(1.0) - table.dist[s]  # inf distance -> -inf: not held by this table
            sim[~np.isfinite(sim)] = np.nan
            emb = pool(bundle, split).embeddings(m) if can_embed(bundle, m) else None
            step = max(1, ROWS_BYTES // (4 * max(table.w, 1) * 8))
            for start in range(0, table.n, step if emb is not None else table.n):
                block = slice(start, start + step)
                missing = np.isnan(sim[block]) & table.valid[block]
                if emb is None or not missing.any():
                    continue
                idx = np.where(missing, table.idx[block], -1)
                rows = np.flatnonzero(missing.any(axis=1))
                part = emb.candidate_similarity(idx[rows], rows=rows + start)
                sub = sim[block]
                sub[rows] = np.where(missing[rows], part, sub[rows])
            if emb is not None:
                emb.release_pages()
            out.append(sim)
        return tuple(out)
    return pool(bundle, split).cached(("plane_pos", table.sources, image_model, text_model), make,
                                      expect=2 * table.idx.nbytes)  # two float32 planes of the table's shape


def _outside_pairs(bundle, split, table: PairTable, image_model, text_model):
    """True pairs (i, j), i != j, that no table of the merged set holds, with their sims."""
    def make():
        i, j = label_pairs(table.labels)
        out = np.ones(len(i), dtype=bool)
        step = max(1, ROWS_BYTES // max(table.w, 1))
        for start in range(0, len(i), step):  # is j among i's merged candidates? (blocks of pairs)
            a, b = i[start:start + step], j[start:start + step]
            out[start:start + step] = ~(table.idx[a] == b[:, None]).any(axis=1)
        i, j = i[out], j[out]
        sims = []
        for m in (image_model, text_model):
            if can_embed(bundle, m) and len(i):
                emb = pool(bundle, split).embeddings(m)
                sims.append(emb.pair_similarity(i, j))
                emb.release_pages()
            else:
                sims.append(np.full(len(i), np.nan, np.float32))
        return i, j, sims[0], sims[1]
    return pool(bundle, split).cached(("plane_out", table.sources, image_model, text_model), make)


def plane(bundle, model, split: str, image_model: str, text_model: str, max_points: int = 20000,
          seed: int = 0, density_above: int = DENSITY_ABOVE, bins: int = BINS, **setting) -> tuple[pd.DataFrame, dict]:
    """Candidate pairs in the (image similarity, text similarity) plane, labelled at the setting.

    Pairs: every directed (i → j), j ≠ i, in the union of the decision's tables and the two
    models' tables within the split; each labelled TP/FP/FN/TN by whether the decision
    predicts j for i and whether they share a label. True pairs in none of these tables
    are FN too (``in_tables`` False; plotted when both models have embeddings).

    Up to ``density_above`` pairs (``info["mode"] == "points"``): at most ``max_points`` are
    returned, sampled per outcome so that rare FP/FN stay visible. Beyond it (``"density"``, a
    Kaggle-sized pool holds millions): ``info["density"]`` bins every pair into a ``bins`` ×
    ``bins`` grid with its TP/FP/FN/TN count per cell, and the frame holds only a sample of the
    errors (FP and FN, at most ``max_points`` together) to draw and select on top. ``info`` has
    the full counts either way.
    """
    d = as_decision(bundle, model, **setting)
    if image_model == text_model:
        raise DecisionError("choose two different models for the two axes")
    # the result (a sample of <= max_points pairs and a bins x bins grid) is kept, not only its parts: at
    # 70,000 postings the pair table and positions it is made from (~300 MB) leave the bounded cache
    # while the user looks at another view, and coming back made them again (7-13 s)
    key = ("plane", d, image_model, text_model, max_points, seed, density_above, bins)
    frame, info = pool(bundle, split).cached(key, lambda: _plane(bundle, d, split, image_model, text_model,
                                                                   max_points, seed, density_above, bins))
    return frame.copy(), dict(info)


def _plane(bundle, d, split: str, image_model: str, text_model: str, max_points: int, seed: int,
           density_above: int, bins: int) -> tuple[pd.DataFrame, dict]:
    p = pool(bundle, split)
    srcs = [p.canonical(s.source) for s in d.sides]
    axes = [model_source(image_model), model_source(text_model)]
    sources = tuple(dict.fromkeys(srcs + axes))
    n = len(bundle.split_rows(split))
    # per slot of the merged table: the table itself, two positions, outcome and temporaries (~64 B)
    budget.require(n * min(n, p.k * len(sources)) * (64 + 5 * len(sources)), f"the decision plane of {n:,} postings")
    table = p.pair_table(sources)
    pred = table.mask([(sources.index(src), s.t, s.t2) for src, s in zip(srcs, d.sides)])
    s_img, s_txt = _plane_positions(bundle, split, table, image_model, text_model)
    # outcome per slot: 0 TP, 1 FP, 2 FN, 3 TN; -1 self or padding
    outcome = (~pred).astype(np.int8) * 2
    outcome += ~table.same
    outcome[~table.valid | table.is_self] = -1
    outcome = outcome.ravel()
    del pred
    oi, oj, oimg, otxt = _outside_pairs(bundle, split, table, image_model, text_model)
    # strata: the four outcomes inside the tables, then FN outside them
    sizes = np.append(np.bincount(outcome + 1, minlength=5)[1:], len(oi))
    counts = {name: int(sizes[k]) for k, name in enumerate(OUTCOMES)}
    counts["FN outside tables"] = int(sizes[4])
    total = int(sizes.sum())
    density = None
    if total > density_above:
        density = _density(outcome, s_img, s_txt, oimg, otxt, bins)
        drawn = sizes * np.array([0, 1, 1, 0, 1])  # only the errors as points, over the density
    else:
        drawn = sizes
    quota = _quotas(drawn, max_points)
    rng = np.random.default_rng(seed)
    picked = []
    for k, q in enumerate(quota):
        if q == 0:
            picked.append(np.zeros(0, dtype=np.int64))
            continue
        m = np.flatnonzero(outcome == k) if k < 4 else np.arange(len(oi))
        picked.append(m if q >= len(m) else np.sort(rng.choice(m, q, replace=False)))
    flat = np.concatenate(picked[:4])
    r, c = flat // table.w, flat % table.w
    out = picked[4]
    cls = np.concatenate([outcome[flat], np.full(len(out), 2, np.int8)])
    fi = np.concatenate([r, oi[out]]).astype(np.int64)
    fj = np.concatenate([table.idx[r, c], oj[out]]).astype(np.int64)
    ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)]
    frame = pd.DataFrame({
        "i": fi, "j": fj, "posting_i": ids[fi], "posting_j": ids[fj],
        "s_image": np.concatenate([s_img.ravel()[flat], oimg[out]]),
        "s_text": np.concatenate([s_txt.ravel()[flat], otxt[out]]),
        "outcome": np.asarray(OUTCOMES)[cls],
        "in_tables": np.concatenate([np.ones(len(flat), bool), np.zeros(len(out), bool)]),
    })
    info = {"counts": counts, "n_pairs": total, "shown": len(frame), "sampled": len(frame) < total,
            "mode": "points" if density is None else "density", "density": density,
            "missing_positions": int(frame[["s_image", "s_text"]].isna().any(axis=1).sum()),
            "boundary": boundary(bundle, d, image_model, text_model), "image_model": image_model,
            "text_model": text_model, "decision": d.describe()}
    return frame, info


def _density(outcome, s_img, s_txt, oimg, otxt, bins: int) -> dict:
    """Every pair binned on a ``bins`` × ``bins`` grid over [lo, 1]², counted per outcome
    (``counts[outcome, y, x]``), in blocks of slots; ``unplaced``: pairs without both positions."""
    x, y = s_img.ravel(), s_txt.ravel()
    mins = [np.nanmin(a) if np.isfinite(a).any() else 0.0 for a in (x, y, oimg, otxt) if len(a)]
    lo = min(0.0, np.floor(min(mins) * 20) / 20) if mins else 0.0
    hi = 1.0 + 1e-6
    scale = bins / (hi - lo)
    counts = np.zeros(4 * bins * bins, dtype=np.int64)
    unplaced = 0
    step = ROWS_BYTES // 8

    def add(o, xx, yy):
        nonlocal unplaced, counts
        ok = (o >= 0) & np.isfinite(xx) & np.isfinite(yy)
        unplaced += int((o >= 0).sum() - ok.sum())
        bx = np.clip(((xx[ok] - lo) * scale).astype(np.int64), 0, bins - 1)
        by = np.clip(((yy[ok] - lo) * scale).astype(np.int64), 0, bins - 1)
        counts += np.bincount((o[ok].astype(np.int64) * bins + by) * bins + bx, minlength=counts.size)
    for start in range(0, len(x), step):
        sl = slice(start, start + step)
        add(outcome[sl], x[sl], y[sl])
    if len(oimg):
        add(np.full(len(oimg), 2, np.int8), oimg, otxt)
    edges = lo + (hi - lo) * np.arange(bins + 1) / bins
    return {"lo": float(lo), "hi": 1.0, "bins": bins, "edges": edges, "counts": counts.reshape(4, bins, bins),
            "unplaced": unplaced}


def _quotas(sizes: np.ndarray, max_points: int) -> list[int]:
    """Per-stratum sample sizes: small strata whole, the rest of the budget shared evenly."""
    sizes = np.asarray(sizes)
    if sizes.sum() <= max_points:
        return sizes.tolist()
    quota = [0] * len(sizes)
    budget, left = max_points, len(sizes)
    for k in np.argsort(sizes, kind="stable"):
        quota[k] = int(min(sizes[k], budget // left))
        budget -= quota[k]
        left -= 1
    return quota


def stratified_sample(classes: np.ndarray, max_points: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_points`` items: small classes whole, the budget shared evenly."""
    classes = np.asarray(classes)
    if len(classes) <= max_points:
        return np.arange(len(classes))
    values = np.unique(classes)
    members = [np.flatnonzero(classes == v) for v in values]
    quota = _quotas(np.array([len(m) for m in members]), max_points)
    rng = np.random.default_rng(seed)
    keep = [m if q >= len(m) else rng.choice(m, q, replace=False) for m, q in zip(members, quota)]
    return np.sort(np.concatenate(keep))


def select_pairs(frame: pd.DataFrame, selection) -> pd.DataFrame:
    """Rows of a plane frame picked by a plotly selection whose points carry ``customdata``
    ``[i, j, ...]`` (the pair itself, so a selection survives a re-sampled frame)."""
    points = selection.get("points", []) if isinstance(selection, dict) else []
    pairs = set()
    for p in points:
        cd = p.get("customdata") if isinstance(p, dict) else None
        if isinstance(cd, (list, tuple)) and len(cd) >= 2:
            try:
                pairs.add((int(cd[0]), int(cd[1])))
            except (TypeError, ValueError):
                continue
    if not pairs or frame.empty:
        return frame.iloc[0:0]
    keep = [(int(a), int(b)) in pairs for a, b in zip(frame["i"], frame["j"])]
    return frame[np.asarray(keep, dtype=bool)]

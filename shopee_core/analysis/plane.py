"""The decision plane: candidate pairs at (image similarity, text similarity), labelled TP/FP/FN/TN.

Serves the "Decision plane" view of the Thresholds page. Pairs are the directed
candidates i -> j in the decision's tables and the two axis models' tables (merged
per row), plus the true pairs no table holds; each pair's two similarities come from
the tables where they hold it and from the embeddings elsewhere (in chunks, never
gathering all rows at once).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DecisionError
from ..matching import Decision, model_source, roots
from ..matching.union import PairTable
from .decisions import (OUTCOMES, as_decision, can_embed, canonical, combine_of, model_setting, modality, pool,
                        table_models)


def default_plane_models(bundle, model) -> tuple[str | None, str | None]:
    """An (image model, text model) pair for the plane: the decision's own members when
    it joins an image and a text model, else the first image and text tables."""
    if isinstance(model, Decision):
        ids = [m for side in model.sides for m in roots(side.source)]
    else:
        s = model_setting(bundle, model)
        ids = [x["model"] for x in s.get("sides", [])] or [model]
    tables = table_models(bundle)

    def expand(mid, seen=()):
        if mid in seen:
            return []
        spec = bundle.model(mid).get("spec") or {}
        if spec.get("of"):
            return expand(spec["of"], seen + (mid,))
        out = [mid] if mid in tables else []
        for m in spec.get("members") or []:
            out += expand(m, seen + (mid,))
        return out

    ids = [m for r in ids for m in expand(r)]
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
        spec = bundle.model(src[1])["spec"]
        w = np.ones(len(spec["members"])) if not spec.get("weights") else np.asarray(spec["weights"], float)
        return dict(zip(spec["members"], (w / w.sum()).tolist()))
    return None


def _plane_positions(bundle, split, table: PairTable, image_model, text_model):
    """(s_img, s_txt) for every slot of the merged table; missing ones from embeddings."""
    def make():
        out = []
        for m in (image_model, text_model):
            s = table.side_of(model_source(m))
            sim = np.where(np.isfinite(table.dist[s]), np.float32(1.0) - table.dist[s], np.nan).astype(np.float32)
            missing = np.isnan(sim) & table.valid
            if missing.any() and can_embed(bundle, m):
                r, c = np.nonzero(missing)
                sim[r, c] = pool(bundle, split).embeddings(m).pair_similarity(r, table.idx[r, c])
            out.append(sim)
        return tuple(out)
    return pool(bundle, split).cached(("plane_pos", table.sources, image_model, text_model), make)


def _outside_pairs(bundle, split, table: PairTable, image_model, text_model):
    """True pairs (i, j), i != j, that no table of the merged set holds, with their sims."""
    def make():
        lab = table.labels
        order = np.argsort(lab, kind="stable")
        _, start, count = np.unique(lab[order], return_index=True, return_counts=True)
        ii, jj = [], []
        for st, c in zip(start, count):
            if c < 2:
                continue
            g = order[st:st + c]
            a, b = np.meshgrid(g, g, indexing="ij")
            keep = a != b
            ii.append(a[keep])
            jj.append(b[keep])
        if not ii:
            e = np.zeros(0, dtype=np.int64)
            return e, e, np.zeros(0, np.float32), np.zeros(0, np.float32)
        i, j = np.concatenate(ii).astype(np.int64), np.concatenate(jj).astype(np.int64)
        held = (np.repeat(np.arange(table.n, dtype=np.int64), table.w) * table.n
                + table.idx.ravel().astype(np.int64))[table.valid.ravel()]
        out = ~np.isin(i * table.n + j, held)
        i, j = i[out], j[out]
        sims = []
        for m in (image_model, text_model):
            sims.append(pool(bundle, split).embeddings(m).pair_similarity(i, j) if can_embed(bundle, m) and len(i)
                        else np.full(len(i), np.nan, np.float32))
        return i, j, sims[0], sims[1]
    return pool(bundle, split).cached(("plane_out", table.sources, image_model, text_model), make)


def plane(bundle, model, split: str, image_model: str, text_model: str, max_points: int = 20000,
          seed: int = 0, **setting) -> tuple[pd.DataFrame, dict]:
    """Candidate pairs in the (image similarity, text similarity) plane, labelled at the setting.

    Pairs: every directed (i → j), j ≠ i, in the union of the decision's tables and the two
    models' tables within the split; each labelled TP/FP/FN/TN by whether the decision
    predicts j for i and whether they share a label. True pairs in none of these tables
    are FN too (``in_tables`` False; plotted when both models have embeddings). At most
    ``max_points`` are returned, sampled per outcome so that rare FP/FN stay visible;
    ``info`` has the full counts.
    """
    d = as_decision(bundle, model, **setting)
    if image_model == text_model:
        raise DecisionError("choose two different models for the two axes")
    p = pool(bundle, split)
    srcs = [p.canonical(s.source) for s in d.sides]
    axes = [model_source(image_model), model_source(text_model)]
    sources = tuple(dict.fromkeys(srcs + axes))
    table = p.pair_table(sources)
    pred = table.mask([(sources.index(src), s.t, s.t2) for src, s in zip(srcs, d.sides)])
    s_img, s_txt = _plane_positions(bundle, split, table, image_model, text_model)
    # outcome per slot: 0 TP, 1 FP, 2 FN, 3 TN; -1 self or padding
    outcome = np.where(table.valid & ~table.is_self,
                       (~pred).astype(np.int8) * 2 + (~table.same).astype(np.int8), np.int8(-1)).ravel()
    oi, oj, oimg, otxt = _outside_pairs(bundle, split, table, image_model, text_model)
    # strata: the four outcomes inside the tables, then FN outside them
    members = [np.flatnonzero(outcome == k) for k in range(4)] + [np.arange(len(oi))]
    sizes = np.array([len(m) for m in members])
    counts = {name: int(sizes[k]) for k, name in enumerate(OUTCOMES)}
    counts["FN outside tables"] = int(sizes[4])
    quota = _quotas(sizes, max_points)
    rng = np.random.default_rng(seed)
    picked = [m if q >= len(m) else np.sort(rng.choice(m, q, replace=False)) for m, q in zip(members, quota)]
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
    total = int(sizes.sum())
    info = {"counts": counts, "n_pairs": total, "shown": len(frame), "sampled": len(frame) < total,
            "missing_positions": int(frame[["s_image", "s_text"]].isna().any(axis=1).sum()),
            "boundary": boundary(bundle, d, image_model, text_model), "image_model": image_model,
            "text_model": text_model, "decision": d.describe()}
    return frame, info


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

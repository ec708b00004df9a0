"""One command from a Kaggle-layout folder to a complete bundle.

Stages: folds -> train/embed every model of the profile -> neighbour tables per
split -> thresholds searched on validation (T, T2, INB) -> metrics on validation
and test -> fusions, ensembles, unions -> UMAP per model -> thumbnails ->
manifest with checksums. Work is cached in a staging folder beside the bundle
(``.NAME.build``), so a rerun skips what is done; the finished bundle replaces
the old one in a single rename, so readers never see half a bundle.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..data import attach_splits, load_catalog, load_or_create_folds
from ..errors import ShopeeError
from ..io import atomic_write_json, load_matrix, save_matrix
from ..matching import Embeddings, Neighbors, Scorer, fuse, knn, predict, union
from ..matching import inb as inb_mod
from ..matching.search import search_pair
from ..metrics import score
from ..models import leaves, list_models, members
from ..models.registry import ModelEntry
from .format import REFERENCE, THUMBS, model_dir
from .writer import seal, write_array, write_embeddings, write_jpeg, write_neighbors, write_postings

SHOWN = ("valid", "test")
THUMB_SIDE = 112
QUERY_KINDS = {"tfidf", "phash", "e5", "text_zeroshot", "image_zeroshot"}
REFERENCE_CSV = Path(__file__).resolve().parents[2] / "precomputed" / "reference" / "seed_results.csv"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


@dataclass
class Pool:
    """The shown postings (valid + test) and where each split's rows are."""

    frame: pd.DataFrame          # shown rows only, bundle order
    catalog_rows: np.ndarray     # their rows in train.csv
    split_rows: dict             # split -> rows into frame

    def labels(self, split):
        return self.frame["label_group"].to_numpy()[self.split_rows[split]]


class Stage:
    """Cached intermediate results in the staging folder."""

    def __init__(self, root: Path):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, *parts) -> Path:
        p = self.root.joinpath(*parts)
        p.parent.mkdir(parents=True, exist_ok=True)
        return p


def _entries(profile: str, only: list[str] | None = None) -> list[ModelEntry]:
    """Leaves first, then combinations with their members before them. ``only``: these
    models, plus every combination whose leaves are all among them."""
    entries = list_models(profile)
    if only:
        unknown = sorted(set(only) - {e.id for e in entries})
        if unknown:
            raise ShopeeError(f"profile {profile} has no model(s) {', '.join(unknown)}")
        keep = set(only)
        entries = [e for e in entries if e.id in keep or (e.kind == "combo" and {x.id for x in leaves(e)} <= keep
                                                           and all(m.id in keep or m.kind == "combo" for m in members(e)))]
    done, ordered = set(), []

    def visit(e: ModelEntry):
        if e.id in done:
            return
        for m in members(e):
            visit(m)
        done.add(e.id)
        ordered.append(e)

    for e in sorted(entries, key=lambda e: (e.kind == "combo", e.recipe or 99, e.id)):
        visit(e)
    return ordered


def missing_weights(entries: list[ModelEntry]) -> list[str]:
    """Every pretrained weight the plan needs and this machine lacks (checked before any work)."""
    from ..models.weights import WeightsUnavailable

    out = []
    for e in entries:
        w, backbone = e.spec.get("weights"), e.spec.get("backbone")
        if e.spec.get("tiny") or w in (None, "none") or e.kind in ("tfidf", "phash", "e5", "combo"):
            continue
        try:
            if e.kind.startswith("image"):
                from ..models.image import imagenet_weights_file, package_weights_file

                imagenet_weights_file(backbone) if w == "imagenet" else package_weights_file(w.split(":", 1)[1])
            else:
                from ..models.text import resolve_text_weights

                resolve_text_weights(backbone if w == "hub" else w)
        except WeightsUnavailable as exc:
            out.append(f"{e.id}: {exc}")
    return out


def plan(profile: str, only: list[str] | None = None) -> list[ModelEntry]:
    return _entries(profile, only)


def spec_hash(entry: ModelEntry) -> str:
    import hashlib

    return hashlib.sha256(json.dumps(entry.as_dict(), sort_keys=True).encode()).hexdigest()[:10]


def _embed_leaf(entry: ModelEntry, data_dir: Path, catalog, frame, stage: Stage, device, workers) -> Path:
    """Embeddings of every posting (train.csv order) for a leaf model, cached."""
    key = f"{entry.id}-{spec_hash(entry)}"  # a changed recipe never reuses stale work
    out = stage.path("emb", f"{key}.npz" if entry.kind == "tfidf" else f"{key}.npy")
    if out.exists():
        return out
    if entry.trainable:
        from ..training.embed import embed_run
        from ..training.loop import BEST, train

        run = stage.path("runs", key)
        if not (run / "done.json").exists():
            train(entry, data_dir, run, resume=(run / "config.json").exists(), device=device, workers=workers)
            atomic_write_json(run / "done.json", {"finished": time.time()})
        x, _ = embed_run(run, data_dir, device=device, workers=workers)
        assert (run / BEST).exists()
    else:
        from ..training.embed import embed_untrained

        x = embed_untrained(entry, catalog, frame, device=device)
    from ..models.embedders import to_storage

    save_matrix(out, to_storage(x))
    return out


def as_stored(nb: Neighbors) -> Neighbors:
    """The table as the bundle stores it (float16 similarities), so every threshold and metric in
    the manifest is exactly what the dashboard recomputes from the files."""
    return Neighbors(nb.idx, nb.sim.astype(np.float16).astype(np.float32))


def _tables(emb: Embeddings, pool: Pool, k: int) -> dict[str, Neighbors]:
    return {s: as_stored(knn(emb.take(rows), k)) for s, rows in pool.split_rows.items()}


def _inb_tables(x: Embeddings, tables: dict, pool: Pool, t, t2, iters: int, k: int) -> dict[str, Neighbors]:
    return {s: as_stored(inb_mod.iterate(x.take(pool.split_rows[s]), tables[s], t, t2, iters, k)[1]) for s in SHOWN}


def _global(tables: dict[str, Neighbors], pool: Pool) -> dict:
    return {s: (pool.split_rows[s][nb.idx], nb.sim) for s, nb in tables.items()}


def _metrics_single(tables, pool, t, t2) -> dict:
    out = {}
    for s, nb in tables.items():
        sc = Scorer(nb, pool.labels(s))
        out[s] = {"base": _prf(sc.score(t)), "min2": _prf(sc.score(t, t2))}
    return out


def _prf(d: dict) -> dict:
    return {"f1": round(d["f1"], 6), "precision": round(d["precision"], 6), "recall": round(d["recall"], 6)}


def build(profile: str, data_dir, out, k: int = 50, device: str | None = None, workers: int | None = None,
          umap: bool = True, only: list[str] | None = None, skip_embeddings: tuple = ()) -> dict:
    """``skip_embeddings``: models that ship neighbour tables and maps but no embedding rows (keeps a
    committed bundle lean; the dashboard then cannot re-fuse them or score pairs outside their tables)."""
    data_dir, out = Path(data_dir), Path(out)
    t_start = time.time()
    entries = _entries(profile, only)
    catalog = load_catalog(data_dir, check_images=True)
    if not catalog.has_labels:
        raise ShopeeError(f"{data_dir}: a bundle needs labelled data (train.csv with label_group) to tune and score")
    for w in catalog.warnings:
        log(f"warning: {w}")
    frame = attach_splits(catalog.frame, load_or_create_folds(data_dir, catalog.frame))
    log(f"[plan] {len(entries)} models for profile {profile}: " + ", ".join(e.id for e in entries))
    missing = missing_weights(entries)
    if missing:
        raise ShopeeError(f"{len(missing)} model(s) need weights this machine does not have — " + " | ".join(missing))
    stage = Stage(out.parent / f".{out.name}.build")
    shown = np.flatnonzero(frame["split"].isin(SHOWN).to_numpy())
    pool_frame = frame.iloc[shown].reset_index(drop=True)
    pool = Pool(pool_frame, shown, {s: np.flatnonzero(pool_frame["split"].to_numpy() == s) for s in SHOWN})

    # 1. embeddings of every leaf
    leaf_entries = [e for e in entries if e.kind != "combo"]
    emb: dict[str, Embeddings] = {}
    raw: dict = {}
    t_stage = time.time()
    for i, e in enumerate(leaf_entries):
        eta = _eta(t_stage, i, len(leaf_entries))
        log(f"[embed {i + 1}/{len(leaf_entries)}] {e.id}: {e.label}{eta}")
        m = load_matrix(_embed_leaf(e, data_dir, catalog, frame, stage, device, workers))
        m = m[shown]
        raw[e.id] = m
        emb[e.id] = Embeddings.from_array(m.astype(np.float32) if not sp.issparse(m) else m, name=e.id)

    # 2. tables, thresholds, metrics per model
    new = out.parent / f".{out.name}.new"
    if new.exists():
        shutil.rmtree(new)
    new.mkdir(parents=True)
    models, decided = [], {}
    best_fusion = None
    t_stage = time.time()
    for i, e in enumerate(entries):
        log(f"[match {i + 1}/{len(entries)}] {e.id}{_eta(t_stage, i, len(entries))}")
        rel = model_dir(e.id)
        files, thresholds, metrics = {}, {"t": None, "t2": None, "inb_t": None, "inb_t2": None, "inb_iters": 0}, {}
        combine = e.spec.get("combine")
        if combine == "union":
            sides = [decided[m.id] for m in members(e)]
            for s in SHOWN:
                labels = pool.labels(s)
                base = union(*[predict(d["tables"][s], d["t"]) for d in sides])
                mn2 = union(*[predict(d["tables"][s], d["t"], d["t2"]) for d in sides])
                metrics[s] = {"base": _prf(score(base, labels)), "min2": _prf(score(mn2, labels))}
            thresholds["sides"] = [{"model": m.id, "t": decided[m.id]["t"], "t2": decided[m.id]["t2"]}
                                   for m in members(e)]
            decided[e.id] = {"union": True}
        else:
            x = emb[e.id] if e.kind != "combo" else fuse([emb[m.id] for m in members(e)])
            emb[e.id] = x
            tables = _tables(x, pool, k)
            t, t2 = search_pair(Scorer(tables["valid"], pool.labels("valid")))
            metrics = _metrics_single(tables, pool, t, t2)
            files["neighbors"] = write_neighbors(new, f"{rel}/neighbors.npz", _global(tables, pool))
            inb_tables = _inb_tables(x, tables, pool, t, t2, 1, k)
            it, it2 = search_pair(Scorer(inb_tables["valid"], pool.labels("valid")))
            for s in SHOWN:
                metrics[s]["inb"] = _prf(Scorer(inb_tables[s], pool.labels(s)).score(it, it2))
            files["neighbors_inb"] = write_neighbors(new, f"{rel}/neighbors_inb.npz", _global(inb_tables, pool))
            thresholds.update(t=t, t2=t2, inb_t=it, inb_t2=it2, inb_iters=1)
            if e.kind != "combo" and e.id not in skip_embeddings:
                files["embeddings"] = write_embeddings(new, rel, raw[e.id])
            if e.kind == "tfidf":  # the fitted vocabularies, so the dashboard can embed a typed title
                from ..models.tfidf import per_split

                _, states = per_split(frame["title"].tolist(), frame["split"], return_states=True,
                                      **e.spec.get("overrides", {}))
                atomic_write_json(new / rel / "vectorizer.json", {s: states[s] for s in SHOWN if s in states})
                files["vectorizer"] = f"{rel}/vectorizer.json"
            if umap:
                from ..analysis.maps import umap_2d

                files["umap"] = write_array(new, f"{rel}/umap.npy", umap_2d(_umap_input(x)))
            decided[e.id] = {"tables": tables, "t": t, "t2": t2}
            if e.family == "fusion" and combine == "mean":
                f1 = metrics["valid"]["min2"]["f1"]
                if best_fusion is None or f1 > best_fusion[1]:
                    best_fusion = (e, f1)
        models.append(_manifest_model(e, thresholds, metrics, files))
    if best_fusion is not None:
        models.append(_iterated_inb(best_fusion[0], emb, decided, pool, k, new))

    # 3. postings + thumbnails + reference
    log(f"[thumbs] {len(pool_frame)} thumbnails")
    thumbs = _thumbnails(catalog, pool, new)
    postings = pool_frame.assign(thumb=thumbs)[["posting_id", "title", "label_group", "split", "image_phash", "thumb"]]
    write_postings(new, postings)
    (new / REFERENCE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REFERENCE_CSV, new / REFERENCE)
    counts = frame["split"].value_counts().to_dict()
    meta_path = data_dir / "catalog.json"
    source = json.loads(meta_path.read_text()).get("source", "kaggle") if meta_path.exists() else "kaggle"
    manifest = {
        "dataset": {"source": source, "name": data_dir.name, "counts": {s: int(counts.get(s, 0)) for s in
                                                                         ("train", "valid", "test")},
                    "shown_splits": list(SHOWN), "pool": "retrieval within each split"},
        "k": k, "profile": profile, "models": models, "files": {},
        "built": {"seconds": round(time.time() - t_start, 1), "command":
                  f"python -m shopee_core build-bundle --profile {profile} --data {data_dir} --out {out}"},
    }
    manifest = seal(new, {"format_version": 1, **manifest})
    _swap(new, out)
    log(f"[done] {out}: {len(models)} models in {time.time() - t_start:.0f} s")
    return manifest


def _umap_input(x: Embeddings):
    if x.is_dense:
        return x.dense()
    return sp.hstack([sp.csr_matrix(b) for b in x.blocks], format="csr")


def _iterated_inb(e: ModelEntry, emb, decided, pool, k, new, iters: int = 3) -> dict:
    """INB repeated ``iters`` times with per-stage thresholds, each searched on validation after its
    blend (the competition's 1st-place scheme: re-using the first stage's T lets every blend admit
    more neighbours than the last, and the groups snowball)."""
    d = decided[e.id]
    tables, t, t2 = d["tables"], d["t"], d["t2"]
    current = {s: emb[e.id].take(pool.split_rows[s]) for s in SHOWN}
    stages = []
    for _ in range(iters):
        current = {s: inb_mod.blend(current[s], tables[s], t, t2) for s in SHOWN}
        tables = {s: as_stored(knn(current[s], k)) for s in SHOWN}
        t, t2 = search_pair(Scorer(tables["valid"], pool.labels("valid")))
        stages.append({"t": t, "t2": t2})
    metrics = {s: {"inb": _prf(Scorer(tables[s], pool.labels(s)).score(t, t2))} for s in SHOWN}
    mid = f"{e.id}_inb{iters}"
    rel = model_dir(mid)
    files = {"neighbors_inb": write_neighbors(new, f"{rel}/neighbors_inb.npz", _global(tables, pool))}
    spec = {"members": e.spec["members"], "combine": "mean", "of": e.id, "inb_iters": iters,
            "inb_thresholds": "per stage, each searched on validation", "trained": False, "loss": None, "epochs": 0}
    thresholds = {"t": d["t"], "t2": d["t2"], "inb_t": t, "inb_t2": t2, "inb_iters": iters, "inb_stages": stages}
    return {"id": mid, "label": f"{e.label} + INB ×{iters}, per-stage thresholds (best fusion on validation)",
            "family": "fusion", "recipe": None, "kind": "combo", "spec": spec, "thresholds": thresholds,
            "metrics": metrics, "files": files, "query": False}


def _manifest_model(e: ModelEntry, thresholds, metrics, files) -> dict:
    return {"id": e.id, "label": e.label, "family": e.family, "recipe": e.recipe, "kind": e.kind,
            "spec": e.spec, "thresholds": thresholds, "metrics": metrics, "files": files,
            "query": e.kind in QUERY_KINDS}


def _thumbnails(catalog, pool: Pool, new: Path) -> list[str]:
    from tqdm.auto import tqdm

    from ..data.images import open_image

    rels = []
    for pid, name in tqdm(list(zip(pool.frame["posting_id"], pool.frame["image"])), desc="thumbs", leave=False,
                          file=sys.stderr):
        rel = f"{THUMBS}/{pid}.jpg"
        im = open_image(catalog.image_dir / name)
        im.thumbnail((THUMB_SIDE, THUMB_SIDE))
        write_jpeg(new, rel, im, quality=70)
        rels.append(rel)
    return rels


def _swap(new: Path, out: Path) -> None:
    old = out.parent / f".{out.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if out.exists():
        out.rename(old)
    new.rename(out)
    if old.exists():
        shutil.rmtree(old)


def _eta(t0: float, done: int, total: int) -> str:
    """Time left in a stage, from the mean time per item so far (items differ: a rough guide)."""
    if done == 0:
        return ""
    left = (time.time() - t0) / done * (total - done)
    return f" (about {left / 60:.0f} min left)" if left > 90 else f" (about {left:.0f} s left)"

"""One command from a Kaggle-layout folder to a complete bundle.

Steps: plan (folds, models, weights check) -> embed every leaf model (train first
when it is trained) -> per model, through the one decision layer
(:mod:`shopee_core.matching`): neighbour tables per split, thresholds searched on
validation (T, T2, INB), metrics on validation and test -> fusions, ensembles,
unions -> UMAP -> thumbnails -> manifest with checksums.

Work is cached in a staging folder beside the bundle (``.NAME.build``), keyed by the
recipe and by a fingerprint of the data it was computed from (postings, titles,
labels, folds and, for image models, the image bytes), so a rerun skips what is done
and a changed catalog is never served from the cache. The finished bundle replaces the
old one in a single rename, so readers never see half a bundle. A build holds the bundle's
lock (:func:`~shopee_core.bundle.edit.bundle_lock`) throughout and refuses to start while
another build or edit holds it: its cache and staging folder are its own.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp
from tqdm.auto import tqdm

from .. import faults
from .. import matching as M
from ..data import attach_splits, load_catalog, load_or_create_folds
from ..data.images import open_image
from ..errors import ShopeeError
from ..io import atomic_write_json, sweep_temp
from ..matching import Decision, Embeddings, Pool, model_source
from ..matching.embeddings import fusion_weights
from ..matching.index import EXACT as EXACT_INDEX
from ..matching.index import check_memory, index_record, parse_index
from ..matching.knn import joint_knn
from ..models import leaves, list_models, members, with_overrides
from ..models.embedders import tfidf_overrides
from ..models.registry import ModelEntry
from ..models.tfidf import per_split
from ..training.history import run_history
from .cache import DataFingerprints, Stage, leaf_embeddings, run_folder
from .edit import bundle_lock, swap_in
from .format import ALL_POOL, HISTORY, REFERENCE, SEED_SWEEPS, SHOWN_SPLITS, THUMBS, VECTORIZER, model_dir
from .steps import STEPS
from .suspects import ship_suspects
from .tables import embeddings, graph_variant, score_variants, shown_pools, table_model, write_tables
from .writer import seal, write_jpeg, write_postings, write_rows

SHOWN = SHOWN_SPLITS
WITH_ALL = SHOWN + (ALL_POOL,)  # --pool-all: also every labelled posting as one pool
THUMB_SIDE = 112
QUERY_KINDS = {"tfidf", "phash", "e5", "text_zeroshot", "image_zeroshot"}
REFERENCE_CSV = Path(__file__).resolve().parents[2] / "precomputed" / "reference" / "seed_results.csv"
SEARCH_MODES = ("seed", "full")
# graph steps tuned on valid per model (README, Fidelity): none in seed18 (the seed had none); tuned adopts
# cluster (S searched on valid), the one step that beat the plain decision for TF-IDF and a fusion on both
# demo catalogs (README, "Graph steps"); demo/smoke try every step and keep the best where it wins on valid
GRAPH_BY_PROFILE = {"seed18": "none", "tuned": "cluster", "demo": "auto", "smoke": "auto"}
# how a bundle stores dense embedding rows and neighbour similarities (thresholds and stored metrics
# always come from float32 tables): the seed's recipes and the project's keep float32 (a 34,250-posting
# Kaggle bundle affords it); the committed demo bundle keeps float16 to stay lean
STORAGE_DTYPES = ("float32", "float16")
PROFILE_STORAGE = {"seed18": "float32", "tuned": "float32", "smoke": "float32", "demo": "float16"}


log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- plan
def _entries(profile: str, only: list[str] | None = None) -> list[ModelEntry]:
    """Leaves first, then combinations with their members before them. ``only``: these
    models, plus every combination whose leaves are all among them (empty: none, a bundle of
    postings and thumbnails that models are imported into later)."""
    entries = list_models(profile)
    if only is not None:
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


def plan(profile: str, only: list[str] | None = None) -> list[ModelEntry]:
    return _entries(profile, only)


def missing_weights(entries: list[ModelEntry]) -> list[str]:
    """Every pretrained weight the plan needs and this machine lacks (checked before any work)."""
    from ..models.image import imagenet_weights_file, package_weights_file
    from ..models.text import resolve_text_weights
    from ..models.weights import WeightsUnavailable

    out = []
    for e in entries:
        w, backbone = e.spec.get("weights"), e.spec.get("backbone")
        if e.spec.get("tiny") or w in (None, "none") or e.kind in ("tfidf", "phash", "e5", "combo"):
            continue
        try:
            if e.kind.startswith("image"):
                if w.startswith("package:"):
                    package_weights_file(w.split(":", 1)[1])
                elif w == "imagenet" or w.startswith("timm:"):
                    imagenet_weights_file(backbone, w)
                elif not Path(w).expanduser().is_file():
                    raise WeightsUnavailable(f"weights file {w}: no such file")
            else:
                resolve_text_weights(backbone if w == "hub" else w)
        except WeightsUnavailable as exc:
            out.append(f"{e.id}: {exc}")
    return out


def search_of(entry: ModelEntry, mode: str | None) -> str:
    """The threshold search a model is tuned with: its recipe's (``mode`` None), the project's
    full scan (``"full"``) or the seed's scan for its kind (``"seed"``)."""
    own = entry.spec.get("search")
    if mode not in (None, *SEARCH_MODES):
        raise ShopeeError(f"--search must be one of {', '.join(SEARCH_MODES)}, got {mode!r}")
    if mode == "full" or (mode is None and own in (None, "full", "per_side")):
        return "full"
    if own and own.startswith("seed"):
        return own
    if entry.kind == "tfidf":
        return "seed_tfidf"
    return "seed_ensemble" if entry.spec.get("combine") == "mean" else "seed_single"


@dataclass
class Plan:
    """What a build works on: the models, the shown postings (valid + test), the pools.

    ``pools``: the candidate pools with tables and metrics — the shown splits and, with
    ``all``, every labelled posting at once (the bundle then holds every posting)."""

    profile: str
    entries: list
    catalog: object
    frame: pd.DataFrame          # every posting, with its split
    data_dir: Path
    out: Path
    k: int
    search: str | None
    pools: tuple = SHOWN
    storage: str = "float32"
    index: object = None                          # matching.index.IndexSpec (None: exact)
    min_recall: float | None = None
    graph: object = "none"                       # "none" | "auto" | a GraphStep (matching.graph_mode)
    shown: np.ndarray = field(init=False)        # rows of frame that the bundle shows
    used_pools: dict = field(init=False, default_factory=dict)  # pool -> Pool, for the index record
    pool_frame: pd.DataFrame = field(init=False)
    split_rows: dict = field(init=False)         # pool -> rows into pool_frame
    runs: dict = field(init=False, default_factory=dict)  # trained model id -> its run folder in the cache

    def __post_init__(self):
        every = ALL_POOL in self.pools
        self.shown = (np.arange(len(self.frame)) if every else
                      np.flatnonzero(self.frame["split"].isin(SHOWN).to_numpy()))
        self.pool_frame = self.frame.iloc[self.shown].reset_index(drop=True)
        self.split_rows = {s: (np.arange(len(self.pool_frame)) if s == ALL_POOL else
                               np.flatnonzero(self.pool_frame["split"].to_numpy() == s)) for s in self.pools}

    def labels(self, split):
        return self.pool_frame["label_group"].to_numpy()[self.split_rows[split]]


def with_spec_overrides(entries: list[ModelEntry], overrides: dict | None) -> list[ModelEntry]:
    """``overrides``: ``{"key": v}`` for every model whose spec has the (top-level) key, or
    ``{"ID:key": v}`` for one model; a key no model of the plan has is a one-line error."""
    if not overrides:
        return entries
    by_id = {e.id: e for e in entries}
    per_model: dict[str, dict] = {}
    for key, value in overrides.items():
        mid, sep, rest = str(key).partition(":")
        if sep:
            if mid not in by_id:
                raise ShopeeError(f"--set {key}: the plan has no model {mid!r}")
            per_model.setdefault(mid, {})[rest] = value
            continue
        hit = [e.id for e in entries if key.split(".", 1)[0] in e.spec]
        if not hit:
            raise ShopeeError(f"--set {key}: no model of the plan has a spec key {key.split('.', 1)[0]!r}")
        for mid in hit:
            per_model.setdefault(mid, {})[key] = value
    return [with_overrides(e, per_model.get(e.id)) for e in entries]


def storage_of(profile: str, storage: str | None) -> str:
    """The dtype a bundle stores its dense rows and similarities in (None: the profile's)."""
    storage = storage or PROFILE_STORAGE.get(profile, "float32")
    if storage not in STORAGE_DTYPES:
        raise ShopeeError(f"--storage must be one of {', '.join(STORAGE_DTYPES)}, got {storage!r}")
    return storage


def _prepare(profile, data_dir, out, k, only, search, overrides=None, pools=SHOWN, storage=None, index=None,
             min_recall=None, graph=None) -> Plan:
    storage = storage_of(profile, storage)
    index = parse_index(index)  # an unknown index fails before any work
    graph = M.graph_mode(GRAPH_BY_PROFILE.get(profile, "none") if graph is None else graph)
    entries = with_spec_overrides(_entries(profile, only), overrides)
    catalog = load_catalog(data_dir, check_images=True)
    if not catalog.has_labels:
        raise ShopeeError(f"{data_dir}: a bundle needs labelled data (train.csv with label_group) to tune and score")
    for w in catalog.warnings:
        log.warning(w)
    frame = attach_splits(catalog.frame, load_or_create_folds(data_dir, catalog.frame))
    log.info(f"[plan] {len(entries)} models for profile {profile}: " + ", ".join(e.id for e in entries))
    missing = missing_weights(entries)
    if missing:
        raise ShopeeError(f"{len(missing)} model(s) need weights this machine does not have — " + " | ".join(missing))
    for e in entries:
        search_of(e, search)  # a bad --search fails before any work
    if k is None:
        k = max((int(e.spec.get("k", 50)) for e in entries), default=50)
    if tuple(pools) not in (SHOWN, WITH_ALL):
        raise ShopeeError(f"pools must be {', '.join(SHOWN)} (+ {ALL_POOL}), got {', '.join(pools)}")
    plan = Plan(profile, entries, catalog, frame, Path(data_dir), Path(out), k, search, tuple(pools), storage, index,
                min_recall, graph)
    check_memory_plan(plan)
    return plan


# --------------------------------------------------------------------------- build
def build(profile: str, data_dir, out, k: int | None = None, device: str | None = None, workers: int | None = None,
          umap: bool = True, only: list[str] | None = None, skip_embeddings: tuple = (),
          search: str | None = None, overrides: dict | None = None, pool_all: bool = False,
          storage: str | None = None, index=None, min_recall: float | None = None, graph=None,
          suspects: bool = True) -> dict:
    """``skip_embeddings``: models that ship neighbour tables and maps but no embedding rows (keeps a
    committed bundle lean; the dashboard then cannot re-fuse them or score pairs outside their tables).
    ``search``: None tunes every model with its recipe's threshold search, ``"seed"`` / ``"full"``
    all of them with the seed's scans / the full scan. ``k``: candidates per posting (None: the
    profile's, e.g. 50 for seed18 as the seed, 51 for tuned so a 51-member group can be found whole).
    ``overrides``: spec overrides (:func:`with_spec_overrides`); they enter every cache key.
    ``pool_all``: also tables and metrics with every labelled posting as one candidate pool
    (``all``; thresholds still tuned on valid). ``storage``: ``float32`` or ``float16`` rows and
    similarities in the bundle (None: the profile's, :data:`PROFILE_STORAGE`); tuning and the stored
    metrics use float32 either way. ``index``: the candidate search of every table (``exact``, the
    default and the seed's, or an approximate faiss index, :mod:`shopee_core.matching.index`), its
    measured recall recorded in the manifest; ``min_recall``: refuse an index measured below it.
    ``graph``: the graph step each model gets, tuned on valid
    (:func:`shopee_core.matching.best_graph`): ``"none"``, ``"auto"`` (the best step where it beats
    the plain decision there) or a step; None: the profile's (:data:`GRAPH_BY_PROFILE`). It is stored
    as an extra variant (``metrics[split]["graph"]``, ``thresholds["graph"]``) beside the plain ones.
    ``suspects``: run the label-noise finder on every labelled pool and ship its results
    (:mod:`.suspects`), so the Review page and ``suspects`` do not redo it per server."""
    t_start = time.time()
    with bundle_lock(out, what="build", wait=False):
        p = _prepare(profile, data_dir, out, k, only, search, overrides, WITH_ALL if pool_all else SHOWN, storage,
                     index, min_recall, graph)
        stage = Stage(p.out.parent / f".{p.out.name}.build")
        sweep_temp(stage.root, recursive=True)  # half-written cache files of a killed build
        STEPS.reset()
        with STEPS("embed every leaf model"):
            raw, norms = _embed_leaves(p, stage, device, workers)
        check_pools(p, raw)
        new = p.out.parent / f".{p.out.name}.new"
        if new.exists():
            shutil.rmtree(new)
        new.mkdir(parents=True)
        try:
            models = _match_models(p, raw, norms, new, umap, skip_embeddings)
            with STEPS("postings + thumbnails"):
                _write_postings(p, new)
            faults.step("build:thumbs")
            with STEPS("manifest + checksums"):
                manifest = seal(new, {"format_version": 1, **_manifest_top(p, models, t_start)})
            if suspects:
                with STEPS("label-noise suspects (the finder, once per labelled pool)"):
                    manifest = ship_suspects(new, manifest)
            faults.step("build:sealed")
            swap_in(new, p.out)
        finally:
            if new.exists():  # a failed build (a full disk...) frees its half-made bundle at once
                shutil.rmtree(new, ignore_errors=True)
    STEPS.report(time.time() - t_start)
    log.info(f"[done] {p.out}: {len(models)} models in {time.time() - t_start:.0f} s")
    return manifest


def _embed_leaves(p: Plan, stage: Stage, device, workers) -> tuple[dict, dict]:
    """Every leaf model's rows for the shown postings (storage form) and their raw row norms."""
    leaf_entries = [e for e in p.entries if e.kind != "combo"]
    fingerprints = DataFingerprints(p.catalog, p.frame)
    raw, norms = {}, {}
    clock = Eta()
    for i, e in enumerate(leaf_entries):
        log.info(f"[embed {i + 1}/{len(leaf_entries)}] {e.id}: {e.label}{clock.left(leaf_entries[i:])}")
        t0 = time.time()
        m, n, how = leaf_embeddings(e, p.data_dir, p.catalog, p.frame, stage, fingerprints, device, workers)
        log.info(f"    {e.id}: {how} ({time.time() - t0:.0f} s)")
        clock.done(e, time.time() - t0, reused=how.startswith("reused"))
        raw[e.id], norms[e.id] = m[p.shown], (None if n is None else n[p.shown])
        if e.trainable:
            p.runs[e.id] = run_folder(e, stage, fingerprints)
        faults.step("build:embedded")
    return raw, norms


# every dense leaf of the seed's recipes is at least this wide (image heads 512, text models 768): the
# floor a memory check can assume before the embeddings exist
MIN_DENSE_DIMS = 512


def _leaf_count(e: ModelEntry, entries) -> int:
    """How many dense leaves a model's embedding set is made of (a fusion: its members')."""
    by_id = {x.id: x for x in entries}
    if e.kind == "combo":
        return sum(_leaf_count(by_id.get(m.id, m), entries) for m in members(e))
    return 0 if e.kind in ("tfidf", "phash") else 1


def check_memory_plan(p: Plan) -> None:
    """Before any work: the biggest pool's rows and its widest kNN must fit in free memory, with every
    dense leaf at least :data:`MIN_DENSE_DIMS` wide (a one-line error otherwise)."""
    n = max(len(r) for r in p.split_rows.values())
    dense = sum(1 for e in p.entries if e.kind != "combo" and _leaf_count(e, p.entries))
    widest = max((_leaf_count(e, p.entries) for e in p.entries), default=0) * MIN_DENSE_DIMS
    if widest:
        check_memory(n, widest, p.k, p.index or EXACT_INDEX, resident=len(p.pool_frame) * dense * MIN_DENSE_DIMS * 4,
                     what=f"the {'all' if ALL_POOL in p.pools else 'largest'} pool")


def check_pools(p: Plan, raw: dict) -> None:
    """After embedding, before matching: the biggest pool's float32 rows and its widest kNN (fused
    sets included) must fit beside what is already held (a one-line error otherwise)."""
    n = max(len(r) for r in p.split_rows.values())
    dims = {mid: (0 if sp.issparse(m) else int(m.shape[1])) for mid, m in raw.items()}

    def width(e):
        return sum(width(m) for m in members(e)) if e.kind == "combo" else dims.get(e.id, 0)
    widest = max((width(e) for e in p.entries), default=0)
    if widest:
        check_memory(n, widest, p.k, p.index or EXACT_INDEX, resident=n * widest * 4 * 2,
                     what=f"the {'all' if ALL_POOL in p.pools else 'largest'} pool")


def _pools(p: Plan, raw: dict, norms: dict) -> dict[str, Pool]:
    fusions = {e.id: ([m.id for m in members(e)], e.spec.get("weights")) for e in p.entries
               if e.kind == "combo" and e.spec.get("combine") == "mean"}
    kinds = {e.id: e for e in p.entries}
    return shown_pools({s: p.labels(s) for s in p.pools}, p.split_rows, raw, norms, p.k, fusions,
                       make=lambda mid, m, rows, s: _pool_embeddings(p, kinds[mid], m, rows, s, norms),
                       index=p.index, min_recall=p.min_recall)


def _pool_embeddings(p: Plan, entry: ModelEntry, m, rows, pool: str, norms: dict) -> Embeddings:
    """A model's rows in one pool. TF-IDF is fitted within each pool (the seed fits it per split),
    so the ``all`` pool gets its own fit on every title."""
    if pool == ALL_POOL and entry.kind == "tfidf":
        from ..training.embed import embed_untrained

        m = embed_untrained(entry, None, p.pool_frame.assign(split=ALL_POOL), progress=False)
    elif not (len(rows) == m.shape[0] and np.array_equal(rows, np.arange(len(rows)))):
        m = m[rows]  # a split's rows (the `all` pool is every row: no copy)
    n = norms.get(entry.id)
    return embeddings(m, entry.id, None if n is None else n[rows])


def _match_models(p: Plan, raw, norms, new: Path, umap, skip_embeddings) -> list[dict]:
    pools = _pools(p, raw, norms)
    p.used_pools = {s: pools[s] for s in p.pools}  # their measured index recall goes into the manifest
    _precheck_index(p, pools, raw)
    with STEPS("joint exact kNN of the biggest pool (leaves + mean fusions)"):
        _prime_joint(p, pools)
    valid = pools["valid"]
    models, decided, best_fusion = [], {}, None
    clock = Eta()
    for i, e in enumerate(p.entries):
        log.info(f"[match {i + 1}/{len(p.entries)}] {e.id}{clock.left(p.entries[i:])}")
        t0 = time.time()
        if e.spec.get("combine") == "union":
            d = Decision.union([s for m in members(e) for s in decided[m.id].sides], e.id)
            with STEPS("unions: tuning and metrics"):
                if e.spec.get("union_tuning") == "joint":
                    d = M.tune(valid, d, union="joint", search=search_of(e, p.search))
                d_inb = None
                if e.spec.get("union_inb"):  # each side blended and re-searched on its own (the seed's union runs)
                    side_search = [search_of(x, p.search) for m in members(e) for x in _union_leaves(m, p)]
                    d_inb = M.tune_inb(valid, d, 1, vectors=e.spec.get("inb_vectors", "normalised"),
                                       search=side_search)
                    _check_stored_inb(e, d_inb, models)
                model = _union_model(e, d, pools, new, d_inb, p.graph)
        else:
            srch = search_of(e, p.search)
            keep = e.kind != "combo" and e.id not in skip_embeddings
            d, thresholds, metrics, files = table_model(
                pools, p.split_rows, new, e.id, search=srch, inb_vectors=e.spec.get("inb_vectors", "normalised"),
                storage=raw[e.id] if keep else None, norms=norms.get(e.id) if keep else None, umap=umap,
                dtype=p.storage, graph=p.graph)
            if e.kind == "tfidf":
                with STEPS("TF-IDF query vectorizers"):
                    files["vectorizer"] = _tfidf_states(p, e, new, model_dir(e.id))
            if e.id in p.runs:
                files["history"] = _history(p.runs[e.id], new, model_dir(e.id))
            model = _manifest_model(e, thresholds, metrics, files)
            if e.family == "fusion" and e.spec.get("combine") == "mean":
                f1 = model["metrics"]["valid"]["min2"]["f1"]
                if best_fusion is None or f1 > best_fusion[1]:
                    best_fusion = (e, f1, d)
        decided[e.id] = d
        models.append(model)
        clock.done(e, time.time() - t0)
        log.info(f"    {e.id}: {time.time() - t0:.1f} s")
        faults.step("build:matched")
    if best_fusion is not None:
        with STEPS("INB x3 on the best fusion (per-stage tuning, tables)"):
            models.append(_iterated_inb(p, best_fusion[0], best_fusion[2], pools, new))
    return models


JOINT_MIN_POSTINGS = 20_000  # below, separate searches cost seconds: not worth holding every set at once


def _prime_joint(p: Plan, pools: dict) -> None:
    """The biggest pool's base tables of every leaf and every mean fusion of leaves, exactly, in one
    pass (:func:`shopee_core.matching.knn.joint_knn`): each chunk of rows multiplies each leaf once and
    a fusion's similarities are its members' weighted sum, instead of every fusion repeating its
    members' products over their dimensions (work shared between the leaves and the fusions). The
    tables are put in that pool's cache, where every later step finds them."""
    if p.index is not None and not p.index.exact:
        return
    big = max(p.pools, key=lambda s: len(p.split_rows[s]))
    if len(p.split_rows[big]) < JOINT_MIN_POSTINGS:
        return
    pool = pools[big]
    leaves = [e.id for e in p.entries if e.kind != "combo" and pool.has_embeddings(e.id)]
    fusions = {}
    for e in p.entries:
        ids = [m.id for m in members(e)] if e.kind == "combo" else []
        if e.spec.get("combine") == "mean" and ids and all(m in leaves for m in ids):
            fusions[e.id] = dict(zip(ids, (float(w) for w in fusion_weights(len(ids), e.spec.get("weights")))))
    if not fusions:
        return
    t0 = time.time()
    tables = joint_knn({m: pool.embeddings(model_source(m)) for m in leaves}, fusions, p.k, progress=True)
    for mid, nb in tables.items():
        pool.prime(model_source(mid), nb)
    log.info(f"[joint kNN] {big}: {len(leaves)} models and {len(fusions)} fusions of them in one pass "
        f"({time.time() - t0:.0f} s)")


def _precheck_index(p: Plan, pools: dict, raw: dict) -> None:
    """An approximate index is measured on the first dense model's table in the biggest pool before
    the matching work starts, so a --min-recall it misses fails in seconds, not at the end."""
    if p.index is None or p.index.exact:
        return
    dense = next((e.id for e in p.entries if e.kind != "combo" and e.id in raw and not sp.issparse(raw[e.id])), None)
    if dense is None:
        return
    biggest = max(p.pools, key=lambda s: len(p.split_rows[s]))
    t0 = time.time()
    pools[biggest].neighbors(model_source(dense))
    log.info(f"[index] {p.index.describe()}: recall@{p.k} {pools[biggest].recall[model_source(dense)]:.4f} for {dense} "
        f"in {biggest} ({time.time() - t0:.1f} s)")


def _check_stored_inb(e: ModelEntry, d_inb: Decision, models: list) -> None:
    """A union's INB sides must be its members' stored INB tables at their own T′, T2′ (what the
    dashboard unites); a union tuned jointly blends at other thresholds and cannot have them."""
    stored = {m["id"]: m["thresholds"] for m in models}
    for side in d_inb.sides:
        mid = M.roots(side.source)[0]
        th = stored.get(mid) or {}
        same = (th.get("inb_iters") == 1 and side.source == M.inb_source(model_source(mid), 1, th["t"], th["t2"],
                                                                          th.get("inb_vectors", "normalised"))
                and (side.t, side.t2) == (th.get("inb_t"), th.get("inb_t2")))
        if not same:
            raise ShopeeError(f"{e.id}: union INB needs each side's own stored INB table (per-side tuning, "
                              f"the member's INB vectors); {mid}'s differs")


def _union_leaves(entry: ModelEntry, p: Plan) -> list[ModelEntry]:
    """The entries whose tables are a union's sides, in side order (a member union's own sides)."""
    if entry.spec.get("combine") == "union":
        return [x for m in members(entry) for x in _union_leaves(m, p)]
    return [next(e for e in p.entries if e.id == entry.id)]  # with the plan's overrides


def _tfidf_states(p: Plan, e: ModelEntry, new: Path, rel: str) -> str:
    """The fitted vocabularies, so the dashboard can embed a typed title."""
    frame = p.frame
    _, states = per_split(frame["title"].tolist(), frame["split"], return_states=True, **tfidf_overrides(e))
    if ALL_POOL in p.pools:
        _, every = per_split(frame["title"].tolist(), [ALL_POOL] * len(frame), return_states=True,
                             **tfidf_overrides(e))
        states[ALL_POOL] = every[ALL_POOL]
    atomic_write_json(new / rel / VECTORIZER, {s: states[s] for s in p.pools if s in states})
    return f"{rel}/{VECTORIZER}"


def _history(run: Path, new: Path, rel: str) -> str:
    """The trained run's epochs (loss, LR, valid F1, the kept epoch) for the Training page."""
    atomic_write_json(new / rel / HISTORY, run_history(run))
    return f"{rel}/{HISTORY}"


def _union_model(e: ModelEntry, d: Decision, pools, new: Path, d_inb: Decision | None = None, graph="none") -> dict:
    """A union's thresholds, metrics and per-row counts (it stores no table: the dashboard unites its
    sides' tables). ``d_inb``: each side on its own INB table at its re-searched T′, T2′ (``inb_sides``);
    ``graph``: the graph step tuned on valid for ``d`` (:func:`tables.graph_variant`)."""
    splits = [s for s in pools if s != "shown"]
    variants = {"base": d.without_min2(), "min2": d, **({"inb": d_inb} if d_inb is not None else {})}
    metrics, rows = score_variants(pools, splits, variants)
    thresholds = {"t": None, "t2": None, "inb_t": None, "inb_t2": None, "inb_iters": 0,
                  "sides": [{"model": s.source[1], "t": s.t, "t2": s.t2} for s in d.sides],
                  "union_tuning": e.spec.get("union_tuning", "per_side")}
    if d_inb is not None:
        thresholds.update(inb_iters=1, inb_vectors=d_inb.sides[0].source[5],
                          inb_sides=[{"model": M.roots(s.source)[0], "t": s.t, "t2": s.t2} for s in d_inb.sides])
    graph_variant(pools, splits, d, graph, thresholds, metrics, rows)
    return _manifest_model(e, thresholds, metrics, {"rows": write_rows(new, f"{model_dir(e.id)}/rows.npz", rows)})


def _iterated_inb(p: Plan, e: ModelEntry, d: Decision, pools, new, iters: int = 3) -> dict:
    """INB repeated ``iters`` times with per-stage thresholds, each searched on validation after its
    blend (the competition's 1st-place scheme)."""
    d3 = M.tune_inb(pools["valid"], d, iters, per_stage=True, vectors=e.spec.get("inb_vectors", "normalised"))
    side = d3.sides[0]
    metrics, rows = score_variants(pools, p.pools, {"inb": d3})
    mid = f"{e.id}_inb{iters}"
    rel = model_dir(mid)
    files = {"neighbors_inb": write_tables(p.split_rows, pools, new, f"{rel}/neighbors_inb.npz", side.source,
                                           p.storage),
             "rows": write_rows(new, f"{rel}/rows.npz", rows)}
    spec = {"members": e.spec["members"], "combine": "mean", "of": e.id, "inb_iters": iters,
            "inb_thresholds": "per stage, each searched on validation", "trained": False, "loss": None, "epochs": 0}
    stages = [{"t": st["t"], "t2": st["t2"]} for st in M.inb_stages(side.source)][1:] + [{"t": side.t, "t2": side.t2}]
    thresholds = {"t": d.sides[0].t, "t2": d.sides[0].t2, "inb_t": side.t, "inb_t2": side.t2, "inb_iters": iters,
                  "inb_stages": stages}
    return {"id": mid, "label": f"{e.label} + INB ×{iters}, per-stage thresholds (best fusion on validation)",
            "family": "fusion", "recipe": None, "kind": "combo", "spec": spec, "thresholds": thresholds,
            "metrics": metrics, "files": files, "query": False}


def _manifest_model(e: ModelEntry, thresholds, metrics, files) -> dict:
    return {"id": e.id, "label": e.label, "family": e.family, "recipe": e.recipe, "kind": e.kind,
            "spec": e.spec, "thresholds": thresholds, "metrics": metrics, "files": files,
            "query": e.kind in QUERY_KINDS}


# --------------------------------------------------------------------------- postings, manifest
def _write_postings(p: Plan, new: Path) -> None:
    log.info(f"[thumbs] {len(p.pool_frame)} thumbnails")
    thumbs = _thumbnails(p, new)
    postings = p.pool_frame.assign(thumb=thumbs)[["posting_id", "title", "label_group", "split", "image_phash",
                                                  "thumb", "image"]]
    write_postings(new, postings)
    (new / REFERENCE).parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(REFERENCE_CSV, new / REFERENCE)
    shutil.copyfile(REFERENCE_CSV.parent / "seed_sweeps.csv", new / SEED_SWEEPS)


def _thumbnails(p: Plan, new: Path) -> list[str]:
    rels = []
    for pid, name in tqdm(list(zip(p.pool_frame["posting_id"], p.pool_frame["image"])), desc="thumbs", leave=False,
                          file=sys.stderr):
        rel = f"{THUMBS}/{pid}.jpg"
        im = open_image(p.catalog.image_dir / name)
        im.thumbnail((THUMB_SIDE, THUMB_SIDE))
        write_jpeg(new, rel, im, quality=70)
        rels.append(rel)
    return rels


def _manifest_top(p: Plan, models: list, t_start: float) -> dict:
    counts = p.frame["split"].value_counts().to_dict()
    meta_path = p.data_dir / "catalog.json"
    source = json.loads(meta_path.read_text()).get("source", "kaggle") if meta_path.exists() else "kaggle"
    search = "" if p.search is None else f" --search {p.search}"
    if p.index is not None and not p.index.exact:
        search += f" --index {p.index.describe()}" + ("" if p.min_recall is None else f" --min-recall {p.min_recall:g}")
    if p.graph != GRAPH_BY_PROFILE.get(p.profile, "none"):
        search += f" --graph {p.graph if isinstance(p.graph, str) else p.graph.text()}"
    return {
        "dataset": {"source": source, "name": p.data_dir.name,
                    "counts": {s: int(counts.get(s, 0)) for s in ("train", "valid", "test")},
                    "shown_splits": list(p.pools), "pool": "retrieval within each split" + (
                        "; all: every labelled posting in one pool" if ALL_POOL in p.pools else "")},
        "k": p.k, "profile": p.profile, "storage": p.storage, "models": models, "files": {},
        "index": index_record(p.index or EXACT_INDEX, list(getattr(p, "used_pools", {}).values()), p.k),
        "graph": p.graph if isinstance(p.graph, str) else p.graph.text(),
        "built": {"seconds": round(time.time() - t_start, 1), "command":
                  f"python -m shopee_core build-bundle --profile {p.profile} --data {p.data_dir} --out {p.out}{search}"},
    }


class Eta:
    """Time left in a stage, from the seconds finished steps of the same kind took.

    Steps differ by orders of magnitude (a TF-IDF fit vs a fine-tune), so a mean over all
    finished steps misleads; a kind not timed yet is said, not guessed.
    """

    def __init__(self):
        self.seconds: dict[str, list[float]] = {}

    @staticmethod
    def kind(e: ModelEntry) -> str:
        return f"{e.kind}:{'trained' if e.trainable else 'not trained'}"

    def done(self, e: ModelEntry, seconds: float, reused: bool = False) -> None:
        if not reused:
            self.seconds.setdefault(self.kind(e), []).append(seconds)

    def left(self, remaining: list) -> str:
        known, unknown = 0.0, 0
        for e in remaining:
            times = self.seconds.get(self.kind(e))
            if times:
                known += float(np.mean(times))
            else:
                unknown += 1
        if not self.seconds:
            return ""
        text = f"about {known / 60:.0f} min" if known > 90 else f"about {known:.0f} s"
        if unknown:
            return f" ({text} left, plus {unknown} step(s) of kinds not timed yet)"
        return f" ({text} left)"

"""A model's neighbour tables, thresholds and metrics in a bundle: what ``build-bundle`` and
``import-model`` both make from a model's rows, through the one decision layer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.sparse as sp

from .. import matching as M
from ..analysis import maps
from ..matching import Decision, Embeddings, Pool, model_source
from .format import ALL_POOL, model_dir
from .steps import STEPS
from .writer import write_array, write_embeddings, write_neighbors, write_rows

# a build's pools keep every fused set and INB stage of the biggest pool they can (a 3,840-d fusion of
# 34,250 rows is 525 MB): recomputing one costs an exact search; the dashboard's pools keep 384 MB
BUILD_CACHE_BYTES = 4 * 2**30


def shown_pools(labels: dict, split_rows: dict, raw: dict, norms: dict, k: int, fusions=None,
                make=None, index=None, min_recall: float | None = None) -> dict[str, Pool]:
    """One pool per candidate pool (float32 tables, whatever the bundle then stores), and a
    ``"shown"`` pool of every shown posting for the maps. ``raw``: model id -> rows of every
    shown posting (float32 unit rows or CSR, bundle order); ``split_rows``: pool -> rows into them.
    Embeddings are made on first use (``make(mid, rows_storage, rows, pool)``) and kept in the
    pool's bounded cache: an ``all`` pool alone holds every posting of every model."""
    def default(mid, m, rows, s):
        return embeddings(m[rows], mid, None if norms.get(mid) is None else norms[mid][rows])
    make = make or default
    pools = {}
    for s, rows in split_rows.items():
        emb = {mid: (lambda m=m, mid=mid, rows=rows, s=s: make(mid, m, rows, s)) for mid, m in raw.items()}
        pools[s] = Pool(labels[s], k=k, embeddings=emb, fusions=fusions, name=s, index=index, min_recall=min_recall,
                        cache_bytes=BUILD_CACHE_BYTES)
    # every shown posting at once, for the maps (never for matching: retrieval stays within a split);
    # with an `all` pool of exactly those rows it is that pool (its rows, fused sets and tables shared)
    every = split_rows.get(ALL_POOL)
    n_shown = next((len(m) if not sp.issparse(m) else m.shape[0] for m in raw.values()), 0)
    if every is not None and np.array_equal(every, np.arange(n_shown)):
        pools["shown"] = pools[ALL_POOL]
        return pools
    everything = {mid: (lambda m=m, mid=mid: embeddings(m, mid, None)) for mid, m in raw.items()}
    pools["shown"] = Pool(None, k=k, embeddings=everything, fusions=fusions, name="shown", index=index,
                          cache_bytes=BUILD_CACHE_BYTES)
    return pools


def embeddings(m, mid: str, norms) -> Embeddings:
    """A pool's set from storage-form rows (unit float32, float16 or CSR): float32 rows are used as
    they are, not copied."""
    return Embeddings.from_unit_rows(m if sp.issparse(m) else np.asarray(m, dtype=np.float32), name=mid, norms=norms)


def prf(d: dict) -> dict:
    """F1, precision and recall as the manifest stores them."""
    return {"f1": round(d["f1"], 6), "precision": round(d["precision"], 6), "recall": round(d["recall"], 6)}


# how a build's time report names the scoring of each variant (its tables made on first use)
_STEP_KIND = {"inb": "INB blend + kNN + metrics", "graph": "graph step + metrics"}


def score_variants(pools: dict, splits, variants: dict) -> tuple[dict, dict]:
    """``metrics[split][variant]`` for each decision in ``variants`` (variant -> Decision) and the
    per-row counts they are the means of, ``rows[(split, variant)]`` (stored as ``rows.npz``: the
    dashboard's intervals and paired comparisons then read no table at page load)."""
    metrics, rows = {}, {}
    for s in splits:
        metrics[s] = {}
        for v, d in variants.items():
            with STEPS(f"{_STEP_KIND.get(v, 'kNN + metrics')}, pool {s}"):
                r = M.scores(pools[s], d, rows=True)
            metrics[s][v] = prf(r)
            rows[(s, v)] = r["rows"]
    return metrics, rows


def table_model(pools: dict, split_rows: dict, new: Path, mid: str, *, search, inb_iters: int = 1,
                inb_vectors: str = "normalised", storage=None, norms=None, umap: bool = True,
                dtype: str = "float32", graph="none"):
    """One model with a neighbour table, as the builder and ``import-model`` both make it: T then
    Min2 T2 searched on the validation pool, ``inb_iters`` INB steps with T′, T2′ re-searched (0:
    none), the ``graph`` step (:func:`graph_variant`), metrics per shown split, and its files written under ``new``
    (tables, per-row counts; ``storage``: its
    embedding rows, ``norms`` their raw lengths; the map when ``umap``). Thresholds and metrics come
    from the pools' float32 tables; ``dtype`` is how the files store rows and similarities.

    Returns ``(decision, thresholds, metrics, files)``.
    """
    valid = pools["valid"]
    with STEPS("tune T, T2 on valid (its kNN included)"):
        d = M.tune(valid, Decision.single(model_source(mid), 0.5, name=mid), search=search)
    with STEPS("tune INB T′, T2′ on valid (blend + kNN)"):
        d_inb = M.tune_inb(valid, d, inb_iters, vectors=inb_vectors, search=search) if inb_iters else None
    rel = model_dir(mid)
    side = d.sides[0]
    variants = {"base": d.without_min2(), "min2": d, **({"inb": d_inb} if d_inb is not None else {})}
    metrics, rows = score_variants(pools, split_rows, variants)
    thresholds = {"t": side.t, "t2": side.t2, "inb_t": None, "inb_t2": None, "inb_iters": 0}
    graph_variant(pools, split_rows, d, graph, thresholds, metrics, rows)
    with STEPS("write tables"):
        files = {"neighbors": write_tables(split_rows, pools, new, f"{rel}/neighbors.npz", side.source, dtype),
                 "rows": write_rows(new, f"{rel}/rows.npz", rows)}
    if d_inb is not None:
        inb_side = d_inb.sides[0]
        with STEPS("write tables"):
            files["neighbors_inb"] = write_tables(split_rows, pools, new, f"{rel}/neighbors_inb.npz",
                                                  inb_side.source, dtype)
        thresholds.update(inb_t=inb_side.t, inb_t2=inb_side.t2, inb_iters=int(inb_iters),
                          inb_vectors=inb_side.source[5])
    thresholds["search"] = search
    if d_inb is not None and M.get_search(search).after_inb:
        thresholds["inb_search"] = M.get_search(search).after_inb
    if storage is not None:
        with STEPS("write embeddings"):
            files["embeddings"] = write_embeddings(new, rel, storage, dtype)
            if norms is not None:
                files["norms"] = write_array(new, f"{rel}/norms.npy", np.asarray(norms, dtype=np.float32))
    if umap:
        project = umap if callable(umap) else maps.umap_2d  # a caller may pass another 2-D map (maps.pca_2d)
        extra = {}
        with STEPS("2-D map (its kNN included)"):
            if getattr(project, "wants_knn", False):  # UMAP builds its graph from our faiss table, not its own search
                # the kNN of every shown posting (the rows a map is fitted on): the `all` pool's own
                # when it holds exactly them (a --pool-all bundle: `shown` is that pool, no second search)
                nb = pools["shown"].neighbors(model_source(mid))
                extra["knn"] = (nb.idx, nb.sim)
            files["umap"] = write_array(new, f"{rel}/umap.npy",
                                        project(_umap_input(pools["shown"].embeddings(mid)), **extra))
    return d, thresholds, metrics, files


def graph_variant(pools: dict, splits, d: Decision, graph, thresholds: dict, metrics: dict,
                  rows: dict | None = None) -> None:
    """The graph step tuning picks on valid for the tuned decision ``d`` (:func:`M.best_graph`),
    stored beside the plain variants: ``metrics[split]["graph"]`` and ``thresholds["graph"]``
    (step, parameter, each side's T and T2 as re-searched with the step, what every tried step
    scored on valid), and its per-row counts in ``rows`` (for the intervals). Nothing when none is picked."""
    with STEPS("tune the graph step on valid"):
        g, info = M.best_graph(pools["valid"], d, graph)
    if g is None:
        return
    for s in splits:
        with STEPS(f"{_STEP_KIND['graph']}, pool {s}"):
            r = M.scores(pools[s], g, rows=True)
        metrics[s]["graph"] = prf(r)
        if rows is not None:
            rows[(s, "graph")] = r["rows"]
    thresholds["graph"] = {**g.graph.as_dict(), "t": [x.t for x in g.sides], "t2": [x.t2 for x in g.sides],
                           "chosen": "auto" if graph == "auto" else "given", "valid": info}


def write_tables(split_rows: dict, pools: dict, new: Path, rel: str, source, dtype: str = "float32") -> str:
    """The source's table in every shown split, indices mapped to bundle rows, similarities as ``dtype``."""
    tables = {}
    for s, rows in split_rows.items():
        nb = pools[s].neighbors(source)
        tables[s] = (rows[nb.idx], nb.sim)
    return write_neighbors(new, rel, tables, dtype)


def _umap_input(x: Embeddings):
    if x.is_dense:
        return x.dense()
    return sp.hstack([sp.csr_matrix(b) for b in x.scaled_blocks()], format="csr")

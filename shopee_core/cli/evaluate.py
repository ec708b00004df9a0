"""evaluate: match embedding files through the decision layer and score them."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..data.folds import load_folds
from ..data.kaggle import read_postings_csv
from ..errors import ShopeeError
from ..io import atomic_write_csv, atomic_write_json, load_matrix
from ..matching import (
    Decision,
    Embeddings,
    GraphStep,
    Pool,
    Side,
    calibrated_weights,
    fusion_source,
    inb_source,
    model_source,
    pool_size_curve,
    predictions,
    scores,
    search_weights,
    threshold_stability,
    tune,
    tune_graph,
    tune_inb,
)
from ..matching.index import check_memory, index_record
from ..matching.search import SEARCHES
from ..submission import predictions_frame
from . import intervals
from .common import command, float_list, index_args, index_spec


def add_evaluate(sub) -> None:
    s = command(sub, "evaluate", cmd_evaluate, help="match postings from embeddings and score them (row-wise F1)",
                description="Match within one candidate pool (the CSV, or one --split of it) and write "
                            '{"f1","precision","recall","n"} as JSON. Thresholds are cosine distances.')
    s.add_argument("--postings", required=True, metavar="CSV", help="posting_id,label_group[,split] (folds.csv beside it gives the split)")
    s.add_argument("--embeddings", required=True, action="append", metavar="NPY", help="one per set, rows in CSV order; repeat to combine")
    s.add_argument("--threshold", type=float, action="append", metavar="T", help="distance threshold (one per set for a union)")
    s.add_argument("--min2", type=float, action="append", metavar="T2", help="Min2 threshold (one per set for a union)")
    s.add_argument("--combine", choices=["mean", "union"], default="mean", help="how several sets combine (default mean)")
    s.add_argument("--inb-iters", type=int, default=0, metavar="N", help="INB iterations (default 0)")
    s.add_argument("--inb-threshold", type=float, metavar="T'", help="threshold after INB")
    s.add_argument("--inb-min2", type=float, metavar="T2'", help="Min2 threshold after INB")
    s.add_argument("--k", type=int, default=50, help="candidates per posting, self included (default 50; 51 finds a 51-member group whole)")
    s.add_argument("--split", metavar="NAME", help="score only this split's pool (train|valid|test; all: every "
                   "posting of the CSV in one pool, the default)")
    s.add_argument("--pool-sizes", metavar="auto|N,N,...", help="also tune and score the decision in nested pools "
                   "of whole groups of these sizes (auto: 1k, 2k, 4k, ... up to the pool) -> 'pool_sizes' in the JSON")
    s.add_argument("--search-threshold", metavar="VALID_CSV:NPY[,NPY...]", help="search all thresholds on this validation pool first")
    s.add_argument("--tune-split", metavar="NAME", help="search all thresholds on this split of --postings (e.g. valid)")
    s.add_argument("--search-min2", action="store_true", help="also search Min2 thresholds when searching")
    s.add_argument("--search", default="full", choices=["seed", *SEARCHES],
                   help="threshold scan when searching: full (every T 0.005..1.0, then T2; default) or the seed's "
                        "early-stop scans (seed: seed_single for one set or a union side, seed_ensemble for a mean "
                        "fusion; or name a preset)")
    s.add_argument("--union-tuning", choices=["per_side", "joint"], default="per_side",
                   help="a union's thresholds: each side tuned for its own F1 (per_side, the seed's way; default) "
                        "or, after that, moved together for the union's F1 (joint)")
    s.add_argument("--weights", type=float, action="append", metavar="W",
                   help="mean-fusion weight of each set, in --embeddings order (default equal)")
    s.add_argument("--calibrate", action="store_true",
                   help="mean fusion of standardised similarities: weights divided by each set's similarity spread "
                        "on the tuning pool (default off: the seed's equal mean)")
    s.add_argument("--search-weights", type=float, metavar="STEP",
                   help="search the mean-fusion weights on the tuning pool on a simplex grid of this step")
    s.add_argument("--inb-vectors", choices=["normalised", "raw"], default="normalised",
                   help="INB blends unit rows (normalised, default) or the raw vectors (raw, the seed's code)")
    s.add_argument("--inb-per-stage", action="store_true",
                   help="with --inb-iters N: re-search the blend thresholds after every stage (1st place)")
    s.add_argument("--graph", metavar="STEP[:PARAM]",
                   help="a graph step after the thresholds: mutual, closure[:MAX] (cap, default 51), cluster[:S] "
                        "(average linkage to mean group size S) or cut-bridges[:TAU] (bridges below similarity TAU "
                        "removed); a bare name searches its parameter (and T around its optimum) on the tuning pool")
    index_args(s)
    s.add_argument("--predictions", metavar="CSV", help="also write posting_id,matches for the scored pool")
    intervals.add_interval_args(s)
    s.add_argument("--json", required=True, metavar="OUT")


def _read_pool(path: str):
    """posting_id + label_group (+ split when the CSV has it; else folds.csv beside it gives it, see _pool)."""
    path = Path(path)
    frame, _ = read_postings_csv(path, require_labels=True, required=("posting_id", "label_group"))
    if "label_group" not in frame:
        raise ShopeeError(f"{path}: evaluate needs a label_group column to score against")
    return frame


class _Loaded(NamedTuple):
    path: str
    emb: object  # matching.Embeddings


def _load_sets(paths, n: int, where: str) -> list[_Loaded]:
    """The embedding files; their rows are checked against the pool by :func:`_pool` (one per
    posting of the CSV, or, with --split, one per posting of that split as `embed --split` writes)."""
    sets = []
    for p in paths:
        m = load_matrix(p)
        if m.ndim != 2:
            raise ShopeeError(f"{p}: {m.shape[0] if m.ndim else 0} rows, but {where} has {n} postings")
        sets.append(_Loaded(str(p), Embeddings.from_array(m, name=str(p))))
    return sets


def _with_split(frame, split: str, what: str):
    """``frame`` with its split column: the CSV's own, or folds.csv beside it (checked to belong to it)."""
    if "split" in frame:
        return frame
    folds = load_folds(Path(what).parent, frame, subset=True)
    if folds is None:
        raise ShopeeError(f"--split {split}: {what} has no split column and no folds.csv beside it (run `split`)")
    return frame.assign(split=folds["split"].to_numpy())


def _pool(frame, sets, split: str | None, what: str):
    """The candidate pool (the CSV, or one split of it) and each set's rows for it.

    A set has a row per posting of the CSV, or per posting of ``split`` in CSV order (the
    output of ``embed --split NAME``); any other row count is an error naming both counts.
    """
    if split is None or split == "all":  # every posting of the CSV as one pool
        for s in sets:
            if len(s.emb) != len(frame):
                raise ShopeeError(f"{s.path}: {len(s.emb)} rows, but {what} has {len(frame)} postings")
        return frame, [s.emb for s in sets]
    frame = _with_split(frame, split, what)
    rows = np.flatnonzero((frame["split"] == split).to_numpy())
    if len(rows) == 0:
        raise ShopeeError(f"{what} has no postings in split {split!r}")
    out = []
    for s in sets:
        if len(s.emb) == len(frame):
            out.append(s.emb.take(rows))
        elif len(s.emb) == len(rows):  # already only this split's rows
            out.append(s.emb)
        else:
            raise ShopeeError(f"{s.path}: {len(s.emb)} rows, but {what} has {len(frame)} postings and "
                              f"{len(rows)} in split {split!r} (give one row per posting of either)")
    return frame.iloc[rows].reset_index(drop=True), out


def _set_names(paths) -> list[str]:
    """One id per --embeddings file (its name; a number added where two names repeat)."""
    names = [Path(p).name for p in paths]
    return [n if names.count(n) == 1 else f"{n}#{i + 1}" for i, n in enumerate(names)]


def _template(names, combine: str, weights=None):
    """The decision's shape before thresholds: one set, a mean fusion, or a union."""
    if len(names) > 1 and combine == "mean":
        return Decision((Side(fusion_source(names, weights), 0.5),), "mean fusion")
    if len(names) > 1:
        return Decision.union([(model_source(n), 0.5) for n in names], "union")
    return Decision((Side(model_source(names[0]), 0.5),), names[0])


def _search_for(args, n_sets: int):
    """``--search seed`` picks the seed's scan for the shape (single / ensemble); a preset name as is."""
    if args.search != "seed":
        return args.search
    return "seed_ensemble" if n_sets > 1 and args.combine == "mean" else "seed_single"


def _graph_step(args):
    """The --graph step, checked before any file is read (bad input: one line, nothing written)."""
    if not args.graph:
        return None
    step = GraphStep.parse(args.graph)
    if not (args.search_threshold or args.tune_split):
        step.resolved()  # a bare cluster / cut-bridges needs a tuning pool to search its parameter
    if args.pool_sizes:
        raise ShopeeError("--pool-sizes studies the thresholds of the plain decision; run it without --graph")
    return step


def _tuned(args, names, vframe, vsets, step=None):
    vpool = Pool(vframe["label_group"].to_numpy(), k=args.k, embeddings=dict(zip(names, vsets)), name="validation",
                 index=args.index_spec, min_recall=args.min_recall)
    min2 = args.min2 is not None or args.search_min2
    search = _search_for(args, len(names))
    weights = float_list(args.weights)
    if args.combine == "mean" and len(names) > 1:
        if args.search_weights:
            weights, _ = search_weights(vpool, names, step=args.search_weights, min2=min2, search=search,
                                        calibrate=args.calibrate)
        elif args.calibrate:
            weights = calibrated_weights(vpool, names, weights)
    d = tune(vpool, _template(names, args.combine, weights), min2=min2, search=search, union=args.union_tuning)
    if args.inb_iters:
        d = tune_inb(vpool, d, args.inb_iters, vectors=args.inb_vectors, per_stage=args.inb_per_stage, min2=min2,
                     search=search)
    if step is not None:
        d = tune_graph(vpool, d, step)
    return d, {"n": len(vframe), **scores(vpool, d)}, vpool


def _fixed(args, names, step=None):
    if args.threshold is None:
        raise ShopeeError("give --threshold (one per set for --combine union) or --search-threshold / --tune-split")
    d = _template(names, args.combine, float_list(args.weights))
    t, t2 = float_list(args.threshold), float_list(args.min2) or [None] * len(d.sides)
    if len(t) != len(d.sides) or len(t2) != len(d.sides):
        raise ShopeeError(f"{len(d.sides)} threshold(s) needed for {len(names)} set(s) with --combine "
                          f"{args.combine}, got {len(t)} --threshold and {len(t2)} --min2")
    d = Decision(tuple(Side(s.source, a, b) for s, a, b in zip(d.sides, t, t2)), d.name)
    if args.inb_iters:
        if d.is_union:
            raise ShopeeError("a union's INB thresholds are searched side by side: give --tune-split or "
                              "--search-threshold instead of fixed thresholds")
        if args.inb_threshold is None:
            raise ShopeeError("INB needs its own threshold (--inb-threshold)")
        side = d.sides[0]
        src = inb_source(side.source, args.inb_iters, side.t, side.t2, args.inb_vectors)
        d = Decision((Side(src, args.inb_threshold, args.inb_min2),), d.name)
    return d.with_graph(step)


def _stability(args, opts, vpool, pool, decision, names) -> dict:
    return threshold_stability(vpool, decision, pool, resamples=opts.stability, seed=opts.seed,
                               search=_search_for(args, len(names)),
                               min2=args.min2 is not None or args.search_min2)


def _check_memory(args, n: int) -> None:
    """A pool whose rows and kNN cannot fit in free memory is refused before any file is loaded (each
    .npy's shape read from its header; a sparse .npz is counted by its dense block only)."""
    dims = 0
    for p in args.embeddings:
        if str(p).endswith(".npy"):
            try:
                dims += int(np.load(p, mmap_mode="r", allow_pickle=False).shape[-1])
            except (OSError, ValueError, IndexError):
                pass  # unreadable files are reported, readably, when they are loaded
    if dims:
        check_memory(n, dims, args.k, args.index_spec, resident=n * dims * 4 * 2, what="the pool")


def cmd_evaluate(args) -> int:
    args.index_spec = index_spec(args)  # an unknown --index fails before any file is read
    opts = intervals.options(args)
    step = _graph_step(args)
    frame = _read_pool(args.postings)
    _check_memory(args, len(frame))
    sets = _load_sets(args.embeddings, len(frame), args.postings)
    names = _set_names(args.embeddings)
    out: dict = {}
    pools: list = []
    vpool = None
    if args.search_threshold or args.tune_split:
        if args.search_threshold:
            csv_path, _, npys = args.search_threshold.partition(":")
            vframe = _read_pool(csv_path)
            vsets = _load_sets(npys.split(",") if npys else [], len(vframe), csv_path)
            if len(vsets) != len(sets):
                raise ShopeeError(f"--search-threshold names {len(vsets)} embedding file(s), --embeddings {len(sets)}")
            vframe, vsets = _pool(vframe, vsets, args.tune_split, csv_path)
        else:
            vframe, vsets = _pool(frame, sets, args.tune_split, args.postings)
        decision, tuned_on, vpool = _tuned(args, names, vframe, vsets, step)
        pools.append(vpool)
        out["tuned_on"] = tuned_on
        out["search"] = {"thresholds": _search_for(args, len(names)), "union": args.union_tuning,
                         "weights": "searched" if args.search_weights else ("calibrated" if args.calibrate else
                                                                            "given" if args.weights else "equal")}
    else:
        decision = _fixed(args, names, step)
    out["thresholds"] = decision.as_dict()
    out["graph"] = None if decision.graph is None else decision.graph.as_dict()
    frame, sets = _pool(frame, sets, args.split, args.postings)
    pool = Pool(frame["label_group"].to_numpy(), k=args.k, embeddings=dict(zip(names, sets)), name=args.split or "all",
                index=args.index_spec, min_recall=args.min_recall)
    labels = frame["label_group"].to_numpy()
    pool_fp = intervals.fingerprint(frame["posting_id"].to_numpy(), labels, args.split or "all")
    other_rows = intervals.check_pool(opts, pool_fp, labels)
    result = scores(pool, decision, rows=True)
    rows = result.pop("rows")
    pools.append(pool)
    out["index"] = index_record(args.index_spec, pools, args.k)
    if args.pool_sizes:
        try:
            sizes = None if args.pool_sizes == "auto" else [int(x) for x in args.pool_sizes.split(",") if x.strip()]
        except ValueError:
            raise ShopeeError(f"--pool-sizes takes auto or comma-separated posting counts, got {args.pool_sizes!r}") \
                from None
        curve = pool_size_curve(pool, decision, sizes=sizes)
        out["pool_sizes"] = curve.drop(columns=["thresholds"]).to_dict("records")
        for r in out["pool_sizes"]:
            print(f"pool {r['postings']:>7,}: best T {r['t']:.3f} -> F1 {r['f1_best']:.4f}; at the given thresholds "
                  f"F1 {r['f1_given']:.4f}")
    out = {**result, "split": args.split or "all", "k": args.k, "decision": decision.describe(), **out}
    out.update(intervals.results(opts, labels, rows, other_rows, stability=lambda: _stability(args, opts, vpool, pool,
                                                                                                decision, names)))
    out.update(pool=pool_fp, rows=intervals.row_counts(rows))
    atomic_write_json(args.json, out)
    if args.predictions:
        atomic_write_csv(args.predictions, predictions_frame(frame["posting_id"].to_numpy(),
                                                            predictions(pool, decision)))
    print(f"f1={out['f1']:.6f} precision={out['precision']:.6f} recall={out['recall']:.6f} n={out['n']} -> {args.json}")
    return 0

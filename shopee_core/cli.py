"""``python -m shopee_core <command>``: thin argument parsing over the library.

Every command exits 0 on success and prints ``error: <one line>`` with a
non-zero exit on bad input (no traceback); long work shows a progress bar.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .errors import ShopeeError
from .models import PROFILES

EXIT_ERROR = 1
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell tool killed by a closed pipe returns


def _quiet_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _float_list(values):
    return None if values is None else [float(v) for v in values]


# ------------------------------------------------------------------ commands
def cmd_demo_data(args) -> int:
    from .data.demo import generate_catalog

    from .io import atomic_write_json

    summary = generate_catalog(args.out, n_postings=args.postings, seed=args.seed,
                               image_size=args.image_size, progress=not args.quiet)
    atomic_write_json(Path(args.out) / "catalog.json", {"source": "demo", "seed": args.seed, **summary})
    print(json.dumps(summary, indent=2))
    return 0


def cmd_split(args) -> int:
    from .data import adopt_folds, load_catalog, load_or_create_folds

    catalog = load_catalog(args.data, check_images=False)
    for w in catalog.warnings:
        print(f"warning: {w}", file=sys.stderr)
    existed = (Path(args.data) / "folds.csv").exists()
    if args.folds_from:
        folds = adopt_folds(args.data, catalog.frame, args.folds_from)
    else:
        folds = load_or_create_folds(args.data, catalog.frame)
    counts = folds["split"].value_counts().to_dict()
    where = Path(args.data) / "folds.csv"
    state = (f"adopted from {args.folds_from}" if args.folds_from else "reused" if existed else
             "written" if where.exists() else "not written (no labels: all rows are test)")
    print(f"{where}: {state}; " + ", ".join(f"{s} {counts.get(s, 0)}" for s in ("train", "valid", "test")))
    return 0


def cmd_embed(args) -> int:
    from .io import save_matrix
    from .models.embedders import to_storage

    out = Path(args.out)
    if bool(args.run) == bool(args.model):
        raise ShopeeError("give exactly one of --run RUN_DIR (a trained run) or --model ID (an untrained model)")
    if args.run:
        from .training.embed import embed_run

        matrix, _ = embed_run(args.run, args.data, split=args.split, device=args.device, progress=not args.quiet,
                              workers=args.workers)
        what = f"run {args.run}"
    else:
        from .data import attach_splits, load_catalog, load_or_create_folds
        from .models import get
        from .training.embed import embed_untrained

        entry = get(args.model, args.profile)
        catalog = load_catalog(args.data, check_images=entry.kind == "image_zeroshot")
        frame = attach_splits(catalog.frame, load_or_create_folds(args.data, catalog.frame))
        if args.split:
            frame = frame[frame["split"] == args.split].reset_index(drop=True)
            if frame.empty:
                raise ShopeeError(f"{args.data}: no postings in split {args.split!r}")
        matrix = embed_untrained(entry, catalog, frame, progress=not args.quiet, device=args.device,
                                 workers=args.workers)
        what = entry.label
    matrix = to_storage(matrix)
    save_matrix(out, matrix)
    print(f"{out}: {matrix.shape[0]} x {matrix.shape[1]} {matrix.dtype} ({what})")
    return 0


def cmd_train(args) -> int:
    from .models import get, parse_overrides, with_overrides
    from .training.loop import train

    entry = with_overrides(get(args.model, args.profile), parse_overrides(args.set, args.config))
    result = train(entry, args.data, args.out, resume=args.resume, device=args.device, progress=not args.quiet,
                   workers=args.workers)
    best = result["best"]
    from .training import dist

    if dist.is_main():
        print(f"{args.out}: {result['epochs']} epoch(s) at {result['precision']}; kept epoch "
              f"{best['epoch'] + 1 if best['epoch'] is not None else '-'} (valid F1 {best['f1']:.4f})")
    return 0


def _read_pool(path: str):
    """posting_id + label_group (+ split when the CSV has it; else folds.csv beside it gives it, see _pool)."""
    from .data.kaggle import read_postings_csv

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
    from .io import load_matrix
    from .matching import Embeddings

    sets = []
    for p in paths:
        m = load_matrix(p)
        if m.ndim != 2:
            raise ShopeeError(f"{p}: {m.shape[0] if m.ndim else 0} rows, but {where} has {n} postings")
        sets.append(_Loaded(str(p), Embeddings.from_array(m, name=str(p))))
    return sets


def _with_split(frame, split: str, what: str):
    """``frame`` with its split column: the CSV's own, or folds.csv beside it (checked to belong to it)."""
    from .data.folds import load_folds

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
    from .matching import Decision, Side, fusion_source, model_source

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


def _tuned(args, names, vframe, vsets):
    from .matching import Pool, calibrated_weights, scores, search_weights, tune, tune_inb

    vpool = Pool(vframe["label_group"].to_numpy(), k=args.k, embeddings=dict(zip(names, vsets)), name="validation")
    min2 = args.min2 is not None or args.search_min2
    search = _search_for(args, len(names))
    weights = _float_list(args.weights)
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
    return d, {"n": len(vframe), **scores(vpool, d)}


def _fixed(args, names):
    from .matching import Decision, Side, inb_source

    if args.threshold is None:
        raise ShopeeError("give --threshold (one per set for --combine union) or --search-threshold / --tune-split")
    d = _template(names, args.combine, _float_list(args.weights))
    t, t2 = _float_list(args.threshold), _float_list(args.min2) or [None] * len(d.sides)
    if len(t) != len(d.sides) or len(t2) != len(d.sides):
        raise ShopeeError(f"{len(d.sides)} threshold(s) needed for {len(names)} set(s) with --combine "
                          f"{args.combine}, got {len(t)} --threshold and {len(t2)} --min2")
    d = Decision(tuple(Side(s.source, a, b) for s, a, b in zip(d.sides, t, t2)), d.name)
    if args.inb_iters:
        if d.is_union:
            raise ShopeeError("INB applies to a single or mean-fused set, not to a union")
        if args.inb_threshold is None:
            raise ShopeeError("INB needs its own threshold (--inb-threshold)")
        side = d.sides[0]
        src = inb_source(side.source, args.inb_iters, side.t, side.t2, args.inb_vectors)
        d = Decision((Side(src, args.inb_threshold, args.inb_min2),), d.name)
    return d


def cmd_evaluate(args) -> int:
    from .io import atomic_write_json
    from .matching import Pool, predictions, scores

    frame = _read_pool(args.postings)
    sets = _load_sets(args.embeddings, len(frame), args.postings)
    names = _set_names(args.embeddings)
    out: dict = {}
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
        decision, tuned_on = _tuned(args, names, vframe, vsets)
        out["tuned_on"] = tuned_on
        out["search"] = {"thresholds": _search_for(args, len(names)), "union": args.union_tuning,
                         "weights": "searched" if args.search_weights else ("calibrated" if args.calibrate else
                                                                            "given" if args.weights else "equal")}
    else:
        decision = _fixed(args, names)
    out["thresholds"] = decision.as_dict()
    frame, sets = _pool(frame, sets, args.split, args.postings)
    pool = Pool(frame["label_group"].to_numpy(), k=args.k, embeddings=dict(zip(names, sets)), name=args.split or "all")
    result = scores(pool, decision)
    if args.pool_sizes:
        from .matching import pool_size_curve

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
    atomic_write_json(args.json, out)
    if args.predictions:
        from .io import atomic_write_csv
        from .submission import predictions_frame

        atomic_write_csv(args.predictions, predictions_frame(frame["posting_id"].to_numpy(),
                                                            predictions(pool, decision)))
    print(f"f1={out['f1']:.6f} precision={out['precision']:.6f} recall={out['recall']:.6f} n={out['n']} -> {args.json}")
    return 0


def cmd_build_bundle(args) -> int:
    from .bundle.builder import build, plan
    from .models import parse_overrides

    only = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    if only == ["none"]:
        only = []  # postings and thumbnails only; models come later with import-model
    if args.plan:
        for e in plan(args.profile, only):
            print(f"{e.id:<28} {e.kind:<15} {e.label}")
        return 0
    skip = tuple(m.strip() for m in args.no_embeddings.split(",") if m.strip()) if args.no_embeddings else ()
    manifest = build(args.profile, args.data, args.out, k=args.k, device=args.device, workers=args.workers,
                     umap=not args.no_umap, only=only, skip_embeddings=skip, search=args.search,
                     overrides=parse_overrides(args.set, args.config), pool_all=args.pool_all)
    print(f"{args.out}: {len(manifest['models'])} models, {len(manifest['files'])} other files")
    return 0


def cmd_import_model(args) -> int:
    from .bundle.importer import import_model

    m = import_model(args.bundle, args.id, args.label, args.family, embeddings=args.embeddings or (),
                     ids=args.ids or (), splits=args.split or (), predictions=args.predictions, replace=args.replace,
                     ignore_extra_ids=args.ignore_extra_ids, inb_iters=args.inb_iters, search=args.search,
                     umap=not args.no_umap)
    test = m["metrics"].get("test") or m["metrics"][next(iter(m["metrics"]))]
    what = ("predicted sets" if m.get("predictions_only") else f"{m['spec']['dim']}-d embeddings")
    scores = " · ".join(f"{v} {test[v]['f1']:.4f}" for v in ("base", "min2", "inb") if v in test)
    th = m["thresholds"]
    setting = ("fixed sets" if m.get("predictions_only") else
               f"T={th['t']:.3f} T2={th['t2']:.3f}" + (f" INB×{th['inb_iters']} T'={th['inb_t']:.3f}"
                                                       if th.get("inb_iters") else ""))
    tuned = "" if m.get("predictions_only") else ", tuned on valid"
    print(f"{args.bundle}: imported {m['id']} ({what}); test F1 {scores} ({setting}{tuned})")
    return 0


def cmd_remove_model(args) -> int:
    from .bundle.importer import remove_model

    left = remove_model(args.bundle, args.id)
    print(f"{args.bundle}: removed {args.id}; {len(left)} model(s) left")
    return 0


def cmd_check_bundle(args) -> int:
    from .bundle import check_bundle

    b = check_bundle(args.bundle)
    print(f"{args.bundle}: ok ({len(b.models)} models, {len(b.postings)} postings, splits {', '.join(b.splits)})")
    return 0


def cmd_predict(args) -> int:
    from .bundle import Bundle
    from .data import load_catalog
    from .io import atomic_write_csv
    from .matching import Decision, Embeddings, Pool, Side, fusion_source, model_source, predictions
    from .models import get
    from .submission import predictions_frame
    from .training.embed import embed_untrained

    bundle = Bundle.open(args.bundle)
    m = bundle.model(args.model)
    spec, th = m["spec"], m["thresholds"]
    leaves = spec.get("members") or [m["id"]]
    imported = [x for x in [m["id"], *leaves] if bundle.model(x).get("source") == "external"]
    if imported:
        raise ShopeeError(f"{imported[0]} was imported (made elsewhere): no encoder ships with it; predict with the "
                          f"code that made it")
    if spec.get("of") or any(bundle.model(x)["spec"].get("members") for x in leaves):
        raise ShopeeError(f"predict takes a single model or a one-level fusion/union, not {args.model!r}")
    profile = bundle.manifest.get("profile")
    entries = [get(x, profile) for x in leaves]
    blocked = [e.id for e in entries if e.kind not in ("tfidf", "phash", "e5", "text_zeroshot", "image_zeroshot")]
    if blocked:
        raise ShopeeError(f"{', '.join(blocked)}: no encoder ships with the bundle; embed with `embed --run RUN_DIR` "
                          f"and match with `evaluate`")
    catalog = load_catalog(args.data, check_images=any(e.kind == "image_zeroshot" for e in entries))
    frame = catalog.frame.assign(split="test")  # the whole file is one candidate pool
    sets = [Embeddings.from_array(embed_untrained(e, catalog, frame, progress=not args.quiet), name=e.id)
            for e in entries]
    if spec.get("combine") == "union":
        sides = {x["model"]: x for x in th["sides"]}
        decision = Decision.union([(model_source(x), sides[x]["t"], sides[x]["t2"]) for x in leaves], args.model)
    elif len(leaves) > 1:
        decision = Decision((Side(fusion_source(leaves, spec.get("weights")), th["t"], th["t2"]),), args.model)
    else:
        decision = Decision((Side(model_source(leaves[0]), th["t"], th["t2"]),), args.model)
    pool = Pool(None, k=args.k, embeddings=dict(zip(leaves, sets)), name=str(args.data))
    atomic_write_csv(args.out, predictions_frame(frame["posting_id"].to_numpy(), predictions(pool, decision)))
    print(f"{args.out}: {len(frame)} postings matched by {args.model} ({decision.describe()})")
    return 0


def cmd_models(args) -> int:
    from .models import get, list_models, parse_overrides, with_overrides

    models = [get(args.model, args.profile)] if args.model else list_models(args.profile)
    overrides = parse_overrides(args.set, args.config)
    models = [with_overrides(m, overrides) for m in models]
    if args.json:
        from .training.describe import training_facts

        print(json.dumps([{**m.as_dict(), **({"training": training_facts(m)} if m.trainable else {})}
                          for m in models], indent=2))
        return 0
    print(f"{'id':<28} {'recipe':>6}  {'family':<9} {'profile':<7} label")
    for m in models:
        print(f"{m.id:<28} {m.recipe if m.recipe is not None else '-':>6}  {m.family:<9} {m.profile:<7} {m.label}")
    return 0


# ------------------------------------------------------------------ parser
def _override_args(s) -> None:
    s.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a spec key (repeatable; VALUE is JSON when it parses, else a string; dotted keys "
                        "reach nested dicts, e.g. --set lr_schedule.max=1e-3)")
    s.add_argument("--config", metavar="FILE.json", help="a JSON object of spec overrides (applied before --set)")


def build_parser() -> argparse.ArgumentParser:
    from .matching.search import SEARCHES

    p = argparse.ArgumentParser(prog="python -m shopee_core",
                                description="Shopee product matching: data, models, matching, bundles.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("demo-data", help="write a synthetic demo catalog in the Kaggle layout",
                       description="Write DIR/train.csv and DIR/train_images/ (deterministic for a seed).")
    s.add_argument("--out", required=True, metavar="DIR")
    s.add_argument("--postings", type=int, default=5000, help="number of postings (default 5000; 34250 = Shopee size)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--image-size", type=int, default=256, help="image side in pixels (default 256)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_demo_data)

    s = sub.add_parser("split", help="write DIR/folds.csv once (GroupKFold(5): fold 0 test, 1 valid, 2-4 train)",
                       description="Assign every posting its fold and split as the seed did; later runs reuse the file.")
    s.add_argument("--data", required=True, metavar="DIR")
    s.add_argument("--folds-from", metavar="CSV", help="adopt this posting_id,fold file (every posting once, "
                   "folds 0-4), e.g. the seed's folds; replaces DIR/folds.csv")
    s.set_defaults(func=cmd_split)

    s = sub.add_parser("train", help="train a recipe (ArcFace/CurricularFace over the train split's groups)",
                       description="Train one registry entry; checkpoints every epoch as safetensors, the best "
                                   "validation epoch kept. Multi-GPU: torchrun --nproc_per_node N -m shopee_core train ...")
    s.add_argument("--model", required=True, metavar="ID", help="model id (see `models`)")
    s.add_argument("--data", required=True, metavar="DIR", help="Kaggle-layout folder (train.csv + train_images/)")
    s.add_argument("--profile", choices=PROFILES, default="seed18",
                   help="recipe profile (default seed18: the seed's full recipe, for a GPU)")
    s.add_argument("--out", required=True, metavar="RUN_DIR")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run in RUN_DIR")
    _override_args(s)
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    s.add_argument("--workers", type=int, help="data-loading worker processes")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("embed", help="embed a catalog with a trained run or an untrained model",
                       description="Write one L2-normalised row per posting in train.csv order: .npy (float16) "
                                   "or, for TF-IDF, .npz (sparse CSR).")
    s.add_argument("--run", metavar="RUN_DIR", help="a finished (or best-so-far) training run")
    s.add_argument("--model", metavar="ID", help="an untrained model: tfidf, phash, e5_zeroshot, *_zeroshot")
    s.add_argument("--profile", choices=PROFILES, help="profile of --model (default: its first)")
    s.add_argument("--data", required=True, metavar="DIR")
    s.add_argument("--split", metavar="NAME", help="only this split's postings (train|valid|test)")
    s.add_argument("--out", required=True, metavar="PATH")
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    s.add_argument("--workers", type=int, help="image-loading worker processes")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_embed)

    s = sub.add_parser("evaluate", help="match postings from embeddings and score them (row-wise F1)",
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
    s.add_argument("--predictions", metavar="CSV", help="also write posting_id,matches for the scored pool")
    s.add_argument("--json", required=True, metavar="OUT")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("build-bundle", help="train/embed/match every model of a profile into a dashboard bundle",
                       description="Folds, embeddings, neighbour tables, thresholds, metrics, Min2/INB, fusions, "
                                   "unions, UMAP, thumbnails and a checksummed manifest. Resumable: work is cached in "
                                   ".NAME.build beside the bundle.")
    s.add_argument("--profile", choices=PROFILES, required=True)
    s.add_argument("--set", action="append", default=[], metavar="[ID:]KEY=VALUE",
                   help="override a spec key of every model that has it, or of model ID only (repeatable; VALUE "
                        "is JSON when it parses), e.g. --set epochs=1 --set resnet50:image_size=256")
    s.add_argument("--config", metavar="FILE.json", help="a JSON object of such overrides (applied before --set)")
    s.add_argument("--data", required=True, metavar="DIR")
    s.add_argument("--out", required=True, metavar="DIR", help="bundle folder, e.g. precomputed/demo")
    s.add_argument("--models", metavar="ID,ID", help="only these models (and the combinations they complete); "
                   "'none': postings and thumbnails only, for models added later with import-model")
    s.add_argument("--k", type=int, help="candidates per posting (default: the profile's, 50 for seed18 as the "
                                         "seed; 51 lets a 51-member group be found whole)")
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    s.add_argument("--workers", type=int, help="data-loading worker processes")
    s.add_argument("--no-umap", action="store_true", help="skip the UMAP maps")
    s.add_argument("--no-embeddings", metavar="ID,ID", help="ship these models' neighbour tables and maps "
                   "but not their embedding rows (a leaner bundle)")
    s.add_argument("--search", choices=["seed", "full"],
                   help="threshold search for every model: the seed's early-stop scans (seed) or the full scan "
                        "(full); default: each recipe's own (seed18: seed, other profiles: full)")
    s.add_argument("--pool-all", action="store_true", help="also match and score every labelled posting as one "
                   "candidate pool ('all', as the 3rd place validated; the bundle then holds every posting)")
    s.add_argument("--plan", action="store_true", help="print the models that would be built and exit")
    s.set_defaults(func=cmd_build_bundle)

    s = sub.add_parser("import-model", help="add a model made elsewhere (embeddings or a submission CSV) to a bundle",
                       description="Embeddings get what a built model gets: kNN within each split, T and Min2 "
                                   "searched on valid, INB, metrics and a UMAP map. A predictions CSV "
                                   "(posting_id,matches) gets its metrics and works wherever predicted sets do "
                                   "(no thresholds to move). Every posting of the bundle needs exactly one row; "
                                   "nothing is written unless the whole import succeeds.")
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--id", required=True, metavar="ID", help="the model's id in the bundle (letters, digits, _ - .)")
    s.add_argument("--label", required=True, metavar="TEXT", help="what the model is, in a few words")
    s.add_argument("--family", required=True, choices=["image", "text", "fusion", "baseline"])
    s.add_argument("--embeddings", action="append", metavar="FILE",
                   help=".npy (with --ids), .npz (scipy CSR, with --ids), or .csv / .parquet with a posting_id "
                        "column and numeric columns (without one: --ids or --split); repeat for files that each "
                        "hold some of the postings, e.g. the seed's *_valid_embed.csv and *_test_embed.csv")
    s.add_argument("--ids", action="append", metavar="FILE",
                   help="posting ids of the rows of an --embeddings file, one per line (or a CSV with a posting_id "
                        "column); one per --embeddings file, same order")
    s.add_argument("--split", action="append", metavar="NAME",
                   help="the rows of an --embeddings file are this split's postings in the bundle's order; one per "
                        "--embeddings file, same order")
    s.add_argument("--predictions", metavar="CSV",
                   help="Kaggle submission posting_id,matches (space-separated ids of the same split; self is "
                        "assumed included and added where missing)")
    s.add_argument("--replace", action="store_true", help="replace the bundle's model of this id")
    s.add_argument("--ignore-extra-ids", action="store_true",
                   help="allow rows for postings the bundle does not hold (e.g. embeddings of all of train.csv); "
                        "they are dropped with a note (default: refused)")
    s.add_argument("--inb-iters", type=int, default=1, metavar="N",
                   help="INB iterations stored with the model, thresholds re-searched after them (0-3, default 1; "
                        "0: none)")
    s.add_argument("--search", default="full", choices=["seed", *SEARCHES],
                   help="threshold scan on valid: full (default) or the seed's early-stop scan (seed = seed_single)")
    s.add_argument("--no-umap", action="store_true", help="skip the 2-D map")
    s.set_defaults(func=cmd_import_model)

    s = sub.add_parser("remove-model", help="remove a model and its files from a bundle",
                       description="Refused while another model (a fusion, union or INB entry) is made from it.")
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--id", required=True, metavar="ID")
    s.set_defaults(func=cmd_remove_model)

    s = sub.add_parser("check-bundle", help="validate a bundle (schema, shapes, checksums)",
                       description="Exit 0 when every file matches the manifest and every array its postings.")
    s.add_argument("bundle", metavar="DIR")
    s.set_defaults(func=cmd_check_bundle)

    s = sub.add_parser("predict", help="Kaggle submission (posting_id,matches) for a test.csv folder",
                       description="Embed DIR's postings with a bundle model's shipped encoder (TF-IDF, pHash, "
                                   "zero-shot encoders, or a fusion/union of them) and match them with the "
                                   "bundle's tuned thresholds; the whole file is one candidate pool.")
    s.add_argument("--data", required=True, metavar="DIR", help="test.csv + test_images/ (or train.csv + train_images/)")
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--model", required=True, metavar="ID")
    s.add_argument("--out", required=True, metavar="CSV")
    s.add_argument("--k", type=int, default=50, help="candidates per posting (default 50)")
    s.add_argument("--quiet", action="store_true", help="no progress bar")
    s.set_defaults(func=cmd_predict)

    s = sub.add_parser("models", help="list the model registry",
                       description="Every model recipe with its full spec; --json adds, for trained recipes, what "
                                   "the training code computes from it (LR per epoch, the optimiser read back, "
                                   "seed, precision, embedding, checkpoint rule).")
    s.add_argument("--json", action="store_true", help="print the full (effective) specs as JSON")
    s.add_argument("--profile", choices=PROFILES, help="only models of this profile")
    s.add_argument("--model", metavar="ID", help="only this model")
    _override_args(s)
    s.set_defaults(func=cmd_models)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at interpreter exit
        return code
    except BrokenPipeError:  # the reader went away (`models --json | head`): stop quietly
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except ShopeeError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (OSError, MemoryError) as exc:
        print(f"error: {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return EXIT_ERROR

"""``python -m shopee_core <command>``: thin argument parsing over the library.

Every command exits 0 on success and prints ``error: <one line>`` with a
non-zero exit on bad input (no traceback); long work shows a progress bar.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .errors import ShopeeError
from .models import PROFILES

EXIT_ERROR = 1


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
    """posting_id + label_group (+ split, from the CSV or folds.csv beside it)."""
    import pandas as pd

    from .data.kaggle import read_postings_csv

    path = Path(path)
    frame, _ = read_postings_csv(path, require_labels=True, required=("posting_id", "label_group"))
    if "label_group" not in frame:
        raise ShopeeError(f"{path}: evaluate needs a label_group column to score against")
    if "split" not in frame:
        folds_path = path.parent / "folds.csv"
        if folds_path.is_file():
            folds = pd.read_csv(folds_path, dtype={"posting_id": str, "split": str})
            frame = frame.merge(folds[["posting_id", "split"]], on="posting_id", how="left", validate="1:1")
    return frame


def _load_sets(paths, n: int, where: str):
    from .io import load_matrix
    from .matching import Embeddings

    sets = []
    for p in paths:
        m = load_matrix(p)
        if m.ndim != 2 or m.shape[0] != n:
            raise ShopeeError(f"{p}: {m.shape[0] if m.ndim else 0} rows, but {where} has {n} postings")
        sets.append(Embeddings.from_array(m, name=str(p)))
    return sets


def _pool(frame, sets, split: str | None, what: str):
    if split is None:
        return frame, sets
    if "split" not in frame:
        raise ShopeeError(f"--split {split}: {what} has no split column and no folds.csv beside it (run `split`)")
    rows = np.flatnonzero((frame["split"] == split).to_numpy())
    if len(rows) == 0:
        raise ShopeeError(f"{what} has no postings in split {split!r}")
    return frame.iloc[rows].reset_index(drop=True), [s.take(rows) for s in sets]


def cmd_evaluate(args) -> int:
    from .io import atomic_write_json
    from .matching.pipeline import Decision, apply, tune

    frame = _read_pool(args.postings)
    sets = _load_sets(args.embeddings, len(frame), args.postings)
    combine = args.combine
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
        decision, info = tune(vsets, vframe["label_group"].to_numpy(), combine=combine,
                              min2=args.min2 is not None or args.search_min2,
                              inb_iters=args.inb_iters, k=args.k, progress=True)
        out["thresholds"] = decision.as_dict()
        out["tuned_on"] = {"n": len(vframe), **info["valid"]}
    else:
        if args.threshold is None:
            raise ShopeeError("give --threshold (one per set for --combine union) or --search-threshold / --tune-split")
        decision = Decision(t=_float_list(args.threshold), t2=_float_list(args.min2) or [], combine=combine,
                            inb_iters=args.inb_iters, inb_t=args.inb_threshold, inb_t2=args.inb_min2, k=args.k)
    frame, sets = _pool(frame, sets, args.split, args.postings)
    result = apply(sets, decision, frame["label_group"].to_numpy(), progress=True)
    out = {**result.scores, "split": args.split or "all", "k": decision.k, "decision": decision.as_dict(), **out}
    atomic_write_json(args.json, out)
    if args.predictions:
        from .io import atomic_write_csv
        from .submission import predictions_frame

        atomic_write_csv(args.predictions, predictions_frame(frame["posting_id"].to_numpy(), result.pred))
    print(f"f1={out['f1']:.6f} precision={out['precision']:.6f} recall={out['recall']:.6f} n={out['n']} -> {args.json}")
    return 0


def cmd_build_bundle(args) -> int:
    from .bundle.builder import build, plan

    only = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    if args.plan:
        for e in plan(args.profile, only):
            print(f"{e.id:<28} {e.kind:<15} {e.label}")
        return 0
    skip = tuple(m.strip() for m in args.no_embeddings.split(",") if m.strip()) if args.no_embeddings else ()
    manifest = build(args.profile, args.data, args.out, k=args.k, device=args.device, workers=args.workers,
                     umap=not args.no_umap, only=only, skip_embeddings=skip)
    print(f"{args.out}: {len(manifest['models'])} models, {len(manifest['files'])} other files")
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
    from .matching import Embeddings
    from .matching.pipeline import Decision, apply
    from .models import get
    from .submission import predictions_frame
    from .training.embed import embed_untrained

    bundle = Bundle.open(args.bundle)
    m = bundle.model(args.model)
    spec, th = m["spec"], m["thresholds"]
    leaves = spec.get("members") or [m["id"]]
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
        decision = Decision(t=[sides[x]["t"] for x in leaves], t2=[sides[x]["t2"] for x in leaves],
                            combine="union", k=args.k)
    else:
        decision = Decision(t=[th["t"]], t2=[th["t2"]], combine="mean", k=args.k)
    result = apply(sets, decision)
    atomic_write_csv(args.out, predictions_frame(frame["posting_id"].to_numpy(), result.pred))
    print(f"{args.out}: {len(frame)} postings matched by {args.model} (T={decision.t}, T2={decision.t2})")
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
    s.add_argument("--split", metavar="NAME", help="score only this split's pool (train|valid|test)")
    s.add_argument("--search-threshold", metavar="VALID_CSV:NPY[,NPY...]", help="search all thresholds on this validation pool first")
    s.add_argument("--tune-split", metavar="NAME", help="search all thresholds on this split of --postings (e.g. valid)")
    s.add_argument("--search-min2", action="store_true", help="also search Min2 thresholds when searching")
    s.add_argument("--predictions", metavar="CSV", help="also write posting_id,matches for the scored pool")
    s.add_argument("--json", required=True, metavar="OUT")
    s.set_defaults(func=cmd_evaluate)

    s = sub.add_parser("build-bundle", help="train/embed/match every model of a profile into a dashboard bundle",
                       description="Folds, embeddings, neighbour tables, thresholds, metrics, Min2/INB, fusions, "
                                   "unions, UMAP, thumbnails and a checksummed manifest. Resumable: work is cached in "
                                   ".NAME.build beside the bundle.")
    s.add_argument("--profile", choices=["seed18", "demo", "smoke"], required=True)
    s.add_argument("--data", required=True, metavar="DIR")
    s.add_argument("--out", required=True, metavar="DIR", help="bundle folder, e.g. precomputed/demo")
    s.add_argument("--models", metavar="ID,ID", help="only these models (and the combinations they complete)")
    s.add_argument("--k", type=int, default=50, help="candidates per posting (default 50)")
    s.add_argument("--device", help="cpu, cuda or cuda:N (default: cuda when present)")
    s.add_argument("--workers", type=int, help="data-loading worker processes")
    s.add_argument("--no-umap", action="store_true", help="skip the UMAP maps")
    s.add_argument("--no-embeddings", metavar="ID,ID", help="ship these models' neighbour tables and maps "
                   "but not their embedding rows (a leaner bundle)")
    s.add_argument("--plan", action="store_true", help="print the models that would be built and exit")
    s.set_defaults(func=cmd_build_bundle)

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
        return args.func(args)
    except ShopeeError as exc:
        print(f"error: {exc}", file=sys.stderr)
    except (OSError, MemoryError) as exc:
        print(f"error: {type(exc).__name__}: {' '.join(str(exc).split())}", file=sys.stderr)
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return EXIT_ERROR

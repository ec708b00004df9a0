"""build-bundle, import-model, remove-model, check-bundle and predict: bundles in and out."""

from __future__ import annotations

from ..bundle import Bundle, check_bundle
from ..bundle.builder import build, plan
from ..bundle.importer import import_model, remove_model
from ..data import load_catalog
from ..errors import ShopeeError
from ..io import atomic_write_csv
from ..matching import Decision, Embeddings, Pool, Side, fusion_source, model_source, predictions
from ..matching.search import SEARCHES
from ..models import PROFILES, get, parse_overrides
from ..submission import predictions_frame
from .common import command, data_arg, device_args, index_args, index_spec


def cmd_build_bundle(args) -> int:
    only = [m.strip() for m in args.models.split(",") if m.strip()] if args.models else None
    if only == ["none"]:
        only = []  # postings and thumbnails only; models come later with import-model
    if args.plan:
        for e in plan(args.profile, only):
            print(f"{e.id:<28} {e.kind:<15} {e.label}")
        return 0
    skip = tuple(m.strip() for m in args.no_embeddings.split(",") if m.strip()) if args.no_embeddings else ()
    index = index_spec(args)  # an unknown --index fails before any work
    manifest = build(args.profile, args.data, args.out, k=args.k, device=args.device, workers=args.workers,
                     umap=not args.no_umap, only=only, skip_embeddings=skip, search=args.search,
                     overrides=parse_overrides(args.set, args.config), pool_all=args.pool_all,
                     storage=args.storage, graph=args.graph, index=index, min_recall=args.min_recall,
                     suspects=not args.no_suspects)
    print(f"{args.out}: {len(manifest['models'])} models, {len(manifest['files'])} other files")
    return 0


def cmd_import_model(args) -> int:
    e = import_model(args.bundle, args.id, args.label, args.family, embeddings=args.embeddings or (),
                     ids=args.ids or (), splits=args.split or (), predictions=args.predictions, replace=args.replace,
                     ignore_extra_ids=args.ignore_extra_ids, inb_iters=args.inb_iters, search=args.search,
                     umap=not args.no_umap, wait=not args.no_wait, graph=args.graph)
    test = e.metrics.get("test") or e.metrics[next(iter(e.metrics))]
    what = "predicted sets" if e.predictions_only else f"{e.spec['dim']}-d embeddings"
    scores = " · ".join(f"{v} {test[v]['f1']:.4f}" for v in ("base", "min2", "inb", "graph") if v in test)
    setting = ("fixed sets" if e.predictions_only else
               f"T={e.t:.3f} T2={e.t2:.3f}" + (f" INB×{e.inb_iters} T'={e.inb_t:.3f}" if e.inb_iters else ""))
    if e.graph:
        setting += f" + {e.graph['step']}" + ("" if e.graph["param"] is None else f":{e.graph['param']:g}")
    tuned = "" if e.predictions_only else ", tuned on valid"
    print(f"{args.bundle}: imported {e.id} ({what}); test F1 {scores} ({setting}{tuned})")
    return 0


def cmd_remove_model(args) -> int:
    left = remove_model(args.bundle, args.id, wait=not args.no_wait)
    print(f"{args.bundle}: removed {args.id}; {len(left)} model(s) left")
    return 0


def cmd_check_bundle(args) -> int:
    b = check_bundle(args.bundle)
    print(f"{args.bundle}: ok ({len(b.models)} models, {len(b.postings)} postings, splits {', '.join(b.splits)})")
    return 0


def cmd_predict(args) -> int:
    from ..training.embed import embed_untrained

    bundle = Bundle.open(args.bundle)
    m = bundle.entry(args.model)
    leaves = list(m.members) or [m.id]
    imported = [x for x in [m.id, *leaves] if bundle.entry(x).external]
    if imported:
        raise ShopeeError(f"{imported[0]} was imported (made elsewhere): no encoder ships with it; predict with the "
                          f"code that made it")
    if m.of or any(bundle.entry(x).members for x in leaves):
        raise ShopeeError(f"predict takes a single model or a one-level fusion/union, not {args.model!r}")
    entries = [get(x, bundle.profile) for x in leaves]
    blocked = [e.id for e in entries if e.kind not in ("tfidf", "phash", "e5", "text_zeroshot", "image_zeroshot")]
    if blocked:
        raise ShopeeError(f"{', '.join(blocked)}: no encoder ships with the bundle; embed with `embed --run RUN_DIR` "
                          f"and match with `evaluate`")
    catalog = load_catalog(args.data, check_images=any(e.kind == "image_zeroshot" for e in entries))
    frame = catalog.frame.assign(split="test")  # the whole file is one candidate pool
    sets = [Embeddings.from_array(embed_untrained(e, catalog, frame, progress=not args.quiet), name=e.id)
            for e in entries]
    if m.combine == "union":
        sides = {x: (t, t2) for x, t, t2 in m.sides}
        decision = Decision.union([(model_source(x), *sides[x]) for x in leaves], args.model)
    elif len(leaves) > 1:
        decision = Decision((Side(fusion_source(leaves, m.weights), m.t, m.t2),), args.model)
    else:
        decision = Decision((Side(model_source(leaves[0]), m.t, m.t2),), args.model)
    pool = Pool(None, k=args.k, embeddings=dict(zip(leaves, sets)), name=str(args.data))
    atomic_write_csv(args.out, predictions_frame(frame["posting_id"].to_numpy(), predictions(pool, decision)))
    print(f"{args.out}: {len(frame)} postings matched by {args.model} ({decision.describe()})")
    return 0


GRAPH_HELP = ("graph step tuned on valid per model, stored as the extra variant 'graph': none, auto (every step "
              "tried, the best kept where it beats the plain decision there) or one step: mutual, closure[:MAX], "
              "cluster[:S], cut-bridges[:TAU] (a bare name: parameter searched)")


def add_build_bundle(sub) -> None:
    s = command(sub, "build-bundle", cmd_build_bundle, help="train/embed/match every model of a profile into a dashboard bundle",
                description="Folds, embeddings, neighbour tables, thresholds, metrics, Min2/INB, fusions, "
                            "unions, UMAP, thumbnails and a checksummed manifest. Resumable: work is cached in "
                            ".NAME.build beside the bundle. One build per --out at a time: a second is refused, "
                            "naming the first's process.")
    s.add_argument("--profile", choices=PROFILES, required=True)
    s.add_argument("--set", action="append", default=[], metavar="[ID:]KEY=VALUE",
                   help="override a spec key of every model that has it, or of model ID only (repeatable; VALUE "
                        "is JSON when it parses), e.g. --set epochs=1 --set resnet50:image_size=256")
    s.add_argument("--config", metavar="FILE.json", help="a JSON object of such overrides (applied before --set)")
    data_arg(s)
    s.add_argument("--out", required=True, metavar="DIR", help="bundle folder, e.g. precomputed/demo")
    s.add_argument("--models", metavar="ID,ID", help="only these models (and the combinations they complete); "
                   "'none': postings and thumbnails only, for models added later with import-model")
    s.add_argument("--k", type=int, help="candidates per posting (default: the profile's, 50 for seed18 as the "
                                         "seed; 51 lets a 51-member group be found whole)")
    device_args(s)
    s.add_argument("--no-umap", action="store_true", help="skip the UMAP maps")
    s.add_argument("--no-suspects", action="store_true",
                   help="do not ship the label-noise finder's results (the Review page then finds them once per "
                        "server: a minute and gigabytes at 70,000 postings)")
    s.add_argument("--no-embeddings", metavar="ID,ID", help="ship these models' neighbour tables and maps "
                   "but not their embedding rows (a leaner bundle)")
    s.add_argument("--search", choices=["seed", "full"],
                   help="threshold search for every model: the seed's early-stop scans (seed) or the full scan "
                        "(full); default: each recipe's own (seed18: seed, other profiles: full)")
    s.add_argument("--graph", metavar="none|auto|STEP[:PARAM]", help=GRAPH_HELP + "; default: the profile's "
                   "(seed18: none; tuned: cluster; demo, smoke: auto)")
    s.add_argument("--pool-all", action="store_true", help="also match and score every labelled posting as one "
                   "candidate pool ('all', as the 3rd place validated; the bundle then holds every posting)")
    s.add_argument("--storage", choices=["float32", "float16"],
                   help="dtype of the stored embedding rows and neighbour similarities (default: the profile's, "
                        "float16 for demo, float32 otherwise); thresholds and metrics come from float32 either way")
    index_args(s)
    s.add_argument("--plan", action="store_true", help="print the models that would be built and exit")


def add_import_model(sub) -> None:
    s = command(sub, "import-model", cmd_import_model, help="add a model made elsewhere (embeddings or a submission CSV) to a bundle",
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
    s.add_argument("--graph", metavar="none|auto|STEP[:PARAM]", help=GRAPH_HELP + " (default: the bundle's own, "
                   "as its build-bundle chose; none for bundles built before graph steps)")
    no_wait_arg(s)


def add_remove_model(sub) -> None:
    s = command(sub, "remove-model", cmd_remove_model, help="remove a model and its files from a bundle",
                description="Refused while another model (a fusion, union or INB entry) is made from it.")
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--id", required=True, metavar="ID")
    no_wait_arg(s)


def no_wait_arg(s) -> None:
    s.add_argument("--no-wait", action="store_true",
                   help="refuse at once while another edit or build of the bundle runs (default: wait for it, "
                        "with a note; edits of one bundle run one at a time)")


def add_check_bundle(sub) -> None:
    s = command(sub, "check-bundle", cmd_check_bundle, help="validate a bundle (schema, shapes, checksums)",
                description="Exit 0 when every file matches the manifest and every array its postings.")
    s.add_argument("bundle", metavar="DIR")


def add_predict(sub) -> None:
    s = command(sub, "predict", cmd_predict, help="Kaggle submission (posting_id,matches) for a test.csv folder",
                description="Embed DIR's postings with a bundle model's shipped encoder (TF-IDF, pHash, "
                            "zero-shot encoders, or a fusion/union of them) and match them with the "
                            "bundle's tuned thresholds; the whole file is one candidate pool.", bar=True)
    data_arg(s, help="test.csv + test_images/ (or train.csv + train_images/)")
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--model", required=True, metavar="ID")
    s.add_argument("--out", required=True, metavar="CSV")
    s.add_argument("--k", type=int, default=50, help="candidates per posting (default 50)")

"""demo-data and split: a catalog in the Kaggle layout and its persisted folds."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ..data import adopt_folds, load_catalog, load_or_create_folds
from ..data.demo import generate_catalog
from ..data.demo.hostile import CORPUS, hostile_titles
from ..io import atomic_write_json
from .common import command, data_arg


def cmd_demo_data(args) -> int:
    hostile = None
    if args.hostile_titles is not None:
        hostile = hostile_titles(args.hostile_titles or None)  # read before anything is written
    summary = generate_catalog(args.out, n_postings=args.postings, seed=args.seed,
                               image_size=args.image_size, progress=not args.quiet, hostile_titles=hostile,
                               posting_noise=args.posting_noise)
    info = {"source": "demo", "seed": args.seed, **summary}
    if hostile:
        info["hostile_titles"] = str(args.hostile_titles or CORPUS.name)
    atomic_write_json(Path(args.out) / "catalog.json", info)
    print(json.dumps(summary, indent=2))
    return 0


def cmd_split(args) -> int:
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


def add_demo_data(sub) -> None:
    s = command(sub, "demo-data", cmd_demo_data, help="write a synthetic demo catalog in the Kaggle layout",
                description="Write DIR/train.csv and DIR/train_images/ (deterministic for a seed).", bar=True)
    s.add_argument("--out", required=True, metavar="DIR")
    s.add_argument("--postings", type=int, default=5000, help="number of postings (default 5000; 34250 = Shopee size)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--image-size", type=int, default=256, help="image side in pixels (default 256)")
    s.add_argument("--posting-noise", type=float, default=0.0, metavar="RATE",
                   help="plant posting noise: this share of the later postings of groups of 3+ (at most one a "
                        "group) show another group's product (default 0, the shipped bundle's catalog; the "
                        "label-noise figures use 0.015)")
    s.add_argument("--hostile-titles", nargs="?", const="", default=None, metavar="JSON",
                   help="give every other posting a hostile seller title (Markdown, HTML, links, math, directives, "
                        "bidi overrides, formulas ...) from the shipped corpus, or from JSON of the same shape: for "
                        "checking that every view shows seller text literally")


def add_split(sub) -> None:
    s = command(sub, "split", cmd_split, help="write DIR/folds.csv once (GroupKFold(5): fold 0 test, 1 valid, 2-4 train)",
                description="Assign every posting its fold and split as the seed did; later runs reuse the file.")
    data_arg(s)
    s.add_argument("--folds-from", metavar="CSV", help="adopt this posting_id,fold file (every posting once, "
                   "folds 0-4), e.g. the seed's folds; replaces DIR/folds.csv")

"""suspects and relabel: find label noise in a bundle, and write a catalog with the reviewed fixes."""

from __future__ import annotations

from pathlib import Path

from ..analysis.noise import COLUMNS, bundle_suspects
from ..analysis.relabel import FIXES_FILE, relabel
from ..bundle import Bundle
from ..bundle.suspects import add_suspects as add_suspects_to
from ..errors import ShopeeError
from ..io import atomic_write_csv
from .common import command, data_arg


def cmd_suspects(args) -> int:
    if args.top is not None and args.top < 1:
        raise ShopeeError(f"--top must be at least 1, got {args.top}")
    if args.out is None and not args.store:
        raise ShopeeError("name --out CSV, --store, or both")
    if args.store:
        entry = add_suspects_to(args.bundle, progress=not args.quiet)
        pools = (entry or {}).get("pools", {})
        print(f"{args.bundle}: suspects shipped for pool(s) " + (", ".join(f"{p} ({v['count']})" for p, v in pools.items())
                                                               or "none (no labelled pool with a model table)"))
        if args.out is None:
            return 0
    bundle = Bundle.open(args.bundle)
    table = bundle_suspects(bundle, args.split, progress=not args.quiet)
    if args.top is not None:
        table = table.head(args.top)
    atomic_write_csv(args.out, table[COLUMNS])
    counts = table["kind"].value_counts()
    print(f"{args.out}: {len(table)} suspects in {args.bundle} ({args.split}): {int(counts.get('posting', 0))} "
          f"postings, {int(counts.get('group_pair', 0))} group pairs")
    return 0


def cmd_relabel(args) -> int:
    if not Path(args.reviews).is_file():
        raise ShopeeError(f"--reviews {args.reviews}: no such file")
    r = relabel(args.data, args.reviews, args.out)
    print(f"{args.out}: train.csv with {len(r.fixes)} postings relabelled from {r.verdicts} verdicts "
          f"({r.groups_before} -> {r.groups_after} label groups); fixes in {Path(args.out) / FIXES_FILE}")
    if len(r.fold_moves):
        for (g, old, new), part in r.fold_moves.groupby(["label_group", "old_fold", "new_fold"]):
            print(f"  group {g}: {len(part)} posting(s) moved from fold {old} to fold {new} so the group stays in "
                  f"one fold")
    return 0


def add_suspects(sub) -> None:
    s = command(sub, "suspects", cmd_suspects, help="rank label-noise suspects of a bundle from every model's evidence",
                description="Postings the models place with another group, and group pairs the models match "
                            "across as strongly as within: each with a score, its evidence (every model's "
                            "similarities, shared photo, title overlap, a unit or variant conflict against it) and "
                            "the fix it suggests. Writes kind,posting_id,label_group,other_label_group,score,"
                            "evidence sorted by score.", bar=True)
    s.add_argument("--bundle", required=True, metavar="DIR")
    s.add_argument("--split", default="all", metavar="test|valid|all",
                   help="candidate pool (default all: the bundle's 'all' pool when it has one, else every pool it "
                        "shows)")
    s.add_argument("--top", type=int, metavar="N", help="keep the N best suspects (default: every one)")
    s.add_argument("--out", metavar="CSV", help="where to write the suspects (with --store: optional)")
    s.add_argument("--store", action="store_true",
                   help="also ship the finder's results in the bundle (one edit, under its lock), so the Review page "
                        "opens at once instead of finding them once per server; builds since this option ship them "
                        "already. The manifest changes, so it is refused while the bundle's review file holds verdicts")


def add_relabel(sub) -> None:
    s = command(sub, "relabel", cmd_relabel, help="write a catalog with the reviewed label fixes into a new folder",
                description="Apply a review file's 'same product' verdicts (move a posting to the group it shows, "
                            "merge two groups) to DIR/train.csv and write OUT/train.csv, OUT/folds.csv (each group "
                            "kept in one fold, moves reported), OUT/label_fixes.csv and OUT/train_images (a link). "
                            "DIR is never changed.")
    data_arg(s, help="the catalog the bundle was built from (train.csv, folds.csv)")
    s.add_argument("--reviews", required=True, metavar="FILE", help="the review file (BUNDLE.reviews.jsonl)")
    s.add_argument("--out", required=True, metavar="DIR", help="a new folder")

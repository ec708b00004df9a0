"""Which of a bundle's models are tied and which differences are real: the README's tables.

Prints Markdown: (1) every model's F1 at its best decision on valid with its 95 % interval and
whether it is tied with the best; (2) the seed study's comparisons, found by recipe number
(:func:`shopee_core.analysis.intervals.study_pairs`: fusion 17 vs 16, each fusion vs its members,
the image recipes 1-5 and text recipes 8-12 against the best of them, Min2 vs the plain threshold
and INB vs Min2 for every model), each a paired difference from the same resamples of whole label
groups, its interval, P(A > B) and the verdict; (3) a count of verdicts per comparison. With
``--write README.md`` table (2) replaces the README's section between <!-- intervals:start -->
and <!-- intervals:end -->. Usage:

    python scripts/intervals_table.py [precomputed/demo] [--split test] [--resamples 1000] [--seed 0] [--write README.md]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.analysis import intervals as I  # noqa: E402
from shopee_core.analysis import leaderboard as lb  # noqa: E402
from shopee_core.bundle import Bundle  # noqa: E402
from shopee_core.errors import ShopeeError  # noqa: E402

START, END = "<!-- intervals:start -->", "<!-- intervals:end -->"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", nargs="?", default="precomputed/demo", help="bundle folder (default precomputed/demo)")
    p.add_argument("--split", default="test", help="candidate pool (default test)")
    p.add_argument("--resamples", type=int, default=1000, help="B (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", metavar="README", help="write the comparisons table into this README's section")
    args = p.parse_args(argv)
    try:
        bundle = Bundle.open(args.bundle)
        frame = lb.leaderboard(bundle, args.split, "best").dropna(subset=["f1"])
        iv = I.leaderboard(bundle, args.split, list(zip(frame["id"], frame["variant"])), args.resamples, args.seed)
        comparisons = I.markdown_pairs(bundle, args.split, args.resamples, args.seed)
    except ShopeeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if args.write:
        path = Path(args.write)
        text = path.read_text(encoding="utf-8")
        if START not in text or END not in text:
            print(f"error: {path} has no {START} ... {END} section", file=sys.stderr)
            return 1
        head, rest = text.split(START, 1)
        path.write_text(f"{head}{START}\n{comparisons}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
        print(f"{path}: comparisons updated from {args.bundle}")
        return 0
    a = iv.attrs
    print(f"{args.split} split of {bundle.name}: {len(bundle.labels(args.split)):,} postings, {a['groups']:,} "
          f"label groups; {a['resamples']:,} resamples of whole groups, seed {a['seed']}; best decision on valid.\n")
    print("| model | decision | F1 | 95 % interval | gap to the best [95 %] | tied with the best |")
    print("|---|---|---|---|---|---|")
    for _, r in iv.sort_values("f1", ascending=False).iterrows():
        gap = "—" if r["best"] else f"{-r['gap']:+.4f} [{-r['gap_hi']:+.4f}, {-r['gap_lo']:+.4f}]"
        tied = "best" if r["best"] else ("tied" if r["tied"] else "no")
        print(f"| `{r['id']}` | {lb.VARIANT_LABELS.get(r['variant'], r['variant'])} | {r['f1']:.4f} | "
              f"{r['f1_lo']:.4f}–{r['f1_hi']:.4f} | {gap} | {tied} |")
    print(f"\n{comparisons}\n")
    counts: dict[str, Counter] = {}
    for line in comparisons.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        counts.setdefault(cells[0], Counter())[cells[-1]] += 1
    for group, c in counts.items():
        print(f"- {group}: " + ", ".join(f"{n} {v}" for v, n in c.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

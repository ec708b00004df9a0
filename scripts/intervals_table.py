"""Which of a bundle's models are tied and which differences are real: the README's tables.

Prints Markdown: (1) every model's test F1 (best decision on valid) with its 95 % interval and
whether it is tied with the best; (2) the study's comparisons — fusion 16 vs 17, each fusion vs
its members, the five text and five image stand-ins against the best of their kind, Min2 vs the
plain threshold and INB vs Min2 for every model — each a paired difference from the same
resamples of whole label groups, its interval, P(A > B) and the verdict. Pairs whose models the
bundle lacks are skipped. Usage:

    python scripts/intervals_table.py precomputed/demo [--split test] [--resamples 1000] [--seed 0]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.analysis import intervals as I  # noqa: E402
from shopee_core.analysis import leaderboard as lb  # noqa: E402
from shopee_core.bundle import Bundle  # noqa: E402
from shopee_core.errors import ShopeeError  # noqa: E402

TEXT = ["bert_multilingual", "bert_indonesian", "distilbert_indonesian", "xlmr_paraphrase", "distilroberta_paraphrase"]
IMAGE = ["resnet50", "resnext50_32x4d", "densenet121", "efficientnet_b3", "eca_nfnet_l0"]
FUSIONS = {"tfidf_plus_resnet50": ("tfidf", "resnet50"), "sbert_plus_nfnet": ("xlmr_paraphrase", "eca_nfnet_l0")}


def _best(bundle, mid):
    return mid, I.resolve(bundle, mid, "best")


def pairs(bundle) -> list[tuple[str, tuple, tuple]]:
    """(group, A, B) entries; A and B are (model id, concrete variant)."""
    ids = {m["id"] for m in bundle.models}
    out = []
    if set(FUSIONS) <= ids:
        for v in ("base", "min2", "inb"):
            if all(I.resolve(bundle, m, v) for m in FUSIONS):
                out.append(("fusion 17 vs 16", ("sbert_plus_nfnet", v), ("tfidf_plus_resnet50", v)))
    for f, members in FUSIONS.items():
        for m in members:
            if {f, m} <= ids:
                out.append(("fusion vs member", _best(bundle, f), _best(bundle, m)))
    for group, kind in (("text stand-ins", TEXT), ("image stand-ins", IMAGE)):
        present = [m for m in kind if m in ids]
        if len(present) < 2:
            continue
        f1 = {m: lb._metric(bundle.model(m), "test", I.resolve(bundle, m, "best"), "f1") for m in present}
        top = max(present, key=f1.get)
        out += [(f"{group} vs the best of them", _best(bundle, top), _best(bundle, m)) for m in present if m != top]
    for m in bundle.models:
        mid = m["id"]
        if I.resolve(bundle, mid, "min2") and I.resolve(bundle, mid, "base"):
            out.append(("Min2 vs plain", (mid, "min2"), (mid, "base")))
    for m in bundle.models:
        mid = m["id"]
        if I.resolve(bundle, mid, "inb") and I.resolve(bundle, mid, "min2"):
            out.append(("INB vs Min2", (mid, "inb"), (mid, "min2")))
    return out


def fmt_interval(lo, hi) -> str:
    return f"[{lo:+.4f}, {hi:+.4f}]"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("bundle", help="bundle folder, e.g. precomputed/demo")
    p.add_argument("--split", default="test", help="candidate pool (default test)")
    p.add_argument("--resamples", type=int, default=1000, help="B (default 1000)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    try:
        bundle = Bundle.open(args.bundle)
        frame = lb.leaderboard(bundle, args.split, "best").dropna(subset=["f1"])
        iv = I.leaderboard(bundle, args.split, list(zip(frame["id"], frame["variant"])), args.resamples, args.seed)
        ps = pairs(bundle)
        table = I.pairs_table(bundle, args.split, [(a, b) for _, a, b in ps], args.resamples, args.seed)
    except ShopeeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    a = iv.attrs
    print(f"{args.split} split of {bundle.name}: {int(len(bundle.labels(args.split))):,} postings, {a['groups']:,} "
          f"label groups; {a['resamples']:,} resamples of whole groups, seed {a['seed']}; best decision on valid.\n")
    print("| model | decision | F1 | 95 % interval | gap to the best [95 %] | tied with the best |")
    print("|---|---|---|---|---|---|")
    for _, r in iv.sort_values("f1", ascending=False).iterrows():
        gap = "—" if r["best"] else f"{-r['gap']:+.4f} {fmt_interval(-r['gap_hi'], -r['gap_lo'])}"
        tied = "best" if r["best"] else ("tied" if r["tied"] else "no")
        print(f"| `{r['id']}` | {lb.VARIANT_LABELS.get(r['variant'], r['variant'])} | {r['f1']:.4f} | "
              f"{r['f1_lo']:.4f}–{r['f1_hi']:.4f} | {gap} | {tied} |")
    print()
    table.insert(0, "comparison", [g for g, _, _ in ps])
    print("| comparison | A | B | F1 A | F1 B | A − B [95 %] | P(A > B) | verdict |")
    print("|---|---|---|---|---|---|---|---|")
    for _, r in table.iterrows():
        print(f"| {r['comparison']} | `{r['a']}` | `{r['b']}` | {r['f1_a']:.4f} | {r['f1_b']:.4f} | "
              f"{r['diff']:+.4f} {fmt_interval(r['lo'], r['hi'])} | {r['p_better']:.3f} | {r['verdict']} |")
    print()
    counts = table.groupby("comparison", sort=False)["verdict"].value_counts().unstack(fill_value=0)
    for group, row in counts.iterrows():
        print(f"- {group}: " + ", ".join(f"{n} {v}" for v, n in row.items() if n))
    return 0


if __name__ == "__main__":
    pd.set_option("display.width", 200)
    raise SystemExit(main())

#!/usr/bin/env python
"""How well the label-noise suspect finder finds the demo catalog's planted noise.

The demo generator records its planted label noise in ``noise.csv``: ``group_pair`` rows (a
group listing an earlier group's very product, fresh photos and titles) and ``posting`` rows
(a posting showing another group's product). ``python -m shopee_core suspects`` ranks the
suspects of a bundle built from that catalog; this script scores the ranking per kind:

* a posting suspect is right when the posting is planted and the group it suggests shows the
  planted product (any group of that product: a duplicate group counts);
* a group-pair suspect is right when the two groups list one product.

Recall counts the planted cases the pool can reveal (both groups inside it). Printed: precision
and recall at the top 25 / 50 / 100 of each kind, the precision at the first rank reaching
recall 0.5 (the issue's goal: >= 0.6), with a 95 % Wilson interval, and the full
precision-recall curve (every rank where a planted case is found).

    python -m shopee_core demo-data --out /tmp/d5 --posting-noise 0.015 && python -m shopee_core split --data /tmp/d5
    python -m shopee_core build-bundle --profile demo --data /tmp/d5 --out /tmp/b5 --pool-all --no-umap \\
           --models tfidf,tfidf_units,phash,resnet50,effnet_lite0_zeroshot,minilm_zeroshot,minilm_arcface
    python scripts/noise_flags.py --bundle /tmp/b5 --data /tmp/d5 [--split all] [--curve]
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.analysis.noise import bundle_suspects, pools_of, witnesses  # noqa: E402
from shopee_core.bundle import Bundle  # noqa: E402
from shopee_core.data.demo import NOISE_FILE, read_noise  # noqa: E402
from shopee_core.errors import ShopeeError  # noqa: E402

TOPS = (25, 50, 100)


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return max(0.0, c - h), min(1.0, c + h)


def truth(noise: pd.DataFrame):
    """(root of a group's product, planted postings -> the product they show)."""
    pairs = noise[noise["kind"] == "group_pair"]
    root = dict(zip(pairs["label_group"], pairs["same_product_as"]))

    def r(g):
        return root.get(int(g), int(g))
    posts = noise[noise["kind"] == "posting"]
    shown = {p: r(g) for p, g in zip(posts["posting_id"], posts["same_product_as"])}
    return r, shown


def score_kind(found: pd.DataFrame, hits: np.ndarray, total: int) -> dict:
    """Precision and recall down one kind's ranking."""
    hits = np.asarray(hits, dtype=bool)
    cum = np.cumsum(hits)
    out = {"listed": int(len(hits)), "planted": int(total), "found": int(cum[-1]) if len(cum) else 0}
    for k in TOPS:
        n = min(k, len(hits))
        out[f"p@{k}"] = cum[n - 1] / n if n else float("nan")
        out[f"r@{k}"] = cum[n - 1] / total if n and total else float("nan")
    need = math.ceil(0.5 * total)
    at = int(np.searchsorted(cum, need)) + 1 if total and len(cum) and cum[-1] >= need else None
    out["rank_r50"] = at
    out["p_r50"] = need / at if at else float("nan")
    out["p_r50_ci"] = wilson(need, at) if at else (float("nan"), float("nan"))
    out["curve"] = [(int(i) + 1, float(cum[i] / (i + 1)), float(cum[i] / total)) for i in np.flatnonzero(hits)]
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", required=True, help="a bundle built from the demo catalog (--pool-all to reach "
                                                    "every planted case)")
    ap.add_argument("--data", required=True, help="the demo catalog folder (noise.csv)")
    ap.add_argument("--split", default="all", help="pool(s) to search (default all)")
    ap.add_argument("--curve", action="store_true", help="print the full precision-recall curve")
    args = ap.parse_args()
    try:
        bundle = Bundle.open(args.bundle)
        noise = read_noise(Path(args.data) / NOISE_FILE)
        t = time.perf_counter()
        found = bundle_suspects(bundle, args.split)
        seconds = time.perf_counter() - t
        pools = pools_of(bundle, args.split)
    except ShopeeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    root, shown = truth(noise)
    post = bundle.postings
    print(f"{args.bundle} · pools {', '.join(pools)} · {len(found)} suspects in {seconds:.1f} s · "
          f"witnesses: {', '.join(w.id for w in witnesses(bundle, pools[0]))}")
    # what each pool can reveal: both groups inside it
    planted_posts = planted_pairs = 0
    for s in pools:
        rows = bundle.split_rows(s)
        labels = post["label_group"].to_numpy()[rows].astype(np.int64)
        ids = set(post["posting_id"].to_numpy()[rows])
        roots = pd.Series([root(g) for g in np.unique(labels)])
        planted_pairs += int((roots.value_counts() * (roots.value_counts() - 1) // 2).sum())
        for r in noise[noise["kind"] == "posting"].itertuples():
            if r.posting_id in ids and any(root(g) == shown[r.posting_id] and g != r.label_group
                                           for g in np.unique(labels)):
                planted_posts += 1
    kinds = {}
    p = found[found["kind"] == "posting"]
    kinds["posting"] = score_kind(p, [shown.get(pid) is not None and root(b) == shown[pid]
                                      for pid, b in zip(p["posting_id"], p["other_label_group"])], planted_posts)
    g = found[found["kind"] == "group_pair"]
    kinds["group_pair"] = score_kind(g, [root(a) == root(b) for a, b in zip(g["label_group"], g["other_label_group"])],
                                     planted_pairs)
    head = " | ".join(f"P@{k} R@{k}" for k in TOPS)
    print(f"{'kind':<11} {'planted':>7} {'listed':>6} {'found':>5} | {head} | P at R>=0.5 (rank, 95% CI)")
    for kind, m in kinds.items():
        cells = " | ".join(f"{m[f'p@{k}']:.2f}  {m[f'r@{k}']:.2f}" for k in TOPS)
        lo, hi = m["p_r50_ci"]
        r50 = (f"{m['p_r50']:.2f} (rank {m['rank_r50']}, {lo:.2f}-{hi:.2f})" if m["rank_r50"] else
               f"not reached (recall {m['found'] / m['planted']:.2f} at the end)" if m["planted"] else "-")
        print(f"{kind:<11} {m['planted']:>7} {m['listed']:>6} {m['found']:>5} | {cells} | {r50}")
    if args.curve:
        for kind, m in kinds.items():
            print(f"\n{kind}: precision-recall at every rank that finds a planted case (rank, precision, recall)")
            print("  " + " ".join(f"({k}, {pr:.2f}, {rc:.2f})" for k, pr, rc in m["curve"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

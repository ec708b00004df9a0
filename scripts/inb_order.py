"""How much the seed's INB blending-order slip moves test F1, measured on a catalog.

The seed's TF-IDF and union INB runs re-tuned T′, T2′ on blended validation vectors and only then
blended test - with its global thresholds already overwritten by T′, T2′ - so test neighbours were
chosen by (T′, T2′), validation ones by (T, T2). The project blends both at (T, T2) (matching/tune.py
``tune_inb``); seed18 keeps that. This prints, for TF-IDF, an image model and their union (model 14's
shape: each side blended and re-tuned on its own), the test scores both ways with the seed's searches
(TF-IDF T 0.40-0.69 then 0.01-0.49 after INB, the image side 0.01-0.49, early stops) and raw-vector INB,
and the paired F1 difference with a 95 % interval from the spread of per-group mean differences
(label groups as the units, rows of a group sharing one truth set).

Usage: python scripts/inb_order.py --data DIR [--image effnet_lite0_zeroshot] [--features DIR]
(DIR: a Kaggle-layout catalog, e.g. ``python -m shopee_core demo-data --out DIR --postings 3000``).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core import matching as M  # noqa: E402
from shopee_core.data import attach_splits, load_catalog, load_or_create_folds  # noqa: E402
from shopee_core.models import get  # noqa: E402
from shopee_core.training.embed import embed_untrained  # noqa: E402


def slipped(d: M.Decision) -> M.Decision:
    """The seed's order: every INB side blended at its re-tuned (T′, T2′) instead of its base (T, T2)."""
    sides = []
    for s in d.sides:
        _, base, iters, _, _, vectors = s.source
        sides.append(M.Side(M.inb_source(base, iters, s.t, s.t2, vectors), s.t, s.t2))
    return M.Decision(tuple(sides), d.name)


def paired(pool: M.Pool, a: M.Decision, b: M.Decision) -> tuple[float, float]:
    """Mean F1 difference a - b and the half-width of its 95 % interval (groups as units)."""
    fa = M.scores(pool, a, rows=True)["rows"]["f1"]
    fb = M.scores(pool, b, rows=True)["rows"]["f1"]
    by_group = pd.Series(fa - fb).groupby(pool.labels).agg(["sum", "size"])
    n, total = len(fa), float((fa - fb).mean())
    # the ratio estimator's standard error: residuals summed per group
    resid = by_group["sum"] - total * by_group["size"]
    se = float(np.sqrt((resid ** 2).sum()) / n)
    return total, 1.96 * se


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True, help="a Kaggle-layout catalog (folds.csv written if missing)")
    ap.add_argument("--image", default="effnet_lite0_zeroshot",
                    help="the image side (an untrained demo-profile model; default effnet_lite0_zeroshot)")
    ap.add_argument("--features", help="pooled-feature cache folder (default DATA/.features)")
    ap.add_argument("--k", type=int, default=50)
    args = ap.parse_args()
    t0 = time.time()
    catalog = load_catalog(args.data, check_images=True)
    frame = attach_splits(catalog.frame, load_or_create_folds(args.data, catalog.frame))
    features = Path(args.features or Path(args.data) / ".features")
    sides = {"tfidf": ("seed_tfidf", get("tfidf", "seed18")), args.image: ("seed_single", get(args.image, "demo"))}
    rows = {m: embed_untrained(e, catalog, frame, features_dir=features, progress=False) for m, (_, e) in sides.items()}
    pools = {}
    for split in ("valid", "test"):
        idx = np.flatnonzero(frame["split"].to_numpy() == split)
        emb = {m: M.Embeddings.from_array(x[idx], name=m) for m, x in rows.items()}
        pools[split] = M.Pool(frame["label_group"].to_numpy()[idx], k=args.k, embeddings=emb, name=split)
    valid, test = pools["valid"], pools["test"]
    ours = {}
    for m, (search, _) in sides.items():
        d = M.tune(valid, M.Decision.single(M.model_source(m), 0.5, name=m), search=search)
        ours[m] = (d, M.tune_inb(valid, d, 1, vectors="raw", search=search))
    ids = list(sides)
    union = (M.Decision(tuple(s for m in ids for s in ours[m][0].sides), "union"),
             M.Decision(tuple(s for m in ids for s in ours[m][1].sides), "union"))
    print(f"{args.data}: test {len(test.labels):,} postings, thresholds tuned on valid {len(valid.labels):,}; "
          f"raw-vector INB, the seed's searches")
    print(f"{'model':<32} {'Min2 F1':>8} {'INB F1 (ours)':>14} {'INB F1 (slip)':>14} {'ours - slip':>22}  P/R ours | slip")
    for name, (d, d_inb) in [*((m, ours[m]) for m in ids), (f"union {ids[0]} + {ids[1]}", union)]:
        a, b = M.scores(test, d_inb), M.scores(test, slipped(d_inb))
        diff, half = paired(test, d_inb, slipped(d_inb))
        print(f"{name:<32} {M.scores(test, d)['f1']:>8.4f} {a['f1']:>14.4f} {b['f1']:>14.4f} "
              f"{diff:>+12.4f} ± {half:.4f}  {a['precision']:.3f}/{a['recall']:.3f} | "
              f"{b['precision']:.3f}/{b['recall']:.3f}")
        for s in d_inb.sides:
            st = M.inb_stages(s.source)[0]
            print(f"    {M.roots(s.source)[0]}: blend at T {st['t']:.3f} T2 {st['t2']:.3f}; T′ {s.t:.3f} T2′ {s.t2:.3f}")
    print(f"({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()

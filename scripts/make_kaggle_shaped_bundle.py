"""A bundle shaped like the Kaggle data (no training, no images needed): the dashboard's benchmark input.

    python scripts/make_kaggle_shaped_bundle.py --postings 13701 --out /tmp/kaggle_shaped [--pool-all]
    python scripts/make_kaggle_shaped_bundle.py --pool-size 70000 --out /work/bundles/kaggle70k

``--postings``: the shown pools together (valid + test; 13,701 as on Kaggle's train.csv, whose
34,250 postings are split 5 ways); ``--pool-all`` also ships every labelled posting as one pool
(34,250). ``--pool-size N``: a catalog of N postings (Shopee's group-size law kept) shipped as one
pool of N (``all``: Kaggle's hidden test set is about 70,000) beside its valid and test splits.
The builder prints where its time went, per kind of step. The models are the ``seed18`` profile's (21 with the iterated INB entry): synthetic
512-d image and 768-d text embeddings, real TF-IDF of synthetic titles and pHash of synthetic
hashes, then the builder's own per-model steps (tables, thresholds, Min2, INB, fusions,
unions, thumbnails, manifest). See shopee_core/bundle/shaped.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postings", type=int, default=13_701, help="postings in the valid + test pools (default 13,701)")
    ap.add_argument("--out", required=True, help="bundle folder to write")
    ap.add_argument("--pool-all", action="store_true", help="also every labelled posting as one pool ('all')")
    ap.add_argument("--pool-size", type=int, metavar="N", help="a catalog of N postings shipped as one pool of N "
                    "('all'), beside its valid and test splits (e.g. 70000, Kaggle's hidden test size)")
    ap.add_argument("--index", default="exact", help="candidate search of every table: exact (default), ivf or "
                    "hnsw[:PARAM=N,...] (recall measured and recorded in the manifest)")
    ap.add_argument("--min-recall", type=float, help="refuse an approximate index measured below this recall@k")
    ap.add_argument("--storage", choices=["float32", "float16"], default="float32",
                    help="stored rows and similarities (default float32, as seed18)")
    ap.add_argument("--profile", default="seed18", help="whose models to shape (default seed18)")
    ap.add_argument("--maps", choices=["pca", "umap", "none"], default="pca",
                    help="2-D maps: PCA (seconds, default), UMAP (as build-bundle; minutes) or none")
    ap.add_argument("--no-suspects", action="store_true",
                    help="do not ship the label-noise finder's results (as build-bundle's)")
    ap.add_argument("--k", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    from shopee_core.bundle.shaped import build_shaped
    from shopee_core.errors import ShopeeError

    try:
        if args.pool_size is not None and args.pool_size < 50:
            raise ShopeeError(f"--pool-size must be at least 50, got {args.pool_size}")
        m = build_shaped(args.out, args.postings, profile=args.profile, pool_all=args.pool_all or bool(args.pool_size),
                         k=args.k, seed=args.seed, maps=args.maps, catalog_n=args.pool_size, index=args.index,
                         min_recall=args.min_recall, storage=args.storage, suspects=not args.no_suspects)
    except ShopeeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    counts = m["dataset"]["counts"]
    print(f"{args.out}: {len(m['models'])} models; pools {', '.join(m['dataset']['shown_splits'])}; "
          f"catalog {sum(counts.values()):,} postings ({', '.join(f'{k} {v:,}' for k, v in counts.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python
"""How often the failure browser's "likely label noise" flag is right, on a demo catalog.

The demo generator records its planted label noise in ``noise.csv`` (groups that list an
earlier group's very product). Thresholds are tuned on ``--tune-split`` (Min2 included), the
false-positive pairs of ``--split`` are classified exactly as the failure browser does, and
every flag is scored against the truth, per unordered pair:

* ``look-alike`` - same photo (pHash Hamming <= 4) or near-identical titles (Jaccard >= 0.9):
  what the label-noise flag was before shared-photo variants got their own type;
* ``label_noise`` and ``shared_photo_variant`` - the flags now.

Each flagged pair is also told apart as planted noise, sibling variants (one family, another
attribute: the hard negatives) or other products, from the generator's plan (``catalog.json``
names the seed and size).

    python -m shopee_core demo-data --out /tmp/d5 && python -m shopee_core split --data /tmp/d5
    python -m shopee_core embed --model tfidf --data /tmp/d5 --out /tmp/d5/tfidf.npz
    python -m shopee_core embed --model phash --data /tmp/d5 --out /tmp/d5/phash.npy
    python scripts/noise_flags.py --data /tmp/d5 --embeddings /tmp/d5/tfidf.npz --embeddings /tmp/d5/phash.npy
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.analysis import errors as E  # noqa: E402
from shopee_core.data import attach_splits, load_catalog, load_or_create_folds  # noqa: E402
from shopee_core.data.demo import NOISE_FILE, plan_catalog  # noqa: E402
from shopee_core.io import load_matrix  # noqa: E402
from shopee_core.matching import Embeddings  # noqa: E402
from shopee_core.matching.pipeline import apply, tune  # noqa: E402

FLAGS = ("look-alike", "label_noise", "shared_photo_variant")


def split_pairs(frame, sets, labels, product, family, split: str, decision) -> tuple[pd.DataFrame, int]:
    """The split's false-positive pairs (each unordered pair once) with flags and truth, and how
    many planted noise group pairs fall inside the split."""
    rows = np.flatnonzero(frame["split"].to_numpy() == split)
    result = apply([s.take(rows) for s in sets], decision, labels[rows])
    feats = E.PostingFeatures(frame["title"].to_numpy()[rows], frame["image_phash"].to_numpy()[rows])
    _, pairs = E.classify(result.pred, labels[rows], feats)
    # every pair flag is symmetric: count each unordered pair once
    pairs = pairs.assign(i=pairs[["i", "j"]].min(axis=1), j=pairs[["i", "j"]].max(axis=1)).drop_duplicates(["i", "j"])
    root = np.array([product.get(g, g) for g in labels[rows]])
    pi, pj = pairs["i"].to_numpy(), pairs["j"].to_numpy()
    pairs["truth"] = root[pi] == root[pj]
    fam = family[rows]
    pairs["kind"] = np.where(pairs["truth"], "noise", np.where(fam[pi] == fam[pj], "sibling", "other"))
    pairs["look-alike"] = (pairs["hamming"] <= 4) | (pairs["jaccard"] >= 0.9)
    in_split = set(labels[rows].tolist())
    planted = sum(1 for g, o in product.items() if g in in_split and o in in_split)
    return pairs.assign(split=split), planted


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="demo catalog folder (train.csv, folds.csv, noise.csv)")
    ap.add_argument("--embeddings", action="append", required=True,
                    help="rows in train.csv order (`embed` output); several: mean fusion")
    ap.add_argument("--split", action="append", help="candidate pool(s) to score (default test; repeat)")
    ap.add_argument("--tune-split", default="valid")
    args = ap.parse_args()

    catalog = load_catalog(args.data, check_images=False)
    frame = attach_splits(catalog.frame, load_or_create_folds(args.data, catalog.frame))
    noise = pd.read_csv(Path(args.data) / NOISE_FILE)
    product = dict(zip(noise["label_group"], noise["same_product_as"]))  # planted duplicate -> original
    sets = [Embeddings.from_array(load_matrix(p), name=p) for p in args.embeddings]
    labels = frame["label_group"].to_numpy()
    info = json.loads((Path(args.data) / "catalog.json").read_text())
    plans = {p.posting_id: p for p in plan_catalog(info["n_postings"], info["seed"])}
    family = np.array([plans[pid].product.family for pid in frame["posting_id"]])
    vrows = np.flatnonzero(frame["split"].to_numpy() == args.tune_split)
    decision, _ = tune([s.take(vrows) for s in sets], labels[vrows], min2=True)
    print(f"{args.data} · {' + '.join(Path(p).stem for p in args.embeddings)} · T={decision.t} T2={decision.t2} "
          f"tuned on {args.tune_split}")
    print("per flag: pairs flagged (planted noise / siblings / other products), precision, recall")
    print(f"{'split':<6} {'planted':>7} {'FP pairs':>8} {'noise':>5} · " + " · ".join(FLAGS))
    parts = []
    for split in args.split or ["test"]:
        pairs, planted = split_pairs(frame, sets, labels, product, family, split, decision)
        parts.append((split, pairs, planted))
    if len(parts) > 1:
        parts.append(("all", pd.concat([p for _, p, _ in parts]), sum(n for _, _, n in parts)))
    for split, pairs, planted in parts:
        truth = pairs["truth"].to_numpy(dtype=bool)
        cells = []
        for flag in FLAGS:
            hit = pairs[flag].to_numpy(dtype=bool)
            kinds = pairs.loc[hit, "kind"].value_counts()
            tp = int(kinds.get("noise", 0))
            prec = f"{tp / hit.sum():.2f}" if hit.sum() else "-"
            rec = f"{tp / truth.sum():.2f}" if truth.sum() else "-"
            cells.append(f"{int(hit.sum())} ({tp}/{int(kinds.get('sibling', 0))}/{int(kinds.get('other', 0))}) "
                         f"P {prec} R {rec}")
        print(f"{split:<6} {planted:>7} {len(pairs):>8} {int(truth.sum()):>5} · " + " · ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())

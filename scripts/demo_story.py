"""Does a bundle tell the study's story? Prints, from its manifest (test split, thresholds tuned on valid):
each seed image recipe against pHash, fusions 16 and 17 against their members, the best fusion against
the best single model, and what Min2 and INB do to precision and recall across the models.

Usage: python scripts/demo_story.py [precomputed/demo] [--split test]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.bundle import Bundle  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", nargs="?", default="precomputed/demo")
    ap.add_argument("--split", default="test", choices=["valid", "test"])
    args = ap.parse_args()
    models = {m["id"]: m for m in Bundle.open(args.bundle).models}
    by_recipe = {m["recipe"]: m for m in models.values() if m.get("recipe")}

    def f1(m, variant="base"):
        return ((m.get("metrics") or {}).get(args.split, {}).get(variant) or {}).get("f1", float("nan"))

    phash = f1(models["phash"]) if "phash" in models else float("nan")
    print(f"{args.split} split of {args.bundle}; plain decision (T only) unless said")
    print(f"pHash {phash:.4f}; each seed image recipe 1-5 (target: >= pHash + 0.08 = {phash + 0.08:.4f}):")
    for r in range(1, 6):
        if r in by_recipe:
            m = by_recipe[r]
            print(f"  {r} {m['id']:<18} {f1(m):.4f} ({f1(m) - phash:+.4f})")
    for r in (16, 17):
        if r in by_recipe:
            m = by_recipe[r]
            mem = {x: f1(models[x]) for x in m["spec"]["members"]}
            best = max(mem.values())
            print(f"fusion {r} {m['id']}: {f1(m):.4f} vs members "
                  + ", ".join(f"{k} {v:.4f}" for k, v in mem.items())
                  + f" -> {'beats both' if f1(m) > best else 'does NOT beat both'} ({f1(m) - best:+.4f})")
    fusions = [m for m in models.values() if m["family"] == "fusion" and "base" in m["metrics"][args.split]]
    singles = [m for m in models.values() if m["family"] != "fusion" and not m["spec"].get("members")]
    bf, bs = max(fusions, key=f1), max(singles, key=f1)
    print(f"best fusion {bf['id']} {f1(bf):.4f} vs best single {bs['id']} {f1(bs):.4f}: {f1(bf) - f1(bs):+.4f} "
          f"(target +0.02)")
    for variant, name in (("min2", "Min2"), ("inb", "INB")):
        rows = [(m[variant], m["base"]) for m in (x["metrics"][args.split] for x in models.values())
                if variant in m and "base" in m]
        dp = np.array([v["precision"] - b["precision"] for v, b in rows])
        dr = np.array([v["recall"] - b["recall"] for v, b in rows])
        df = np.array([v["f1"] - b["f1"] for v, b in rows])
        print(f"{name} vs plain over {len(rows)} models: precision {dp.mean():+.4f} (lower in {(dp < 0).sum()}), "
              f"recall {dr.mean():+.4f} (higher in {(dr > 0).sum()}), F1 {df.mean():+.4f} (higher in {(df > 0).sum()})")


if __name__ == "__main__":
    main()

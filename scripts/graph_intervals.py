"""Each model's tuned graph step against its Min2 decision on a bundle's split, with the paired
group-bootstrap interval of the F1 difference (the README's "Graph steps" figures).

    python scripts/graph_intervals.py [precomputed/demo] [--split test]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.analysis import intervals as I  # noqa: E402
from shopee_core.bundle import Bundle  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", nargs="?", default="precomputed/demo")
    ap.add_argument("--split", default="test")
    args = ap.parse_args(argv)
    b = Bundle.open(args.bundle)
    up, down, tied = [], [], []
    print(f"{'model':28s} {'step':12s} F1 graph vs Min2   difference [95 %, groups resampled]")
    for m in b.models:
        t = m["metrics"].get(args.split, {})
        if "graph" not in t or "min2" not in t:
            continue
        r = I.compare(b, args.split, (m["id"], "graph"), (m["id"], "min2"), with_slices=False)["overall"]
        d, (lo, hi) = r["difference"]["f1"], r["ci"]["f1"]
        print(f"{m['id']:28s} {m['thresholds']['graph']['step']:12s} {r['mean_a']['f1']:.4f} vs "
              f"{r['mean_b']['f1']:.4f}  {d:+.4f} [{lo:+.4f}, {hi:+.4f}]")
        (up if lo > 0 else down if hi < 0 else tied).append(m["id"])
    print(f"real gains {len(up)}, real losses {len(down)} {down}, within noise {len(tied)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The demo's margin sweeps: the five frozen image stand-ins over margins 0.5-0.9 with ArcFace and
CurricularFace (each loss with its own head init, as in the study), on a demo catalog, and
optionally into a bundle.

    python scripts/demo_sweeps.py --data data/demo --out sweeps/demo [--bundle precomputed/demo] \\
           [--features precomputed/.demo.build/features] [--models resnet50,...] [--margins 0.5,0.7,0.9]

Each model is one sweep folder OUT/<model> (``python -m shopee_core sweep``; rerun to resume) and,
with --bundle, joins the bundle with ``add-sweep --replace``. --features shares the pooled backbone
features with build-bundle's cache (computed once per backbone and image size either way).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.errors import ShopeeError  # noqa: E402

IMAGE_RECIPES = ["resnet50", "resnext50_32x4d", "densenet121", "efficientnet_b3", "eca_nfnet_l0"]
LOSSES = "loss:head_init=arcface:xavier_uniform,curricularface:normal_0.01"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="a demo catalog (demo-data --out DIR)")
    ap.add_argument("--out", required=True, help="folder of the sweep folders (one per model)")
    ap.add_argument("--bundle", help="add each sweep's results to this bundle (add-sweep --replace)")
    ap.add_argument("--features", help="pooled-feature cache shared by the models (default OUT/features)")
    ap.add_argument("--models", default=",".join(IMAGE_RECIPES), help="comma-separated demo image recipes")
    ap.add_argument("--margins", default="0.5,0.6,0.7,0.8,0.9")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    args = ap.parse_args(argv)
    from shopee_core.bundle.sweeps import add_sweep
    from shopee_core.sweep import prepare, work

    out = Path(args.out)
    features = Path(args.features) if args.features else out / "features"
    try:
        for model in [m.strip() for m in args.models.split(",") if m.strip()]:
            t0 = time.time()
            sw = prepare(model, "demo", args.data, out / model, [f"margin={args.margins}", LOSSES], {},
                         features=features)
            rep = work(sw, progress=not args.quiet)
            print(f"{model}: {len(sw.configs)} configurations, trained {len(rep.trained)} here in "
                  f"{time.time() - t0:.0f} s", flush=True)
            if args.bundle:
                add_sweep(args.bundle, sw.out, replace=True)
                print(f"{args.bundle}: sweep {sw.out.name} added", flush=True)
    except ShopeeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

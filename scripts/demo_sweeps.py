"""The demo's margin sweeps: the five frozen image stand-ins over margins 0.5-0.9 with ArcFace and
CurricularFace (each loss with its own head init, as in the study), on a demo catalog, and
optionally into a bundle.

    python scripts/demo_sweeps.py --data data/demo --out sweeps/demo [--bundle precomputed/demo] \\
           [--features precomputed/.demo.build/features] [--models resnet50,...] [--margins 0.5,0.7,0.9]

    python scripts/demo_sweeps.py --out sweeps/demo --table   # the README's table from the results

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
    ap.add_argument("--data", help="a demo catalog (demo-data --out DIR)")
    ap.add_argument("--out", required=True, help="folder of the sweep folders (one per model)")
    ap.add_argument("--bundle", help="add each sweep's results to this bundle (add-sweep --replace)")
    ap.add_argument("--features", help="pooled-feature cache shared by the models (default OUT/features)")
    ap.add_argument("--models", default=",".join(IMAGE_RECIPES), help="comma-separated demo image recipes")
    ap.add_argument("--margins", default="0.5,0.6,0.7,0.8,0.9")
    ap.add_argument("--quiet", action="store_true", help="no progress bars")
    ap.add_argument("--table", action="store_true", help="print the markdown table of OUT's results and stop")
    args = ap.parse_args(argv)
    if args.table:
        return table(Path(args.out), [m.strip() for m in args.models.split(",") if m.strip()])
    if not args.data:
        ap.error("--data is required to run the sweeps")
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


def table(out: Path, models: list[str]) -> int:
    """Test F1 (plain threshold, thresholds re-tuned on valid) per margin, ArcFace / CurricularFace,
    ours beside the study's; then the best margin per stand-in and loss with the spread."""
    from shopee_core.analysis import sweeps as S
    from shopee_core.sweep import read_results

    seed = S.read_seed_sweeps()
    docs = [read_results(out / m) for m in models if (out / m / "results.json").exists()]
    ours = S.long_form(docs, split="test", variant="base")
    margins = sorted(ours["margin"].unique())
    head = " | ".join(f"m={m:g}" for m in margins)
    print(f"| stand-in for | loss | {head} | best m (ours) | spread | best m (study) |")
    print("|---|---|" + "---|" * len(margins) + "---|---|---|")
    for (backbone, loss), g in ours.groupby(["backbone", "loss"], sort=False):
        st = seed[(seed["backbone"] == backbone) & (seed["loss"] == loss)].set_index("margin")["f1"]
        cells = []
        for m in margins:
            v = g[g["margin"] == m]["f1"]
            ref = st.get(m)
            cells.append((f"{v.iloc[0]:.4f}" if len(v) else "–") + (f" ({ref:.4f})" if ref is not None else ""))
        best = g.loc[g["f1"].idxmax()]
        print(f"| {backbone} | {loss} | " + " | ".join(cells) + f" | {best['margin']:g} | "
              f"{g['f1'].max() - g['f1'].min():.4f} | {st.idxmax():g} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

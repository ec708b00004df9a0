"""The Data overview and Training pages at Kaggle scale, in Chromium (Playwright), in one run.

    python scripts/bench_data_page.py --make /tmp/data34k [--from precomputed/demo] [--postings 34250]
    python scripts/bench_data_page.py /tmp/data34k [--pool all] [--repeat 5]
    python scripts/bench_data_page.py --quick [--from BUNDLE]   # tests: 600 postings, one visit each

``--make`` writes a postings-only bundle of N postings (no model: the Data overview needs none) by
tiling a source bundle's postings with fresh ids and groups, split as the seed splits Kaggle's
34,250 (train 20,550 / valid 6,849 / test 6,851), with the ``all`` pool; its thumbnails are the
source's (several postings point at one file). Timing: the page from the sidebar, first visit
(cold: tables computed) and then warm (median of ``--repeat`` visits), navigation click to a
complete render (script over, every chart drawn, every image loaded); target 1.5 s warm.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

TARGET_S = 1.5


def make(out: Path, source: Path, n: int) -> None:
    import json

    from shopee_core.bundle import Bundle
    from shopee_core.bundle.writer import seal, write_postings

    src = Bundle.open(source)
    post = src.postings
    reps = -(-n // len(post))
    frames = []
    for r in range(reps):
        f = post.copy()
        f["posting_id"] = [f"{p}_{r}" for p in f["posting_id"]]
        f["label_group"] = f["label_group"].astype("int64") + r * 10_000_000
        frames.append(f)
    import pandas as pd

    frame = pd.concat(frames, ignore_index=True).iloc[:n].copy()
    groups = frame["label_group"].unique()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(groups))
    cum = np.cumsum(frame.groupby("label_group", sort=False).size().reindex(groups[order]).to_numpy())
    split_of = np.where(cum <= 20_550 * n / 34_250, "train", np.where(cum <= 27_399 * n / 34_250, "valid", "test"))
    frame["split"] = frame["label_group"].map(dict(zip(groups[order], split_of)))
    if out.exists():
        shutil.rmtree(out)
    (out / "thumbs").mkdir(parents=True)
    for t in post["thumb"].unique():
        shutil.copyfile(source / t, out / t)
    if "image" not in frame:
        frame["image"] = frame["image_phash"].astype(str) + ".jpg"  # one file per distinct photo
    write_postings(out, frame)
    counts = frame["split"].value_counts().to_dict()
    seal(out, {"dataset": {"source": "demo", "name": f"tiled {source.name}", "counts": counts,
                           "shown_splits": ["valid", "test", "all"]},
               "k": 50, "profile": "demo", "models": [], "files": {}})
    print(f"{out}: {len(frame):,} postings ({json.dumps(counts)}), postings only")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle", nargs="?")
    ap.add_argument("--make", metavar="DIR", help="write the tiled postings-only bundle here and stop")
    ap.add_argument("--from", dest="source", default="precomputed/demo")
    ap.add_argument("--postings", type=int, default=34_250)
    ap.add_argument("--pool", default="all")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--quick", action="store_true",
                    help="make a 600-posting bundle from --from in a temporary folder and visit each page once "
                         "(proves the script runs; tests use it)")
    args = ap.parse_args()
    if args.quick:
        args.repeat = 1
        args.bundle = tempfile.mkdtemp(prefix="bench-data-quick-") + "/tiled"
        make(Path(args.bundle), Path(args.source), min(args.postings, 600))
    if args.make:
        make(Path(args.make), Path(args.source), args.postings)
        return 0
    if not args.bundle:
        ap.error("give a BUNDLE (or --make DIR)")
    import bench_browser as bb
    from playwright.sync_api import sync_playwright

    bb.PAGES.update({"data": "Data overview", "training": "Training"})
    bb.NAV_TITLES.update({"data": "Data overview", "training": "Training"})
    cache = Path(tempfile.mkdtemp(prefix="bench-data-"))
    server = bb.Server(Path(args.bundle).resolve(), cache)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=bb.CHROMIUM, args=bb.ARGS)
            pg = browser.new_page(viewport={"width": bb.WIDTH, "height": bb.HEIGHT})
            pg.set_default_timeout(300_000)
            query = f"?split={args.pool}"
            # the Training page first: a postings-only bundle has no Leaderboard to land on
            bb.open_page(pg, server, "training", query)
            print(f"pool {args.pool}; {bb.load()}")
            for path, other in (("data", "training"), ("training", "data")):
                cold = bb.navigate(pg, path) if path == "data" else bb.open_page(pg, server, path, query)
                warm = []
                for _ in range(args.repeat):
                    bb.navigate(pg, other)
                    warm.append(bb.navigate(pg, path))
                med = statistics.median(warm)
                print(f"  {bb.PAGES[path]:<15} cold {cold:5.2f} s · warm median {med:5.2f} s (min {min(warm):.2f}, "
                      f"max {max(warm):.2f}) · target {TARGET_S} s, ratio {med / TARGET_S:.2f}")
            browser.close()
    finally:
        server.stop()
        shutil.rmtree(cache, ignore_errors=True)
        if args.quick:
            shutil.rmtree(Path(args.bundle).parent, ignore_errors=True)
    print(bb.load())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

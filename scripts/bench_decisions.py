"""Time the dashboard's live decision layer at Kaggle scale (one pool of 34,250 postings).

Builds an in-memory bundle with synthetic grouped embeddings (an image and a text
model, their mean fusion and their union), then times what one slider move costs on
the Thresholds page (scores, curves, size histogram, decision plane) and the
failure table. Prints milliseconds per call (median of repeats).

    python scripts/bench_decisions.py [--postings 34250] [--page DIR] [--quick]

``--quick``: 600 postings, one repeat, and the page timed on a bundle in a temporary folder:
proves the script runs (tests use it).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.analysis import decisions as D  # noqa: E402
from shopee_core.analysis import errors as E  # noqa: E402
from shopee_core.analysis import plane as P  # noqa: E402
from shopee_core.bundle import Bundle  # noqa: E402
from shopee_core.matching import Embeddings, fuse, knn  # noqa: E402


def synthetic_bundle(n: int, k: int = 50, seed: int = 0) -> Bundle:
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < n:
        sizes.append(int(min(51, max(2, rng.geometric(0.45) + 1))))
    sizes[-1] -= sum(sizes) - n
    if sizes[-1] < 2:
        sizes[-2] += sizes.pop()
    labels = np.repeat(np.arange(len(sizes)), sizes)
    rng.shuffle(labels)

    def emb(dim, noise):
        centre = rng.normal(size=(len(sizes), dim)).astype(np.float32)
        x = centre[labels] + noise * rng.normal(size=(n, dim)).astype(np.float32)
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)

    raw = {"img": emb(128, 1.1), "txt": emb(128, 0.9)}
    words = [f"kata{i}" for i in range(5000)]
    units = ["100ml", "250 ml", "1kg", "500 gr", "3pcs", "1 pcs"] + [""] * 6
    titles = [" ".join(rng.choice(words, 5)) + " " + units[i % len(units)] for i in range(n)]
    postings = pd.DataFrame({"posting_id": [f"p{i}" for i in range(n)], "title": titles, "label_group": labels,
                             "split": "test", "image_phash": [f"{x:016x}" for x in rng.integers(0, 2**62, n)],
                             "thumb": [f"thumbs/p{i}.jpg" for i in range(n)]})
    th = {"t": 0.45, "t2": 0.55, "inb_t": 0.4, "inb_t2": 0.5, "inb_iters": 1}
    models = [
        {"id": "img", "label": "image", "family": "image", "recipe": None, "kind": "image", "spec": {},
         "thresholds": th, "metrics": {}, "files": {"neighbors": {"path": "in-memory"}, "embeddings": {"path": "in-memory"}}, "query": False},
        {"id": "txt", "label": "text", "family": "text", "recipe": None, "kind": "text", "spec": {},
         "thresholds": th, "metrics": {}, "files": {"neighbors": {"path": "in-memory"}, "embeddings": {"path": "in-memory"}}, "query": False},
        {"id": "fusion", "label": "img + txt", "family": "fusion", "recipe": None, "kind": "combo",
         "spec": {"members": ["img", "txt"], "combine": "mean"}, "thresholds": th, "metrics": {},
         "files": {"neighbors": {"path": "in-memory"}}, "query": False},
        {"id": "union", "label": "img ∪ txt", "family": "fusion", "recipe": None, "kind": "combo",
         "spec": {"members": ["img", "txt"], "combine": "union"},
         "thresholds": {**th, "sides": [{"model": "img", "t": 0.45, "t2": 0.55},
                                        {"model": "txt", "t": 0.45, "t2": 0.55}]},
         "metrics": {}, "files": {}, "query": False},
    ]
    b = Bundle(Path("/nonexistent"), {"k": k, "models": models}, postings)
    sets = {}
    for mid, x in raw.items():
        b.cached(("emb", mid), lambda x=x: x)
        sets[mid] = Embeddings.from_array(x.astype(np.float32), mid)
        t0 = time.perf_counter()
        b.cached(("nb", mid, "test", "base"), lambda mid=mid: knn(sets[mid], k))
        print(f"kNN {mid}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    b.cached(("nb", "fusion", "test", "base"), lambda: knn(fuse([sets["img"], sets["txt"]]), k))
    return b


def write_bundle(b: Bundle, out: Path) -> Path:
    """The synthetic bundle on disk (no thumbnails), to time the real page with AppTest."""
    from shopee_core.bundle.format import REFERENCE
    from shopee_core.bundle.writer import seal, write_embeddings, write_neighbors, write_postings

    out.mkdir(parents=True, exist_ok=True)
    write_postings(out, b.postings)
    models = []
    for m in b.models:
        files = {}
        if "neighbors" in m["files"]:
            nb = b.neighbors(m["id"], "test")
            files["neighbors"] = write_neighbors(out, f"models/{m['id']}/neighbors.npz", {"test": (nb.idx, nb.sim)},
                                                 "float16")
        if "embeddings" in m["files"]:
            files["embeddings"] = write_embeddings(out, f"models/{m['id']}", b.embeddings(m["id"]), "float16")
        metrics = {}
        if m["id"] != "union":
            sc = D.scores(b, m["id"], "test")
            metrics = {"test": {"min2": {k: sc[k] for k in ("f1", "precision", "recall")}}}
        models.append({**m, "files": files, "metrics": metrics})
    ref = Path(__file__).resolve().parents[1] / "precomputed" / "reference" / "seed_results.csv"
    (out / REFERENCE).parent.mkdir(parents=True, exist_ok=True)
    (out / REFERENCE).write_bytes(ref.read_bytes())
    seal(out, {"dataset": {"source": "synthetic", "counts": {"test": len(b.postings)}}, "k": b.k,
               "storage": "float16", "models": models, "files": {}})
    return out


def page_move(path: Path, repeat: int = 5) -> None:
    """Server-side time of one T-slider move on the Thresholds page (AppTest rerun, no browser)."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["SHOPEE_BUNDLE"] = str(path)
    app = Path(__file__).resolve().parents[1] / "app.py"
    at = AppTest.from_file(str(app), default_timeout=300)
    at.run()
    at.session_state["split"] = "test"
    at.session_state["models"] = ["fusion"]
    at.switch_page("app_pages/thresholds.py").run()
    assert not at.exception, [e.value for e in at.exception]
    for name, key, lo in (("T", "th-m-fusion-inb0-t", 0.40), ("T2", "th-m-fusion-inb0-t2", 0.55)):
        for view in ("curves", "sizes", "plane"):
            at.segmented_control(key="th-view").set_value(view).run()
            times = []
            for x in np.linspace(lo, lo + 0.1, repeat):
                at.slider(key=key).set_value(float(round(x / 0.005) * 0.005)).run()
                t0 = time.perf_counter()
                at.slider(key=key).set_value(float(round((x + 0.0025) / 0.005) * 0.005)).run()
                times.append((time.perf_counter() - t0) * 1000)
            assert not at.exception, [e.value for e in at.exception]
            label = f"page rerun after a {name} move, view {view} (AppTest)"
            print(f"{label:<66} {statistics.median(times):8.1f} ms")


REPEAT = 5


def timed(label: str, fn, repeat: int | None = None) -> float:
    repeat = REPEAT if repeat is None else min(repeat, REPEAT)
    fn()  # warm caches (first call builds tables/scorers)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    ms = statistics.median(times)
    print(f"{label:<66} {ms:8.1f} ms")
    return ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postings", type=int, default=34_250)
    ap.add_argument("--page", metavar="DIR", help="also write the bundle to DIR and time the Thresholds page")
    ap.add_argument("--quick", action="store_true", help="600 postings, one repeat, the page included (tests)")
    args = ap.parse_args()
    global REPEAT
    if args.quick:
        import tempfile

        REPEAT = 1
        args.postings = min(args.postings, 600)
        args.page = args.page or tempfile.mkdtemp(prefix="bench-decisions-")
    b = synthetic_bundle(args.postings)
    n = args.postings
    print(f"pool: {n:,} postings, k = {b.k}")
    ts = iter(np.linspace(0.3, 0.6, 1000))
    t0 = time.perf_counter()
    D.scores(b, "fusion", "test")
    print(f"{'first score (builds the Scorer)':<66} {(time.perf_counter() - t0) * 1000:8.1f} ms")
    timed("threshold move, single table (scores)", lambda: D.scores(b, "fusion", "test", t=next(ts)))
    t0 = time.perf_counter()
    D.scores(b, "union", "test")
    print(f"{'first union score (merges the two tables)':<66} {(time.perf_counter() - t0) * 1000:8.1f} ms")
    timed("threshold move, union of two tables (scores)",
          lambda: D.scores(b, "union", "test", sides=[(next(ts), 0.55), None]))
    timed("F1/P/R curve after a T move (cached: only the marker moves)",
          lambda: D.curves(b, "fusion", "test", t=next(ts)))
    timed("F1/P/R curve after a T2 move, single table (Min2 added analytically)",
          lambda: D.curves(b, "fusion", "test", t2=0.5 + next(ts)))
    timed("F1/P/R curve after a T2 move, union side (Min2 added analytically)",
          lambda: D.curves(b, "union", "test", sides=[(0.45, 0.5 + next(ts)), None]))
    timed("group-size histogram", lambda: D.group_size_histogram(b, "fusion", "test", t=next(ts)))
    timed("decision plane (<= 20,000 points)",
          lambda: P.plane(b, "union", "test", "img", "txt", sides=[(next(ts), 0.55), None]))
    timed("failure table", lambda: E.failure_table(b, "fusion", "test", {"t": next(ts)}), repeat=3)
    t0 = time.perf_counter()
    D.custom_fusion(b, ["img", "txt"], [0.7, 0.3], t=0.45, t2=0.55, tune_split="test")
    label = "custom weighted fusion (kNN + tuning, once per weights)"
    print(f"{label:<66} {(time.perf_counter() - t0) * 1000:8.1f} ms")
    if args.page:
        page_move(write_bundle(b, Path(args.page)), repeat=REPEAT)


if __name__ == "__main__":
    main()

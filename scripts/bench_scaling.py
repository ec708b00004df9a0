"""Where the dashboard's server time goes, and how it grows with the pool (no browser).

    python scripts/bench_scaling.py [--quick] BUNDLE[:POOL] [BUNDLE[:POOL] ...]

e.g. ``/tmp/ks_small:test /tmp/kaggle_shaped:test /tmp/kaggle_all:all`` for pools of about
1,700, 6,850 and 34,250 postings (Kaggle-shaped bundles from scripts/make_kaggle_shaped_bundle.py).
For each pool, in one process, the core calls behind each view (first call: tables read and
derived arrays built; then a warm call, median of 3): a threshold move (scores), the F1/P/R
curves, the first re-weighting of a fusion (the members' candidate similarities) and a warm
re-weighting step against the exact search of the same weights (the naive way: ratio), the
decision plane cold and warm, the pool-size view, and the process's resident memory after
each. The bundle's open (checksums remembered) is printed against its target (3 s, for a pool of
70,000 postings). Absolute times depend on the machine's load (printed). ``--quick``: one warm
call each, proves the script runs (tests use it).
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


REPEAT = 3
TARGET_OPEN_S = 3.0


def timed(fn, repeat: int | None = None) -> tuple[float, float]:
    repeat = REPEAT if repeat is None else repeat
    t = time.perf_counter()
    fn(0)
    first = time.perf_counter() - t
    warm = []
    for i in range(1, repeat + 1):
        t = time.perf_counter()
        fn(i)
        warm.append(time.perf_counter() - t)
    return first, statistics.median(warm)


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench(path: str, pool: str) -> list[tuple]:
    import pyarrow.parquet  # noqa: F401  (imported before the clock starts: this is the open alone)

    from shopee_core.analysis import decisions as D
    from shopee_core.analysis import plane as P
    from shopee_core.bundle import Bundle

    Bundle.open(path)  # checksums verified once and remembered (a restarted server's case)
    t = time.perf_counter()
    b = Bundle.open(path)
    t_open = time.perf_counter() - t
    n = len(b.split_rows(pool))
    # a text model with embeddings (any model with them when the bundle has no text one), a union and a
    # two-member fusion, whatever the bundle's models are called
    embeddable = [e for e in b.entries if e.path("embeddings") is not None]
    single = next((e.id for e in embeddable if e.family == "text"), embeddable[0].id)
    union = next(e.id for e in b.entries if e.is_union)
    fusion = next(e.id for e in b.entries if e.is_mean_fusion and len(e.members) == 2 and e.can_embed)
    members = list(b.entry(fusion).members)
    d = D.decision(b, single)
    rows = [("bundle open (checksums remembered)", t_open, None)]
    rows.append(("threshold move: scores", *timed(lambda i: D.scores(b, d.with_thresholds(d.sides[0].t + 0.005 * i),
                                                                        pool, rows=True))))
    rows.append(("F1/P/R curves after a move", *timed(lambda i: D.curves(b, d.with_thresholds(
        d.sides[0].t, d.sides[0].t2 + 0.005 * i if d.sides[0].t2 else None), pool))))
    du = D.decision(b, union)
    rows.append(("union: scores after a move", *timed(lambda i: D.scores(b, du.with_side(0, t=du.sides[0].t
                                                                                     + 0.005 * i), pool))))
    p = D.pool(b, pool)
    t = time.perf_counter()
    p.candidate_sims(tuple(members))
    gather = time.perf_counter() - t
    rows.append((f"re-weighting {fusion}: first (candidate similarities)", gather, None))

    def step(i, knn="candidates"):
        w = [0.5 + 0.05 * (i + 1), 0.5 - 0.05 * (i + 1)]
        dd = D.decision(b, fusion, weights=w, knn=knn)
        D.scores(b, dd, pool)
        D.curves(b, dd, pool)
    _, live = timed(step)
    t = time.perf_counter()
    step(7, "exact")
    exact = time.perf_counter() - t
    rows.append(("re-weighting step, candidate union (warm)", None, live))
    rows.append(("re-weighting step, exact search (the naive way)", None, exact))
    rows.append(("  ratio exact / candidate union", None, exact / live / 1000))  # printed as x
    rss_before = rss_mb()
    img, txt = P.default_plane_models(b, du)
    rows.append((f"decision plane ({img} x {txt})", *timed(lambda i: P.plane(b, du.with_side(0, t=du.sides[0].t
                                                                                            + 0.005 * i), pool,
                                                                            img, txt))))
    plane_mb = rss_mb() - rss_before
    rows.append(("pool-size view", *timed(lambda i: D.pool_sizes(b, d.with_thresholds(d.sides[0].t + 0.005 * i),
                                                                   pool))))
    rows.append((f"resident memory (plane +{plane_mb:.0f} MB)", None, rss_mb()))
    return n, rows


def main() -> int:
    global REPEAT
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    if "--quick" in args:
        args = [a for a in args if a != "--quick"]
        REPEAT = 1
    results = []
    for arg in args:
        path, _, pool = arg.partition(":")
        n, rows = bench(path, pool or "test")
        results.append((Path(path).name, pool or "test", n, rows))
        print(f"done {path} [{pool or 'test'}] ({load()})", file=sys.stderr, flush=True)
    print(f"\n{'':<58}" + "".join(f"{f'{name}:{pool} {n:,}':>26}" for name, pool, n, _ in results))
    print(f"{'(first call s / warm ms)':<58}" + "".join(f"{'first s':>14}{'warm ms':>12}" for _ in results))
    for i, (label, *_rest) in enumerate(results[0][3]):
        cells = []
        for *_, rows in results:
            _, first, warm = rows[i]
            if label.startswith("resident"):
                cells.append(f"{'':>14}{warm:>9.0f} MB")
            elif label.strip().startswith("ratio"):
                cells.append(f"{'':>14}{warm * 1000:>11.1f}x")
            else:
                cells.append(f"{'' if first is None else f'{first:.2f}':>14}"
                             f"{'' if warm is None else f'{warm * 1000:.0f}':>12}")
        print(f"{label[:57]:<58}" + "".join(cells))
    for name, pool, n, rows in results:
        t_open = rows[0][1]
        print(f"bundle open, {name}:{pool} ({n:,} postings): {t_open:.2f} s, target {TARGET_OPEN_S:.1f} s, "
              f"ratio {t_open / TARGET_OPEN_S:.2f}{'' if t_open <= TARGET_OPEN_S else '  OVER'}")
    print(f"\n({load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

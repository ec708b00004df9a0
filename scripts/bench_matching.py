"""Benchmark: recomputing mean F1 from cached neighbour tables, ours vs per-row Python sets.

Prints, for N = 6,851 (the seed's test split) and N = 34,250 (all of train.csv), k = 50:
one recompute at a threshold, the same with Min2, and a 100-threshold sweep, timed in
one run for both implementations. The last line is ``ratio=<naive/ours at 34,250>``
for one recompute. Usage: python scripts/bench_matching.py [--full] [--quick]
(``--quick``: N = 500 and 1,500, one repeat: proves the script runs; tests use it)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.matching import Embeddings, Scorer, knn  # noqa: E402
from shopee_core.matching.reference import naive_f1, naive_predict  # noqa: E402


def catalog_like(n: int, seed: int = 0, dims: int = 64):
    """Shopee-like group sizes (>= 2, mean ~3) and noisy clustered embeddings."""
    rng = np.random.default_rng(seed)
    sizes = []
    while sum(sizes) < n:
        sizes.append(min(2 + int(rng.geometric(0.45)) - 1 + (int(rng.pareto(1.6) * 2) if rng.random() < 0.1 else 0), 51))
    labels = np.repeat(np.arange(len(sizes)), sizes)[:n]
    centers = rng.normal(size=(len(sizes), dims))
    x = centers[labels] + rng.normal(size=(n, dims)) * 0.75
    return x.astype(np.float32), labels


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def run(n: int, full: bool, repeats: tuple = (20, 5, 2)) -> float:
    x, labels = catalog_like(n)
    t0 = time.perf_counter()
    nb = knn(Embeddings.from_array(x), 50)
    t_knn = time.perf_counter() - t0
    t0 = time.perf_counter()
    sc = Scorer(nb, labels)
    t_cache = time.perf_counter() - t0
    t, t2 = 0.4, 0.55
    ts = np.round(np.linspace(0.01, 1.0, 100), 4)

    ours_one = best_of(lambda: sc.score(t), repeats[0])
    ours_min2 = best_of(lambda: sc.score(t, t2), repeats[0])
    ours_sweep = best_of(lambda: sc.sweep(ts), repeats[1])

    idx, sim = nb.idx, nb.sim
    naive_one = best_of(lambda: naive_f1(naive_predict(idx, sim, t), labels), repeats[2])
    naive_min2 = best_of(lambda: naive_f1(naive_predict(idx, sim, t, t2), labels), repeats[2])
    n_sweep = len(ts) if (full or n <= 10_000) else 10
    t0 = time.perf_counter()
    naive_curve = [naive_f1(naive_predict(idx, sim, x_), labels)["f1"] for x_ in ts[:n_sweep]]
    naive_sweep = (time.perf_counter() - t0) * len(ts) / n_sweep
    ours_curve = sc.sweep(ts)["f1"][:n_sweep]
    assert np.allclose(naive_curve, ours_curve), "implementations disagree"
    assert abs(naive_f1(naive_predict(idx, sim, t, t2), labels)["f1"] - sc.score(t, t2)["f1"]) < 1e-9

    note = "" if n_sweep == len(ts) else f" (timed on {n_sweep} thresholds, scaled to 100)"
    print(f"N={n:,} k=50  kNN {t_knn:.2f} s, table cache {t_cache * 1e3:.1f} ms")
    print(f"  one recompute      ours {ours_one * 1e3:8.2f} ms   naive {naive_one * 1e3:9.1f} ms   ratio {naive_one / ours_one:7.0f}")
    print(f"  with Min2          ours {ours_min2 * 1e3:8.2f} ms   naive {naive_min2 * 1e3:9.1f} ms   ratio {naive_min2 / ours_min2:7.0f}")
    print(f"  100-thr sweep      ours {ours_sweep * 1e3:8.2f} ms   naive {naive_sweep * 1e3:9.1f} ms   ratio {naive_sweep / ours_sweep:7.0f}{note}")
    return naive_one / ours_one


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="time the naive 100-threshold sweep in full at 34,250 too (minutes)")
    ap.add_argument("--quick", action="store_true", help="small pools, one repeat: proves the script runs (tests)")
    args = ap.parse_args()
    sizes, repeats = ((500, 1500), (1, 1, 1)) if args.quick else ((6851, 34250), (20, 5, 2))
    run(sizes[0], args.full, repeats)
    ratio = run(sizes[1], args.full, repeats)
    print(f"ratio={ratio:.0f}")


if __name__ == "__main__":
    main()

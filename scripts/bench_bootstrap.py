"""Benchmark: the group bootstrap (B resamples of whole label groups), ours vs a per-resample loop.

Ours (:mod:`shopee_core.stats`): per-group sums once, a (B, G) count matrix, one matrix product
for all resampled means (here F1, precision and recall at once), then a paired comparison of
two decisions on the same resamples. The naive way: for every resample, gather the rows of the
drawn groups and average them (the same draws, so both give the same numbers; checked).

Pools with Shopee's group sizes (every group >= 2, median 2, largest 51) of 6,851 postings (the
seed's test split), 34,250 (all of train.csv) and 70,000 (Kaggle's hidden test size). Prints each
time, the ratio naive/ours, the count matrix's bytes beside what float64 counts would take, the
peak of Python-allocated memory while ours runs (tracemalloc), and a last line ``ratio=<naive/ours
at 70,000>``. Usage: python scripts/bench_bootstrap.py [--resamples B]
[--loop-resamples L] (the naive loop is timed on L resamples and scaled to B when L < B).
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core import stats  # noqa: E402
from shopee_core.data.demo.groups import group_sizes  # noqa: E402

METRICS = ("f1", "precision", "recall")


def pool(n: int, seed: int = 0):
    """Labels with Shopee's group sizes and per-row scores of two decisions (correlated within groups)."""
    rng = np.random.default_rng(seed)
    sizes = np.asarray(group_sizes(n, seed))
    labels = np.repeat(np.arange(len(sizes)), sizes)[:n]
    level = rng.beta(4, 1.5, len(sizes))[labels]
    a = {k: np.clip(level + rng.normal(0, 0.05, n), 0, 1) for k in METRICS}
    b = {k: np.clip(a[k] - 0.005 + rng.normal(0, 0.03, n), 0, 1) for k in METRICS}
    return labels, a, b


def ours(labels, a, b, resamples: int, seed: int):
    boot = stats.group_bootstrap(labels, resamples, seed)
    ci = stats.interval(a, boot=boot)
    paired = stats.paired(a, b, boot=boot)
    return ci, paired


def naive(labels, a, b, resamples: int, seed: int, loops: int):
    """Per resample: the drawn groups' rows gathered, every mean taken over them (the same draws)."""
    _, inverse = np.unique(labels, return_inverse=True)
    order = np.argsort(inverse, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(inverse))])
    members = [order[starts[g]:starts[g + 1]] for g in range(len(starts) - 1)]
    draws = stats.draws(len(members), resamples, seed)[:loops]
    means = np.empty((loops, len(METRICS)))
    diffs = np.empty(loops)
    for i, d in enumerate(tqdm(draws, desc="naive loop", leave=False, file=sys.stderr)):
        rows = np.concatenate([members[g] for g in d])
        means[i] = [a[k][rows].mean() for k in METRICS]
        diffs[i] = a["f1"][rows].mean() - b["f1"][rows].mean()
    return means, diffs


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--resamples", type=int, default=1000, help="B (default 1000)")
    p.add_argument("--loop-resamples", type=int, default=200,
                   help="resamples the naive loop is timed on, scaled to B (default 200; B: time it all)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    b_total, loops = args.resamples, min(args.loop_resamples, args.resamples)
    ratio = None
    print(f"B = {b_total:,} resamples of whole label groups; F1, precision, recall + a paired comparison")
    print(f"{'postings':>9} {'groups':>7} {'ours':>10} {'naive loop':>12} {'ratio':>8} | counts (float64 would be), "
          f"peak while ours runs")
    for n in (6851, 34250, 70000):
        labels, a, b = pool(n, args.seed)
        ours(labels, a, b, 20, args.seed)  # warm-up (imports, BLAS threads)
        t0 = time.perf_counter()
        ci, paired = ours(labels, a, b, b_total, args.seed)
        t_ours = time.perf_counter() - t0
        tracemalloc.start()
        ours(labels, a, b, b_total, args.seed)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        t0 = time.perf_counter()
        means, diffs = naive(labels, a, b, b_total, args.seed, loops)
        t_naive = (time.perf_counter() - t0) * b_total / loops
        # the same draws give the same resampled means
        boot = stats.group_bootstrap(labels, b_total, args.seed)
        check = boot.means(np.stack([a[k] for k in METRICS], axis=1))[:loops]
        assert np.allclose(check, means, atol=1e-9), "vectorised and looped means differ"
        assert np.allclose(boot.means(a["f1"] - b["f1"])[:loops], diffs, atol=1e-9)
        ratio = t_naive / t_ours
        scaled = "" if loops == b_total else f" (timed on {loops}, scaled)"
        mb = 2**20
        print(f"{n:>9,} {boot.n_groups:>7,} {t_ours * 1000:>8.0f} ms {t_naive:>10.2f} s {ratio:>7.0f}x | "
              f"{boot.counts.nbytes / mb:,.0f} MB {boot.counts.dtype} ({boot.counts.size * 8 / mb:,.0f} MB), "
              f"{peak / mb:,.0f} MB{scaled}")
        print(f"{'':>9} F1 95% [{ci['f1'][0]:.4f}, {ci['f1'][1]:.4f}]; paired ΔF1 [{paired['ci']['f1'][0]:+.4f}, "
              f"{paired['ci']['f1'][1]:+.4f}], P(A > B) {paired['p_better']:.3f}")
    print(f"ratio={ratio:.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python
"""Benchmark: every candidate's similarity (re-weighting's first step, the decision plane's positions).

``Embeddings.candidate_similarity`` gives each row's similarity with each of its W candidates. Three
ways, timed in one run on the same rows and checked equal: ours (faiss's indexed inner products,
reading the candidates' rows in place, or the BLAS product of a block with every row where the pool
is small), numpy's gathered copy of every candidate row (the previous way beyond the product's
range), and the BLAS product at every size (N² d). Pools of random unit 512-d rows, W = 233 (five
members' merged top 50, as at 34,253 postings). Prints each time, the ratios, and a last line
``ratio=<gathered copy / ours at the largest N>``.

    python scripts/bench_candidates.py [--sizes 6852,34253,70000] [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.matching import Embeddings  # noqa: E402
from shopee_core.matching import embeddings as E  # noqa: E402

PRODUCT_UP_TO = 40_000  # beyond this the N² d product takes minutes: not timed


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="6852,34253,70000", help="pool sizes N (comma-separated)")
    ap.add_argument("--dims", type=int, default=512)
    ap.add_argument("--width", type=int, default=233, help="candidates per row W")
    ap.add_argument("--quick", action="store_true", help="N = 1,500 and 3,000, 64-d: proves the script runs (tests)")
    args = ap.parse_args(argv)
    sizes = (1500, 3000) if args.quick else tuple(int(x) for x in args.sizes.split(","))
    d = 64 if args.quick else args.dims
    rng = np.random.default_rng(0)
    print(f"W = {args.width} candidates per row, {d}-d float32 rows; faiss threads: "
          f"{__import__('faiss').omp_get_max_threads()}")
    print(f"{'N':>8} {'ours':>9} {'numpy copy':>11} {'product':>9} | copy/ours product/ours")
    ratio = None
    Embeddings.from_array(np.eye(4, dtype=np.float32)).candidate_similarity(np.zeros((4, 2), int))  # imports, threads
    for n in sizes:
        x = rng.standard_normal((n, d)).astype(np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        e = Embeddings.from_array(x)
        cand = rng.integers(0, n, (n, args.width)).astype(np.int32)
        t_ours, ours = timed(e.candidate_similarity, cand)
        ready = E._faiss_ready
        try:
            E._faiss_ready = lambda block: False       # numpy's way, beyond the product's range
            ratio_saved = E.GEMM_RATIO
            E.GEMM_RATIO = 0
            t_copy, copy = timed(e.candidate_similarity, cand)
            E.GEMM_RATIO = 10**12                       # the product at every size
            t_prod, prod = timed(e.candidate_similarity, cand) if n <= PRODUCT_UP_TO else (None, None)
        finally:
            E._faiss_ready, E.GEMM_RATIO = ready, ratio_saved
        assert np.allclose(ours, copy, atol=1e-5), "ours and numpy's copy differ"
        assert prod is None or np.allclose(ours, prod, atol=1e-5), "ours and the product differ"
        ratio = t_copy / t_ours
        prod_txt = f"{t_prod:8.2f}s" if t_prod is not None else "  (skip)"
        print(f"{n:>8,} {t_ours:8.2f}s {t_copy:10.2f}s {prod_txt} | {ratio:8.1f}x "
              f"{(t_prod / t_ours if t_prod is not None else float('nan')):11.1f}x")
    print(f"ratio={ratio:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Label-group sizes shaped like Shopee's: every group >= 2, median 2, mean ~3.1, long tail."""

from __future__ import annotations

import itertools
import random

SHOPEE_ROWS = 34250
SHOPEE_MAX_GROUP = 51
P_SIZE_2 = 0.60  # share of groups with exactly two postings
TARGET_MEAN = 3.11  # 34,250 / 11,014


def max_group_size(n_postings: int) -> int:
    """Largest group for a catalog of ``n_postings`` rows: 51 at Shopee's size, ~32 at 5,000."""
    m = round(SHOPEE_MAX_GROUP * (n_postings / SHOPEE_ROWS) ** 0.25)
    return int(max(3, min(SHOPEE_MAX_GROUP, m, n_postings // 4)))


def tail_exponent(cap: int, target_mean: float = TARGET_MEAN) -> float:
    """``a`` in p(s) ~ s^-a (3 <= s <= cap) giving the target mean group size (bisection)."""
    sizes = range(3, cap + 1)

    def mean(a: float) -> float:
        w = [s ** -a for s in sizes]
        return 2 * P_SIZE_2 + (1 - P_SIZE_2) * sum(s * x for s, x in zip(sizes, w)) / sum(w)

    lo, hi = 0.0, 10.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if mean(mid) > target_mean:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def group_sizes(n_postings: int, seed: int) -> list[int]:
    """Group sizes summing to exactly ``n_postings``, in a seeded random order."""
    rnd = random.Random(f"shopee-demo/{seed}/groups")
    cap = max_group_size(n_postings)
    sizes_tail = list(range(3, cap + 1))
    a = tail_exponent(cap)
    weights = [s ** -a for s in sizes_tail]
    total_w = sum(weights)
    cum = list(itertools.accumulate(w / total_w * (1 - P_SIZE_2) for w in weights))

    def draw() -> int:
        u = rnd.random()
        if u < P_SIZE_2:
            return 2
        u -= P_SIZE_2
        for s, c in zip(sizes_tail, cum):
            if u < c:
                return s
        return cap

    sizes = [cap]  # the long tail always reaches the cap
    rem = n_postings - cap
    while rem > 0:
        s = min(draw(), rem)
        if rem - s == 1:  # never leave a single posting behind
            s = s + 1 if s + 1 <= cap else s - 1
        sizes.append(s)
        rem -= s
    rnd.shuffle(sizes)
    return sizes

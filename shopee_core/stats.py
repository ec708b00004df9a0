"""Confidence intervals and paired comparisons of row-wise scores, resampling whole label groups.

Rows of one label group share one truth set, so their scores move together: a posting
whose group is missed drags down every member of that group at once. Resampling single
rows treats them as independent and gives intervals that are too narrow (more so the
larger the groups); the honest unit is the label group. A resample draws G groups with
replacement from the pool's G groups and takes the mean over the rows of the drawn
groups (a group drawn twice counts twice), as if the test set had been a different draw
of products.

Everything is vectorised: per-group sums of the row scores once, a (B, G) matrix of how
often each group is drawn in each resample, and one matrix product for all B resampled
means of any number of score columns. A paired comparison of two decisions on the same
pool resamples the per-row differences with the *same* matrix, so both decisions see the
same draws (the variation they share cancels).

Ties: a resample counts as "A beats B" only when A's mean is larger by more than
:data:`TIE` (1e-12); identical decisions give P(A > B) = 0 and a difference interval of
[0, 0]. Intervals are percentile intervals (2.5 % and 97.5 % of the resampled means for
the default 95 %); a difference is *significant* when its interval excludes 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import ShopeeError

DEFAULT_RESAMPLES = 1000
MIN_RESAMPLES = 10
DEFAULT_SEED = 0
LEVEL = 0.95
METRICS = ("f1", "precision", "recall")
UNIT = "label_group"
TIE = 1e-12


def check_resamples(value, what: str = "resamples") -> int:
    """``value`` (an int or its digits) as an int >= :data:`MIN_RESAMPLES`, or a one-line error naming ``what``."""
    out = None
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        out = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        out = int(value.strip())
    if out is None or out < MIN_RESAMPLES:
        raise ShopeeError(f"{what} must be a whole number of resamples >= {MIN_RESAMPLES}, got {value!r}")
    return out


def check_seed(value, what: str = "seed") -> int:
    try:
        out = int(str(value).strip())
    except ValueError:
        raise ShopeeError(f"{what} must be a whole number >= 0, got {value!r}") from None
    if out < 0:
        raise ShopeeError(f"{what} must be a whole number >= 0, got {value!r}")
    return out


def group_codes(labels) -> tuple[np.ndarray, int]:
    """Each row's group index (groups sorted by label, so the draws do not depend on row order
    within the pool's label set) and the number of groups."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ShopeeError(f"labels must be one value per row, got shape {labels.shape}")
    uniq, inverse = np.unique(labels, return_inverse=True)
    return inverse.ravel().astype(np.int64), len(uniq)


def draws(n_groups: int, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED) -> np.ndarray:
    """(B, G) group indices: resample b draws G groups with replacement (seeded, reproducible)."""
    rng = np.random.default_rng(seed)
    dtype = np.int32 if n_groups < 2**31 else np.int64
    return rng.integers(0, n_groups, size=(resamples, n_groups), dtype=dtype)


# float64 temporaries of one block of resamples while the counts are multiplied (the counts themselves
# are kept as small integers: at 70,000 postings B x G float64 counts were 170 MB, scripts/bench_bootstrap.py)
BLOCK_BYTES = 16 * 2**20


def _count_dtype(most: int) -> np.dtype:
    for dt in (np.uint8, np.uint16, np.uint32):
        if most <= np.iinfo(dt).max:
            return np.dtype(dt)
    return np.dtype(np.int64)


@dataclass(frozen=True, eq=False)
class GroupBootstrap:
    """B resamples of a pool's label groups: ``counts[b, g]`` = times group g is drawn in resample b.

    The counts are small integers, kept as ``uint8`` (widened when a group is drawn 256 times or more
    in one resample, all but impossible with thousands of groups); the means multiply
    them in float64 a block of resamples at a time, so every mean is the same number the float64
    matrix gave (integers convert exactly) at an eighth of its memory."""

    inverse: np.ndarray          # (N,) row -> group
    counts: np.ndarray           # (B, G) unsigned integers
    seed: int
    unit: str = UNIT
    sizes: np.ndarray = field(init=False)      # (G,) rows per group
    _rows_b: np.ndarray = field(init=False)    # (B,) rows in each resample
    _order: np.ndarray = field(init=False)
    _starts: np.ndarray = field(init=False)

    def __post_init__(self):
        g = self.counts.shape[1]
        sizes = np.bincount(self.inverse, minlength=g).astype(np.float64)
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "_rows_b", self._product(sizes))
        order = np.argsort(self.inverse, kind="stable")
        object.__setattr__(self, "_order", order)
        object.__setattr__(self, "_starts", np.concatenate([[0], np.cumsum(sizes[:-1])]).astype(np.int64))
        for a in (self.inverse, self.counts, self.sizes, self._rows_b):
            a.flags.writeable = False

    @property
    def resamples(self) -> int:
        return int(self.counts.shape[0])

    @property
    def n_groups(self) -> int:
        return int(self.counts.shape[1])

    @property
    def n_rows(self) -> int:
        return len(self.inverse)

    @property
    def nbytes(self) -> int:
        return int(self.counts.nbytes + self.inverse.nbytes * 2 + self.sizes.nbytes * 2)

    def _product(self, right: np.ndarray, which=None) -> np.ndarray:
        """``counts[which] @ right`` in float64, a block of resamples at a time."""
        rows = np.arange(self.resamples) if which is None else np.arange(self.resamples)[which]
        out = np.empty((len(rows),) + right.shape[1:], dtype=np.float64)
        step = max(1, BLOCK_BYTES // (8 * max(self.n_groups, 1)))
        for start in range(0, len(rows), step):
            block = rows[start:start + step]
            part = self.counts[block[0]:block[-1] + 1] if which is None else self.counts[block]
            out[start:start + step] = part.astype(np.float64) @ right
        return out

    def group_sums(self, values: np.ndarray) -> np.ndarray:
        """Per-group sums of per-row values: (N,) -> (G,), (N, m) -> (G, m)."""
        values = np.asarray(values, dtype=np.float64)
        if values.shape[0] != self.n_rows:
            raise ShopeeError(f"{values.shape[0]} row values for a pool of {self.n_rows} rows")
        if values.ndim == 1:
            return np.bincount(self.inverse, weights=values, minlength=self.n_groups)
        return np.add.reduceat(values[self._order], self._starts, axis=0)

    def means(self, values: np.ndarray, mask: np.ndarray | None = None, which=None) -> np.ndarray:
        """Resampled means of per-row values: (N,) -> (B,), (N, m) -> (B, m), one matrix product.

        ``mask``: only these rows count (a slice of the pool); a resample that draws none of
        them gives NaN. ``which``: only these resamples (indices or a boolean mask over B)."""
        values = np.asarray(values, dtype=np.float64)
        if mask is None:
            num = self._product(self.group_sums(values), which)
            den = self._rows_b if which is None else self._rows_b[which]
        else:
            mask = np.asarray(mask, dtype=bool)
            w = mask.astype(np.float64)
            num = self._product(self.group_sums(values * (w if values.ndim == 1 else w[:, None])), which)
            den = self._product(self.group_sums(w), which)
        den = den if num.ndim == 1 else den[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            return num / den


def group_bootstrap(labels, resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED,
                    unit: str = UNIT) -> GroupBootstrap:
    """Resamples of the pool's label groups (``unit="posting"``: of single rows, the naive way that
    ignores that a group's rows share one truth set; kept to show how much it understates)."""
    resamples = check_resamples(resamples)
    seed = check_seed(seed)
    labels = np.asarray(labels)
    if unit == "posting":
        inverse, g = np.arange(len(labels), dtype=np.int64), len(labels)
    elif unit == UNIT:
        inverse, g = group_codes(labels)
    else:
        raise ShopeeError(f"resampling unit must be {UNIT} or posting, got {unit!r}")
    if g < 2:
        what = "label group" if unit == UNIT else "posting"
        raise ShopeeError(f"the pool has {g} {what}{'s' if g != 1 else ''}: intervals resample whole "
                          f"{what}s and need at least 2")
    # the draws of :func:`draws`, one resample at a time (the generator's stream is the same), so the
    # (B, G) int32 draws never exist at once; one bincount per resample: 5x faster than one flat bincount
    rng = np.random.default_rng(seed)
    dtype = np.int32 if g < 2**31 else np.int64
    counts = np.empty((resamples, g), dtype=np.uint8)
    for b in range(resamples):
        row = np.bincount(rng.integers(0, g, size=g, dtype=dtype), minlength=g)
        if row.max() > np.iinfo(counts.dtype).max:  # a group drawn 256+ times: widen, never wrap
            counts = counts.astype(_count_dtype(g))
        counts[b] = row
    return GroupBootstrap(inverse, counts, seed, unit)


def percentile_interval(values: np.ndarray, level: float = LEVEL) -> list[float] | list[None]:
    """[lo, hi] percentile interval over resamples (axis 0); NaN resamples (an empty slice) ignored."""
    values = np.asarray(values, dtype=np.float64)
    alpha = (1.0 - level) / 2.0
    if values.ndim == 1:
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return [None, None]
        lo, hi = np.percentile(finite, [100 * alpha, 100 * (1 - alpha)])
        return [float(lo), float(hi)]
    return [percentile_interval(values[:, j], level) for j in range(values.shape[1])]


def _columns(rows: dict, metrics) -> np.ndarray:
    return np.stack([np.asarray(rows[m], dtype=np.float64) for m in metrics], axis=1)


def _boot(boot, labels, resamples, seed) -> GroupBootstrap:
    if boot is not None:
        return boot
    if labels is None:
        raise ShopeeError("give the pool's labels or a GroupBootstrap")
    return group_bootstrap(labels, resamples, seed)


def interval(rows: dict, labels=None, *, boot: GroupBootstrap | None = None, resamples: int = DEFAULT_RESAMPLES,
             seed: int = DEFAULT_SEED, level: float = LEVEL, metrics=METRICS, mask=None) -> dict:
    """Percentile intervals of mean ``metrics`` from per-row arrays (``rows``, e.g. from
    :func:`shopee_core.matching.row_arrays`): ``{"f1": [lo, hi], ..., "resamples", "seed",
    "unit", "level", "groups"}``. ``mask``: only the rows of a slice."""
    boot = _boot(boot, labels, resamples, seed)
    means = boot.means(_columns(rows, metrics), mask)
    out = dict(zip(metrics, percentile_interval(means, level)))
    out.update(resamples=boot.resamples, seed=boot.seed, unit=boot.unit, level=level, groups=boot.n_groups)
    return out


def paired(rows_a: dict, rows_b: dict, labels=None, *, boot: GroupBootstrap | None = None,
           resamples: int = DEFAULT_RESAMPLES, seed: int = DEFAULT_SEED, level: float = LEVEL, metrics=METRICS,
           mask=None) -> dict:
    """Decision A against decision B on the same pool, from the same resamples.

    Returns ``difference`` (mean A − mean B per metric), ``ci`` (its percentile interval per
    metric), ``p_better`` / ``p_worse`` (share of resamples in which A's mean F1 is larger /
    smaller than B's by more than :data:`TIE`), ``significant`` (the F1 interval excludes 0),
    ``rows`` (rows counted; with ``mask`` only a slice's), and the resampling's ``resamples``,
    ``seed``, ``unit``, ``level``, ``groups``."""
    a, b = _columns(rows_a, metrics), _columns(rows_b, metrics)
    if a.shape != b.shape:
        raise ShopeeError(f"paired comparison needs the same pool: {a.shape[0]} rows against {b.shape[0]}")
    boot = _boot(boot, labels, resamples, seed)
    diff = a - b  # per row: rows where the two agree are exactly 0
    sel = slice(None) if mask is None else np.asarray(mask, dtype=bool)
    n = int(diff[sel].shape[0])
    point = diff[sel].mean(axis=0) if n else np.full(len(metrics), np.nan)
    res = boot.means(diff, mask)
    ci = dict(zip(metrics, percentile_interval(res, level)))
    f1 = res[:, list(metrics).index("f1")] if "f1" in metrics else res[:, 0]
    finite = f1[np.isfinite(f1)]
    lo, hi = ci.get("f1", [None, None])
    return {
        "difference": {m: (None if not np.isfinite(v) else float(v)) for m, v in zip(metrics, point)},
        "ci": ci,
        "p_better": float((finite > TIE).mean()) if finite.size else None,
        "p_worse": float((finite < -TIE).mean()) if finite.size else None,
        "significant": bool(lo is not None and (lo > TIE or hi < -TIE)),
        "rows": n, "resamples": boot.resamples, "seed": boot.seed, "unit": boot.unit, "level": level,
        "groups": boot.n_groups,
    }

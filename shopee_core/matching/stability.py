"""Threshold stability: how far the tuned thresholds move when the tuning pool is redrawn.

A threshold searched on one validation split is a point estimate. Re-running the same
search on B group-bootstrap resamples of that split (whole label groups drawn with
replacement, :mod:`shopee_core.stats`) shows whether the optimum is sharp (every resample
lands on nearly the same T) or sits on a plateau (T wanders while F1 barely moves), and
what the wandering costs on the pool the decision is scored on.

Vectorised: one histogram pass gives every row's counts at every grid threshold
(:meth:`Scorer.sweep_counts`), and all B resampled F1 curves are one matrix product; T2
is then searched at each distinct T the resamples picked. Only T and T2 are re-searched:
fusion weights, INB blend thresholds and a union's joint moves stay as the decision has
them (a union's sides are re-searched each for its own F1, the seed's way).
"""

from __future__ import annotations

import numpy as np

from ..metrics import counts_to_scores
from ..stats import LEVEL, check_resamples, check_seed, group_bootstrap, percentile_interval
from .apply import scores
from .decision import Decision
from .pool import Pool
from .search import FULL
from .sources import describe_source
from .tune import _searches

DEFAULT_RESAMPLES = 200
HELD = ("fusion weights, INB blend thresholds and a union's joint moves are held as the decision has them; "
        "T (then T2) is re-searched on each resample")


def pick(curves: np.ndarray, early: bool) -> np.ndarray:
    """Per row of ``curves`` (B, g): the index the search picks (the first maximum, i.e. the
    stricter threshold on ties; with ``early`` the seed's walk that stops at the first step
    that does not improve)."""
    if not early:
        return np.argmax(curves, axis=1)
    if curves.shape[1] == 1:
        return np.zeros(curves.shape[0], dtype=np.int64)
    stops = ~(curves[:, 1:] > curves[:, :-1])
    return np.where(stops.any(axis=1), np.argmax(stops, axis=1), curves.shape[1] - 1)


def _f1(scorer, tp, n_pred) -> np.ndarray:
    return counts_to_scores(tp, n_pred, scorer.n_true[:, None])["f1"]


def _spread(values: np.ndarray, level: float) -> dict:
    lo, hi = percentile_interval(values, level)
    return {"interval": [lo, hi], "median": float(np.median(values)), "min": float(values.min()),
            "max": float(values.max())}


def resampled_thresholds(tune: Pool, d: Decision, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                         search=FULL, min2: bool | None = None) -> list[tuple[np.ndarray, np.ndarray | None]]:
    """Per side of ``d``: the T (B,) and T2 (B,) (None without Min2) the search picks on each of
    B group resamples of ``tune``."""
    boot = group_bootstrap(tune.labels, resamples, seed)
    min2 = any(s.t2 is not None for s in d.sides) if min2 is None else bool(min2)
    out = []
    for side, srch in zip(d.sides, _searches(search, len(d.sides))):
        scorer = tune.scorer(side.source)
        ts = srch.ts()
        t_b = ts[pick(boot.means(_f1(scorer, *scorer.sweep_counts(ts))), srch.t_early)]
        t2_b = None
        if min2:
            t2_b = np.empty(boot.resamples)
            for t in np.unique(t_b):
                which = np.flatnonzero(t_b == t)
                t2s = srch.t2s(float(t))
                curves = boot.means(_f1(scorer, *scorer.min2_counts(float(t), t2s)), which=which)
                t2_b[which] = t2s[pick(curves, srch.t2_early)]
        out.append((t_b, t2_b))
    return out


def threshold_stability(tune: Pool, d: Decision, evaluate: Pool | None = None, *,
                        resamples: int = DEFAULT_RESAMPLES, seed: int = 0, search=FULL, min2: bool | None = None,
                        level: float = LEVEL, values: bool = False) -> dict:
    """The spread of the tuned thresholds over B group resamples of the tuning pool, and of the F1
    they give on ``evaluate`` (default: the tuning pool itself, unresampled).

    Returns ``{"resamples", "seed", "unit", "level", "search", "sides": [{"source", "t": {"interval",
    "median", "min", "max"}, "t2": {...} | None}], "f1": {"interval", "median", "min", "max"},
    "held"}`` (+ ``"values"``: the per-resample T, T2 and F1 when ``values``)."""
    resamples = check_resamples(resamples, "threshold-stability resamples")
    seed = check_seed(seed)
    evaluate = tune if evaluate is None else evaluate
    searches = _searches(search, len(d.sides))
    picks = resampled_thresholds(tune, d, resamples=resamples, seed=seed, search=searches, min2=min2)
    keys = np.stack([t for t, _ in picks] + [t2 if t2 is not None else np.full(resamples, np.nan)
                                              for _, t2 in picks], axis=1)
    uniq, inverse = np.unique(keys, axis=0, return_inverse=True)
    f1_unique = np.empty(len(uniq))
    n = len(d.sides)
    for u, row in enumerate(uniq):
        sides = [(s.source, float(row[i]), None if np.isnan(row[n + i]) else float(row[n + i]))
                 for i, s in enumerate(d.sides)]
        f1_unique[u] = scores(evaluate, Decision.union(sides, d.name) if n > 1 else
                              Decision.single(*sides[0], name=d.name))["f1"]
    f1 = f1_unique[inverse.ravel()]
    out = {
        "resamples": resamples, "seed": seed, "unit": "label_group", "level": level,
        "search": [s.name for s in searches], "tuned_on": tune.name, "scored_on": evaluate.name,
        "sides": [{"source": describe_source(s.source), "t": _spread(t, level),
                   "t2": None if t2 is None else _spread(t2, level)} for s, (t, t2) in zip(d.sides, picks)],
        "f1": _spread(f1, level), "held": HELD,
    }
    if values:
        out["values"] = {"t": [t.tolist() for t, _ in picks],
                         "t2": [None if t2 is None else t2.tolist() for _, t2 in picks], "f1": f1.tolist()}
    return out

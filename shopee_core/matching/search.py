"""Threshold search on the validation pool: a full scan, never an early stop.

The seed scanned 0.01..0.49 and stopped at the first non-improvement, which can
miss the optimum; here every grid point is scored (one histogram pass, see
:class:`Scorer.sweep`). Ties go to the smaller, stricter threshold.
"""

from __future__ import annotations

import numpy as np

from .scoring import Scorer

DEFAULT_STEP = 0.005


def grid(lo: float = 0.0, hi: float = 1.0, step: float = DEFAULT_STEP) -> np.ndarray:
    n = int(round((hi - lo) / step))
    return np.round(lo + step * np.arange(1, n + 1), 6)


def min2_grid(t: float, step: float = DEFAULT_STEP, span: float = 0.5) -> np.ndarray:
    """T2 candidates: T itself (Min2 adds nothing) then up to T + span."""
    return np.concatenate([[t], grid(t, min(1.0, t + span), step)])


def search_t(scorer: Scorer, ts=None) -> tuple[float, dict]:
    ts = grid() if ts is None else np.asarray(ts, dtype=np.float64)
    curve = scorer.sweep(ts)
    best = int(np.argmax(curve["f1"]))
    return float(ts[best]), {"t": ts, **curve}


def search_t2(scorer: Scorer, t: float, t2s=None) -> tuple[float, dict]:
    """Best Min2 threshold at fixed T (candidates from T upwards; T2 <= T adds nothing)."""
    if t2s is None:
        t2s = min2_grid(t)
    t2s = np.asarray(t2s, dtype=np.float64)
    curve = scorer.sweep_min2(t, t2s)
    best = int(np.argmax(curve["f1"]))
    return float(t2s[best]), {"t2": t2s, **curve}


def search_pair(scorer: Scorer, min2: bool = True, step: float = DEFAULT_STEP) -> tuple[float, float | None]:
    """Best T, then (if ``min2``) the best T2 at that T."""
    t, _ = search_t(scorer, grid(step=step))
    if not min2:
        return t, None
    return t, search_t2(scorer, t, min2_grid(t, step))[0]


def search(scorer: Scorer, min2: bool = True, step: float = DEFAULT_STEP) -> dict:
    """Best thresholds with the scores they give (``base``, and ``min2`` when asked)."""
    t, t2 = search_pair(scorer, min2, step)
    out = {"t": t, "base": scorer.score(t)}
    if min2:
        out.update(t2=t2, min2=scorer.score(t, t2))
    return out

"""Threshold search on the validation pool: the project's full scan, or the seed's scans.

A :class:`Search` says which thresholds are tried and whether the scan stops at the
first step that does not improve F1 (the seed's early stop, which can miss a later
optimum). Every grid point is scored in one histogram pass (:meth:`Scorer.sweep`),
so an early stop is read off the scored curve: same answer as stepping. Ties go to
the smaller, stricter threshold.

Presets (the seed's scans: README, "Fidelity: `seed18` and `tuned`"):

- ``full``: T over 0.005..1.0 step 0.005, then T2 from T to T + 0.5: full scans;
- ``seed_single``: single models and each side of a union: T 0.01..0.49 step 0.01,
  early stop; then T2 over ``np.arange(T*100, T*100 + 21, 0.5) / 100``, early stop (42 points
  up to T + 0.205; 43 where the float error of ``T*100`` adds one, e.g. T = 0.29, 0.57, 0.58);
- ``seed_tfidf``: T 0.40..0.69 step 0.01, early stop; T2 as seed_single; after INB the
  thresholds are re-searched with ``seed_single`` (the seed's default range, TF-IDF included);
- ``seed_ensemble``: ensembles and mean fusions: full scan of T 0.01..0.49, then T2 over
  ``np.arange(T*100, T*100 + 20, 0.5) / 100`` (full scan, 40 points up to T + 0.195, 41 where
  the float error adds one);
- ``seed_fusion``: the image + text mean fusions 16 and 17: as seed_ensemble with T up to 0.59.

The seed's grids are reproduced value for value, float error included (15.000000000000002 / 100);
thresholds are compared with float32 distances here, where that error never changes a pair.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ShopeeError
from .scoring import Scorer

DEFAULT_STEP = 0.005


def grid(lo: float = 0.0, hi: float = 1.0, step: float = DEFAULT_STEP) -> np.ndarray:
    """lo + step, lo + 2·step, ... up to hi (lo itself excluded, hi included when on the step)."""
    n = int(np.floor((hi - lo) / step + 1e-9))
    return np.round(lo + step * np.arange(1, n + 1), 6)


def span(lo: float, hi: float, step: float) -> np.ndarray:
    """lo, lo + step, ... up to hi, both ends included (the seed's ``np.arange`` scans)."""
    n = int(np.floor((hi - lo) / step + 1e-9))
    return np.round(lo + step * np.arange(n + 1), 6)


def min2_grid(t: float, step: float = DEFAULT_STEP, width: float = 0.5) -> np.ndarray:
    """T2 candidates: T itself (Min2 adds nothing) then up to T + width."""
    return np.concatenate([[t], grid(t, min(1.0, t + width), step)])


def seed_t2_grid(t: float, stop: int, step: float = 0.5) -> np.ndarray:
    """The seed's Min2 grid as its code builds it: ``np.arange(T*100, T*100 + stop, step) / 100`` in
    float64 (``stop`` in hundredths: 21 for single models, 20 for ensembles and fusions). Computed
    from ``T*100``, not from rounded values, because that float error sets the number of points."""
    return np.arange(t * 100, t * 100 + stop, step) / 100


def early_stop(values: np.ndarray) -> int:
    """Index the seed's loop ends on: walk forward while the value strictly improves."""
    values = np.asarray(values)
    for i in range(1, len(values)):
        if not values[i] > values[i - 1]:
            return i - 1
    return len(values) - 1


@dataclass(frozen=True)
class Search:
    """How thresholds are searched: the T grid, the T2 span and step, early stops.

    ``after_inb``: the preset that re-searches T′, T2′ on INB-blended vectors (None: this one).
    For the seed's presets ``t2_width`` is the ``np.arange`` stop offset (0.21: T..T+0.205).
    """

    name: str
    t_lo: float
    t_hi: float
    t_step: float
    t_early: bool
    t2_width: float
    t2_step: float
    t2_early: bool
    after_inb: str | None = None

    def ts(self) -> np.ndarray:
        if self.name.startswith("seed"):
            return span(self.t_lo, self.t_hi, self.t_step)
        return grid(self.t_lo, self.t_hi, self.t_step)

    def t2s(self, t: float) -> np.ndarray:
        if self.name.startswith("seed"):
            return seed_t2_grid(t, round(self.t2_width * 100), round(self.t2_step * 100, 6))
        return min2_grid(t, self.t2_step, self.t2_width)

    def for_inb(self) -> Search:
        """The search that re-tunes T′, T2′ after INB blending."""
        return self if self.after_inb is None else get_search(self.after_inb)

    def describe(self) -> str:
        stop = lambda e: "early stop" if e else "full scan"  # noqa: E731
        t2 = (f"np.arange(T*100, T*100 + {round(self.t2_width * 100)}, {round(self.t2_step * 100, 6):g})/100"
              if self.name.startswith("seed") else f"T..T+{self.t2_width:g} step {self.t2_step:g}")
        inb = f"; after INB: {self.after_inb}" if self.after_inb else ""
        return (f"{self.name}: T {self.t_lo:g}..{self.t_hi:g} step {self.t_step:g} ({stop(self.t_early)}), "
                f"T2 {t2} ({stop(self.t2_early)}){inb}")


SEARCHES = {
    "full": Search("full", 0.0, 1.0, DEFAULT_STEP, False, 0.5, DEFAULT_STEP, False),
    "seed_single": Search("seed_single", 0.01, 0.49, 0.01, True, 0.21, 0.005, True),
    "seed_tfidf": Search("seed_tfidf", 0.40, 0.69, 0.01, True, 0.21, 0.005, True, after_inb="seed_single"),
    "seed_ensemble": Search("seed_ensemble", 0.01, 0.49, 0.01, False, 0.20, 0.005, False),
    "seed_fusion": Search("seed_fusion", 0.01, 0.59, 0.01, False, 0.20, 0.005, False),
}
FULL = SEARCHES["full"]


def get_search(search) -> Search:
    """A :class:`Search` from itself or a preset name."""
    if isinstance(search, Search):
        return search
    if search not in SEARCHES:
        raise ShopeeError(f"unknown threshold search {search!r}; known: {', '.join(SEARCHES)}")
    return SEARCHES[search]


def full(step: float = DEFAULT_STEP) -> Search:
    return FULL if step == DEFAULT_STEP else Search("full", 0.0, 1.0, step, False, 0.5, step, False)


def _pick(f1: np.ndarray, early: bool) -> int:
    return early_stop(f1) if early else int(np.argmax(f1))


def search_t(scorer: Scorer, ts=None, search: Search | str = FULL) -> tuple[float, dict]:
    search = get_search(search)
    ts = search.ts() if ts is None else np.asarray(ts, dtype=np.float64)
    curve = scorer.sweep(ts)
    best = _pick(curve["f1"], search.t_early)
    return float(ts[best]), {"t": ts, **curve}


def search_t2(scorer: Scorer, t: float, t2s=None, search: Search | str = FULL) -> tuple[float, dict]:
    """Best Min2 threshold at fixed T (candidates from T upwards; T2 <= T adds nothing)."""
    search = get_search(search)
    t2s = search.t2s(t) if t2s is None else np.asarray(t2s, dtype=np.float64)
    curve = scorer.sweep_min2(t, t2s)
    best = _pick(curve["f1"], search.t2_early)
    return float(t2s[best]), {"t2": t2s, **curve}


def search_pair(scorer: Scorer, min2: bool = True, step: float = DEFAULT_STEP,
                search: Search | str | None = None) -> tuple[float, float | None]:
    """Best T, then (if ``min2``) the best T2 at that T."""
    search = full(step) if search is None else get_search(search)
    t, _ = search_t(scorer, search=search)
    if not min2:
        return t, None
    return t, search_t2(scorer, t, search=search)[0]


def search(scorer: Scorer, min2: bool = True, step: float = DEFAULT_STEP) -> dict:
    """Best thresholds with the scores they give (``base``, and ``min2`` when asked)."""
    t, t2 = search_pair(scorer, min2, step)
    out = {"t": t, "base": scorer.score(t)}
    if min2:
        out.update(t2=t2, min2=scorer.score(t, t2))
    return out

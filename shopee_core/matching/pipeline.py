"""A decision layer end to end: embedding sets -> predicted sets -> scores.

``Decision`` holds everything that turns a model's embeddings into matches:
how sets combine (mean fusion or union), the thresholds, Min2, INB. ``tune``
searches it on a validation pool; ``apply`` runs it on any pool.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from ..errors import ShopeeError
from ..metrics import score
from . import inb
from .embeddings import Embeddings, fuse
from .knn import DEFAULT_K, Neighbors, knn
from .rules import predict, union
from .scoring import Scorer
from .search import DEFAULT_STEP, search_pair

COMBINES = ("mean", "union")


@dataclass
class Decision:
    """Thresholds are cosine distances. For a union, ``t``/``t2`` hold one value per set;
    otherwise one value for the (fused) set."""

    t: list[float]
    t2: list[float | None] = field(default_factory=list)
    combine: str = "mean"
    weights: list[float] | None = None
    inb_iters: int = 0
    inb_t: float | None = None
    inb_t2: float | None = None
    k: int = DEFAULT_K

    def check(self, n_sets: int) -> "Decision":
        if self.combine not in COMBINES:
            raise ShopeeError(f"combine must be one of {', '.join(COMBINES)}, got {self.combine!r}")
        sides = n_sets if (self.combine == "union" and n_sets > 1) else 1
        if len(self.t) != sides:
            raise ShopeeError(f"{sides} threshold(s) needed for {n_sets} set(s) with combine={self.combine}, got {len(self.t)}")
        if not self.t2:
            self.t2 = [None] * sides
        if len(self.t2) != sides:
            raise ShopeeError(f"{sides} Min2 threshold(s) needed, got {len(self.t2)}")
        if self.inb_iters:
            if sides > 1:
                raise ShopeeError("INB applies to a single or mean-fused set, not to a union")
            if self.inb_t is None:
                raise ShopeeError("INB needs its own threshold (--inb-threshold)")
        if self.k < 1:
            raise ShopeeError(f"k must be >= 1, got {self.k}")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


def sides(sets: Sequence[Embeddings], combine: str, weights=None) -> list[Embeddings]:
    """The sets that each get their own neighbour table under ``combine``."""
    if len(sets) > 1 and combine == "mean":
        return [fuse(sets, weights)]
    if len(sets) > 1 and combine == "union":
        return list(sets)
    return [sets[0]]


@dataclass
class MatchResult:
    pred: np.ndarray                 # padded predicted pool indices (-1 = none)
    neighbors: list[Neighbors]       # one table per side (after INB if any)
    scores: dict | None = None


def apply(sets: Sequence[Embeddings], decision: Decision, labels=None, progress: bool = False) -> MatchResult:
    decision.check(len(sets))
    preds, tables = [], []
    for i, emb in enumerate(sides(sets, decision.combine, decision.weights)):
        nb = knn(emb, decision.k, progress=progress)
        t, t2 = decision.t[i], decision.t2[i]
        if decision.inb_iters:
            _, nb = inb.iterate(emb, nb, t, t2, decision.inb_iters, decision.k, progress)
            t, t2 = decision.inb_t, decision.inb_t2
        preds.append(predict(nb, t, t2))
        tables.append(nb)
    pred = preds[0] if len(preds) == 1 else union(*preds)
    return MatchResult(pred, tables, None if labels is None else score(pred, labels))


def tune(sets: Sequence[Embeddings], labels, combine: str = "mean", weights=None, min2: bool = True,
         inb_iters: int = 0, k: int = DEFAULT_K, step: float = DEFAULT_STEP,
         progress: bool = False) -> tuple[Decision, dict]:
    """Search every threshold of a decision on a validation pool (full scans).

    Each union side is tuned on its own, as in the seed; INB thresholds are
    searched on the blended set built with the base thresholds.
    """
    ts, t2s, preds = [], [], []
    side_sets = sides(sets, combine, weights)
    for emb in side_sets:
        nb = knn(emb, k, progress=progress)
        t, t2 = search_pair(Scorer(nb, labels), min2, step)
        ts.append(t)
        t2s.append(t2)
        preds.append(predict(nb, t, t2))
    decision = Decision(t=ts, t2=t2s, combine=combine, weights=weights, k=k).check(len(sets))
    if inb_iters and len(side_sets) == 1:
        _, nb2 = inb.iterate(side_sets[0], nb, ts[0], t2s[0], inb_iters, k, progress)
        it, it2 = search_pair(Scorer(nb2, labels), min2, step)
        decision.inb_iters, decision.inb_t, decision.inb_t2 = inb_iters, it, it2
        preds = [predict(nb2, it, it2)]
    pred = preds[0] if len(preds) == 1 else union(*preds)
    return decision, {"valid": score(pred, labels)}


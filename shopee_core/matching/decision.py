"""A decision: which neighbour tables decide the matches, and at which thresholds.

One or more :class:`Side` (a source and its own distance threshold ``t`` and Min2
``t2``); more than one side is a union of the sides' predicted sets. Mean fusion and
INB are part of a side's source (see :mod:`.sources`), so a single type serves a
single model, a fusion, an INB stage and a union — in the CLI, the bundle builder
and the dashboard alike. An optional :class:`~.graph.GraphStep` (mutual pairs, capped
closure, average linkage, cut bridges) post-processes the predicted sets after all of that.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import DecisionError
from .graph import GraphStep
from .sources import check_source, describe_source


@dataclass(frozen=True)
class Side:
    """One neighbour table with its own distance threshold ``t`` and Min2 ``t2`` (None: no Min2)."""

    source: tuple
    t: float
    t2: float | None = None

    def __post_init__(self):
        check_source(self.source)
        if not isinstance(self.t, (int, float)) or self.t != self.t:
            raise DecisionError(f"threshold must be a number, got {self.t!r}")
        if self.t2 is not None and (not isinstance(self.t2, (int, float)) or self.t2 != self.t2):
            raise DecisionError(f"Min2 threshold must be a number or None, got {self.t2!r}")
        object.__setattr__(self, "t", float(self.t))
        object.__setattr__(self, "t2", None if self.t2 is None else float(self.t2))


@dataclass(frozen=True)
class Decision:
    """One side, or the union of several sides' predicted sets, then an optional graph step."""

    sides: tuple
    name: str = ""
    graph: GraphStep | None = None

    def __post_init__(self):
        sides = tuple(self.sides)
        if not sides or not all(isinstance(s, Side) for s in sides):
            raise DecisionError("a decision needs at least one side")
        object.__setattr__(self, "sides", sides)
        if self.graph is not None and not isinstance(self.graph, GraphStep):
            object.__setattr__(self, "graph", GraphStep.parse(self.graph))

    @classmethod
    def single(cls, source: tuple, t: float, t2: float | None = None, name: str = "") -> Decision:
        return cls((Side(source, t, t2),), name)

    @classmethod
    def union(cls, sides, name: str = "") -> Decision:
        """From ``[(source, t, t2), ...]`` or Sides."""
        out = tuple(s if isinstance(s, Side) else Side(*s) for s in sides)
        if len(out) < 2:
            raise DecisionError("a union needs at least two sides")
        return cls(out, name)

    @property
    def is_union(self) -> bool:
        return len(self.sides) > 1

    @property
    def sources(self) -> tuple:
        return tuple(s.source for s in self.sides)

    def with_side(self, i: int, **changes) -> Decision:
        sides = list(self.sides)
        sides[i] = replace(sides[i], **changes)
        return replace(self, sides=tuple(sides))

    def with_thresholds(self, t=None, t2=None, min2: bool = True) -> Decision:
        """The first side with a new ``t`` / ``t2`` (``min2=False`` drops Min2)."""
        side = self.sides[0]
        return self.with_side(0, t=side.t if t is None else float(t),
                              t2=None if not min2 else (side.t2 if t2 is None else float(t2)))

    def without_min2(self) -> Decision:
        return replace(self, sides=tuple(replace(s, t2=None) for s in self.sides))

    def with_graph(self, graph) -> Decision:
        """The same sides with graph step ``graph`` (a GraphStep, ``"closure:51"``, or None: none)."""
        return replace(self, graph=None if graph is None else GraphStep.parse(graph))

    @property
    def plain(self) -> Decision:
        """The decision without its graph step."""
        return self if self.graph is None else replace(self, graph=None)

    def describe(self) -> str:
        parts = []
        for s in self.sides:
            m2 = "" if s.t2 is None else f", T2={s.t2:.3f}"
            parts.append(f"{describe_source(s.source)} (T={s.t:.3f}{m2})")
        text = " ∪ ".join(parts)
        return text if self.graph is None else f"{text} → {self.graph.describe()}"

    def as_dict(self) -> dict:
        """JSON-ready: per-side thresholds (``t``/``t2`` lists), each side's source and the graph step."""
        return {"t": [s.t for s in self.sides], "t2": [s.t2 for s in self.sides],
                "sides": [{"source": _jsonable(s.source), "describe": describe_source(s.source), "t": s.t,
                           "t2": s.t2} for s in self.sides],
                "union": self.is_union, "name": self.name,
                "graph": None if self.graph is None else self.graph.as_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> Decision:
        try:
            return cls(tuple(Side(_tupled(s["source"]), s["t"], s.get("t2")) for s in d["sides"]), d.get("name", ""),
                       GraphStep.from_dict(d.get("graph")))
        except (KeyError, TypeError) as exc:
            raise DecisionError(f"not a decision: {exc}") from None


def _jsonable(x):
    return [_jsonable(v) for v in x] if isinstance(x, tuple) else x


def _tupled(x):
    return tuple(_tupled(v) for v in x) if isinstance(x, list) else x

"""A bundle's model as everything outside :mod:`shopee_core.bundle` sees it: a frozen, typed entry.

The manifest's keys and the bundle's file layout are known in this package only. The
analysis and the pages ask an entry what a model is — a union, a plain mean fusion, an
entry that only ships an INB table, an import of predicted sets — and where its files
are, instead of reading manifest keys and rebuilding paths, so each of those rules exists
once.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ..models.registry import modality as leaf_modality

EMPTY: Mapping = MappingProxyType({})


def _table_file(variant: str) -> str:
    return "neighbors" if variant == "base" else f"neighbors_{variant}"


def _frozen(value: dict) -> Mapping:
    """A read-only view of a copy: the entry can be handed anywhere without the manifest changing."""
    return MappingProxyType(copy.deepcopy(value))


def _number(value) -> float | None:
    return None if value is None else float(value)


@dataclass(frozen=True)
class ModelEntry:
    """One model of a bundle. Thresholds are cosine distances tuned on the validation pool; ``sides``
    is a union's stored sides as ``(model id, t, t2)``; ``paths`` maps a file's name (``embeddings``,
    ``norms``, ``neighbors``, ``neighbors_inb``, ``umap``, ``vectorizer``) to where it is."""

    id: str
    label: str
    family: str                      # image | text | fusion | baseline
    recipe: int | None               # the seed's model number, or None
    kind: str                        # how it was made (the registry's kinds, or "external")
    spec: Mapping = field(default_factory=lambda: EMPTY)  # the recipe's spec as built (backbone, members...)
    metrics: Mapping = field(default_factory=lambda: EMPTY)  # {pool: {"base"|"min2"|"inb": {"f1", ...}}}
    paths: Mapping = field(default_factory=lambda: EMPTY)  # file name -> Path
    t: float | None = None
    t2: float | None = None
    inb_t: float | None = None
    inb_t2: float | None = None
    inb_iters: int = 0               # INB steps of the stored INB table
    stored_inb_vectors: str = "normalised"  # what the stored INB table blended
    sides: tuple = ()                # a union's sides: ((model id, t, t2), ...)
    inb_sides: tuple = ()            # a union's INB: each side on its own INB table ((model id, t', t2'), ...)
    query: bool = False              # its encoder ships for queries by upload
    external: bool = False           # made elsewhere and imported
    predictions_only: bool = False   # imported predicted sets: nothing to threshold, blend or map
    imported: Mapping = field(default_factory=lambda: EMPTY)  # where an import came from (files, sha256)
    can_embed: bool = False          # embeddings stored, or a mean fusion of models that can embed
    modality: str | None = None      # "image", "text", or None (both, or unknown)
    graph: Mapping | None = None     # the graph step tuned on valid for the Min2 decision ({"step", "param", "t", ...})

    @classmethod
    def from_manifest(cls, m: dict, root: Path | None = None, **derived) -> ModelEntry:
        """From a manifest's model (``root``: the bundle folder its file paths are under). ``derived``:
        what needs the other models (``can_embed``, ``modality``), as the reader works it out."""
        th, spec = m.get("thresholds") or {}, m.get("spec") or {}
        root = Path(root) if root is not None else Path(".")
        paths = {name: root / f["path"] for name, f in (m.get("files") or {}).items()}
        defaults = {"can_embed": "embeddings" in paths, "modality": leaf_modality(m.get("kind", ""), m.get("family"))}
        return cls(
            id=m["id"], label=m.get("label", m["id"]), family=m.get("family", ""), recipe=m.get("recipe"),
            kind=m.get("kind", ""), spec=_frozen(spec), metrics=_frozen(m.get("metrics") or {}),
            paths=MappingProxyType(paths), t=_number(th.get("t")), t2=_number(th.get("t2")),
            inb_t=_number(th.get("inb_t")), inb_t2=_number(th.get("inb_t2")), inb_iters=int(th.get("inb_iters") or 0),
            stored_inb_vectors=th.get("inb_vectors", "normalised"),
            sides=tuple((s["model"], _number(s["t"]), _number(s.get("t2"))) for s in th.get("sides") or []),
            inb_sides=tuple((s["model"], _number(s["t"]), _number(s.get("t2"))) for s in th.get("inb_sides") or []),
            query=bool(m.get("query")), external=m.get("source") == "external",
            predictions_only=bool(m.get("predictions_only")), imported=_frozen(m.get("imported") or {}),
            graph=_frozen(th["graph"]) if th.get("graph") else None,
            **{**defaults, **derived})

    # ------------------------------------------------------------------ what the model is
    @property
    def members(self) -> tuple[str, ...]:
        return tuple(self.spec.get("members") or ())

    @property
    def combine(self) -> str | None:
        """``mean`` or ``union`` for a combination of other models, else None."""
        return self.spec.get("combine") if self.members else None

    @property
    def weights(self) -> tuple[float, ...] | None:
        """A combination's member weights (None: equal). A single model's spec ``weights`` is where its
        pretrained weights came from, not this."""
        w = self.spec.get("weights") if self.members else None
        return None if not w else tuple(float(x) for x in w)

    @property
    def of(self) -> str | None:
        """The fusion an iterated-INB entry (``<fusion>_inb3``) is made from."""
        return self.spec.get("of")

    @property
    def inb_vectors(self) -> str:
        """Which vectors a live INB of this model blends (its recipe's; unit rows unless it says raw)."""
        return self.spec.get("inb_vectors", "normalised")

    @property
    def is_union(self) -> bool:
        return bool(self.sides) or self.combine == "union"

    @property
    def is_mean_fusion(self) -> bool:
        """A plain mean fusion of other models: its embeddings are its members' (no INB of its own)."""
        return self.combine == "mean" and not self.of and not self.spec.get("inb_iters")

    def has_table(self, variant: str = "base") -> bool:
        """Whether a neighbour table of ``variant`` (``base`` or ``inb``) ships."""
        return _table_file(variant) in self.paths

    @property
    def is_inb_only(self) -> bool:
        """Ships only an INB table (``<fusion>_inb3``)."""
        return not self.has_table() and self.has_table("inb")

    def path(self, name: str) -> Path | None:
        """Where the model's file ``name`` is (None when it ships none)."""
        return self.paths.get(name)

    def table_path(self, variant: str = "base") -> Path | None:
        return self.paths.get(_table_file(variant))

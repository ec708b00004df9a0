"""Registry of model recipes: one entry per (model id, profile) with its full spec.

A run is reproducible from its id and profile. Profiles:
- ``seed18``: the seed's recipes exactly (512 px, 8 epochs, ImageNet / Hugging Face weights, GPU);
- ``demo``: CPU and offline, minutes not hours; every entry says what it really is;
- ``smoke``: every recipe at tiny size from random init, to prove each code path.
Combination entries (ensembles, fusions, unions) name their ``members``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from ..errors import ShopeeError

PROFILES = ("seed18", "demo", "smoke")
KINDS = ("image", "text", "tfidf", "phash", "image_zeroshot", "text_zeroshot", "e5", "combo")
TRAINABLE = ("image", "text")


@dataclass(frozen=True)
class ModelEntry:
    id: str
    label: str
    family: str            # image | text | fusion | baseline
    recipe: int | None     # the seed's model number 1-18, or None
    profile: str
    kind: str              # how it is built, embedded and trained (KINDS)
    spec: dict

    @property
    def trainable(self) -> bool:
        return self.kind in TRAINABLE

    def as_dict(self) -> dict:
        return {"id": self.id, "label": self.label, "family": self.family, "recipe": self.recipe,
                "profile": self.profile, "kind": self.kind, "spec": copy.deepcopy(self.spec)}


_REGISTRY: dict[tuple[str, str], ModelEntry] = {}


def register(entry: ModelEntry) -> ModelEntry:
    key = (entry.id, entry.profile)
    if key in _REGISTRY:
        raise ValueError(f"model {entry.id!r} registered twice for profile {entry.profile}")
    if entry.profile not in PROFILES or entry.kind not in KINDS:
        raise ValueError(f"bad profile/kind for {entry.id}: {entry.profile}/{entry.kind}")
    _REGISTRY[key] = entry
    return entry


def get(model_id: str, profile: str | None = None) -> ModelEntry:
    """The entry for ``model_id`` in ``profile`` (None: the only one, else seed18, demo, smoke)."""
    found = {p: e for (i, p), e in _REGISTRY.items() if i == model_id}
    if not found:
        raise ShopeeError(f"unknown model {model_id!r}; known: {', '.join(sorted({i for i, _ in _REGISTRY}))}")
    if profile is None:
        for p in PROFILES:
            if p in found:
                return found[p]
    if profile not in found:
        raise ShopeeError(f"model {model_id!r} has no {profile!r} profile (it has: {', '.join(sorted(found))})")
    return found[profile]


def list_models(profile: str | None = None) -> list[ModelEntry]:
    return [e for e in _REGISTRY.values() if profile is None or e.profile == profile]


def members(entry: ModelEntry) -> list[ModelEntry]:
    """Direct members of a combination, in its profile."""
    return [get(m, entry.profile) for m in entry.spec.get("members", [])]


def leaves(entry: ModelEntry) -> list[ModelEntry]:
    """The non-combination models a combination ultimately needs (each once, in order)."""
    if entry.kind != "combo":
        return [entry]
    seen, out = set(), []
    for m in members(entry):
        for leaf in leaves(m):
            if leaf.id not in seen:
                seen.add(leaf.id)
                out.append(leaf)
    return out


from . import recipes  # noqa: E402,F401  (registers every entry)

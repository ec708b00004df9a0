"""Registry of model recipes: one entry per (model id, profile) with its full spec.

A run is reproducible from its id, profile and overrides. Profiles:
- ``seed18``: the seed's recipes to the letter, quirks included (README, "Fidelity: `seed18` and `tuned`");
- ``tuned``: the same data and backbones with the project's improvements (neck embedding, bf16,
  checkpoint chosen at a scanned threshold, full threshold search, normalised INB, k = 51);
- ``demo``: CPU and offline, minutes not hours; every entry says what it really is;
- ``smoke``: every recipe at tiny size from random init, to prove each code path.
Combination entries (ensembles, fusions, unions) name their ``members``.

This module defines the types and the registry only; :mod:`.recipes` fills it (imported by
the package). :func:`with_overrides` applies ``--set key=value`` / ``--config FILE`` changes to
an entry, refusing keys the recipe does not have.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import ShopeeError

PROFILES = ("seed18", "tuned", "demo", "smoke")
KINDS = ("image", "image_frozen", "text", "tfidf", "phash", "image_zeroshot", "text_zeroshot", "e5", "combo")
TRAINABLE = ("image", "image_frozen", "text")
_SEES_IMAGE = ("image", "image_frozen", "image_zeroshot", "phash")  # pHash hashes the photo
_SEES_TEXT = ("text", "tfidf", "text_zeroshot", "e5")
# keys whose value may be a number or a keyword (``select_threshold``: a distance or "scan")
_NUMBER_OR_WORD = ("select_threshold",)
# keys that also take null (``max_steps``: no cap)
_NULLABLE = ("max_steps",)


def modality(kind: str, family: str | None) -> str | None:
    """The one input a model sees, ``image`` or ``text`` (by how it is made, else by its family); None
    for a combination or a model made elsewhere of another family."""
    if kind in _SEES_IMAGE or family == "image":
        return "image"
    if kind in _SEES_TEXT or family == "text":
        return "text"
    return None


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

    @property
    def modality(self) -> str | None:
        return modality(self.kind, self.family)

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
    """The entry for ``model_id`` in ``profile`` (None: the first of PROFILES that has it)."""
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


# ----------------------------------------------------------------------------- overrides

def _family(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _apply(spec: dict, key: str, value, where: str) -> None:
    parts = key.split(".")
    node = spec
    for i, part in enumerate(parts):
        if not isinstance(node, dict) or part not in node:
            here = ".".join(parts[:i]) or "the spec"
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "(not a dict)"
            raise ShopeeError(f"{where}: unknown spec key {key!r} ({here} has: {known})")
        if i < len(parts) - 1:
            node = node[part]
    leaf, old = parts[-1], node[parts[-1]]
    if isinstance(old, dict) and isinstance(value, dict):  # a dict merges key by key
        for sub, v in value.items():
            _apply(spec, f"{key}.{sub}", v, where)
        return
    fam_old, fam_new = _family(old), _family(value)
    mixed = parts[-1] in _NUMBER_OR_WORD and {fam_old, fam_new} <= {"number", "string"}
    if fam_new == "null" and parts[-1] in _NULLABLE:
        mixed = True
    if fam_old not in ("null", fam_new) and not mixed:
        raise ShopeeError(f"{where}: spec key {key!r} takes a {fam_old} (now {json.dumps(old)}), "
                          f"not {json.dumps(value)}")
    if fam_old == "number" and isinstance(old, int) and not isinstance(old, bool) and isinstance(value, float):
        if not value.is_integer():
            raise ShopeeError(f"{where}: spec key {key!r} takes an integer, not {value}")
        value = int(value)
    node[leaf] = copy.deepcopy(value)


def with_overrides(entry: ModelEntry, overrides: Mapping | None) -> ModelEntry:
    """A copy of ``entry`` whose spec has ``overrides`` applied.

    Keys are spec keys, dotted for nested dicts (``{"lr_schedule.max": 1e-3}``); a dict value
    for a dict key merges key by key. A key the spec does not have, or a value of another JSON
    type than the recipe's (a number for a number, ...), raises a one-line ShopeeError: a typo
    must never train a silently different model.
    """
    if not overrides:
        return entry
    spec = copy.deepcopy(entry.spec)
    for key, value in overrides.items():
        _apply(spec, str(key), value, f"{entry.id} ({entry.profile})")
    return replace(entry, spec=spec)


def parse_value(text: str):
    """``--set`` value: JSON when it parses (numbers, true, null, lists, objects), else the string."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, ValueError):
        return text


def parse_overrides(pairs: Iterable[str] = (), config: str | Path | None = None) -> dict:
    """Overrides from a ``--config`` JSON file (a dict) then ``--set key=value`` pairs (later wins)."""
    out: dict = {}
    if config is not None:
        path = Path(config)
        try:
            loaded = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ShopeeError(f"--config {path}: no such file") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ShopeeError(f"--config {path}: not a JSON file ({' '.join(str(exc).split())})") from None
        if not isinstance(loaded, dict):
            raise ShopeeError(f"--config {path}: must hold a JSON object of spec overrides, "
                              f"not a {_family(loaded)}")
        out.update(loaded)
    for pair in pairs or ():
        key, sep, value = str(pair).partition("=")
        if not sep or not key.strip():
            raise ShopeeError(f"--set {pair!r}: expected key=value (e.g. --set epochs=2)")
        out[key.strip()] = parse_value(value)
    return out


def spec_changes(base: dict, spec: dict, prefix: str = "") -> dict:
    """Dotted keys whose value in ``spec`` differs from ``base`` (what overrides changed)."""
    out = {}
    for key, value in spec.items():
        old = base.get(key) if isinstance(base, dict) else None
        if isinstance(value, dict) and isinstance(old, dict):
            out.update(spec_changes(old, value, f"{prefix}{key}."))
        elif value != old or key not in base:
            out[f"{prefix}{key}"] = value
    return out

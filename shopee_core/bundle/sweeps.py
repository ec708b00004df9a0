"""Putting a sweep's results into a bundle (and taking them out), through the one edit path.

A sweep runs apart from ``build-bundle`` (hours of training on a GPU, or the demo's frozen
stand-ins on a CPU); its ``results.json`` then joins a bundle as ``sweeps/<name>.json``, listed
in the manifest's ``sweeps`` and checksummed like every file. The study's sweep tables come
along as ``reference/seed_sweeps.csv`` when the bundle lacks them (bundles built before they
existed). Like ``import-model``, the change is made on a staged copy under the folder's lock and
swapped in whole (:func:`~shopee_core.bundle.edit.staged`): a refused edit changes nothing.
"""

from __future__ import annotations

import copy
import re
import shutil
import time
from pathlib import Path

from ..analysis.sweeps import REPO_SEED_SWEEPS, read_sweep
from ..io import atomic_write_json
from .edit import staged
from .format import SEED_SWEEPS, SWEEPS, BundleError
from .reader import Bundle
from .writer import seal

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,79}")


def _rel(name: str) -> str:
    if not NAME.fullmatch(name or ""):
        raise BundleError(f"sweep name {name!r}: use letters, digits, '_', '-' or '.' (at most 80)")
    return f"{SWEEPS}/{name}.json"


def add_sweep(root, results, name: str | None = None, replace: bool = False) -> dict:
    """Ship the sweep results at ``results`` (a sweep folder or its results.json) in the bundle at
    ``root`` as ``name`` (default: the sweep's own name). Returns the manifest entry."""
    root = Path(root)
    src = Path(results)
    doc = read_sweep(src / "results.json" if src.is_dir() else src)
    if not doc["results"]:
        raise BundleError(f"{src}: the sweep has no finished configuration yet")
    name = name or doc["name"]
    rel = _rel(name)
    doc = {**doc, "name": name}
    with staged(root, drop=[rel]) as stage:
        bundle = Bundle.open(root)  # read under the edit lock
        manifest = copy.deepcopy(bundle.manifest)
        sweeps = manifest.get("sweeps") or []
        if name in [s["name"] for s in sweeps] and not replace:
            raise BundleError(f"bundle {bundle.name} already has a sweep {name!r} (pass --replace to replace it)")
        atomic_write_json(stage / rel, doc)
        if not (stage / SEED_SWEEPS).exists():
            (stage / SEED_SWEEPS).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(REPO_SEED_SWEEPS, stage / SEED_SWEEPS)
        entry = {"name": name, "path": rel, "model": doc["model"], "profile": doc["profile"],
                 "configs": len(doc["results"])}
        at = next((i for i, s in enumerate(sweeps) if s["name"] == name), None)
        if at is None:
            sweeps.append(entry)
        else:
            sweeps[at] = entry
        manifest["sweeps"] = sweeps
        manifest.setdefault("edits", []).append({"command": "add-sweep", "sweep": name, "replaced": at is not None,
                                                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        seal(stage, manifest)
    return entry


def remove_sweep(root, name: str) -> list[str]:
    """Drop a shipped sweep; returns the names left."""
    root = Path(root)
    rel = _rel(name)
    with staged(root, drop=[rel]) as stage:
        bundle = Bundle.open(root)
        if name not in bundle.sweep_names:
            raise BundleError(f"bundle {bundle.name} has no sweep {name!r}")
        manifest = copy.deepcopy(bundle.manifest)
        manifest["sweeps"] = [s for s in manifest["sweeps"] if s["name"] != name]
        manifest.setdefault("edits", []).append({"command": "remove-sweep", "sweep": name,
                                                 "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
        seal(stage, manifest)
    return [s["name"] for s in manifest["sweeps"]]

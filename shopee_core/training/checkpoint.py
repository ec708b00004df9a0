"""Checkpoints as safetensors (scalars in its JSON header), and which epoch's checkpoint is kept.

An optimiser state dict is tensors and plain numbers in nested dicts/lists; it is
flattened into ``"opt/<path>"`` tensors and a JSON skeleton that rebuilds it: nothing
unpickles on load. The skeleton travels in the safetensors file's own metadata, so a
training state is one file written atomically: a crash can never pair the tensors of one
epoch with the scalars of another (older runs kept it in a ``.json`` beside; still read).

The kept checkpoint (spec ``select_threshold``, ``select_from_epoch``): the best validation
F1 at a fixed distance threshold (the seed: 0.36 image, 0.40 text) or at the best threshold
of a full scan (``"scan"``), among the epochs with index >= ``select_from_epoch`` (the seed's
text models: 2); ties keep the earlier epoch (the seed compared with ``>``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from ..errors import ShopeeError
from ..io import atomic_path

_TENSOR = "__tensor__"


def _flatten(obj, prefix: str, tensors: dict):
    if isinstance(obj, torch.Tensor):
        tensors[prefix] = obj.detach().cpu().contiguous()
        return {_TENSOR: prefix}
    if isinstance(obj, dict):
        return {"__dict__": [[_key(k), _flatten(v, f"{prefix}/{k}", tensors)] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        return {"__list__": [_flatten(v, f"{prefix}/{i}", tensors) for i, v in enumerate(obj)]}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return obj
    raise TypeError(f"cannot checkpoint a {type(obj).__name__} at {prefix}")


def _key(k):
    return {"int": k} if isinstance(k, int) else k


def _unflatten(obj, tensors: dict):
    if isinstance(obj, dict):
        if _TENSOR in obj:
            return tensors[obj[_TENSOR]]
        if "__dict__" in obj:
            return {(k["int"] if isinstance(k, dict) else k): _unflatten(v, tensors) for k, v in obj["__dict__"]}
        if "__list__" in obj:
            return [_unflatten(v, tensors) for v in obj["__list__"]]
    return obj


def save_tensors(path, tensors: dict[str, torch.Tensor], metadata: dict | None = None) -> None:
    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(tmp),
                  metadata={k: str(v) for k, v in (metadata or {}).items()})


_SKELETON = "skeleton"


def save_state(path, state: dict) -> None:
    """Any nested dict of tensors / numbers / strings -> one ``path`` (.safetensors), atomically."""
    path = Path(path)
    tensors: dict = {}
    skeleton = _flatten(state, "s", tensors)
    save_tensors(path, tensors, metadata={_SKELETON: json.dumps(skeleton, allow_nan=True)})
    old = path.with_suffix(".json")
    if old.exists():  # a run started before the state was one file: its sidecar is stale now
        old.unlink()


def load_state(path, map_location: str = "cpu") -> dict:
    path = Path(path)
    with safe_open(str(path), framework="pt", device=map_location) as fh:
        meta = fh.metadata() or {}
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}
    if _SKELETON in meta:
        skeleton = json.loads(meta[_SKELETON])
    else:  # written by an older version: tensors and skeleton in two files
        skeleton = json.loads(path.with_suffix(".json").read_text())
    return _unflatten(skeleton, tensors)


def save_weights(path, model: torch.nn.Module) -> None:
    save_tensors(path, model.state_dict())


def load_weights(path, model: torch.nn.Module, strict: bool = True) -> None:
    model.load_state_dict(load_file(str(path), device="cpu"), strict=strict)


def selection_rule(spec: dict) -> tuple[float | str, int]:
    """(threshold or "scan", first eligible epoch index) of a recipe, checked."""
    t = spec.get("select_threshold", "scan")
    first = spec.get("select_from_epoch", 0)
    if not (t == "scan" or (isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t <= 2)):
        raise ShopeeError(f"select_threshold must be a cosine distance in (0, 2] or \"scan\", not {t!r}")
    if not isinstance(first, int) or isinstance(first, bool) or first < 0:
        raise ShopeeError(f"select_from_epoch must be an integer >= 0, not {first!r}")
    return (t if t == "scan" else float(t)), first


def select_best(history: list[dict], from_epoch: int = 0) -> int | None:
    """The epoch whose checkpoint is kept: the best ``valid.f1`` among epochs >= ``from_epoch``
    (NaN never wins, ties keep the earlier one); None when no epoch qualifies yet."""
    best, best_f1 = None, float("-inf")
    for record in history:
        f1 = record.get("valid", {}).get("f1")
        if record["epoch"] < from_epoch or f1 is None or f1 != f1:
            continue
        if f1 > best_f1:
            best, best_f1 = record["epoch"], f1
    return best

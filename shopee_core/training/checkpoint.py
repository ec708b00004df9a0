"""Checkpoints as safetensors (+ JSON for scalars): nothing that unpickles on load.

An optimiser state dict is tensors and plain numbers in nested dicts/lists; it is
flattened into ``"opt/<path>"`` tensors and a JSON skeleton that rebuilds it.
Every file is written atomically, so an interrupted run keeps its last good epoch.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from ..io import atomic_path, atomic_write_json

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


def save_state(path, state: dict) -> None:
    """Any nested dict of tensors / numbers / strings -> ``path`` (.safetensors) + ``path``.json."""
    path = Path(path)
    tensors: dict = {}
    skeleton = _flatten(state, "s", tensors)
    save_tensors(path, tensors)
    atomic_write_json(path.with_suffix(".json"), skeleton)


def load_state(path, map_location: str = "cpu") -> dict:
    path = Path(path)
    tensors = load_file(str(path), device=map_location)
    skeleton = json.loads(path.with_suffix(".json").read_text())
    return _unflatten(skeleton, tensors)


def save_weights(path, model: torch.nn.Module) -> None:
    save_tensors(path, model.state_dict())


def load_weights(path, model: torch.nn.Module, strict: bool = True) -> None:
    model.load_state_dict(load_file(str(path), device="cpu"), strict=strict)

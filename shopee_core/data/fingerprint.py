"""A digest of a catalog's image bytes, for caches keyed by the images they were computed from."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _file_digest(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).digest()


def images_digest(image_dir: Path, names: Iterable[str], salt: str = "") -> str:
    """12 hex digits over ``salt``, then every image's name and bytes in the given order."""
    names = [str(n) for n in names]
    h = hashlib.sha256(salt.encode())
    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, d in zip(names, pool.map(_file_digest, [Path(image_dir) / n for n in names], chunksize=64)):
            h.update(name.encode())
            h.update(d)
    return h.hexdigest()[:12]

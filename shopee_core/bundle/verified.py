"""Checksums verified once, remembered by each file's identity: a fast *and* safe bundle open.

Opening a bundle checks every listed file against the sha256 its manifest records. Hashing
a Kaggle-sized bundle (hundreds of MB) on every server start costs seconds, so a file
whose checksum was verified is remembered in a small JSON outside the bundle, in the
user's cache folder (``$SHOPEE_CACHE_DIR``, else ``$XDG_CACHE_HOME/shopee_core``, else
``~/.cache/shopee_core``), keyed by the bundle's resolved path and the sha256 of its
manifest. An entry holds the file's size, mtime, ctime and inode at the time it was
hashed. On the next open a file whose identity is unchanged is not hashed again; any
other file is hashed and compared as before. A write to a file changes its mtime and
ctime (ctime cannot be set back by ``touch``), a copy or a checkout changes its inode:
all of them re-verify, so a changed file is still refused. ``check-bundle`` never uses
the cache (it hashes everything).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path

from ..io import atomic_write_json

CACHE_FILE = "verified.json"
MAX_BUNDLES = 32
VERSION = 1
_LOCK = threading.Lock()


def cache_dir() -> Path:
    env = os.environ.get("SHOPEE_CACHE_DIR", "").strip()
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path.home() / ".cache") / "shopee_core"


def identity(st: os.stat_result) -> list[int]:
    return [int(st.st_size), int(st.st_mtime_ns), int(st.st_ctime_ns), int(st.st_ino)]


def bundle_key(root: Path, manifest_bytes: bytes) -> str:
    h = hashlib.sha256(str(Path(root).resolve()).encode("utf-8"))
    h.update(b"\0")
    h.update(hashlib.sha256(manifest_bytes).digest())
    return h.hexdigest()


class VerifiedFiles:
    """The remembered verifications of one bundle (read once, written back after an open)."""

    def __init__(self, key: str, path: Path | None = None):
        self.key = key
        self.path = path or cache_dir() / CACHE_FILE
        self._all = self._read()
        self.entries: dict[str, list] = dict(self._all.get("bundles", {}).get(key, {}).get("files", {}))
        self.changed = False
        self.hits = self.misses = 0

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) and data.get("version") == VERSION else {}

    def known(self, rel: str, st: os.stat_result, digest: str) -> bool:
        """Whether this exact file (same identity) was verified against ``digest`` before."""
        entry = self.entries.get(rel)
        ok = isinstance(entry, list) and len(entry) == 5 and entry[4] == digest and entry[:4] == identity(st)
        self.hits += ok
        self.misses += not ok
        return ok

    def remember(self, rel: str, st: os.stat_result, digest: str) -> None:
        self.entries[rel] = identity(st) + [digest]
        self.changed = True

    def forget(self, rel: str) -> None:
        if self.entries.pop(rel, None) is not None:
            self.changed = True

    def save(self) -> None:
        """Write back (atomically; a cache that cannot be written only costs time next open)."""
        if not self.changed:
            return
        with _LOCK:
            data = self._read()
            bundles = data.get("bundles", {}) if isinstance(data.get("bundles"), dict) else {}
            bundles.pop(self.key, None)
            bundles[self.key] = {"files": self.entries}
            while len(bundles) > MAX_BUNDLES:  # oldest first (insertion order)
                bundles.pop(next(iter(bundles)))
            try:
                atomic_write_json(self.path, {"version": VERSION, "bundles": bundles})
            except OSError:
                pass
        self.changed = False

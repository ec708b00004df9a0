"""A small bundle with everything the Data overview and Training pages draw, built once per session.

The tiny catalog with the ``all`` pool, TF-IDF, pHash and one trained smoke text recipe
(``bert_multilingual``, 3 epochs: its history ships), plus a real sweep of that recipe over two
margins (2 epochs each) added with ``add-sweep``. About 40 s.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

TRAINED = "bert_multilingual"
SWEEP = "bert_margins"
_BUILT: dict[str, Path] = {}
_LOCK = threading.Lock()


def build_analyses_bundle(root: Path) -> Path:
    from shopee_core.bundle.builder import build
    from shopee_core.bundle.sweeps import add_sweep
    from shopee_core.sweep import prepare, work
    from tests.conftest import write_tiny_catalog

    data = root / "catalog"
    write_tiny_catalog(data, n_groups=40)
    out = root / "bundle"
    build("smoke", data, out, only=["tfidf", "phash", TRAINED], umap=False, pool_all=True,
          overrides={f"{TRAINED}:epochs": 3})
    sw = prepare(TRAINED, "smoke", data, root / SWEEP, ["margin=0.5,0.7"], {"epochs": 2})
    work(sw, progress=False)
    add_sweep(out, sw.out)
    return out


def analyses_bundle_path(tmp_path_factory) -> Path:
    with _LOCK:
        if "path" not in _BUILT or not (_BUILT["path"] / "manifest.json").exists():
            _BUILT["path"] = build_analyses_bundle(tmp_path_factory.mktemp("analyses_bundle"))
        return _BUILT["path"]


@pytest.fixture(scope="session")
def analyses_bundle(tmp_path_factory) -> Path:
    """Path of the session's bundle with histories, a sweep and the ``all`` pool (built on first use)."""
    return analyses_bundle_path(tmp_path_factory)

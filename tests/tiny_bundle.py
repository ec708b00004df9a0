"""A small but complete bundle for the dashboard tests, built once per test session.

Models: TF-IDF (sparse, with its query vectorizer), pHash, zero-shot MiniLM and
EfficientNet-Lite0 (all four ship query encoders), plus two combinations registered
for the build only - a mean fusion (TF-IDF + EfficientNet) and a union (TF-IDF ∪
EfficientNet) - and the INB×3 entry the builder adds for the best fusion. Nothing is
trained, so it builds in seconds. k = 3, so members of 4-posting groups always fall
outside some candidate list.

UMAP is replaced by a 2-D PCA while building: the real one needs ~30 s of numba JIT
and is tested on its own; the dashboard only reads the (N, 2) array.

Import the ``dash_bundle`` fixture into a test module to use it.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import numpy as np
import pytest

LEAVES = ["tfidf", "phash", "minilm_zeroshot", "effnet_lite0_zeroshot"]
FUSION, UNION = "tfidf_plus_effnet", "tfidf_union_effnet"
INB3 = f"{FUSION}_inb3"
K = 3
_BUILT: dict[str, Path] = {}
_LOCK = threading.Lock()


def _pca_2d(matrix, **_) -> np.ndarray:
    import scipy.sparse as sp

    x = matrix.toarray() if sp.issparse(matrix) else np.asarray(matrix, dtype=np.float32)
    x = x - x.mean(axis=0)
    u, s, _ = np.linalg.svd(x, full_matrices=False)
    out = np.zeros((x.shape[0], 2), dtype=np.float32)
    m = min(2, u.shape[1])
    out[:, :m] = u[:, :m] * s[:m]
    return out


def add_vectorizer(bundle_dir: Path, data_dir: Path) -> None:
    """Write ``models/tfidf/vectorizer.json`` (per-split fitted state) if the builder did not,
    fitted exactly as the builder fits TF-IDF, and re-seal the manifest."""
    from shopee_core.bundle.writer import seal
    from shopee_core.data import attach_splits, load_catalog, load_or_create_folds
    from shopee_core.models.tfidf import per_split

    path = bundle_dir / "models" / "tfidf" / "vectorizer.json"
    if path.exists():
        return
    catalog = load_catalog(data_dir, check_images=False)
    frame = attach_splits(catalog.frame, load_or_create_folds(data_dir, catalog.frame))
    _, states = per_split(frame["title"].tolist(), frame["split"], return_states=True)
    path.write_text(json.dumps(states), encoding="utf-8")
    manifest = json.loads((bundle_dir / "manifest.json").read_text(encoding="utf-8"))
    seal(bundle_dir, manifest)


def build_dash_bundle(root: Path) -> Path:
    """Catalog + bundle under ``root`` (returns the bundle folder)."""
    import shopee_core.analysis.maps as maps
    from shopee_core.bundle.builder import build
    from tests.conftest import write_tiny_catalog

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    data = root / "catalog"
    write_tiny_catalog(data)
    out = root / "dash"
    from shopee_core.models.registry import _REGISTRY, ModelEntry, register

    spec = {"members": ["tfidf", "effnet_lite0_zeroshot"], "weights": None, "loss": None, "epochs": 0,
            "trained": False}
    extra = [ModelEntry(FUSION, "TF-IDF + EfficientNet-Lite0 (mean of cosine similarities)", "fusion", None,
                        "smoke", "combo", {**spec, "combine": "mean"}),
             ModelEntry(UNION, "TF-IDF ∪ EfficientNet-Lite0 (union of predicted sets)", "fusion", None, "smoke",
                        "combo", {**spec, "combine": "union"})]
    real = maps.umap_2d
    maps.umap_2d = _pca_2d
    for e in extra:
        register(e)
    try:
        build("smoke", data, out, k=K, only=LEAVES + [FUSION, UNION], umap=True)
    finally:
        maps.umap_2d = real
        for e in extra:
            _REGISTRY.pop((e.id, e.profile), None)
    add_vectorizer(out, data)
    return out


def dash_bundle_path(tmp_path_factory) -> Path:
    with _LOCK:
        if "path" not in _BUILT:
            _BUILT["path"] = build_dash_bundle(tmp_path_factory.mktemp("dash_bundle"))
        return _BUILT["path"]


@pytest.fixture(scope="session")
def dash_bundle(tmp_path_factory) -> Path:
    """Path of the shared dashboard test bundle (built on first use)."""
    return dash_bundle_path(tmp_path_factory)


def open_app(bundle_path, monkeypatch, page: str, rule: str | None = None):
    """AppTest of app.py on ``bundle_path``: the frame runs first (shared state), then ``page``."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SHOPEE_BUNDLE", str(bundle_path))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=60)
    at.run()
    if rule is not None:  # the sidebar's decision to start from (the app's default: best on valid)
        at.session_state["rule"] = rule
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at

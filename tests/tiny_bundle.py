"""A small but complete bundle for the dashboard tests, built once per test session.

Models: TF-IDF (sparse, with its query vectorizer), pHash, zero-shot MiniLM and
EfficientNet-Lite0 (all four ship query encoders), plus two combinations registered
for the build only - a mean fusion (TF-IDF + EfficientNet) and a union (TF-IDF ∪
EfficientNet) - and the INB×3 entry the builder adds for the best fusion. Nothing is
trained, so it builds in seconds. k = 3, so members of 4-posting groups always fall
outside some candidate list.

UMAP is replaced by a 2-D PCA while building: the real one needs ~30 s of numba JIT
and is tested on its own; the dashboard only reads the (N, 2) array.

Import the ``dash_bundle`` fixture into a test module to use it. ``hostile_bundle`` is a second one,
for the tests of seller text shown literally: a demo catalog whose every other title comes from the
hostile corpus, TF-IDF + pHash with the *all* pool, and an imported model with a hostile label.
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def _combos(members: list[str], fusion: str, union: str, what: str):
    """A mean fusion and a union of ``members`` registered (profile smoke) for one build only."""
    from shopee_core.models.registry import _REGISTRY, ModelEntry, register

    spec = {"members": list(members), "weights": None, "loss": None, "epochs": 0, "trained": False}
    extra = [ModelEntry(fusion, f"{what} (mean of cosine similarities)", "fusion", None, "smoke", "combo",
                        {**spec, "combine": "mean"}),
             ModelEntry(union, f"{what.replace(' + ', ' ∪ ')} (union of predicted sets)", "fusion", None, "smoke",
                        "combo", {**spec, "combine": "union"})]
    for e in extra:
        register(e)
    try:
        yield
    finally:
        for e in extra:
            _REGISTRY.pop((e.id, e.profile), None)


def _build(data: Path, out: Path, leaves: list[str], combos: tuple, pool_all: bool = False) -> Path:
    """The real builder (profile smoke, k = K) with the 2-D PCA for UMAP, then the TF-IDF vectorizer."""
    import shopee_core.analysis.maps as maps
    from shopee_core.bundle.builder import build

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    real = maps.umap_2d
    maps.umap_2d = _pca_2d
    try:
        with _combos(*combos):
            build("smoke", data, out, k=K, only=leaves + [combos[1], combos[2]], umap=True, pool_all=pool_all)
    finally:
        maps.umap_2d = real
    add_vectorizer(out, data)
    return out


def build_dash_bundle(root: Path) -> Path:
    """Catalog + bundle under ``root`` (returns the bundle folder)."""
    from tests.conftest import write_tiny_catalog

    data = root / "catalog"
    write_tiny_catalog(data)
    return _build(data, root / "dash", LEAVES, (["tfidf", "effnet_lite0_zeroshot"], FUSION, UNION,
                                                "TF-IDF + EfficientNet-Lite0"))


# ------------------------------------------------------------------ hostile seller text
HOSTILE_LEAVES = ["tfidf", "phash"]
HOSTILE_FUSION, HOSTILE_UNION = "tfidf_plus_phash", "tfidf_union_phash"
HOSTILE_MODEL = "hostile_label.v-1"  # imported: its label is hostile too
HOSTILE_LABEL = ("![l](http://tracker.invalid/label.png) **label** [x](javascript:alert(2)) :red[x] $1$ and $2$ "
                 "<b>b</b> =1+1 \u202eoverride")


def build_hostile_bundle(root: Path) -> Path:
    """A demo catalog whose every other title is hostile (``demo-data --hostile-titles``, 156
    postings at 64 px), a TF-IDF + pHash bundle with the *all* pool (every posting, so every title,
    in one split) and an imported model with a hostile label."""
    from shopee_core.bundle import Bundle
    from shopee_core.bundle.importer import import_model
    from shopee_core.data.demo import generate_catalog
    from shopee_core.data.demo.hostile import hostile_titles

    data = root / "catalog"
    titles = hostile_titles()
    generate_catalog(data, n_postings=6 * len(titles), seed=3, image_size=64, progress=False, hostile_titles=titles)
    out = _build(data, root / "hostile", HOSTILE_LEAVES, (HOSTILE_LEAVES, HOSTILE_FUSION, HOSTILE_UNION,
                                                           "TF-IDF + pHash"), pool_all=True)
    b = Bundle.open(out)
    rng = np.random.default_rng(0)
    labels = b.postings["label_group"].to_numpy()
    centre = {g: rng.normal(size=16) for g in np.unique(labels)}
    np.save(root / "x.npy", np.stack([centre[g] + rng.normal(scale=0.8, size=16) for g in labels]).astype(np.float32))
    b.postings[["posting_id"]].to_csv(root / "ids.csv", index=False)
    import_model(out, HOSTILE_MODEL, HOSTILE_LABEL, "text", embeddings=[root / "x.npy"], ids=[root / "ids.csv"],
                 umap=False)
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


@pytest.fixture(scope="session")
def hostile_bundle(tmp_path_factory) -> Path:
    """Path of the shared bundle of hostile seller texts (built on first use, a few seconds)."""
    with _LOCK:
        if "hostile" not in _BUILT:
            _BUILT["hostile"] = build_hostile_bundle(tmp_path_factory.mktemp("hostile_bundle"))
        return _BUILT["hostile"]


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

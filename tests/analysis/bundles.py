"""A tiny bundle holding every kind of manifest model: leaves (TF-IDF, pHash with
embeddings), a mean fusion, a union, and the ``<fusion>_inb3`` INB-only entry.

Built once per test session with the real builder (no UMAP: about 2 s); the two
combinations are registered for the build only and removed again.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

_BUILT: dict[str, Path] = {}

FUSION, UNION, INB3 = "tfidf_plus_phash", "tfidf_union_phash", "tfidf_plus_phash_inb3"


def tiny_bundle(tmp_path_factory) -> Path:
    """Path of the session's tiny bundle (built on first use)."""
    if "path" in _BUILT and (_BUILT["path"] / "manifest.json").exists():
        return _BUILT["path"]
    from shopee_core.bundle.builder import build
    from shopee_core.models.registry import _REGISTRY, ModelEntry, register

    from ..conftest import write_tiny_catalog

    root = tmp_path_factory.mktemp("tinybundle")
    write_tiny_catalog(root / "catalog", n_groups=40)
    spec = {"members": ["tfidf", "phash"], "weights": None, "loss": None, "epochs": 0, "trained": False}
    extra = [ModelEntry(FUSION, "TF-IDF + pHash (mean of cosine similarities)", "fusion", None, "smoke", "combo",
                        {**spec, "combine": "mean"}),
             ModelEntry(UNION, "TF-IDF ∪ pHash (union of predicted sets)", "fusion", None, "smoke", "combo",
                        {**spec, "combine": "union", "union_inb": True})]  # INB rows as the seed's 14 and 15
    for e in extra:
        register(e)
    try:
        build("smoke", root / "catalog", root / "bundle", only=["tfidf", "phash", FUSION, UNION], umap=False)
    finally:
        for e in extra:
            _REGISTRY.pop((e.id, e.profile), None)
    _BUILT["path"] = root / "bundle"
    return _BUILT["path"]


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    """The tiny bundle's folder (a fixture for modules that import it, and for tests/app's conftest)."""
    return tiny_bundle(tmp_path_factory)


@pytest.fixture(scope="module")
def bundle(path):
    from shopee_core.bundle import Bundle

    return Bundle.open(path)


APP = Path(__file__).resolve().parents[2] / "app.py"


def open_page(page: str, bundle_path: Path, monkeypatch, models=None, rule: str | None = None):
    """An AppTest of ``app.py`` on ``bundle_path`` switched to ``page`` (no exception); ``rule``:
    the sidebar's decision to start from (the app's default is "best on valid")."""
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SHOPEE_BUNDLE", str(bundle_path))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.run()  # the frame first: the frame sets up shared state before any page
    if models is not None:
        at.session_state["models"] = list(models)
    if rule is not None:
        at.session_state["rule"] = rule
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at, label: str):
    """The st.metric whose label reads ``label`` (labels go through dashboard.text.md, whose
    backslash escapes Markdown renders away)."""
    def read(text):
        return re.sub(r"\\(.)", r"\1", text)

    found = [m for m in at.metric if read(m.label) == read(label)]
    assert found, f"no metric {label!r}: {[m.label for m in at.metric]}"
    return found[0]

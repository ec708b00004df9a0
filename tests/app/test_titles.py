"""Titles holding literal escape sequences ("L\\xc3\\xa9ngket") are shown decoded on every page."""

import pandas as pd
import pytest

from tests.analysis.bundles import open_page

RAW, SHOWN = "Sambal L\\xc3\\xa9ngket \\xe2\\x9c\\xa8", "Sambal Léngket ✨"


@pytest.fixture(scope="module")
def escaped(tmp_path_factory):
    """A tfidf + phash bundle whose every title starts with literal escape sequences."""
    from shopee_core.bundle.builder import build
    from tests.conftest import write_tiny_catalog

    root = tmp_path_factory.mktemp("escaped")
    write_tiny_catalog(root / "catalog", n_groups=30)
    csv = root / "catalog" / "train.csv"
    frame = pd.read_csv(csv, dtype=str)
    frame["title"] = RAW + " " + frame["title"]
    frame.to_csv(csv, index=False)
    build("smoke", root / "catalog", root / "bundle", only=["tfidf", "phash"], umap=False)
    return root / "bundle"


def _texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    for box in at.selectbox:
        parts += [str(o) for o in box.options]  # the labels as shown
    for frame in at.dataframe:
        parts += [str(v) for v in frame.value.get("title", [])]
    return "\n".join(parts)


@pytest.mark.parametrize("page", ["app_pages/failures.py", "app_pages/query.py", "app_pages/compare.py"])
def test_titles_are_decoded_where_shown(escaped, monkeypatch, page):
    at = open_page(page, escaped, monkeypatch, models=["tfidf", "phash"], rule="min2")
    text = _texts(at)
    assert SHOWN in text, page
    assert "\\xc3" not in text and "\\xe2" not in text, page

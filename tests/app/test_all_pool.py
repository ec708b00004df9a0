"""Every page on the 'all' pool (every labelled posting in one candidate pool), chosen in the sidebar."""

import pytest

from shopee_core.analysis import decisions as D
from shopee_core.bundle import Bundle
from shopee_core.bundle.builder import build
from tests.analysis.bundles import APP, metric

PAGES = ["app_pages/leaderboard.py", "app_pages/query.py", "app_pages/compare.py", "app_pages/embedding.py",
         "app_pages/thresholds.py", "app_pages/failures.py"]


@pytest.fixture(scope="module")
def all_path(tmp_path_factory):
    from tests.conftest import write_tiny_catalog

    root = tmp_path_factory.mktemp("allpages")
    write_tiny_catalog(root / "cat", n_groups=50)
    build("smoke", root / "cat", root / "bundle", only=["tfidf", "phash"], umap=True, pool_all=True)
    return root / "bundle"


def test_the_sidebar_offers_the_all_pool_and_every_page_renders_on_it(all_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SHOPEE_BUNDLE", str(all_path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.session_state["rule"] = "min2"  # the tuned Min2 decision (the app's default is best on valid)
    radio = at.sidebar.radio[0]
    assert list(radio.options) == ["test", "valid", "all labelled"]
    radio.set_value("all").run()
    b = Bundle.open(all_path)
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
    at.switch_page("app_pages/thresholds.py").run()
    f1 = D.scores(b, D.decision(b, "tfidf"), "all")["f1"]
    assert metric(at, "F1").value == f"{f1:.4f}"
    assert any("all labelled postings" in c.value for c in at.caption)

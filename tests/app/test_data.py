"""The Data overview page (AppTest) on the demo-like tiny bundle's test pool and on its 'all' pool."""

from shopee_core.analysis import data_overview as D
from shopee_core.bundle import Bundle
from tests.analyses_bundle import analyses_bundle  # noqa: F401  (session fixture)
from tests.analysis.bundles import open_page

PAGE = "app_pages/data.py"


def test_the_page_shows_the_pool_numbers(analyses_bundle, monkeypatch):  # noqa: F811
    at = open_page(PAGE, analyses_bundle, monkeypatch)
    b = Bundle.open(analyses_bundle)
    counts = b.manifest["dataset"]["counts"]
    assert [m.value for m in at.metric][:3] == [f"{counts[s]:,}" for s in ("train", "valid", "test")]
    titles = D.repeated_titles(D.pool_frame(b, "test"))
    same = [m for m in at.metric if m.label == f"Repeated titles, {D.SAME}"][0]
    assert same.value == f"{int((titles['kind'] == D.SAME).sum()):,}"
    assert len(at.get("plotly_chart")) >= 5
    # every chart's numbers downloadable
    labels = [d.proto.label for d in at.get("download_button")]
    for want in ("Split sizes as CSV", "Group sizes as CSV", "Repeated titles as CSV", "Title lengths as CSV",
                 "Token counts as CSV", "Postings with the same pHash, as CSV", "Postings with the same image file, as CSV"):
        assert want in labels, labels
    # titles are shown literally: as text elements, never Markdown
    shown = [t.value for t in at.text]
    assert all(not s.startswith("#") for s in shown)


def test_the_page_on_the_all_pool_and_the_word_cloud(analyses_bundle, monkeypatch):  # noqa: F811
    from streamlit.testing.v1 import AppTest

    from tests.analysis.bundles import APP

    monkeypatch.setenv("SHOPEE_BUNDLE", str(analyses_bundle))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    at.sidebar.radio[0].set_value("all").run()
    at.switch_page(PAGE).run()
    assert not at.exception, [e.value for e in at.exception]
    b = Bundle.open(analyses_bundle)
    assert any(f"{len(b.postings):,} postings" in c.value for c in at.caption)
    at.toggle(key="data-cloud").set_value(True).run()
    assert not at.exception
    assert len(at.get("image")) == 1


def test_both_pages_on_the_shipped_demo_bundle(monkeypatch):
    """The shipped bundle (built before image file names shipped) shows pHash sharing only, and says so."""
    from pathlib import Path

    demo = Path(__file__).resolve().parents[2] / "precomputed" / "demo"
    at = open_page(PAGE, demo, monkeypatch)
    assert len(at.get("plotly_chart")) >= 5
    if "image" not in Bundle.open(demo).postings:
        assert any("does not list image file names" in c.value for c in at.caption)
    at.switch_page("app_pages/training.py").run()
    assert not at.exception, [e.value for e in at.exception]

"""AppTest of the embedding map: every colouring renders; only models with a map are offered.

Box/lasso selections cannot be driven by AppTest: ``selected_rows`` is unit-tested instead
(tests/analysis/test_query.py)."""

import pytest

from tests.tiny_bundle import FUSION, INB3, UNION, dash_bundle, open_app  # noqa: F401  (session fixture)


@pytest.fixture
def app(dash_bundle, monkeypatch):  # noqa: F811
    return open_app(dash_bundle, monkeypatch, "app_pages/embedding.py")


def charts(at):
    return at.get("plotly_chart")


def test_every_colouring_and_model(app):
    options = [o.split(" — ")[0] for o in app.selectbox(key="emb-model").options]
    assert FUSION in options and UNION not in options and INB3 not in options
    assert len(charts(app)) == 1
    for colour in ("correctness", "error type", "split", "label group"):
        app.radio(key="emb-colour").set_value(colour).run()
        assert not app.exception, (colour, [e.value for e in app.exception])
        assert len(charts(app)) == 1
    app.selectbox(key="emb-model").set_value(FUSION).run()
    assert not app.exception
    app.toggle(key="emb-hl").set_value(False).run()
    assert not app.exception and len(charts(app)) == 1
    assert not [b for b in app.button if b.key == "emb-random"]


def test_highlight_follows_the_shared_posting(app):
    app.button(key="emb-random").click().run()
    assert not app.exception
    pid = app.session_state["posting"]
    assert app.selectbox(key="emb-select").value is not None
    app.switch_page("app_pages/query.py").run()
    assert not app.exception and app.session_state["posting"] == pid

"""AppTest of Compare models: side-by-side galleries, the agreement grid and its examples, winners."""

import pytest

from shopee_core.analysis import agreement as ag
from shopee_core.analysis import decisions
from shopee_core.bundle import Bundle
from tests.tiny_bundle import dash_bundle, open_app  # noqa: F401  (session fixture)


@pytest.fixture
def app(dash_bundle, monkeypatch):  # noqa: F811
    return open_app(dash_bundle, monkeypatch, "app_pages/compare.py")


def test_compare_renders_agreement_for_the_chosen_pair(app, dash_bundle):  # noqa: F811
    bundle = Bundle.open(dash_bundle)
    split = app.session_state["split"]
    models = app.multiselect(key="cmp-models").value
    assert len(models) >= 2
    for mid in models:  # one side-by-side gallery per model
        assert any(b.key.startswith(f"cmp-{mid}-open-") for b in app.button if b.key)
    a, b = app.selectbox(key="cmp-a").value, app.selectbox(key="cmp-b").value
    rule = app.session_state["rule"]  # both models on the sidebar's decision
    want = ag.pair_agreement(decisions.predictions(bundle, a, split, **decisions.chosen(bundle, a, rule).setting),
                             decisions.predictions(bundle, b, split, **decisions.chosen(bundle, b, rule).setting),
                             bundle.labels(split))
    shown = {m.label: m.value for m in app.metric}
    assert shown["Both right"] == f"{want.counts['both_right']:,}"
    assert shown["Only A right"] == f"{want.counts['only_a']:,}"
    assert shown["Only B right"] == f"{want.counts['only_b']:,}"
    assert shown["Both wrong"] == f"{want.counts['both_wrong']:,}"
    for cell in ag.CELLS:
        app.radio(key="cmp-cell").set_value(cell).run()
        assert not app.exception
        pairs = [k.key for k in app.button if k.key and k.key.startswith(f"cmp-pairs-{cell}-pair-")]
        assert len(pairs) == min(12, want.counts[cell]), cell


def test_other_pair_and_single_model(app):
    models = app.multiselect(key="cmp-models").value
    app.selectbox(key="cmp-a").select(models[1]).run()
    assert not app.exception
    assert app.selectbox(key="cmp-b").value != models[1]
    app.multiselect(key="cmp-models").set_value(["tfidf", "phash", "minilm_zeroshot"]).run()
    assert not app.exception and app.session_state["models"] == ["tfidf", "phash", "minilm_zeroshot"]
    assert len(app.dataframe) >= 2  # winners table + pairwise table
    app.multiselect(key="cmp-models").set_value(["tfidf"]).run()
    assert not app.exception
    assert any("at least two" in i.value for i in app.info)


def test_shared_selection_is_topped_up_not_rewritten(app):
    app.switch_page("app_pages/query.py").run()
    app.multiselect(key="q-models").set_value(["phash"]).run()
    assert app.session_state["models"] == ["phash"]
    app.switch_page("app_pages/compare.py").run()
    assert not app.exception
    shown = app.multiselect(key="cmp-models").value
    assert shown[0] == "phash" and len(shown) == 2
    assert app.session_state["models"] == ["phash"]  # opening a page does not rewrite the selection

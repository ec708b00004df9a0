"""Selections survive a round trip: set a page's controls, visit another page, come back — and reload.

Streamlit drops a widget's state on every run that does not draw it (any page switch), so each page
test changes its controls away from their defaults, switches to another page and back, and checks
the controls (and what they drive) are where the user left them. The reload test opens a fresh
session on the URL the first one wrote.
"""

import pytest
from streamlit.testing.v1 import AppTest

from tests.tiny_bundle import FUSION, dash_bundle, open_app  # noqa: F401  (session fixture)

LB, QUERY, CMP, EMB, TH, FB, DATA, TRAIN = (f"app_pages/{p}.py" for p in (
    "leaderboard", "query", "compare", "embedding", "thresholds", "failures", "data", "training"))


def away_and_back(at, page: str, via: str = LB) -> None:
    at.switch_page(via if via != page else QUERY).run()
    assert not at.exception, [e.value for e in at.exception]
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]


@pytest.fixture
def app(dash_bundle, monkeypatch):  # noqa: F811
    return lambda page: open_app(dash_bundle, monkeypatch, page)


def test_leaderboard(app):
    at = app(LB)
    at.selectbox(key="lb-sort").set_value("Recall").run()
    at.pills(key="lb-families").set_value(["fusion"]).run()
    at.multiselect(key="lb-models").set_value(["phash", "tfidf"]).run()
    away_and_back(at, LB)
    assert at.selectbox(key="lb-sort").value == "Recall"
    assert at.pills(key="lb-families").value == ["fusion"]
    assert at.multiselect(key="lb-models").value == ["phash", "tfidf"]
    assert set(n.lstrip("★ ") for n in at.dataframe[0].value["name"]) <= {FUSION, f"{FUSION}_inb3",
                                                                          "tfidf_union_effnet"}


def test_query(app):
    at = app(QUERY)
    at.multiselect(key="q-models").set_value(["phash", "tfidf"]).run()
    at.number_input(key="q-extra").set_value(0).run()
    posting = at.session_state["posting"]
    away_and_back(at, QUERY)
    assert at.multiselect(key="q-models").value == ["phash", "tfidf"]  # was "Choose at least one model."
    assert at.number_input(key="q-extra").value == 0
    assert at.session_state["posting"] == posting
    assert not [i for i in at.info if "Choose at least" in i.value]


def test_compare(app):
    at = app(CMP)
    at.multiselect(key="cmp-models").set_value(["tfidf", "phash"]).run()
    at.radio(key="cmp-cell").set_value("only_b").run()
    at.selectbox(key="cmp-ha").set_value("phash").run()
    away_and_back(at, CMP)
    assert at.multiselect(key="cmp-models").value == ["tfidf", "phash"]  # was "Choose at least two models."
    assert at.radio(key="cmp-cell").value == "only_b"
    assert at.selectbox(key="cmp-ha").value == "phash"


def test_embedding(app):
    at = app(EMB)
    at.radio(key="emb-colour").set_value("correctness").run()
    at.slider(key="emb-size").set_value(3).run()
    away_and_back(at, EMB)
    assert at.radio(key="emb-colour").value == "correctness"
    assert at.slider(key="emb-size").value == 3


def test_thresholds(app):
    at = app(TH)
    at.selectbox(key="th-model").set_value(FUSION).run()
    iters = f"th-m-{FUSION}-iters"
    at.select_slider(key=iters).set_value(1).run()
    t_key = f"th-m-{FUSION}-inb1-t"
    at.slider(key=t_key).set_value(0.2).run()
    at.segmented_control(key="th-view").set_value("sizes").run()
    f1 = at.metric[0].value
    away_and_back(at, TH)
    assert at.selectbox(key="th-model").value == FUSION
    assert at.select_slider(key=iters).value == 1  # was back at 0
    assert at.slider(key=t_key).value == pytest.approx(0.2)
    assert at.segmented_control(key="th-view").value == "sizes"
    assert at.metric[0].value == f1


def test_failures(app):
    at = app(FB)
    at.selectbox(key="fb-model").set_value("tfidf").run()
    mid, rule = "tfidf", at.session_state["rule"]
    assert at.segmented_control(key=f"fb-variant-{mid}-{rule}").value != "base"  # "best": tfidf's best is not plain
    at.segmented_control(key=f"fb-variant-{mid}-{rule}").set_value("base").run()
    at.pills(key="fb-types").set_value(["missed"]).run()
    at.toggle(key="fb-all").set_value(True).run()
    at.text_input(key="fb-search").input("a").run()
    rows = len(at.dataframe[0].value)
    away_and_back(at, FB)
    assert at.selectbox(key="fb-model").value == mid
    assert at.segmented_control(key=f"fb-variant-{mid}-{rule}").value == "base"
    assert at.pills(key="fb-types").value == ["missed"]
    assert at.toggle(key="fb-all").value is True
    assert at.text_input(key="fb-search").value == "a"
    assert len(at.dataframe[0].value) == rows
    assert any("Override on this page" in w.value for w in at.warning)  # the override stays visible


def test_data_and_training(app):
    at = app(TRAIN)
    trained = at.multiselect(key="train-models") if any(m.key == "train-models" for m in at.multiselect) else None
    if trained is not None and len(trained.options) > 1:  # the tiny bundle trains nothing: then no curves to pick
        at.multiselect(key="train-models").set_value(trained.options[-1:]).run()
        away_and_back(at, TRAIN)
        assert at.multiselect(key="train-models").value == trained.options[-1:]
    at.switch_page(DATA).run()
    at.toggle(key="data-cloud").set_value(True).run()
    away_and_back(at, DATA)
    assert at.toggle(key="data-cloud").value is True


def test_reload_restores_the_url_state(dash_bundle, monkeypatch):  # noqa: F811
    at = open_app(dash_bundle, monkeypatch, CMP)
    at.selectbox(key="sidebar-decision").set_value("base").run()
    at.multiselect(key="cmp-models").set_value(["tfidf", "phash"]).run()
    params = dict(at.query_params)
    assert params.get("rule") == "base" and params.get("models") == "tfidf,phash"
    fresh = AppTest.from_file(at._script_path, default_timeout=60)
    fresh.query_params.update(params)
    fresh.run()
    fresh.switch_page(CMP).run()
    assert not fresh.exception
    assert fresh.selectbox(key="sidebar-decision").value == "base"
    assert fresh.multiselect(key="cmp-models").value == ["tfidf", "phash"]


def test_group_studio(app):
    at = app("app_pages/groups.py")
    at.segmented_control(key="gs-kind").set_value("true").run()
    away_and_back(at, "app_pages/groups.py")
    assert at.segmented_control(key="gs-kind").value == "true"

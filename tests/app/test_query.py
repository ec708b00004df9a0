"""AppTest of Query by example: a posting's galleries per model, search, random, typed-title queries."""

import numpy as np
import pytest

from shopee_core.analysis import decisions
from shopee_core.analysis import leaderboard as lb
from shopee_core.analysis import query as q
from shopee_core.bundle import Bundle
from tests.tiny_bundle import dash_bundle, open_app  # noqa: F401  (session fixture)

PAGE = "app_pages/query.py"



@pytest.fixture
def app(dash_bundle, monkeypatch):  # noqa: F811
    return open_app(dash_bundle, monkeypatch, PAGE)


@pytest.fixture(scope="module")
def bundle(dash_bundle):  # noqa: F811
    return Bundle.open(dash_bundle)


def opened(at, prefix: str) -> list[str]:
    return [b.key for b in at.button if b.key and b.key.startswith(prefix)]


def expected(bundle, mid, split, row, extra=3):
    pred = decisions.predictions(bundle, mid, split, **decisions.chosen(bundle, mid, "best").setting)  # the sidebar's
    return q.posting_matches(bundle, mid, split, row, pred[row], extra=extra)


def current_row(at, bundle, split):
    ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)]
    return int(np.flatnonzero(ids == at.session_state["posting"])[0])


def test_default_posting_shows_one_gallery_per_default_model(app, bundle):
    split = app.session_state["split"]
    models = app.multiselect(key="q-models").value
    assert models == lb.ranked(bundle, "best")[:2]  # the best and the runner-up under the sidebar's decision
    row = current_row(app, bundle, split)
    for mid in models:
        assert len(opened(app, f"q-{mid}-open-")) == len(expected(bundle, mid, split, row)), mid
    assert any("Query by example" in t.value for t in app.title)


def test_search_then_pick_a_posting(app, bundle):
    split = app.session_state["split"]
    rows = bundle.split_rows(split)
    target = 5
    pid = str(bundle.postings["posting_id"].iat[rows[target]])
    app.text_input(key="q-search").input(pid).run()
    box = app.selectbox(key="q-select")
    assert any(o.endswith(pid) for o in box.options)  # options are shown as "title · posting_id"
    box.set_value(target).run()
    assert not app.exception
    assert app.session_state["posting"] == pid
    for mid in app.multiselect(key="q-models").value:
        assert len(opened(app, f"q-{mid}-open-")) == len(expected(bundle, mid, split, target)), mid


def test_models_near_misses_random_and_open(app, bundle):
    split = app.session_state["split"]
    app.multiselect(key="q-models").set_value(["phash"]).run()
    app.number_input(key="q-extra").set_value(0).run()
    assert not app.exception
    assert app.session_state["models"] == ["phash"]
    row = current_row(app, bundle, split)
    assert len(opened(app, "q-phash-open-")) == len(expected(bundle, "phash", split, row, extra=0))
    before = app.session_state["posting"]
    for _ in range(5):  # a random draw can repeat the same posting
        app.button(key="q-random").click().run()
        assert not app.exception
        if app.session_state["posting"] != before:
            break
    assert app.session_state["posting"] != before
    keys = opened(app, "q-phash-open-")
    if keys:
        target = keys[0].rsplit("-", 1)[-1]
        app.button(key=keys[0]).click().run()
        assert not app.exception and app.session_state["posting"] == target


def test_typed_title_queries_the_text_encoders(app, bundle):
    split = app.session_state["split"]
    app.radio(key="query-mode").set_value("Upload a photo / type a title").run()
    assert not app.exception
    assert any("Upload a product photo" in i.value for i in app.info)
    title = str(bundle.postings["title"].iat[bundle.split_rows(split)[2]])
    app.text_input(key="q-title").input(title).run()
    assert not app.exception, [e.value for e in app.exception]
    app.multiselect(key="q-up-models").set_value(["tfidf", "minilm_zeroshot", "phash"]).run()
    assert not app.exception
    for mid in ("tfidf", "minilm_zeroshot"):
        got = q.upload_matches(bundle, mid, split, title=title, top=12)
        assert len(opened(app, f"qu-{mid}-open-")) == len(got), mid
    assert not opened(app, "qu-phash-open-")
    assert any("needs image" in c.value for c in app.caption)


def test_a_fusions_tile_shows_its_members_and_opens_the_pair_in_the_plane(app, bundle):
    from tests.tiny_bundle import FUSION
    app.multiselect(key="q-models").set_value([FUSION]).run()
    assert not app.exception
    lines = [m.value for m in app.markdown if "carried" in m.value]
    assert lines and all((" img " in v or "img " in v) and "txt " in v for v in lines)
    plane = [b for b in app.button if b.key and b.key.startswith(f"q-{FUSION}-plane-")]
    assert plane and len(plane) == len(opened(app, f"q-{FUSION}-open-"))
    query = app.session_state["posting"]
    other = plane[0].key.rsplit("-", 1)[-1]
    plane[0].click().run()
    assert not app.exception, [e.value for e in app.exception]
    assert app.session_state["models"][0] == FUSION and app.session_state["posting"] == query
    assert app.segmented_control(key="th-view").value == "plane"
    marked = [c.value for c in app.caption if "The pair opened from a tile" in c.value]
    assert marked and query in marked[0] and other in marked[0]

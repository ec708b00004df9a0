"""AppTest of the embedding map: every colouring renders; only models with a map are offered.

Box/lasso selections cannot be driven by AppTest: ``selected_rows`` is unit-tested instead
(tests/analysis/test_query.py)."""

import base64
import json

import numpy as np
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


def _values(v) -> np.ndarray:
    """A trace array from the spec: plotly sends numpy arrays as base64 typed arrays."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"]))
    return np.asarray(v)


def test_group_colours_send_every_posting_once_with_one_colour_per_group(app, dash_bundle):  # noqa: F811
    """The label-group map draws each posting once (every point selectable by its row) and all members
    of a group in one colour, whatever traces the colours are split into."""
    from shopee_core.bundle import Bundle

    app.radio(key="emb-colour").set_value("label group").run()
    app.toggle(key="emb-hl").set_value(False).run()
    assert not app.exception
    spec = json.loads(charts(app)[0].proto.spec)
    rows, colours = [], []
    for trace in spec["data"]:
        r = _values(trace["customdata"]).astype(int)
        c = trace["marker"]["color"]
        assert isinstance(c, str), "one flat colour per trace"
        rows.append(r)
        colours += [c] * len(r)
    rows = np.concatenate(rows)
    bundle = Bundle.open(dash_bundle, verify=False)
    split = app.session_state["split"]
    pool = bundle.split_rows(split)
    assert sorted(rows.tolist()) == sorted(pool.tolist())  # each posting exactly once
    groups = bundle.postings["label_group"].to_numpy()[rows]
    by_group: dict = {}
    for g, c in zip(groups, colours):
        by_group.setdefault(g, set()).add(c)
    assert all(len(cs) == 1 for cs in by_group.values())
    assert len(set(colours)) > 1

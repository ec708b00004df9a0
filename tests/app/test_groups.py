"""AppTest of the Group studio, the graph step on Thresholds and the graph variant on the Failure browser."""

import pytest

from shopee_core.analysis import decisions as D
from shopee_core.analysis import groups as GR
from tests.analysis.bundles import UNION, metric
from tests.analysis.bundles import open_page as _open_page

PAGE = "app_pages/groups.py"


def open_page(page, path, monkeypatch, models=None):
    """These tests start from the tuned Min2 decision (the sidebar's Min2)."""
    return _open_page(page, path, monkeypatch, models=models, rule="min2")


def graph_box(at):
    return next(sb for sb in at.selectbox if str(sb.key).startswith("gs-graph-"))


def test_table_worst_first_select_a_group_and_it_draws(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=["tfidf"])
    graph_box(at).set_value("none").run()
    want = GR.group_table(bundle, "tfidf", "test", {"min2": True}, "predicted")
    shown = at.dataframe[0].value
    assert list(shown["size"]) == list(want["size"].head(len(shown)))
    assert shown["f1_lost"].is_monotonic_decreasing
    assert float(metric(at, "F1").value) == pytest.approx(D.scores(bundle, "tfidf", "test")["f1"], abs=1e-4)
    codes = list(want["code"].head(len(shown)))
    assert len(at.selectbox(key="gs-group-predicted").options) == len(codes)
    at.selectbox(key="gs-group-predicted").set_value(codes[-1]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.get("plotly_chart"), "the group's graph is drawn"
    assert any(m.value.startswith("#### Predicted group") for m in at.markdown)


def test_what_if_cut_changes_the_pool_f1(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=["tfidf"])
    graph_box(at).set_value("none").run()
    # the group losing most F1 with a predicted edge: a cut moves two rows' F1, so the pool's
    assert at.selectbox(key="gs-edge").options, "the worst group has an edge to cut"
    before = float(metric(at, "F1").value)
    at.button(key="gs-cut").click().run()
    assert not at.exception, [e.value for e in at.exception]
    after = [m for m in at.metric if m.label == "F1"][-1]
    assert after.delta not in (None, "±0.0000") and float(after.value) != pytest.approx(before, abs=1e-6)
    assert metric(at, "Rows re-scored").value == "2"
    at.button(key="gs-detach").click().run()
    assert not at.exception and metric(at, "Rows re-scored").value != "0"
    at.button(key="gs-reset").click().run()
    assert not any(m.label == "Rows re-scored" for m in at.metric)


def test_every_graph_step_true_groups_and_filters(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=[UNION])
    for step in ("mutual", "closure", "cluster", "cut-bridges", "none"):
        graph_box(at).set_value(step).run()
        assert not at.exception, (step, [e.value for e in at.exception])
    graph_box(at).set_value("closure").run()
    at.number_input(key="gs-param-closure").set_value(2).run()
    d = D.decision(bundle, UNION, graph="closure:2")
    assert float(metric(at, "F1").value) == pytest.approx(D.scores(bundle, d, "test")["f1"], abs=1e-4)
    assert metric(at, "Largest predicted group").value in ("1", "2")
    at.button(key="gs-best").click().run()
    assert not at.exception
    at.segmented_control(key="gs-kind").set_value("true").run()
    table = at.dataframe[0].value
    assert not at.exception and len(table) > 0
    at.pills(key="gs-shapes").set_value(["split"]).run()
    assert set(at.dataframe[0].value["shape"]) <= {"split"}


def test_tuned_graph_step_is_the_default_where_the_bundle_has_one(path, bundle, monkeypatch):
    with_graph = [m["id"] for m in bundle.models if (m["thresholds"].get("graph") and not D.is_union(bundle, m["id"]))]
    if not with_graph:
        pytest.skip("the tiny bundle's tuning kept no graph step")
    mid = with_graph[0]
    at = open_page(PAGE, path, monkeypatch, models=[mid])
    assert graph_box(at).value == "tuned"
    assert float(metric(at, "F1").value) == pytest.approx(bundle.model(mid)["metrics"]["test"]["graph"]["f1"],
                                                          abs=1e-4)


def test_thresholds_graph_step_rescores(path, bundle, monkeypatch):
    at = open_page("app_pages/thresholds.py", path, monkeypatch, models=["tfidf"])
    box = next(sb for sb in at.selectbox if str(sb.key).endswith("-graph"))
    box.set_value("mutual").run()
    assert not at.exception, [e.value for e in at.exception]
    want = D.scores(bundle, D.decision(bundle, "tfidf", graph="mutual"), "test")["f1"]
    assert float(metric(at, "F1").value) == pytest.approx(want, abs=1e-4)


def test_failure_browser_offers_the_graph_variant(path, bundle, monkeypatch):
    mid = next((m["id"] for m in bundle.models if m["thresholds"].get("graph")), None)
    if mid is None:
        pytest.skip("the tiny bundle's tuning kept no graph step")
    at = open_page("app_pages/failures.py", path, monkeypatch, models=[mid])
    at.segmented_control(key=f"fb-variant-{mid}-min2").set_value("graph").run()
    assert not at.exception, [e.value for e in at.exception]
    want = bundle.model(mid)["metrics"]["test"]["graph"]["f1"]
    assert float(metric(at, "Mean F1").value) == pytest.approx(want, abs=1e-4)

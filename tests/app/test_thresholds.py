"""AppTest of Thresholds & decisions: sliders drive F1 exactly as the core computes it."""

import pytest

from shopee_core import matching as M
from shopee_core.analysis import decisions as D
from shopee_core.analysis import plane as P
from tests.analysis.bundles import FUSION, INB3, UNION, metric
from tests.analysis.bundles import open_page as _open_page

PAGE = "app_pages/thresholds.py"


def open_page(page, path, monkeypatch, models=None):
    """These tests start from the tuned Min2 decision (the sidebar's Min2)."""
    return _open_page(page, path, monkeypatch, models=models, rule="min2")


def shown(at):
    return {k: metric(at, k) for k in ("F1", "Precision", "Recall")}


def check(at, bundle, d, ref):
    cur, base = D.scores(bundle, d, "test"), D.scores(bundle, ref, "test")
    for label, key in (("F1", "f1"), ("Precision", "precision"), ("Recall", "recall")):
        m = metric(at, label)
        assert m.value == f"{cur[key]:.4f}"
        delta = cur[key] - base[key]
        assert m.delta == ("= tuned" if abs(delta) < 5e-5 else f"{delta:+.4f} Δ vs tuned")


def test_t_slider_changes_f1_by_exactly_the_core_amount(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=["tfidf"])
    assert at.selectbox(key="th-model").value == "tfidf"
    check(at, bundle, D.decision(bundle, "tfidf"), D.decision(bundle, "tfidf"))
    before = metric(at, "F1").value
    at.slider(key="th-m-tfidf-inb0-t").set_value(0.2).run()
    assert not at.exception
    th = bundle.model("tfidf")["thresholds"]
    moved = D.decision(bundle, "tfidf", t=0.2)
    check(at, bundle, moved, D.decision(bundle, "tfidf"))
    assert metric(at, "F1").value != before
    # Min2 off, then a loose T2 on
    at.toggle(key="th-m-tfidf-inb0-min2").set_value(False).run()
    check(at, bundle, D.decision(bundle, "tfidf", t=0.2, min2=False), D.decision(bundle, "tfidf"))
    at.toggle(key="th-m-tfidf-inb0-min2").set_value(True).run()
    at.slider(key="th-m-tfidf-inb0-t2").set_value(0.9).run()
    check(at, bundle, D.decision(bundle, "tfidf", t=0.2, t2=0.9), D.decision(bundle, "tfidf"))
    # reset: back to the tuned setting
    at.button(key="th-reset").click().run()
    assert at.slider(key="th-m-tfidf-inb0-t").value == pytest.approx(th["t"])
    check(at, bundle, D.decision(bundle, "tfidf"), D.decision(bundle, "tfidf"))


def test_union_sides_and_every_view(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=[UNION])
    at.slider(key=f"th-m-{UNION}-t-1").set_value(0.1).run()
    tuned = D.decision(bundle, UNION)
    moved = tuned.with_side(1, t=0.1)
    check(at, bundle, moved, tuned)
    for view in ("sizes", "plane", "curves"):
        at.segmented_control(key="th-view").set_value(view).run()
        assert not at.exception, [e.value for e in at.exception]
        if view == "plane":
            _, info = P.plane(bundle, moved, "test", "phash", "tfidf")
            caption = next(c.value for c in at.caption if "Directed candidate pairs" in c.value)
            assert f"TP {info['counts']['TP']:,} · FP {info['counts']['FP']:,}" in caption
    assert len(at.get("download_button")) == 1


def test_inb_iterations_and_reweighting(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=[FUSION])
    at.select_slider(key=f"th-m-{FUSION}-iters").set_value(2).run()
    assert not at.exception, [e.value for e in at.exception]
    check(at, bundle, D.decision(bundle, FUSION, inb=2), D.decision(bundle, FUSION, inb=1))
    at.select_slider(key=f"th-m-{FUSION}-iters").set_value(0).run()
    at.toggle(key=f"th-m-{FUSION}-reweight").set_value(True).run()
    at.slider(key=f"th-m-{FUSION}-w-tfidf").set_value(0.8).run()
    at.slider(key=f"th-m-{FUSION}-w-phash").set_value(0.2).run()
    assert not at.exception, [e.value for e in at.exception]
    # live: scored on the members' candidate union, and the page says so
    check(at, bundle, D.decision(bundle, FUSION, weights=[0.8, 0.2], knn="candidates"), D.decision(bundle, FUSION))
    assert any("candidate scoring" in c.value for c in at.caption)
    # the exact search on request, for these weights only
    at.button(key=f"th-m-{FUSION}-exact-btn").click().run()
    check(at, bundle, D.decision(bundle, FUSION, weights=[0.8, 0.2], knn="exact"), D.decision(bundle, FUSION))
    assert any("exact search" in c.value for c in at.caption)
    at.slider(key=f"th-m-{FUSION}-w-phash").set_value(0.3).run()
    check(at, bundle, D.decision(bundle, FUSION, weights=[0.8, 0.3], knn="candidates"), D.decision(bundle, FUSION))


def test_pool_size_view(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=["tfidf"])
    at.segmented_control(key="th-view").set_value("pool").run()
    assert not at.exception, [e.value for e in at.exception]
    d = D.chosen_decision(bundle, "tfidf", at.session_state["rule"])
    draws = D.pool_size_draws(bundle, d, "test", draws=4)
    shown_table = at.dataframe[0].value
    band = M.pool_size_band(draws)
    assert list(shown_table["postings"]) == list(band["postings"])
    assert shown_table["postings"].iloc[-1] == len(bundle.split_rows("test"))
    assert list(shown_table["t"]) == pytest.approx(list(band["t"]))
    assert any("Nested pools of whole label groups" in c.value for c in at.caption)
    n = len(bundle.split_rows("test"))
    ext = M.extrapolate(draws, 2 * n)
    info = [i.value for i in at.info if "Extrapolated to" in i.value]
    assert info and f"{2 * n:,} postings" in info[0] and f"{ext['t']['mean']:.3f}" in info[0]
    assert "an extrapolation, not a measurement" in info[0]
    at.number_input(key="th-pool-target").set_value(n).run()  # no extrapolation at the pool's own size
    assert not [i for i in at.info if "polated to" in i.value]


def test_inb_only_entry_and_custom_modes(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=[INB3])
    check(at, bundle, D.decision(bundle, INB3), D.decision(bundle, INB3))
    at.segmented_control(key="th-mode").set_value("fusion").run()
    assert not at.exception, [e.value for e in at.exception]
    members = at.multiselect(key="th-f-members").value
    assert len(members) == 2
    tuned = D.custom_fusion(bundle, members, [0.5, 0.5], knn="candidates")
    check(at, bundle, tuned, tuned)
    at.segmented_control(key="th-mode").set_value("union").run()
    assert not at.exception, [e.value for e in at.exception]
    members = at.multiselect(key="th-u-members").value
    scope = f"th-u-{'+'.join(members)}"
    at.slider(key=f"{scope}-t-0").set_value(0.15).run()
    tuned = D.custom_union(bundle, [(m,) for m in members])
    check(at, bundle, tuned.with_side(0, t=0.15), tuned)
    at.button(key="th-best").click().run()
    assert not at.exception, [e.value for e in at.exception]
    check(at, bundle, D.tuned(bundle, tuned), tuned)


def test_a_union_with_inb_moves_each_sides_inb_thresholds(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=[UNION])
    at.toggle(key=f"th-m-{UNION}-inb").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    tuned = D.decision(bundle, UNION, inb=1)
    check(at, bundle, tuned, tuned)
    at.slider(key=f"th-m-{UNION}-inb-t-0").set_value(0.2).run()
    check(at, bundle, tuned.with_side(0, t=0.2), tuned)


def test_joint_union_tuning_calibration_and_the_weak_fusion_warning(path, bundle, monkeypatch):
    from shopee_core import matching as M

    at = open_page(PAGE, path, monkeypatch, models=[UNION])
    tuned = D.decision(bundle, UNION)
    at.button(key="th-best-joint").click().run()
    assert not at.exception, [e.value for e in at.exception]
    check(at, bundle, D.tuned(bundle, tuned, union="joint"), tuned)
    at.segmented_control(key="th-mode").set_value("fusion").run()
    members = at.multiselect(key="th-f-members").value
    at.toggle(key="th-f-calibrate").set_value(True).run()
    assert not at.exception, [e.value for e in at.exception]
    w = M.calibrated_weights(D.pool(bundle, "valid"), members, [0.5, 0.5])
    fused = D.custom_fusion(bundle, members, w, knn="candidates")
    check(at, bundle, fused, fused)
    warned = any("below its member" in x.value for x in at.warning)
    assert warned == (D.weaker_than_a_member(bundle, fused) is not None)

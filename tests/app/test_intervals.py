"""AppTest of the intervals: Leaderboard whiskers, ± and "tied with the best", the A vs B panel with
its slices, the Thresholds page's live interval and threshold-stability band, and both kept in the URL."""

import base64
import json
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from shopee_core import stats
from shopee_core.analysis import decisions as D
from shopee_core.analysis import intervals as I
from shopee_core.analysis import leaderboard as lb
from tests.analysis.bundles import FUSION, UNION, metric, open_page

LEADERBOARD, THRESHOLDS = "app_pages/leaderboard.py", "app_pages/thresholds.py"
APP = str(Path(__file__).resolve().parents[2] / "app.py")


def spec(at, key):
    """The plotly figure a st.plotly_chart with ``key`` sent (typed arrays decoded)."""
    found = [c for c in at.get("plotly_chart") if c.proto.id and key in c.proto.id]
    assert found, [c.proto.id for c in at.get("plotly_chart")]
    return json.loads(found[0].proto.spec)


def arr(x):
    if isinstance(x, dict) and "bdata" in x:
        return np.frombuffer(base64.b64decode(x["bdata"]), dtype=np.dtype(x["dtype"]))
    return np.asarray(x, dtype=float)


def opened(path, monkeypatch, page, **params):
    """A fresh session opened from a link: app.py with these URL parameters, then ``page``."""
    monkeypatch.setenv("SHOPEE_BUNDLE", str(path))
    at = AppTest.from_file(APP, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def expected_intervals(bundle):
    frame = lb.leaderboard(bundle, "test", "best").dropna(subset=["f1"])
    return I.leaderboard(bundle, "test", list(zip(frame["id"], frame["variant"]))).set_index("id")


def test_whiskers_plus_minus_and_tied_with_the_best(path, bundle, monkeypatch):
    at = open_page(LEADERBOARD, path, monkeypatch)
    want = expected_intervals(bundle)
    fig = spec(at, "lb-chart")
    bars = [t for t in fig["data"] if t["type"] == "bar"]
    assert sum(len(t["y"]) for t in bars) == len(want)
    for t in bars:
        ids, x = list(t["y"]), arr(t["x"])
        np.testing.assert_allclose(arr(t["error_x"]["array"]), want.loc[ids, "f1_hi"] - x, atol=1e-9)
        np.testing.assert_allclose(arr(t["error_x"]["arrayminus"]), x - want.loc[ids, "f1_lo"], atol=1e-9)
        for mid, text in zip(ids, t["text"]):
            tied_not_best = bool(want.at[mid, "tied"]) and want.at[mid, "gap"] > 0
            assert text.endswith("≈ best") == tied_not_best
    table = at.dataframe[0].value
    for name, pm, ci, vs in zip(table["name"], table["f1_pm"], table["f1_ci"], table["vs_best"]):
        r = want.loc[name.lstrip("★ ")]
        assert pm == f"± {(r['f1_hi'] - r['f1_lo']) / 2:.4f}"
        assert ci == f"{r['f1_lo']:.4f}–{r['f1_hi']:.4f}"
        assert vs == "best" if r["gap"] <= 0 else vs.startswith("tied" if r["tied"] else "worse")
    best = want[want["best"]].index[0]
    assert any(f"tied with `{best}`" in c.value for c in at.caption)
    at.toggle(key="lb-ci").set_value(False).run()
    assert "f1_pm" not in at.dataframe[0].value
    assert all("error_x" not in t for t in spec(at, "lb-chart")["data"] if t["type"] == "bar")


def test_a_vs_b_panel_shows_the_paired_difference_and_its_slices(path, bundle, monkeypatch):
    at = open_page(LEADERBOARD, path, monkeypatch)
    want = expected_intervals(bundle).sort_values("f1", ascending=False)
    a, b = want.index[0], want.index[1]
    assert at.selectbox(key="lb-ab-a").value == a and at.selectbox(key="lb-ab-b").value == b
    res = I.compare(bundle, "test", (a, want.at[a, "variant"]), (b, want.at[b, "variant"]))
    o = res["overall"]
    assert metric(at, "F1 A − B").value == f"{o['difference']['f1']:+.4f}"
    assert metric(at, "95 % interval").value == f"[{o['ci']['f1'][0]:+.4f}, {o['ci']['f1'][1]:+.4f}]"
    assert metric(at, "P(A > B)").value == f"{o['p_better']:.3f}"
    assert metric(at, "Verdict").value == ("a real difference" if o["significant"] else "within noise")
    slices = next(d.value for d in at.dataframe if "slice" in d.value)
    assert list(slices["slice"]) == list(res["slices"]["slice"])
    assert list(slices["diff"]) == [f"{d:+.4f}" for d in res["slices"]["diff"]]
    assert "lb-ab-forest" in json.dumps([c.proto.id for c in at.get("plotly_chart")])
    assert "ab" not in at.query_params  # the default pair keeps the URL clean
    # choosing B = A's own plain decision puts the pair in the URL and compares the two decisions
    at.selectbox(key="lb-ab-b").set_value("tfidf").run()
    at.selectbox(key="lb-ab-b-variant").set_value("base").run()
    assert at.session_state["ab"][1] == "tfidf:base"
    assert at.query_params["ab"] == ",".join(at.session_state["ab"])


def test_a_vs_b_slices_wait_for_a_click_on_a_big_pool(path, bundle, monkeypatch):
    """Beyond LAZY_ABOVE postings the panel opens with the paired difference only (its slices read every
    title of the pool: seconds at 70,000); the toggle brings exactly the slices a small pool shows."""
    import dashboard.intervals as dash_intervals

    monkeypatch.setattr(dash_intervals, "LAZY_ABOVE", 10)
    at = open_page(LEADERBOARD, path, monkeypatch)
    assert at.toggle(key="lb-ab-slices-on").value is False
    assert metric(at, "F1 A − B") is not None
    assert not [d for d in at.dataframe if "slice" in d.value]
    assert "lb-ab-forest" not in json.dumps([c.proto.id for c in at.get("plotly_chart")])
    at.toggle(key="lb-ab-slices-on").set_value(True).run()
    assert not at.exception
    want = expected_intervals(bundle).sort_values("f1", ascending=False)
    a, b = want.index[0], want.index[1]
    res = I.compare(bundle, "test", (a, want.at[a, "variant"]), (b, want.at[b, "variant"]))
    slices = next(d.value for d in at.dataframe if "slice" in d.value)
    assert list(slices["slice"]) == list(res["slices"]["slice"])


def test_a_pasted_a_vs_b_link_reopens_the_same_pair_and_numbers(path, bundle, monkeypatch):
    at = opened(path, monkeypatch, LEADERBOARD, ab=f"tfidf:min2,{FUSION}:base")
    assert at.selectbox(key="lb-ab-a").value == "tfidf" and at.selectbox(key="lb-ab-a-variant").value == "min2"
    assert at.selectbox(key="lb-ab-b").value == FUSION and at.selectbox(key="lb-ab-b-variant").value == "base"
    o = I.compare(bundle, "test", ("tfidf", "min2"), (FUSION, "base"))["overall"]
    assert metric(at, "F1 A − B").value == f"{o['difference']['f1']:+.4f}"
    same = opened(path, monkeypatch, LEADERBOARD, ab="tfidf:min2,tfidf:min2")
    assert metric(same, "F1 A − B").value == "+0.0000" and metric(same, "P(A > B)").value == "0.000"
    assert metric(same, "95 % interval").value == "[+0.0000, +0.0000]"
    junk = opened(path, monkeypatch, LEADERBOARD, ab="nope:min2,tfidf:sideways")  # ignored, not an error
    assert junk.selectbox(key="lb-ab-a").value != "nope"


def interval_caption(at):
    return next(c.value for c in at.caption if c.value.startswith("**95 % interval**"))


def test_live_interval_follows_the_slider(path, bundle, monkeypatch):
    at = open_page(THRESHOLDS, path, monkeypatch, models=["tfidf"], rule="min2")  # the tuned Min2 decision
    ref = D.decision(bundle, "tfidf")
    ci = I.decision_interval(bundle, "test", ref)
    text = interval_caption(at)
    assert f"F1 {ci['f1'][0]:.4f}–{ci['f1'][1]:.4f}" in text and "the same F1 as" in text
    at.slider(key="th-m-tfidf-inb0-t").set_value(0.2).run()
    moved = D.decision(bundle, "tfidf", t=0.2)
    ci2 = I.decision_interval(bundle, "test", moved)
    p = I.decision_paired(bundle, "test", moved, ref)
    text = interval_caption(at)
    assert f"F1 {ci2['f1'][0]:.4f}–{ci2['f1'][1]:.4f}" in text
    assert f"Δ F1 {p['difference']['f1']:+.4f} [{p['ci']['f1'][0]:+.4f}, {p['ci']['f1'][1]:+.4f}]" in text


def test_stability_band_waits_for_a_click_on_a_big_pool(path, bundle, monkeypatch):
    import dashboard.intervals as dash_intervals

    monkeypatch.setattr(dash_intervals, "LAZY_ABOVE", 10)
    at = open_page(THRESHOLDS, path, monkeypatch, models=["tfidf"], rule="min2")
    assert at.toggle(key="th-stability-on").value is False
    assert not [s for s in spec(at, "th-curve")["layout"].get("shapes", []) if s.get("type") == "rect"]
    assert not [c for c in at.caption if c.value.startswith("**Threshold stability**")]
    at.toggle(key="th-stability-on").set_value(True).run()
    assert len([s for s in spec(at, "th-curve")["layout"].get("shapes", []) if s.get("type") == "rect"]) == 1


def test_stability_band_on_the_f1_curve(path, bundle, monkeypatch):
    at = open_page(THRESHOLDS, path, monkeypatch, models=["tfidf"], rule="min2")
    from shopee_core import matching as M

    d = D.decision(bundle, "tfidf")
    want = M.threshold_stability(D.pool(bundle, "valid"), d, D.pool(bundle, "test"), resamples=200,
                                 search=bundle.model("tfidf")["thresholds"].get("search") or "full")
    lo, hi = want["sides"][0]["t"]["interval"]
    shapes = spec(at, "th-curve")["layout"].get("shapes", [])
    rects = [s for s in shapes if s.get("type") == "rect"]
    assert len(rects) == 1
    pad = 0.0025 if hi - lo < 0.005 else 0.0
    assert rects[0]["x0"] == pytest.approx(lo - pad) and rects[0]["x1"] == pytest.approx(hi + pad)
    cap = next(c.value for c in at.caption if c.value.startswith("**Threshold stability**"))
    assert f"puts T in {lo:.3f}–{hi:.3f}" in cap and "200 resamples" in cap


def reopen(path, monkeypatch, at):
    """What a pasted link gives: a fresh session on the URL the page wrote."""
    url = at.query_params["decision"]
    assert url, "the page wrote no decision to the URL"
    return opened(path, monkeypatch, THRESHOLDS, decision=url)


def same_numbers(a, b):
    for label in ("F1", "Precision", "Recall"):
        assert metric(a, label).value == metric(b, label).value, label
    assert interval_caption(a) == interval_caption(b)


def test_a_pasted_link_reopens_a_reweighted_fusion_with_inb(path, bundle, monkeypatch):
    at = open_page(THRESHOLDS, path, monkeypatch, models=[FUSION])
    at.toggle(key=f"th-m-{FUSION}-reweight").set_value(True).run()
    at.slider(key=f"th-m-{FUSION}-w-tfidf").set_value(0.8).run()
    at.select_slider(key=f"th-m-{FUSION}-iters").set_value(1).run()
    at.slider(key=f"th-m-{FUSION}-inb1-t").set_value(0.3).run()
    assert not at.exception, [e.value for e in at.exception]
    url = at.query_params["decision"]
    assert url.startswith(f"model:{FUSION};t=0.300") and "inb=1" in url and "w=0.8," in url
    again = reopen(path, monkeypatch, at)
    assert again.slider(key=f"th-m-{FUSION}-w-tfidf").value == pytest.approx(0.8)
    assert again.select_slider(key=f"th-m-{FUSION}-iters").value == 1
    same_numbers(at, again)


def test_a_pasted_link_reopens_custom_fusions_and_unions(path, bundle, monkeypatch):
    at = open_page(THRESHOLDS, path, monkeypatch)
    at.segmented_control(key="th-mode").set_value("fusion").run()
    at.multiselect(key="th-f-members").set_value(["tfidf", "phash"]).run()
    at.slider(key="th-f-w-tfidf").set_value(0.75).run()
    at.toggle(key="th-f-calibrate").set_value(True).run()
    t_key = next(s.key for s in at.slider if s.key.startswith("th-f-tfidf+phash") and s.key.endswith("-t"))
    at.slider(key=t_key).set_value(0.25).run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params["decision"].startswith("fusion:tfidf+phash;t=0.250")
    same_numbers(at, reopen(path, monkeypatch, at))

    at.segmented_control(key="th-mode").set_value("union").run()
    at.multiselect(key="th-u-members").set_value(["tfidf", "phash"]).run()
    at.slider(key="th-u-tfidf+phash-t-1").set_value(0.1).run()
    url = at.query_params["decision"]
    assert url.startswith("union:tfidf+phash;t=") and ",0.100;" in url
    again = reopen(path, monkeypatch, at)
    assert again.slider(key="th-u-tfidf+phash-t-1").value == pytest.approx(0.1)
    same_numbers(at, again)


def test_a_pasted_union_model_link_and_a_broken_one(path, bundle, monkeypatch):
    at = opened(path, monkeypatch, THRESHOLDS, decision=f"model:{UNION};t=0.300,0.050;t2=-,-;min2=0")
    d = D.decision(bundle, UNION, sides=[(0.3, None), (0.05, None)], min2=False)
    assert metric(at, "F1").value == f"{D.scores(bundle, d, 'test')['f1']:.4f}"
    # after INB: each side on its own INB table, the link reopens the INB toggle and its sliders
    inb = opened(path, monkeypatch, THRESHOLDS, decision=f"model:{UNION};t=0.300,0.050;t2=-,-;min2=0;inb=1")
    assert inb.session_state[f"th-m-{UNION}-inb"] is True
    d = D.decision(bundle, UNION, sides=[(0.3, None), (0.05, None)], min2=False, inb=1)
    assert metric(inb, "F1").value == f"{D.scores(bundle, d, 'test')['f1']:.4f}"
    assert inb.query_params["decision"] == f"model:{UNION};t=0.300,0.050;t2=-,-;min2=0;inb=1"
    for junk in ("model:ghost;t=0.3", "fusion:tfidf;t=0.3", "model:tfidf;t=7", "???", "union:a+a"):
        bad = opened(path, monkeypatch, THRESHOLDS, decision=junk)
        assert not bad.exception and metric(bad, "F1").value  # ignored: the page opens as usual
    assert stats.DEFAULT_RESAMPLES == 1000

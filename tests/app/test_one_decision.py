"""One decision everywhere: the sidebar's decision gives one model one F1 on every page, printed beside it.

The F1 each page prints for a model ("F1 0.8757 · INB, tuned on valid") is read back from the page
and compared with the decision layer's score of the decision the rule resolves to, and with the
bundle's stored metric for that variant (what the build measured): a page that scored with
another rule, or silently with its own default, would print another number.
"""

import re

import pytest

from dashboard.text import shown
from shopee_core.analysis import decisions as D
from shopee_core.analysis import leaderboard as lb
from shopee_core.bundle import Bundle
from tests.tiny_bundle import FUSION, INB3, UNION, dash_bundle  # noqa: F401  (session fixture)

PAGES = ["app_pages/leaderboard.py", "app_pages/query.py", "app_pages/compare.py", "app_pages/embedding.py",
         "app_pages/thresholds.py", "app_pages/failures.py"]


@pytest.fixture(scope="module")
def bundle(dash_bundle):  # noqa: F811
    return Bundle.open(dash_bundle)


def opened(path, monkeypatch, rule: str, models: list[str]):
    from streamlit.testing.v1 import AppTest

    from tests.tiny_bundle import open_app
    at = open_app(path, monkeypatch, PAGES[0])
    assert isinstance(at, AppTest)
    at.selectbox(key="sidebar-decision").set_value(rule).run()
    at.session_state["models"] = models
    return at


def texts(at) -> list[str]:
    """Every text a page shows, as a reader sees it (Markdown's escapes and dashboard.text's invisible
    marks taken out): captions, Markdown, metric labels and help."""
    out = [c.value for c in at.caption] + [m.value for m in at.markdown] + [i.value for i in at.info]
    out += [f"{m.label} {m.value} {m.help or ''}" for m in at.metric]
    return [shown(re.sub(r"\\([^\w\s]|_)", r"\1", t)) for t in out]


def printed_f1(at, model: str) -> list[tuple[float, str]]:
    """(F1, decision text) of every "<model> · F1 0.1234 · <rule text>" line on the page."""
    found = []
    for t in texts(at):
        for m in re.finditer(rf"{re.escape(model)}\**\s*·\s*F1 (\d\.\d{{4}}) · (.+?) \(within ", t):
            found.append((float(m.group(1)), m.group(2).strip()))
    return found


@pytest.mark.parametrize("rule", ["inb", "base", "best", "graph"])
def test_same_model_and_decision_same_f1_on_every_page(dash_bundle, bundle, monkeypatch, rule):  # noqa: F811
    split = "test"
    model = FUSION
    c = D.chosen(bundle, model, rule)
    want = D.scores(bundle, model, split, **c.setting)["f1"]
    stored = bundle.entry(model).metrics[split][c.variant]["f1"]
    assert want == pytest.approx(stored, abs=5e-5)  # the live layer and the build agree on this variant
    at = opened(dash_bundle, monkeypatch, rule, [model, "tfidf"])
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert at.session_state["rule"] == rule
        if page.endswith("leaderboard.py"):
            frame = at.dataframe[0].value
            row = frame[frame["name"].str.lstrip("★ ") == model].iloc[0]
            assert row["f1"] == pytest.approx(want, abs=5e-5), page
            assert row["decision"] == lb.VARIANT_LABELS[c.variant], page
            continue
        if page.endswith("thresholds.py"):  # the sliders start on the chosen decision: its F1 before any move
            f1_card = [m for m in at.metric if m.label == "F1"]
            assert f1_card and float(f1_card[0].value) == pytest.approx(want, abs=5e-5), (page, f1_card)
        lines = printed_f1(at, model)
        assert lines, (page, texts(at))
        for f1, text in lines:
            assert f1 == pytest.approx(want, abs=5e-5), (page, f1, want)
            assert text == c.text, (page, text)


def test_a_rule_a_model_lacks_falls_back_and_says_so(bundle):
    union = D.chosen(bundle, UNION, "inb")
    assert union.variant != "inb" and "no INB for this model" in union.text
    inb3 = D.chosen(bundle, INB3, "base")
    assert inb3.variant == "inb" and "no plain T for this model" in inb3.text
    assert D.chosen(bundle, FUSION, "best").variant == lb.best_variant(bundle.entry(FUSION))
    # the leaderboard under a rule lists exactly what the resolution gives each model
    frame = lb.leaderboard(bundle, "test", "inb").set_index("id")
    for e in bundle.entries:
        c = D.chosen(bundle, e.id, "inb")
        assert frame.at[e.id, "variant"] == (c.variant if c.variant != "fixed" else frame.at[e.id, "variant"])
        assert frame.at[e.id, "f1"] == pytest.approx(D.scores(bundle, e.id, "test", **c.setting)["f1"], abs=5e-5)


def test_defaults_agree_with_the_star(dash_bundle, bundle, monkeypatch):  # noqa: F811
    from tests.tiny_bundle import open_app
    at = open_app(dash_bundle, monkeypatch, "app_pages/leaderboard.py")
    at.selectbox(key="sidebar-decision").set_value("min2").run()
    ranked = lb.ranked(bundle, "min2")
    star = [n for n in at.dataframe[0].value["name"] if n.startswith("★ ")]
    assert star == [f"★ {ranked[0]}"]
    assert at.multiselect(key="lb-models").value == ranked[:1]  # the picker's minimum: the best
    at.switch_page("app_pages/compare.py").run()
    assert at.multiselect(key="cmp-models").value == ranked[:2]  # best and runner-up
    at.switch_page("app_pages/failures.py").run()
    assert at.selectbox(key="fb-model").value == ranked[0]


@pytest.mark.parametrize("model", [FUSION, UNION])
def test_thresholds_start_a_graph_step_on_its_own_tuned_thresholds(dash_bundle, tmp_path, monkeypatch, model):  # noqa: F811
    """A graph step is tuned together with thresholds of its own (often looser than the plain T): the
    Thresholds page, opened on the sidebar's graph decision, starts its sliders there and shows the F1
    every other page prints, not the plain T with the step bolted on."""
    import json
    import shutil

    from shopee_core.bundle.writer import seal

    base = json.loads((dash_bundle / "manifest.json").read_text())
    for n, shift in enumerate([0.1, -0.1, 0.2, -0.2]):  # the step's own thresholds, away from the plain ones
        root = tmp_path / f"dash{n}"
        shutil.copytree(dash_bundle, root)
        manifest = json.loads(json.dumps(base))
        g = next(m for m in manifest["models"] if m["id"] == model)["thresholds"]["graph"]
        g["t"] = [min(max(t + shift, 0.02), 1.98) for t in g["t"]]
        g["t2"] = list(g["t"])
        seal(root, manifest)
        b = Bundle.open(root)
        c = D.chosen(b, model, "graph")
        assert c.variant == "graph"
        want = D.scores(b, model, "test", **c.setting)["f1"]
        step = D.decision(b, model, graph="tuned").graph
        plain_with_step = D.scores(b, D.decision(b, model).with_graph(step), "test")["f1"]
        if abs(want - plain_with_step) > 1e-3:  # the case the page once got wrong
            break
    else:
        pytest.fail("no shift of the graph step's thresholds changes its F1 on this bundle")
    at = opened(root, monkeypatch, "graph", [model])
    at.switch_page("app_pages/thresholds.py").run()
    assert not at.exception, [e.value for e in at.exception]
    f1_card = [m for m in at.metric if m.label == "F1"]
    assert f1_card and float(f1_card[0].value) == pytest.approx(want, abs=5e-5)
    assert any("the same F1 as the bundle's tuned setting" in t for t in texts(at))  # nothing moved yet

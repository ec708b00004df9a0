"""AppTest of the leaderboard: every model listed, variant / family / sort controls, model choice."""

import pytest

from dashboard.text import md
from dashboard.widgets import selected_rows
from shopee_core.analysis import leaderboard as lb
from tests.analysis.bundles import FUSION, INB3, UNION, metric, open_page

PAGE = "app_pages/leaderboard.py"


def table(at):
    return at.dataframe[0].value


def test_every_model_with_its_numbers(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch)
    frame = table(at)
    assert len(frame) == len(bundle.models)
    assert {n.lstrip("★ ") for n in frame["name"]} == {m["id"] for m in bundle.models}
    want = lb.leaderboard(bundle, "test", "best").set_index("id")
    for name, f1 in zip(frame["name"], frame["f1"]):
        assert f1 == pytest.approx(want.at[name.lstrip("★ "), "f1"])
    best = lb.ranked(bundle, "best")[0]  # chosen on valid, reported on test
    assert metric(at, f"Best on valid: {md(best)}").value == f"{want.at[best, 'f1']:.4f}"  # the id shown literally
    assert [n for n in frame["name"] if n.startswith("★ ")] == [f"★ {best}"]
    assert any("F1 within the **test** split" in i.value for i in at.info)
    # the decision in bold, not its asterisks shown literally (escaped Markdown)
    assert any(f"Decision: **{md(lb.RULES['best'])}** (sidebar)" in i.value for i in at.info), [i.value for i in at.info]
    assert frame["f1"].is_monotonic_decreasing


def test_variant_split_family_and_sort(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch)
    at.selectbox(key="sidebar-decision").set_value("base").run()  # the one decision, in the sidebar
    frame = table(at)
    names = [n.lstrip("★ ") for n in frame["name"]]
    inb3 = frame.iloc[names.index(INB3)]  # INB3 has no plain table: listed on its only decision, saying so
    assert inb3["f1"] == pytest.approx(lb.leaderboard(bundle, "test", "inb").set_index("id").at[INB3, "f1"])
    assert inb3["decision"] == lb.VARIANT_LABELS["inb"]
    want = lb.leaderboard(bundle, "test", "base").set_index("id")
    row = frame[frame["name"].str.endswith("tfidf")].iloc[0]
    assert row["f1"] == pytest.approx(want.at["tfidf", "f1"])
    at.pills(key="lb-families").set_value(["fusion"]).run()
    names = {n.lstrip("★ ") for n in table(at)["name"]}
    assert names == {FUSION, UNION, INB3}
    at.selectbox(key="lb-sort").set_value("Seed recipe").run()
    assert not at.exception
    at.session_state["split"] = "valid"  # the sidebar radio lives in app.py, which AppTest does not rerun
    at.run()
    assert not at.exception
    assert any("F1 within the **valid** split" in i.value for i in at.info)


def test_choosing_models_sets_the_shared_selection(path, monkeypatch):
    at = open_page(PAGE, path, monkeypatch)
    at.multiselect(key="lb-models").set_value(["phash", UNION]).run()
    assert at.session_state["models"] == ["phash", UNION]


def test_table_selection_helper():
    assert selected_rows({"selection": {"rows": [2, 0]}}) == [2, 0]
    assert selected_rows(None) == [] and selected_rows({}) == []


def test_missing_numbers_show_a_dash_not_none(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch)
    frame = table(at)
    assert not frame.drop(columns=["f1"]).isna().any().any()  # Streamlit would print those as "None"
    assert not frame.isin(["None", "nan"]).any().any()
    want = lb.leaderboard(bundle, "test", "best").set_index("id")
    for name, seed in zip(frame["name"], frame.get("seed_f1", [])):
        ref = want.at[name.lstrip("★ "), "seed_f1"]
        assert seed == ("—" if ref != ref else f"{ref:.4f}")
    assert (frame["recall"] != "—").any()

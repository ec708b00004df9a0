"""AppTest of the failure browser: worst-first table, error-type filters, opening a posting."""


from shopee_core.analysis import errors as E
from tests.analysis.bundles import UNION
from tests.analysis.bundles import open_page as _open_page

PAGE = "app_pages/failures.py"


def open_page(page, path, monkeypatch, models=None):
    """These tests start from the tuned Min2 decision (the sidebar's Min2)."""
    return _open_page(page, path, monkeypatch, models=models, rule="min2")


def test_worst_first_and_filters_narrow_the_table(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=[UNION])
    want = E.failure_table(bundle, UNION, "test", {"min2": True})
    shown = at.dataframe[0].value
    assert list(shown["posting_id"]) == list(want[want["f1"] < 1]["posting_id"])
    assert shown["f1"].is_monotonic_increasing
    at.pills(key="fb-types").set_value(["missed"]).run()
    missed = at.dataframe[0].value
    assert len(missed) == int(want["missed"].sum()) <= len(shown)
    at.pills(key="fb-types").set_value(["missed", "wrong_members"]).run()
    at.toggle(key="fb-all").set_value(True).run()
    both = at.dataframe[0].value
    assert len(both) == int((want["missed"] & want["wrong_members"]).sum()) <= len(missed)
    at.toggle(key="fb-all").set_value(False).run()
    at.pills(key="fb-types").set_value([]).run()
    word = str(shown["title"].iloc[0]).split()[0]
    at.text_input(key="fb-search").input(word).run()
    assert all(word.lower() in t.lower() for t in at.dataframe[0].value["title"])


def test_a_failure_opens_as_truth_beside_prediction(path, bundle, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=["tfidf"])
    ids = at.selectbox(key="fb-inspect-tfidf-min2").options
    pid = at.dataframe[0].value["posting_id"].iloc[-1]
    at.selectbox(key="fb-inspect-tfidf-min2").set_value(pid).run()
    assert not at.exception
    assert at.session_state["posting"] == pid
    assert any(m.value.startswith("**True group**") for m in at.markdown)
    assert any(m.value.startswith("**Predicted by tfidf**") for m in at.markdown)
    assert len(ids) == len(at.dataframe[0].value)
    at.segmented_control(key="fb-variant-tfidf-min2").set_value("inb").run()
    assert not at.exception
    # the Inspect labels follow the decision (a key per decision: no stale "F1 0.750" from the old one)
    f1 = at.dataframe[0].value.set_index("posting_id")["f1"]
    box = at.selectbox(key="fb-inspect-tfidf-inb")
    shown = [o for o in box.options if f" · {box.value} · " in o]
    assert shown and shown[0].startswith(f"F1 {f1[box.value]:.3f} · {box.value} · ")  # the id before the title
    assert any("Override on this page" in w.value for w in at.warning)
    at.button(key="fb-open").click().run()
    assert not at.exception
    assert at.session_state["posting"] == pid


def test_export_and_compare(path, monkeypatch):
    at = open_page(PAGE, path, monkeypatch, models=["tfidf"])
    assert len(at.get("download_button")) == 1
    at.multiselect(key="fb-also").set_value(["phash", UNION]).run()
    assert not at.exception, [e.value for e in at.exception]
    assert any(m.value.startswith("**phash**") for m in at.markdown)

"""AppTest of Review suspects and the sidebar's truth switch: verdicts appended to the review file
beside the bundle, undo, blind mode, progress, a refused file, and every page scored with the fixes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from shopee_core.analysis import leaderboard as lb
from shopee_core.analysis import noise
from shopee_core.analysis.reviews import ReviewFile, Suspect, corrected_labels, manifest_sha
from tests.analysis.bundles import open_page

PAGE = "app_pages/review.py"


@pytest.fixture
def reviews(tmp_path, monkeypatch):
    path = tmp_path / "mine.reviews.jsonl"
    monkeypatch.setenv("SHOPEE_REVIEWS", str(path))
    return path


def _lines(path):
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_verdict_keys_record_skip_and_undo(path, bundle, reviews, monkeypatch):
    found = noise.bundle_suspects(bundle, "test")
    assert len(found) >= 2, "the tiny bundle needs suspects for this test"
    at = open_page(PAGE, path, monkeypatch)
    assert [b.label for b in at.button][:4] == ["Same product (y)", "Different (n)", "Skip (s)", "Undo (u)"]
    first = found.iloc[0]
    assert at.text[0].value  # the two sides are drawn, titles as plain text
    at.button(key="rv-y").click().run()
    assert not at.exception
    (line,) = _lines(reviews)
    assert line["verdict"] == "y" and line["bundle"] == manifest_sha(path)
    assert line["suspect"]["label_group"] == int(first["label_group"])
    assert line["suspect"]["other_label_group"] == int(first["other_label_group"])
    assert f"Reviewed 1 of {len(found)}" in at.get("progress")[0].proto.text
    at.button(key="rv-s").click().run()  # skipped: comes back last, counts as not reviewed
    assert _lines(reviews)[-1]["verdict"] == "s"
    assert f"Reviewed 1 of {len(found)}" in at.get("progress")[0].proto.text
    at.button(key="rv-u").click().run()
    undo = _lines(reviews)[-1]
    assert undo["action"] == "undo" and undo["undoes"] == _lines(reviews)[1]["id"]
    assert not at.exception and not any("Nothing to undo" in w.value for w in at.warning)


def test_blind_mode_hides_scores_and_evidence(path, reviews, monkeypatch):
    at = open_page(PAGE, path, monkeypatch)
    assert any(m.label.startswith("Score") for m in at.metric) and len(at.dataframe) >= 1
    at.toggle(key="rv-blind").set_value(True).run()
    assert not any(m.label.startswith("Score") for m in at.metric)
    assert len(at.dataframe) == 0


def test_a_review_file_for_another_bundle_is_refused_untouched(path, reviews, monkeypatch):
    line = {"time": "t", "id": "1", "bundle": "f" * 64, "action": "verdict", "verdict": "y",
            "suspect": {"kind": "group_pair", "posting_id": "", "label_group": 1, "other_label_group": 2}}
    reviews.write_text(json.dumps(line) + "\n")
    before = reviews.read_bytes()
    at = open_page(PAGE, path, monkeypatch)
    assert any("another bundle" in e.value for e in at.error)
    assert not any(b.label.startswith("Same product") for b in at.button)
    at.sidebar.radio(key="truth-radio").set_value("fixed").run()  # every page falls back to the labels, says so
    assert not at.exception and reviews.read_bytes() == before


def test_truth_with_my_fixes_rescores_every_page(path, bundle, reviews, monkeypatch):
    labels = bundle.labels("test")
    a, b = (int(x) for x in np.unique(labels)[:2])
    ReviewFile(reviews, manifest_sha(path), postings=bundle.postings["posting_id"],
               groups=bundle.postings["label_group"]).add(Suspect("group_pair", "", a, b), "y")
    fixed, fixes = corrected_labels(bundle.postings["posting_id"], bundle.postings["label_group"],
                                    ReviewFile(reviews, manifest_sha(path)).verdicts())
    view = bundle.relabelled(fixed, "with my fixes")
    want = lb.leaderboard(view, "test", "best").set_index("id")
    at = open_page("app_pages/leaderboard.py", path, monkeypatch)
    plain = at.dataframe[0].value.set_index("name")["f1"]
    at.sidebar.radio(key="truth-radio").set_value("fixed").run()
    assert not at.exception
    assert any("with my fixes" in i.value and f"{len(fixes)} postings relabelled" in i.value for i in at.info)
    shown = at.dataframe[0].value
    for name, f1 in zip(shown["name"], shown["f1"]):
        assert f1 == pytest.approx(want.at[name.lstrip("★ "), "f1"], nan_ok=True)
    assert not np.allclose(shown.set_index("name")["f1"].reindex(plain.index).to_numpy(float),
                           plain.to_numpy(float), equal_nan=True)
    for page in ("app_pages/failures.py", "app_pages/thresholds.py", "app_pages/compare.py", PAGE):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert any("with my fixes" in i.value for i in at.info), page
    at.switch_page("app_pages/thresholds.py").run()
    assert any("of its remaining error was label noise" in i.value for i in at.info)


def test_the_page_says_when_it_found_the_suspects_itself_and_how_to_ship_them(path, reviews, monkeypatch, tmp_path):
    """A bundle that ships its suspects opens on them; one that does not (built before, or under another
    finder) is searched by the server, and the page names the command that ships them."""
    import shutil

    at = open_page(PAGE, path, monkeypatch)
    hint = "--store"
    assert not at.exception and not any(hint in c.value for c in at.caption)
    monkeypatch.setattr(noise, "FINDER_VERSION", noise.FINDER_VERSION + 1)
    other = tmp_path / "other"
    shutil.copytree(path, other)  # another bundle object: nothing cached from the shipped one
    at = open_page(PAGE, other, monkeypatch)
    assert not at.exception and any(hint in c.value and "suspects --bundle" in c.value for c in at.caption)

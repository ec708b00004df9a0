"""Every page on the bundle of hostile seller titles (AppTest, no browser): it renders, and no
Markdown it sends holds a title's link, image, HTML or directive unescaped — the posting header is
exactly the escaped title. (What the browser shows is tested in tests/e2e/test_hostile_e2e.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard.text import md
from shopee_core.data.demo.hostile import hostile_titles
from shopee_core.data.text import display_title
from tests.tiny_bundle import HOSTILE_MODEL, hostile_bundle  # noqa: F401  (session fixture)

APP = Path(__file__).resolve().parents[2] / "app.py"
PAGES = ["leaderboard", "query", "compare", "embedding", "thresholds", "failures", "data", "training"]
# pieces of the corpus as written: in Markdown, any of them means a title got through unescaped
RAW = re.compile("|".join(r"(?<!\\)" + re.escape(p) for p in (
    "](http://tracker", "](javascript:", "](data:", "<img src=x", "<script>", "<b>tebal", "**bold**", ":red[merah]",
    ":material/home:", ":smile:", "$x^2$", "# Judul", "- item satu", "=HYPERLINK(", "<->", "&amp;")))


def run(bundle, monkeypatch, page: str, posting: str = ""):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("SHOPEE_BUNDLE", str(bundle))
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.session_state["split"] = "all"
    at.session_state["models"] = ["tfidf", HOSTILE_MODEL, "phash"]
    if posting:
        at.session_state["posting"] = posting
    at.run()
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def markdown_sent(at) -> list[str]:
    out = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "title", "subheader")
           for e in getattr(at, kind) if not getattr(e.proto, "allow_html", False)]  # cards: HTML, checked apart
    out += [m.label for m in at.metric] + [str(m.proto.help) for m in at.metric]
    return out


# tags a raw hostile title would inject into a card (the cards' own are <div> and <img src="data:image/jpeg...">)
RAW_HTML = re.compile(r"<(?:script|b>|a |iframe|style|img src=x)|:material/")


@pytest.mark.parametrize("page", PAGES)
def test_pages_send_no_hostile_markup(hostile_bundle, monkeypatch, page):  # noqa: F811
    at = run(hostile_bundle, monkeypatch, page)
    assert any(RAW.search(display_title(t)) for t in hostile_titles())  # the pattern finds raw hostile text
    leaks = [v for v in markdown_sent(at) if RAW.search(v)]
    assert not leaks, leaks[:3]
    cards = [e.value for e in at.markdown if getattr(e.proto, "allow_html", False)]
    assert not [c for c in cards if RAW_HTML.search(c)]


def test_the_posting_header_is_the_escaped_title(hostile_bundle, monkeypatch):  # noqa: F811
    from shopee_core.bundle import Bundle

    post = Bundle.open(hostile_bundle).postings
    shown = [display_title(t) for t in post["title"]]
    title = display_title(hostile_titles()[0])  # the example
    pid = post["posting_id"].iat[shown.index(title)]
    at = run(hostile_bundle, monkeypatch, "query", posting=pid)
    headers = [m.value for m in at.markdown if m.value.startswith("#### ")]
    assert headers[0] == "#### " + md(title)
    label = Bundle.open(hostile_bundle).model(HOSTILE_MODEL)["label"]
    # "**id** · F1 … (within split)", then the label on its own line: both literal
    assert any(m.value.startswith(f"**{md(HOSTILE_MODEL)}** · ") and m.value.endswith(f"  \n{md(label)}")
               for m in at.markdown)

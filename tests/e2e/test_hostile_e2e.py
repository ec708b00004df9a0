"""The real app on a catalog of hostile seller titles (``demo-data --hostile-titles``), in Chromium.

Every page, on the pool that holds every posting: no exception, every gallery card's caption is
its title as written (shortened with "…" where the card is narrow) and its tooltip the whole
title, no image or link that a title made, no request outside 127.0.0.1 (each one recorded and
aborted before it leaves), no dialog. Query by example shows hostile postings' titles as
headings literally, a typed hostile title too, and an uploaded file's hostile name without
reversing the caption after it; the imported model's hostile label reads literally in the model
header and the Leaderboard's hover; the Embedding map's hover shows titles literally; the Failure
browser's CSV export neutralises formula titles (read back from the downloaded file).
"""

from __future__ import annotations

import csv
import shutil

import pytest

from dashboard.text import shown
from shopee_core.data.demo.hostile import hostile_titles
from shopee_core.data.text import display_title
from tests.e2e.test_app_e2e import ARGS, CHROMIUM, PAGES, no_exception, serve, settle, sync_api
from tests.e2e.test_text_e2e import CARDS, FOREIGN_IN_PAGE, Guard, flat, reads_left_to_right, same
from tests.tiny_bundle import HOSTILE_LABEL, HOSTILE_MODEL, hostile_bundle  # noqa: F401  (session fixture)

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")

CORPUS = [display_title(t) for t in hostile_titles()]
# a spread of the corpus for the per-posting headings (every title goes through the same md() path, which
# tests/e2e/test_text_e2e.py renders for all of them): images and links, math, directives, arrows, RLO, a
# stray PDI, the 1,000-character token, spaces only, an emoji only, a formula
HEADINGS = [0, 1, 2, 5, 6, 11, 14, 15, 17, 18, 19, 20]
TYPED = [0, 6, 14]


@pytest.fixture(scope="module")
def app(hostile_bundle):  # noqa: F811
    with serve(hostile_bundle) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
        guard = Guard(context, url)
        page = context.new_page()
        guard.watch(page)
        page.set_default_timeout(60_000)
        yield url, page, guard
        browser.close()


@pytest.fixture(scope="module")
def postings(hostile_bundle):  # noqa: F811
    from shopee_core.bundle import Bundle

    post = Bundle.open(hostile_bundle).postings
    return {pid: display_title(t) for pid, t in zip(post["posting_id"], post["title"])}


def open_page(page, url: str, path: str, heading: str, query: str = "") -> None:
    page.goto(f"{url}/{path}?split=all{query}")
    settle(page, heading)
    no_exception(page, path or "leaderboard")


def check_cards(page, titles: set[str]) -> set[str]:
    """Every card in the main area: the tooltip's first line is a title of the bundle, the caption that
    title (or its start and "…"). Returns the titles seen."""
    seen = set()
    for tip, caption in page.locator('[data-testid="stMainBlockContainer"]').evaluate(CARDS):
        line = shown(tip.split("\n")[0])
        match = next((t for t in titles if same(line, t)), None)
        assert match is not None, f"tooltip {tip[:80]!r} is no title of the bundle"
        seen.add(match)
        if caption is not None:
            cap, whole = flat(caption), flat(match)
            assert cap == whole or (cap.endswith("…") and whole.startswith(cap[:-1].rstrip())), (cap, whole)
    return seen


def test_every_page_shows_hostile_titles_literally(app, postings):
    url, page, guard = app
    titles = set(postings.values())
    seen_hostile = set()
    for path, heading in PAGES.items():
        open_page(page, url, path, heading)
        assert page.locator('[data-testid="stMainBlockContainer"]').evaluate(FOREIGN_IN_PAGE) == [], path
        seen_hostile |= check_cards(page, titles) & set(CORPUS)
    assert len(seen_hostile) >= 5, f"too few hostile titles on the pages' galleries: {seen_hostile}"
    guard.assert_clean()


def test_query_by_example_headings_show_hostile_titles_literally(app, postings):
    url, page, guard = app
    by_title = {}
    for pid, t in postings.items():
        by_title.setdefault(t, pid)
    for i in HEADINGS:
        pid = by_title[CORPUS[i]]
        open_page(page, url, "query", PAGES["query"], f"&posting={pid}&models=tfidf,{HOSTILE_MODEL}")
        main = page.locator('[data-testid="stMainBlockContainer"]')
        h4 = main.locator("h4").first
        assert same(h4.inner_text() if CORPUS[i].strip() else "", CORPUS[i]), i
        assert main.evaluate(FOREIGN_IN_PAGE) == [], i
        check_cards(page, set(postings.values()))
    # the model's header: its id and F1 on the decision in use, then its label on a line of its own
    header = main.locator("p", has_text=f"{HOSTILE_MODEL} · F1 ").first
    first, label = header.inner_text().split("\n", 1)
    assert first.startswith(f"{HOSTILE_MODEL} · F1 ")
    assert same(label, HOSTILE_LABEL)
    guard.assert_clean()


def test_typed_title_and_uploaded_name_are_shown_literally(app, hostile_bundle, tmp_path):  # noqa: F811
    url, page, guard = app
    open_page(page, url, "query", PAGES["query"])
    page.get_by_text("Upload a photo / type a title").click()
    settle(page, PAGES["query"], after_action=True)
    box = page.get_by_label("Title", exact=True)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    for i in TYPED:
        box.fill(CORPUS[i])
        box.press("Enter")
        settle(page, PAGES["query"], after_action=True)
        no_exception(page, f"typed title {i}")
        assert same(main.locator("h4").first.inner_text(), CORPUS[i]), i
        assert main.evaluate(FOREIGN_IN_PAGE) == [], i
    name = "**b** :red[r] $1$ [x](javascript:alert(1)) \u202egpj.jpg"
    photo = tmp_path / name
    shutil.copy(next((hostile_bundle / "thumbs").glob("*.jpg")), photo)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(photo))
    settle(page, PAGES["query"], after_action=True)
    no_exception(page, "hostile upload name")
    caption = main.locator('[data-testid="stCaptionContainer"]', has_text=" px · pHash ").first
    assert same(caption.inner_text().split(" · ")[0], name)
    assert reads_left_to_right(caption, "px"), "the file name's RLO reversed the caption after it"
    assert main.evaluate(FOREIGN_IN_PAGE) == []
    guard.assert_clean()


def hover(page, chart, trace: int, point: int) -> str:
    """Move the mouse onto one point (bar: its middle) of a Plotly chart; the hover label's text (its
    lines run together: SVG text has no innerText)."""
    chart.scroll_into_view_if_needed()
    xy = chart.evaluate("""(gd, [t, i]) => { const L = gd._fullLayout, r = gd.getBoundingClientRect();
        const d = gd._fullData[t], xa = L[d.xaxis === 'x' ? 'xaxis' : 'xaxis' + d.xaxis.slice(1)],
              ya = L[d.yaxis === 'y' ? 'yaxis' : 'yaxis' + d.yaxis.slice(1)];
        const x = d.type === 'bar' && d.orientation === 'h' ? d.x[i] / 2 : d.x[i];
        return [r.left + xa._offset + xa.d2p(x), r.top + ya._offset + ya.d2p(d.y[i])]; }""", [trace, point])
    page.mouse.move(1, 1)
    page.mouse.move(*xy)
    label = chart.locator(".hoverlayer .hovertext").first
    label.wait_for(state="attached", timeout=15_000)
    assert chart.locator(".hoverlayer a").count() == 0
    return label.text_content()


def test_hover_texts_show_labels_and_titles_literally(app):
    url, page, guard = app
    open_page(page, url, "", PAGES[""])
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    chart.locator(".barlayer").wait_for(state="attached")
    where = chart.evaluate(f"""gd => {{ for (const [t, d] of gd._fullData.entries()) {{
        const i = [...d.y].indexOf({HOSTILE_MODEL!r}); if (d.type === 'bar' && i >= 0) return [t, i]; }} }}""")
    assert where is not None, "the imported model has no bar on the all pool"
    assert flat(f"{HOSTILE_MODEL}{HOSTILE_LABEL}F1 ") in flat(hover(page, chart, *where))

    open_page(page, url, "embedding", PAGES["embedding"])
    chart = page.locator('[data-testid="stPlotlyChart"] .js-plotly-plot').first
    chart.locator(".gl-container, canvas").first.wait_for(state="attached")
    # the first point whose title is the example (images, links, raw HTML, bold)
    where = chart.evaluate("""(gd, want) => { for (const [t, d] of gd._fullData.entries()) {
        const i = [...(d.hovertext || [])].findIndex(h => h.startsWith(want)); if (i >= 0) return [t, i]; } }""",
                           CORPUS[0][:20].replace("<", "&lt;"))
    assert where is not None
    assert flat(hover(page, chart, *where)).startswith(flat(CORPUS[0][:70]) + "group ")
    guard.assert_clean()


def test_failure_export_neutralises_formula_titles(app, postings, tmp_path):
    url, page, guard = app
    open_page(page, url, "failures", PAGES["failures"])
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    path = tmp_path / "failures.csv"
    download.value.save_as(path)
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {"posting_id", "title", "f1"} <= set(rows[0])
    formulas = 0
    for r in rows:
        title = postings[r["posting_id"]]
        if title.startswith(("=", "+", "-", "@")):
            formulas += 1
            assert r["title"] == "'" + title
        else:
            assert r["title"] == title
        float(r["f1"])  # numbers stay numbers
    assert formulas >= 4, "the export should hold the corpus's formula titles"
    guard.assert_clean()

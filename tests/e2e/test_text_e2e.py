"""Every hostile title of the corpus, through the helpers of dashboard/text.py, in every context the
dashboard shows text in, rendered by Streamlit in Chromium (tests/e2e/text_page.py).

What a reader sees must be exactly the title: headings, captions, code spans, metric labels and
values, radio labels and options, selectbox values, alerts, HTML cards and their tooltips, Plotly
hover labels and titles. No image or link comes from a title, no request leaves 127.0.0.1 (every
other request is recorded and aborted before it leaves), no dialog opens, and a right-to-left
override inside a title does not reverse the UI text after it (measured against the same title
shown without the helper, which does reverse it).
"""

from __future__ import annotations

import pytest

from dashboard.text import short as _short
from dashboard.text import shown
from tests.e2e.test_app_e2e import ARGS, CHROMIUM, ROOT, serve, sync_api
from tests.e2e.text_page import RTL, TITLES

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


def flat(text: str) -> str:
    """A text as read: the invisible characters the helpers add removed, and white space as the
    browser lays it out (runs collapsed, ends trimmed)."""
    return " ".join(shown(text).split())


def same(seen: str, title: str) -> bool:
    return flat(seen) == flat(title)


class Guard:
    """Requests outside 127.0.0.1 recorded and aborted before they leave; dialogs recorded and dismissed."""

    def __init__(self, context, origin: str):
        self.origin, self.outside, self.dialogs = origin, [], []
        context.route("**/*", self._route)

    def _route(self, route):
        url = route.request.url
        if url.startswith(self.origin + "/") or url == self.origin or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def watch(self, page):
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        page.on("websocket", lambda ws: None if ws.url.startswith(self.origin.replace("http", "ws"))
                else self.outside.append(ws.url))

    def assert_clean(self):
        """Nothing recorded since the last call (then starts afresh, so one leak fails one test)."""
        outside, dialogs = sorted(set(self.outside)), list(self.dialogs)
        self.outside.clear()
        self.dialogs.clear()
        assert not outside, f"requests outside 127.0.0.1: {outside}"
        assert not dialogs, f"dialogs opened: {dialogs}"


# the positions of the first and last letters of the last ``word`` in an element (a < z: read left to right)
_ENDS = """([el, word]) => { const w = document.createTreeWalker(el, NodeFilter.SHOW_TEXT); let n, hit = null;
    while ((n = w.nextNode())) { const i = n.data.lastIndexOf(word); if (i >= 0) hit = [n, i]; }
    if (!hit) return null; const [node, i] = hit; const r = document.createRange();
    r.setStart(node, i); r.setEnd(node, i + 1); const a = r.getBoundingClientRect().left;
    r.setStart(node, i + word.length - 1); r.setEnd(node, i + word.length); const z = r.getBoundingClientRect().left;
    return [a, z]; }"""
# links and images in an element that are not the app's own (heading anchors are "#...", thumbnails inline JPEGs)
FOREIGN = """(el) => [...el.querySelectorAll('a[href], img, iframe, script, object, embed, svg image')]
    .filter(e => !(e.tagName === 'A' && e.getAttribute('href').startsWith('#')))
    .map(e => e.outerHTML.slice(0, 200))"""
# ... and on the app's pages: thumbnails are inline JPEGs, a Plotly heatmap is drawn as an inline PNG
FOREIGN_IN_PAGE = """(el) => [...el.querySelectorAll('a[href], img, iframe, script, object, embed, svg image')]
    .filter(e => !(e.tagName === 'A' && e.getAttribute('href').startsWith('#'))
                 && !(e.tagName === 'IMG' && e.getAttribute('src').startsWith('data:image/jpeg;base64,'))
                 && !(e.tagName === 'image' && e.closest('.js-plotly-plot')
                      && (e.getAttribute('href') || e.getAttribute('xlink:href') || '').startsWith('data:image/png'))
                 && !(e.tagName === 'SCRIPT' && e.textContent.includes('window.__shopeeReviewKeys = true')))
    .map(e => e.outerHTML.slice(0, 200))"""


# the cards' tooltips and captions in an element: (tooltip, caption) per card or pair half
CARDS = """(el) => [...el.querySelectorAll('[data-testid="stMarkdownContainer"] [title]')].map(e => {
    const cap = [...e.querySelectorAll('div')].find(d => d.style.overflow === 'hidden');
    return [e.getAttribute('title'), cap ? cap.innerText : null]; })"""


def ends(locator, word: str = "after"):
    found = locator.evaluate(f"(el, word) => ({_ENDS})([el, word])", word)
    assert found is not None, f"no {word!r} in {locator}"
    return found


def reads_left_to_right(locator, word: str = "after") -> bool:
    a, z = ends(locator, word)
    return a < z


@pytest.fixture(scope="module")
def rendered():
    """The text page, rendered once: (page, guard) while the browser is open."""
    with serve(ROOT / "precomputed", script=ROOT / "tests" / "e2e" / "text_page.py") as url, \
            sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        guard = Guard(context, url)
        page = context.new_page()
        guard.watch(page)
        page.set_default_timeout(60_000)
        page.goto(url)
        page.locator(".st-key-raw-rtl").wait_for()
        page.locator(".st-key-plot .js-plotly-plot").wait_for()
        page.wait_for_timeout(1500)  # lazy Markdown plug-ins (emoji, KaTeX) load after the first paint
        yield page, guard
        browser.close()


@pytest.mark.parametrize("i", range(len(TITLES)), ids=lambda i: f"title{i}")
def test_every_context_shows_the_title_literally(rendered, i):
    page, guard = rendered
    t = TITLES[i]

    def text(key, inner="", first=True):
        loc = page.locator(f".st-key-{key}-{i} {inner}".strip())
        return (loc.first if first else loc).inner_text()

    assert same(text("heading", "h4"), t)
    assert same(text("caption"), f"before · {t} · after")
    assert same(text("code", "p"), f"id {t} · after")
    assert same(text("metric", '[data-testid="stMetricLabel"]'), t)
    assert same(text("metric", '[data-testid="stMetricValue"]'), t)
    assert same(text("radio", '[data-testid="stWidgetLabel"]'), t)
    assert same(text("radio", '[role="radiogroup"]'), t)
    assert same(page.locator(f".st-key-select-{i} input").input_value(), f"{t} · train_123")
    assert same(text("alert", '[data-testid="stMarkdownContainer"]'), f"{t}: after")
    cards = page.locator(f".st-key-card-{i}").evaluate(CARDS)
    assert len(cards) == 3  # the card and the pair's two halves: (tooltip, caption)
    (tip, caption), halves = cards[0], cards[1:]
    assert same(tip.split("\n")[0], t) and tip.split("\n")[1] == "train_1 · group 7"
    assert same(caption or "", _short(t, 60) if t.strip() else "")
    for tip, caption in halves:
        assert same(tip, t) and same(caption, _short(t, 40))
    assert same(page.locator(f".st-key-card-{i}").inner_text().split("\n")[-1], f"{t} · note")
    for key in ("heading", "caption", "code", "metric", "radio", "alert", "card"):
        box = page.locator(f".st-key-{key}-{i}")
        assert box.evaluate(FOREIGN) == [], (key, t)
        assert box.locator('[role="img"], .katex, del, em, strong, code:not(p > code:only-child)').count() == 0 \
            if key not in ("code", "metric", "radio") else True
    for key in ("caption", "code", "alert"):  # the text after the title still reads left to right
        assert reads_left_to_right(page.locator(f".st-key-{key}-{i}")), (key, t)
    guard.assert_clean()


def test_the_bidi_measurement_catches_an_unisolated_override(rendered):
    page, _ = rendered
    assert not reads_left_to_right(page.locator(".st-key-raw-rtl")), \
        "an unclosed RLO shown without the helper should reverse the text after it"


def test_plotly_hover_and_title_show_titles_literally(rendered):
    page, guard = rendered
    chart = page.locator(".st-key-plot .js-plotly-plot")
    chart.scroll_into_view_if_needed()  # the mouse only reaches what is in the viewport
    assert same(chart.locator(".gtitle").text_content(), TITLES[4])  # SVG: text_content, not inner_text
    for i in (0, 4, 6, RTL):
        xy = chart.evaluate("""(gd, i) => { const L = gd._fullLayout, r = gd.getBoundingClientRect();
            return [r.left + L.xaxis._offset + L.xaxis.d2p(i), r.top + L.yaxis._offset + L.yaxis.d2p(1)]; }""", i)
        page.mouse.move(0, 0)
        page.mouse.move(*xy)
        label = chart.locator(".hoverlayer .hovertext")
        label.wait_for(state="attached", timeout=10_000)
        assert same(label.text_content(), TITLES[i]), i
        assert chart.locator(".hoverlayer a").count() == 0
    guard.assert_clean()

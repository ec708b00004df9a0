"""State that survives and text that fits, in a real browser (Debian's Chromium through Playwright).

- Round trip: the sidebar's decision, a page's view and the models a page shows stay put when the
  user goes to another page through the sidebar and back, and after a reload of the URL.
- 1280 × 720: on every page no text is cut — no element that clips its text (ellipsis or hidden
  overflow) is narrower than its text. Screenshots of every page at that size go to
  ``$SHOPEE_SCREENSHOTS`` (or a temporary folder, printed).
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_app_e2e import (  # noqa: F401  (fixtures)
    ARGS,
    CHROMIUM,
    IDLE,
    PAGES,
    no_exception,
    server,
    settle,
    shots,
    sync_api,
)
from tests.tiny_bundle import dash_bundle  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(not CHROMIUM.exists(), reason="needs /usr/bin/chromium")]
WIDTH, HEIGHT = 1280, 720

# every element whose own text is clipped: it cuts what overflows (ellipsis or hidden) and its text
# is wider than its box, with no hover title to show it in full. Plotly's SVG and the dataframe's
# canvas are not HTML text: left out (the dataframe's columns are sized by their column config).
CLIPPED = """() => {
  const out = [];
  const roots = document.querySelectorAll('[data-testid="stMain"], [data-testid="stSidebar"]');
  for (const root of roots) {
    for (const el of root.querySelectorAll('input[type="text"], input:not([type])')) {
      // a chosen option shown in an input (a selectbox) cannot wrap: its value must fit
      if (el.offsetParent !== null && el.value && el.scrollWidth > el.clientWidth + 1) {
        out.push(el.value.slice(0, 80) + ' [input ' + el.scrollWidth + ' > ' + el.clientWidth + ']');
      }
    }
    for (const el of root.querySelectorAll('*')) {
      if (el.closest('.js-plotly-plot, [data-testid="stDataFrame"], [data-testid="stDataFrameResizable"], '
                     + 'svg, canvas, [data-testid="stSidebarNav"], [role="tooltip"], [data-baseweb="popover"]')) continue;
      const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim().length > 0);
      if (!own || el.offsetParent === null) continue;
      if (el.closest('[title]')) continue;  // shown in full on hover
      // where the text really is (its layout, clipped or not) against every box that clips it
      const range = document.createRange();
      range.selectNodeContents(el);
      const tr = range.getBoundingClientRect();
      if (tr.width === 0) continue;
      for (let a = el; a && a !== root.parentElement; a = a.parentElement) {
        const cs = getComputedStyle(a);
        if (cs.overflowX === 'visible' && cs.textOverflow !== 'ellipsis') continue;
        const ar = a.getBoundingClientRect();
        if (tr.right > ar.right + 1 || tr.left < ar.left - 1) {
          out.push(el.textContent.trim().slice(0, 80) + ' [' + Math.round(tr.width) + ' px in ' + Math.round(ar.width) + ']');
          break;
        }
      }
    }
  }
  return out;
}"""


@pytest.fixture(scope="module")
def browser_page(server):  # noqa: F811
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        pg.set_default_timeout(45_000)
        yield pg
        browser.close()


def nav(pg, title: str, heading: str) -> None:
    """Go to a page the way a user does: its link in the sidebar."""
    pg.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    settle(pg, heading, after_action=True)


def pick(pg, box, option: str, tries: int = 3) -> None:
    """Choose ``option`` in the selectbox ``box`` as a user does: a mouse press on its input, then the option.

    Playwright's ``Locator.click`` on the sidebar selectbox's input focused it without opening its menu
    (a press at the same point opens it); and a script run that ends while the menu is open redraws the
    widget and closes it, so a press whose menu does not show is pressed again, as a user would."""
    field = box.locator("input").first
    for attempt in range(tries):
        field.scroll_into_view_if_needed()
        r = field.bounding_box()
        pg.mouse.click(r["x"] + r["width"] / 2, r["y"] + r["height"] / 2)
        choice = pg.get_by_role("option", name=option).first
        try:
            choice.wait_for(state="visible", timeout=5_000)
        except sync_api.TimeoutError:
            if attempt == tries - 1:
                raise
            pg.keyboard.press("Escape")
            pg.wait_for_function(IDLE, timeout=90_000)
            continue
        choice.click()
        return


def chips(pg, label: str) -> str:
    """What a multiselect shows (its chosen options' text)."""
    return pg.locator('[data-testid="stMultiSelect"]', has_text=label).first.inner_text()


def full_page(pg, path) -> None:
    """A screenshot of the whole page at 1280 px wide (the viewport stretched to the app's height)."""
    height = pg.evaluate("() => Math.max(...[...document.querySelectorAll("
                         "'[data-testid=\"stMain\"], [data-testid=\"stAppViewContainer\"]')]"
                         ".map(e => e.scrollHeight), 600)")
    pg.set_viewport_size({"width": WIDTH, "height": min(int(height) + 40, 6000)})
    pg.wait_for_timeout(400)
    pg.screenshot(path=str(path))
    pg.set_viewport_size({"width": WIDTH, "height": HEIGHT})


def test_round_trip_through_the_sidebar_and_a_reload(browser_page, server):  # noqa: F811
    pg = browser_page
    pg.goto(server + "/query")
    settle(pg, PAGES["query"])
    # the one decision: plain T, chosen in the sidebar (the default models follow it)
    sidebar = pg.locator('[data-testid="stSidebar"]')
    box = sidebar.locator('[data-testid="stSelectbox"]', has_text="Decision").first
    pick(pg, box, "plain T")
    settle(pg, PAGES["query"], after_action=True)
    assert "rule=base" in pg.url
    shown = chips(pg, "Models")
    assert shown.count("tfidf") >= 1, shown
    nav(pg, "Leaderboard", PAGES[""])
    nav(pg, "Query by example", PAGES["query"])
    no_exception(pg, "query after a round trip")
    assert chips(pg, "Models") == shown  # was: "Choose at least one model."
    assert pg.get_by_text("Choose at least one model.").count() == 0
    assert pg.get_by_text(re.compile(r"F1 \d\.\d{4} · plain T, tuned on valid")).count() >= 1
    # a page's own view: Thresholds on "Group sizes", away and back
    nav(pg, "Thresholds & decisions", PAGES["thresholds"])
    pg.locator('[data-testid="stMain"] button', has_text="Group sizes").first.click()
    settle(pg, PAGES["thresholds"], after_action=True)
    nav(pg, "Compare models", PAGES["compare"])
    nav(pg, "Thresholds & decisions", PAGES["thresholds"])
    sizes_view = re.compile("predicted sets larger than the largest true group")  # the Group sizes view's caption
    assert pg.get_by_text(sizes_view).count() >= 1
    # a reload keeps what the URL names: the decision (and the models, once chosen: the AppTest reload test)
    url = pg.url
    assert "rule=base" in url
    pg.reload()
    settle(pg, PAGES["thresholds"])
    box = pg.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]', has_text="Decision").first
    assert box.locator("input").first.input_value() == "plain T"


def test_nothing_is_cut_at_1280_px(browser_page, server, shots):  # noqa: F811
    pg = browser_page
    cut = {}
    for path, heading in {**PAGES, "groups": "Group studio"}.items():
        pg.goto(f"{server}/{path}")
        settle(pg, heading)
        no_exception(pg, path or "leaderboard")
        found = pg.evaluate(CLIPPED)
        if found:
            cut[path or "leaderboard"] = found
        full_page(pg, shots / f"1280-{path or 'leaderboard'}.png")
    assert not cut, cut

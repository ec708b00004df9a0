"""Intervals in a real browser: the Leaderboard's whiskers and A vs B panel, and shareable links.

A link pasted into a fresh browser context (a new session) reopens the same A vs B pair and the
same live Thresholds decision, with the same numbers. Skipped without Debian's chromium or the
playwright package (never ``playwright install``).
"""

from __future__ import annotations

import pytest

from tests.e2e.test_app_e2e import ARGS, CHROMIUM, HEIGHT, PAGES, WIDTH, no_exception, serve, settle
from tests.tiny_bundle import FUSION, dash_bundle  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package (pip install playwright)")


@pytest.fixture(scope="module")
def server(dash_bundle):  # noqa: F811
    with serve(dash_bundle) as url:
        yield url


@pytest.fixture(scope="module")
def browser(server):
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def fresh(browser, url: str, heading: str):
    """A new browser context (a new app session, as a pasted link gets) on ``url``."""
    ctx = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    pg = ctx.new_page()
    pg.set_default_timeout(45_000)
    pg.goto(url)
    settle(pg, heading)
    return pg


def metric_value(pg, label: str) -> str:
    m = pg.locator('[data-testid="stMainBlockContainer"] [data-testid="stMetric"]',
                   has=pg.locator('[data-testid="stMetricLabel"]', has_text=label)).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def interval_caption(pg) -> str:
    return pg.locator('[data-testid="stMainBlockContainer"] [data-testid="stCaptionContainer"]',
                      has_text="95 % interval").first.inner_text()


def test_leaderboard_whiskers_and_a_vs_b_panel(browser, server, dash_bundle):  # noqa: F811
    from shopee_core.analysis import intervals as I
    from shopee_core.bundle import Bundle

    pg = fresh(browser, server + "/", PAGES[""])
    no_exception(pg, "leaderboard")
    chart = pg.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for(state="visible")
    b = Bundle.open(dash_bundle)
    ranked = sum(1 for m in b.models if I.resolve(b, m["id"], "best"))
    # Plotly draws after the script run is over: wait for every whisker
    sync_api.expect(pg.locator('[data-testid="stPlotlyChart"]').first.locator("g.errorbar")).to_have_count(
        ranked, timeout=30_000)
    pg.get_by_text("A vs B", exact=True).first.wait_for(state="visible")
    assert metric_value(pg, "F1 A − B").startswith(("+", "-"))
    assert pg.get_by_text("F1 difference per slice").count() >= 1
    pg.context.close()


def test_a_pasted_a_vs_b_link_shows_the_same_pair_and_numbers(browser, server, dash_bundle):  # noqa: F811
    from shopee_core.analysis import intervals as I
    from shopee_core.bundle import Bundle

    link = f"{server}/?ab=tfidf:min2,{FUSION}:base"
    pg = fresh(browser, link, PAGES[""])
    no_exception(pg, "leaderboard from a link")
    o = I.compare(Bundle.open(dash_bundle), "test", ("tfidf", "min2"), (FUSION, "base"))["overall"]
    assert metric_value(pg, "F1 A − B") == f"{o['difference']['f1']:+.4f}"
    assert metric_value(pg, "95 % interval") == f"[{o['ci']['f1'][0]:+.4f}, {o['ci']['f1'][1]:+.4f}]"
    assert metric_value(pg, "P(A > B)") == f"{o['p_better']:.3f}"
    assert "ab=" in pg.url
    again = fresh(browser, pg.url, PAGES[""])
    for label in ("F1 A − B", "95 % interval", "P(A > B)"):
        assert metric_value(again, label) == metric_value(pg, label)
    pg.context.close()
    again.context.close()


def test_a_pasted_thresholds_link_reopens_the_moved_decision(browser, server):
    pg = fresh(browser, server + "/thresholds?rule=min2", PAGES["thresholds"])
    before = metric_value(pg, "F1")
    thumb = pg.locator('[data-testid="stMainBlockContainer"] input[type="range"][aria-label="T"]').first
    thumb.focus()
    for _ in range(8):
        for _ in range(6):
            pg.keyboard.press("ArrowLeft")
        settle(pg, PAGES["thresholds"], after_action=True)
        if metric_value(pg, "F1") != before:
            break
    moved = metric_value(pg, "F1")
    assert moved != before
    pg.wait_for_function("() => window.location.search.includes('decision=')")
    caption = interval_caption(pg)
    assert "resamples of the" in caption
    again = fresh(browser, pg.url, PAGES["thresholds"])
    no_exception(again, "thresholds from a link")
    assert metric_value(again, "F1") == moved
    assert interval_caption(again) == caption
    pg.context.close()
    again.context.close()

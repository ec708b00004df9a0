"""The Data overview and Training pages in Chromium on a bundle with histories, a sweep and the
'all' pool: they render with no exception, draw their charts and images, on test and on 'all'."""

from __future__ import annotations

import pytest

from tests.analyses_bundle import analyses_bundle  # noqa: F401  (session fixture)
from tests.e2e.test_app_e2e import ARGS, CHROMIUM, HEIGHT, WIDTH, no_exception, serve, settle

sync_api = pytest.importorskip("playwright.sync_api", reason="needs the playwright package")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def page(analyses_bundle):  # noqa: F811
    with serve(analyses_bundle) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        pg.set_default_timeout(45_000)
        pg.url_base = url
        yield pg
        browser.close()


def _charts(pg) -> int:
    """Charts drawn in the main area; waits for the first (a page under load may place them late)."""
    charts = pg.locator('[data-testid="stMainBlockContainer"] [data-testid="stPlotlyChart"]')
    charts.first.wait_for(state="attached", timeout=60_000)
    for i in range(charts.count()):  # drawn, not just placed
        charts.nth(i).locator(".main-svg").first.wait_for(state="attached")
    return charts.count()


def test_data_overview_on_test_and_on_all(page, analyses_bundle):  # noqa: F811
    from shopee_core.bundle import Bundle

    b = Bundle.open(analyses_bundle)
    main = page.locator('[data-testid="stMainBlockContainer"]')
    page.goto(f"{page.url_base}/data")
    settle(page, "Data overview")
    no_exception(page, "data")
    assert f"{len(b.split_rows('test')):,} postings" in main.get_by_text("the sidebar's split").first.inner_text()
    assert _charts(page) >= 5
    assert page.locator('[data-testid="stMainBlockContainer"] img[src^="data:image/jpeg;base64"]').count() > 0
    page.locator('[data-testid="stSidebar"]').get_by_text("all labelled").click()
    settle(page, "Data overview", after_action=True)
    no_exception(page, "data (all)")
    caption = main.get_by_text("the sidebar's split").first.inner_text()
    assert "all labelled" in caption and f"{len(b.postings):,} postings" in caption
    assert _charts(page) >= 5


def test_training_page_draws_curves_and_the_sweep(page):
    page.goto(f"{page.url_base}/training")
    settle(page, "Training")
    no_exception(page, "training")
    assert _charts(page) == 4
    assert page.get_by_text("Margin sweeps").count() >= 1

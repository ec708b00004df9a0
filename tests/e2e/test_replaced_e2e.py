"""A model replaced at the same bundle path while the app runs: after a reload Chromium shows the new model's
numbers on Compare and its errors on the Embedding map, not what the server cached for the old one."""

from __future__ import annotations

import shutil

import pytest

from tests.app.test_replaced import MINE, agreement, error_legend, group_rows, noisy_rows, put
from tests.e2e.test_app_e2e import ARGS, CHROMIUM, no_exception, serve, settle, sync_api
from tests.tiny_bundle import dash_bundle  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]


def metrics(page, labels) -> dict:
    main = page.locator('[data-testid="stMainBlockContainer"]')
    out = {}
    for label in labels:
        card = main.locator('[data-testid="stMetric"]', has=page.locator('[data-testid="stMetricLabel"]',
                                                                         has_text=label)).first
        out[label] = card.locator('[data-testid="stMetricValue"]').inner_text().strip()
    return out


def legend(page, entries) -> None:
    """Wait until the map's legend shows every entry (Plotly draws after the script run)."""
    main = page.locator('[data-testid="stMainBlockContainer"]')
    for text in entries:
        main.locator("svg text", has_text=text).first.wait_for(state="attached", timeout=30_000)


def embedding_by_error(page, url: str) -> None:
    page.goto(f"{url}/embedding?models={MINE}&split=test&rule=min2")
    settle(page, "Embedding space")
    page.locator('[data-testid="stMainBlockContainer"]').get_by_text("error type", exact=True).click()
    settle(page, "Embedding space", after_action=True)


def test_compare_and_embedding_follow_a_replaced_model(dash_bundle, tmp_path):  # noqa: F811
    from shopee_core.bundle import Bundle

    root = tmp_path / "dash"
    shutil.copytree(dash_bundle, root)
    put(root, group_rows(Bundle.open(root)), tmp_path, replace=False)
    before, before_map = agreement(root, "test"), error_legend(root, "test")
    with serve(root) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(45_000)
        page.goto(f"{url}/compare?models={MINE},tfidf&split=test&rule=min2")
        settle(page, "Compare models")
        assert metrics(page, before) == before
        embedding_by_error(page, url)
        legend(page, before_map)

        put(root, noisy_rows(Bundle.open(root)), tmp_path, replace=True)  # what import-model --replace runs
        after, after_map = agreement(root, "test"), error_legend(root, "test")
        assert after != before and after_map != before_map

        page.goto(f"{url}/compare?models={MINE},tfidf&split=test&rule=min2")
        settle(page, "Compare models")
        no_exception(page, "compare after the replacement")
        assert metrics(page, after) == after
        embedding_by_error(page, url)
        no_exception(page, "embedding after the replacement")
        legend(page, after_map)
        main = page.locator('[data-testid="stMainBlockContainer"]')
        assert all(main.locator("svg text", has_text=t).count() == 0 for t in before_map - after_map)
        browser.close()

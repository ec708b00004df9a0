"""Review suspects in a real browser: the verdict keys y / s / u pressed on the page append to the
review file beside the bundle (Streamlit has no key bindings: the page's own script clicks the
button), and a key typed into a text field is not a verdict."""

from __future__ import annotations

import json
import os
import time

import pytest

from tests.e2e.test_app_e2e import ARGS, CHROMIUM, HEIGHT, WIDTH, no_exception, serve, settle, sync_api
from tests.tiny_bundle import dash_bundle  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]


@pytest.fixture(scope="module")
def reviews(tmp_path_factory):
    path = tmp_path_factory.mktemp("reviews") / "dash.reviews.jsonl"
    old = os.environ.get("SHOPEE_REVIEWS")
    os.environ["SHOPEE_REVIEWS"] = str(path)  # the server inherits it
    yield path
    if old is None:
        os.environ.pop("SHOPEE_REVIEWS", None)
    else:
        os.environ["SHOPEE_REVIEWS"] = old


@pytest.fixture(scope="module")
def page(dash_bundle, reviews):  # noqa: F811
    with serve(dash_bundle) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        pg.set_default_timeout(45_000)
        pg.goto(url + "/review")
        settle(pg, "Review suspects")
        yield pg
        browser.close()


def lines(path, n: int, timeout: float = 30.0) -> list[dict]:
    """The review file once it holds ``n`` lines (fails after ``timeout`` seconds)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []
        if len(got) >= n:
            return got
        time.sleep(0.2)
    pytest.fail(f"the review file has {len(got)} lines, expected {n}")


def test_keys_record_skip_and_undo(page, reviews):
    no_exception(page, "review")
    assert page.get_by_role("button", name="Same product (y)").is_enabled(), "the dashboard bundle needs suspects"
    page.locator('[data-testid="stMainBlockContainer"] h1').click()  # focus the page, not a widget
    page.keyboard.press("y")
    first = lines(reviews, 1)[0]
    assert first["action"] == "verdict" and first["verdict"] == "y"
    settle(page, "Review suspects", after_action=True)
    page.keyboard.press("s")
    second = lines(reviews, 2)[1]
    assert second["verdict"] == "s" and second["suspect"] != first["suspect"]
    settle(page, "Review suspects", after_action=True)
    page.keyboard.press("u")
    undo = lines(reviews, 3)[2]
    assert undo["action"] == "undo" and undo["undoes"] == second["id"]
    settle(page, "Review suspects", after_action=True)
    no_exception(page, "review after the keys")
    assert "Reviewed 1 of" in page.locator('[data-testid="stProgress"]').inner_text()


def test_a_key_typed_into_a_field_is_not_a_verdict(page, reviews):
    before = len(lines(reviews, 0))
    field = page.locator('[data-testid="stSidebar"] input').first
    field.click()
    page.keyboard.press("n")
    page.keyboard.press("Escape")
    page.wait_for_timeout(1500)
    assert len(lines(reviews, 0)) == before

"""The app makes no request outside 127.0.0.1: every request of every page is recorded in Chromium.

A dashboard for data that may be private, run on machines without internet, must not reach out:
no web fonts, no icon CDNs, no telemetry. (Streamlit turns a ``:material/...:`` page icon into
a favicon fetched from fonts.gstatic.com, which is why the icon ships as a file.)
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.e2e.test_app_e2e import ARGS, CHROMIUM, HEIGHT, PAGES, WIDTH, server, settle, sync_api  # noqa: F401
from tests.tiny_bundle import dash_bundle  # noqa: F401  (session fixture)

pytestmark = pytest.mark.e2e

LOCAL = {"127.0.0.1", "localhost", "::1"}


def outside(url: str) -> bool:
    """A network request (http/https/ws/wss) to a host other than this machine."""
    u = urlparse(url)
    return u.scheme in ("http", "https", "ws", "wss") and (u.hostname or "") not in LOCAL


@pytest.fixture(scope="module")
def recorded(server):  # noqa: F811
    """Every request the browser made while each page was opened and rendered."""
    urls: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        context = browser.new_context(viewport={"width": WIDTH, "height": HEIGHT})
        context.on("request", lambda request: urls.append(request.url))
        page = context.new_page()
        page.on("websocket", lambda ws: urls.append(ws.url))
        page.set_default_timeout(45_000)
        for path, heading in PAGES.items():
            page.goto(f"{server}/{path}")
            settle(page, heading)
            page.wait_for_timeout(500)  # late requests (favicon, fonts, lazy chunks)
        browser.close()
    return urls


def test_no_request_leaves_the_machine(recorded):
    assert any("/_stcore/" in u or "/static/" in u for u in recorded), "nothing was recorded"
    assert any("favicon" in u or "/media/" in u for u in recorded), "the page icon was never requested"
    external = sorted({u for u in recorded if outside(u)})
    assert not external, f"requests outside 127.0.0.1: {external}"


def test_outside_tells_local_from_remote():
    assert outside("https://fonts.gstatic.com/s/i/x.svg") and outside("wss://example.org/ws")
    assert not outside("http://127.0.0.1:8501/_stcore/health") and not outside("ws://localhost:1/_stcore/stream")
    assert not outside("data:image/svg+xml,<svg/>") and not outside("blob:http://127.0.0.1/x")

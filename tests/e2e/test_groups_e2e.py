"""The Group studio in Chromium: select a group, its graph draws, a what-if cut changes the pool's F1."""

from __future__ import annotations

import re

import pytest

from tests.e2e.test_app_e2e import CHROMIUM, IDLE, no_exception, page, screenshot, server, settle, shots, sync_api  # noqa: F401  # noqa: F401  (module fixtures: a server and a browser page)
from tests.tiny_bundle import dash_bundle  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]
HEADING = "Group studio"


def choose(pg, label: str, option: str | int) -> None:
    """Pick an option of the selectbox labelled ``label`` (by text, or the n-th). Streamlit 1.67's
    selectbox is a react-aria combobox: its "Open" button shows a list of role="option" items."""
    pg.wait_for_function(IDLE, timeout=90_000)
    main = pg.locator('[data-testid="stMainBlockContainer"]')
    box = main.locator('[data-testid="stSelectbox"]').filter(has=pg.get_by_text(label, exact=True)).first
    box.get_by_role("button", name="Open").click()
    options = pg.get_by_role("option")
    try:
        options.first.wait_for(state="visible", timeout=5_000)
    except sync_api.TimeoutError:  # the list did not open from the button: open it from the keyboard
        box.get_by_role("combobox").click()
        pg.keyboard.press("ArrowDown")
        options.first.wait_for(state="visible")
    (options.nth(option) if isinstance(option, int) else options.filter(has_text=option).first).click()
    settle(pg, HEADING, after_action=True)


def graph_points(pg) -> int:
    """Markers drawn in the group's graph (nodes + edge midpoints)."""
    chart = pg.locator('[data-testid="stPlotlyChart"]').first
    chart.wait_for(state="visible")
    return chart.locator("g.scatterlayer path.point").count()


def metric_values(pg, label: str) -> list[tuple[str, str]]:
    out = []
    metrics = pg.locator('[data-testid="stMainBlockContainer"] [data-testid="stMetric"]',
                         has=pg.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{label}$")))
    for k in range(metrics.count()):
        m = metrics.nth(k)
        delta = m.locator('[data-testid="stMetricDelta"]')
        out.append((m.locator('[data-testid="stMetricValue"]').inner_text(),
                    delta.inner_text() if delta.count() else ""))
    return out


def test_select_a_group_draw_it_and_cut_an_edge(page, server, shots):  # noqa: F811
    page.goto(f"{server}/groups")
    settle(page, HEADING)
    no_exception(page, "group studio")
    choose(page, "Graph step", "No graph step")  # per-row sets: any cut moves two rows' F1
    no_exception(page, "group studio without a graph step")
    assert graph_points(page) >= 2, "the worst group's graph is drawn"
    choose(page, "Group", 1)  # another group from the list
    no_exception(page, "group studio after choosing a group")
    assert graph_points(page) >= 2, "the chosen group's graph is drawn"
    choose(page, "Group", 0)
    before = metric_values(page, "F1")
    page.get_by_role("button", name="Cut this edge").click()
    settle(page, HEADING, after_action=True)
    no_exception(page, "group studio after a what-if cut")
    after = metric_values(page, "F1")
    assert len(after) == len(before) + 1, f"no what-if score: {after}"
    value, delta = after[-1]
    assert delta and delta not in ("±0.0000",) and value != before[0][0], (before, after)
    assert metric_values(page, "Rows re-scored")[0][0] == "2"
    screenshot(page, shots, "group_studio_what_if")

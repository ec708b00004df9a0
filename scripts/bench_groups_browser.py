"""The Group studio and a graph step as a user feels them, in Debian's Chromium (Playwright).

    python scripts/bench_groups_browser.py BUNDLE [--pool test] [--model ID] [--repeat 5]

On a fresh `streamlit run app.py` (127.0.0.1), for one model of the bundle:
  * Group studio, from the sidebar: first view (groups and their table built in the server) and
    warm (again, caches filled), navigation click -> complete render;
  * the largest true group (51 members on Kaggle-shaped data) selected in the table's group
    picker -> its graph drawn (complete render);
  * the Thresholds page with the graph step ``cluster`` on: a T-slider key press -> F1 changed,
    and the same without a graph step beside it (the ratio: what the step costs a move).
Each figure with its target and the ratio figure/target (<= 1 meets it) and the load average.
The page and timing helpers are bench_browser.py's.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_browser import (  # noqa: E402
    ARGS,
    CHROMIUM,
    COMPLETE,
    HEIGHT,
    WIDTH,
    Server,
    act,
    line,
    load,
    median,
    open_page,
    slider_steps,
)

TARGET = {"studio_first": 2.0, "studio_warm": 1.0, "draw51": 1.0, "slider": 0.300}
HEADING = "Group studio"


def nav(pg, title: str, heading: str) -> float:
    import time

    link = pg.locator('[data-testid="stSidebarNav"] a', has_text=title).first
    t = time.perf_counter()
    link.click()
    pg.wait_for_function(COMPLETE, arg=heading, timeout=300_000, polling=50)
    return time.perf_counter() - t


def choose(pg, label: str, option_text: str) -> dict:
    """Pick an option of the selectbox labelled ``label`` (a react-aria combobox in Streamlit 1.67: its
    "Open" button lists role="option" items; typing filters a long list); the time from the click on
    the option to the end of the drawing."""
    main = pg.locator('[data-testid="stMainBlockContainer"]')
    box = main.locator('[data-testid="stSelectbox"]').filter(has=pg.get_by_text(label, exact=True)).first
    if option_text in box.get_by_role("combobox").input_value():
        return {"done": 0.0, "f1": None, "end": 0.0, "changed": False}  # already chosen: nothing reruns
    box.get_by_role("button", name="Open").click()
    option = pg.get_by_role("option").filter(has_text=option_text).first
    if not option.count():
        box.get_by_role("combobox").fill(option_text)
    option.wait_for(state="visible")
    return act(pg, lambda: option.click())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--pool", default="test")
    ap.add_argument("--model", help="model to study (default: the bundle's first text model)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    bundle = Path(args.bundle).expanduser().resolve()
    if not (bundle / "manifest.json").is_file():
        print(f"error: {bundle} is not a bundle (no manifest.json)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from shopee_core.analysis import decisions as D
    from shopee_core.bundle import Bundle

    b = Bundle.open(bundle, verify=False)
    model = args.model or next(m["id"] for m in b.models if D.modality(b, m["id"]) == "text"
                               and not m.get("predictions_only"))
    n = len(b.split_rows(args.pool))
    labels = b.labels(args.pool)
    largest = int(max(__import__("collections").Counter(labels.tolist()).values()))
    print(f"bundle {bundle.name}: pool {args.pool} {n:,} postings, model {model}, largest true group {largest}; "
          f"{load()}")
    query = f"?split={args.pool}&models={model}"
    ok = []
    cache = Path(tempfile.mkdtemp(prefix="bench-groups-cache-"))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        server = Server(bundle, cache, "app.py")
        try:
            pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
            pg.set_default_timeout(300_000)
            open_page(pg, server, "", query)
            first = nav(pg, HEADING, HEADING)
            choose(pg, "Graph step", "No graph step")
            nav(pg, "Leaderboard", "Leaderboard")
            warm = median([nav(pg, HEADING, HEADING) for _ in range(args.repeat)] if args.repeat else [])
            print(f"\nGroup studio, sidebar click -> complete render ({load()})")
            ok.append(line("first view (groups + table built)", first, TARGET["studio_first"]))
            ok.append(line("warm view (median)", warm, TARGET["studio_warm"]))
            # the largest true group, drawn
            main = pg.locator('[data-testid="stMainBlockContainer"]')
            main.get_by_role("radio", name="True groups").first.click()
            pg.wait_for_function(COMPLETE, arg=HEADING, timeout=300_000, polling=50)
            draws = [choose(pg, "Group", f"size {largest} ")["done"]]
            print(f"\nGroup studio: a {largest}-member true group selected -> drawn ({load()})")
            ok.append(line(f"{largest}-member group drawn", draws[0], TARGET["draw51"]))
            # a threshold move, with and without a graph step
            open_page(pg, server, "thresholds", query)
            plain = slider_steps(pg, "T", args.repeat)
            choose(pg, "Graph step", "cluster")
            stepped = slider_steps(pg, "T", args.repeat)
            t_plain = median(s["f1"] for s in plain if s["changed"])
            t_graph = median(s["f1"] for s in stepped if s["changed"])
            print(f"\nThresholds: T slider key press -> F1 changed ({load()}; "
                  f"{sum(s['changed'] for s in stepped)} of {len(stepped)} steps changed F1 with the step)")
            line("without a graph step (median)", t_plain, TARGET["slider"], "ms")
            ok.append(line("with cluster (median)", t_graph, TARGET["slider"], "ms",
                           extra=f"   with/without {t_graph / t_plain:.2f}x"))
            errors = pg.locator('[data-testid="stException"]').count()
            if errors:
                print(f"  WARNING: {errors} exception element(s) on the page")
        finally:
            server.stop()
            browser.close()
    print(f"\nsummary: {sum(ok)} of {len(ok)} figures within target ({load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

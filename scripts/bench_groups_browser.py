"""The Group studio and a graph step as a user feels them, in Debian's Chromium (Playwright).

    python scripts/bench_groups_browser.py BUNDLE [--pool test] [--model ID] [--repeat 5] [--before DIR] [--quick]

On a fresh `streamlit run app.py` (127.0.0.1), for one model of the bundle:
  * Group studio, from the sidebar: first view (groups and their table built in the server) and
    warm (again, caches filled), navigation click -> complete render;
  * the warm view of a group: another predicted group (one not drawn before) chosen in the group
    picker -> its drawing, what-if and thumbnails complete;
  * the largest true group (51 members on Kaggle-shaped data) selected in the group picker -> its
    graph drawn (complete render);
  * the Thresholds page with the graph step ``cluster`` on: a T-slider key press -> F1 changed,
    and the same without a graph step beside it (the ratio: what the step costs a move).
``--before DIR``: another checkout of the app (e.g. ``git archive`` of an earlier commit, unpacked)
timed the same way in the same run, on its own server: each figure then gets "before" and the ratio
ours/before beside it.
Each figure with its target and the ratio figure/target (<= 1 meets it) and the load average.
``--quick`` (one step each) only proves the script still runs against a bundle (tests use it).
The page and timing helpers are bench_browser.py's.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import bench_browser as bb  # noqa: E402
from bench_browser import ARGS, CHROMIUM, COMPLETE, HEIGHT, WIDTH, NoRerun, act, line, load, median, open_page  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

TARGET = {"studio_first": 2.0, "studio_warm": 1.0, "switch": 0.200, "draw51": 1.0, "slider": 0.300}
HEADING = "Group studio"


def nav(pg, title: str, heading: str) -> float:
    link = pg.locator('[data-testid="stSidebarNav"] a', has_text=title).first
    t = time.perf_counter()
    link.click()
    pg.wait_for_function(COMPLETE, arg=heading, timeout=300_000, polling=50)
    return time.perf_counter() - t


def selectbox(pg, label: str):
    """The selectbox whose label starts with ``label`` (Thresholds names a tuned step in its label)."""
    main = pg.locator('[data-testid="stMainBlockContainer"]')
    return main.locator('[data-testid="stSelectbox"]').filter(
        has=pg.get_by_text(re.compile("^" + re.escape(label) + r"\b"))).first


def choose(pg, label: str, option: str | int) -> dict:
    """Pick an option of the selectbox labelled ``label``, by text or the n-th (a react-aria combobox
    in Streamlit 1.67: its "Open" button lists role="option" items; typing filters a long list); the
    time from the click on the option to the end of the drawing."""
    box = selectbox(pg, label)
    if isinstance(option, str) and option in box.get_by_role("combobox").input_value():
        return {"done": 0.0, "f1": None, "end": 0.0, "changed": False}  # already chosen: nothing reruns
    for attempt in (1, 2):
        item = open_option(pg, box, option)
        try:
            return act(pg, lambda item=item: item.click(), timeout_s=60.0)
        except NoRerun as exc:  # the click missed the option (the list closed or moved under it): once more
            if attempt == 2 or isinstance(option, str) and option in box.get_by_role("combobox").input_value():
                raise
            print(f"  ({exc}; choosing {label!r} again)")
            pg.keyboard.press("Escape")


def open_option(pg, box, option: str | int):
    """Open ``box``'s list and return the option to click (the n-th, or the one with that text)."""
    box.get_by_role("button", name="Open").click()
    options = pg.get_by_role("option")
    try:
        options.first.wait_for(state="visible", timeout=5_000)
    except PlaywrightTimeout:  # the list did not open from the button: open it from the keyboard
        box.get_by_role("combobox").click()
        pg.keyboard.press("ArrowDown")
        options.first.wait_for(state="visible", timeout=30_000)
    if isinstance(option, int):
        item = options.nth(option)
    else:
        item = options.filter(has_text=option).first
        if not item.count():
            box.get_by_role("combobox").fill(option)
    item.wait_for(state="visible", timeout=30_000)
    return item


def run_app(browser, root: Path, bundle: Path, query: str, largest: int, repeat: int) -> dict:
    """Every figure of one checkout of the app (``root``), on its own fresh server."""
    bb.ROOT = root  # Server starts ROOT/app.py with ROOT as its working folder
    cache = Path(tempfile.mkdtemp(prefix="bench-groups-cache-"))
    server = bb.Server(bundle, cache)
    out = {}
    try:
        pg = browser.new_page(viewport={"width": WIDTH, "height": HEIGHT})
        pg.set_default_timeout(60_000)
        open_page(pg, server, "", query)
        out["first"] = nav(pg, HEADING, HEADING)
        choose(pg, "Graph step", "No graph step")
        nav(pg, "Leaderboard", "Leaderboard")
        out["warm"] = median([nav(pg, HEADING, HEADING) for _ in range(repeat)])
        # another group, warm: from the picker, then from the table
        picks = [choose(pg, "Group", 1 + k % 5) for k in range(repeat)]
        out["switch"] = median(r["done"] for r in picks)
        out["switch_end"] = median(r["end"] for r in picks)
        # the largest true group, drawn: either as the true-group list's first (worst) group, with the
        # switch to true groups (the whole page reruns), or chosen in the picker after that
        radio = pg.locator('[data-testid="stMainBlockContainer"]').get_by_role("radio", name="True groups").first
        shown = act(pg, lambda: radio.click(), timeout_s=60.0)
        out["draw_with_list"] = f"size {largest} " in selectbox(pg, "Group").get_by_role("combobox").input_value()
        try:
            out["draw"] = shown["done"] if out["draw_with_list"] else choose(pg, "Group", f"size {largest} ")["done"]
        except (PlaywrightTimeout, NoRerun):  # no rerun came: no figure, said so below
            out["draw"] = float("nan")
        out["errors"] = pg.locator('[data-testid="stException"]').count()
        # a threshold move, with and without a graph step
        open_page(pg, server, "thresholds", query)
        plain = bb.slider_steps(pg, "T", repeat)
        choose(pg, "Graph step", "cluster")
        stepped = bb.slider_steps(pg, "T", repeat)
        out["slider_plain"] = median(s["f1"] for s in plain if s["changed"])
        out["slider_graph"] = median(s["f1"] for s in stepped if s["changed"])
        out["changed"] = (sum(s["changed"] for s in stepped), len(stepped))
        out["errors"] += pg.locator('[data-testid="stException"]').count()
        pg.close()
    finally:
        server.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--pool", default="test", help="candidate pool shown (default test)")
    ap.add_argument("--model", help="model to study (default: the bundle's first text model)")
    ap.add_argument("--repeat", type=int, default=5, help="steps timed per figure (median shown)")
    ap.add_argument("--before", metavar="DIR", help="another checkout of the app, timed the same way in this run")
    ap.add_argument("--quick", action="store_true", help="one step each: proves the script runs (tests)")
    args = ap.parse_args()
    bundle = Path(args.bundle).expanduser().resolve()
    before = Path(args.before).expanduser().resolve() if args.before else None
    if before is not None and not (before / "app.py").is_file():
        print(f"error: {before} is not a checkout of the app (no app.py)", file=sys.stderr)
        return 2
    b, problem = bb.open_bundle(bundle, args.pool)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    from shopee_core.analysis import decisions as D
    model = args.model or next(m["id"] for m in b.models if D.modality(b, m["id"]) == "text"
                               and not m.get("predictions_only"))
    n = len(b.split_rows(args.pool))
    largest = int(max(Counter(b.labels(args.pool).tolist()).values()))
    repeat = 1 if args.quick else args.repeat
    print(f"bundle {bundle.name}: pool {args.pool} {n:,} postings, model {model}, largest true group {largest}; "
          f"{load()}")
    query = f"?split={args.pool}&models={model}"
    ours_root = bb.ROOT
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            ours = run_app(browser, ours_root, bundle, query, largest, repeat)
            old = run_app(browser, before, bundle, query, largest, repeat) if before else None
        finally:
            bb.ROOT = ours_root
            browser.close()

    def show(label: str, key: str, target: str, unit: str = "s", extra: str = "") -> bool:
        if ours[key] != ours[key]:
            print(f"  {label:<68} n/a (no timed step: no rerun within a minute, or no step changed F1)")
            return False
        if old is not None:
            extra += f"   before {old[key] * (1000 if unit == 'ms' else 1):.{0 if unit == 'ms' else 2}f} {unit}, " \
                     f"ours/before {ours[key] / old[key]:.2f}"
        return line(label, ours[key], TARGET[target], unit, extra)

    ok = []
    print(f"\nGroup studio, sidebar click -> complete render ({load()})")
    ok.append(show("first view (groups + table built)", "first", "studio_first"))
    ok.append(show("warm view (median)", "warm", "studio_warm"))
    print("\nGroup studio, warm: another predicted group -> drawn (graph, what-if, thumbnails)")
    ok.append(show("from the group picker (median)", "switch", "switch", "ms",
                   extra=f"   script run over {ours['switch_end'] * 1000:.0f} ms"))
    print(f"\nGroup studio: the {largest}-member true group selected -> drawn")
    ok.append(show(f"{largest}-member group drawn" + (" (the worst: with the true-group list)"
                                                      if ours["draw_with_list"] else " (chosen in the picker)"),
                   "draw", "draw51"))
    changed, steps = ours["changed"]
    print(f"\nThresholds: T slider key press -> F1 changed ({changed} of {steps} steps changed F1 with the step)")
    show("without a graph step (median)", "slider_plain", "slider", "ms")
    ok.append(show("with cluster (median)", "slider_graph", "slider", "ms",
                   extra=f"   with/without {ours['slider_graph'] / ours['slider_plain']:.2f}x"))
    errors = ours["errors"] + (old["errors"] if old else 0)
    if errors:
        print(f"  WARNING: {errors} exception element(s) on the pages")
    print(f"\nsummary: {sum(ok)} of {len(ok)} figures within target ({load()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

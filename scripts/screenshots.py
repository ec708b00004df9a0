"""Screenshots of every dashboard page in Debian's Chromium (Playwright), to look at what users see.

Starts `streamlit run app.py` on 127.0.0.1 (optionally `-- --bundle PATH`), opens each page, waits
for its real content, saves whole-page PNGs (the viewport stretched to the page's height: the app
scrolls inside its own container, which a plain full-page shot would cut) and stops the server.
Usage: python scripts/screenshots.py [--bundle PATH] [--out DIR] [--port 8599] [--width 1280] [--pages a,b]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]
PAGES = {"": "Leaderboard", "query": "Query by example", "compare": "Compare models",
         "embedding": "Embedding space", "thresholds": "Thresholds", "failures": "Failure browser",
         "groups": "Group studio", "data": "Data overview", "training": "Training", "review": "Review suspects"}
HEIGHT = """() => Math.max(...[...document.querySelectorAll('[data-testid="stMain"], [data-testid="stAppViewContainer"]')]
  .map(e => e.scrollHeight), 600)"""
IDLE = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return a && a.getAttribute('data-test-script-state') !== 'running' && !document.querySelector('[data-stale="true"]'); }"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle")
    ap.add_argument("--out", default="screenshots")
    ap.add_argument("--port", type=int, default=8599)
    ap.add_argument("--width", type=int, default=1280, help="viewport width in px (the 1280 the layout is checked at)")
    ap.add_argument("--pages", help="comma-separated url paths (leaderboard for the first page); default every page")
    args = ap.parse_args()
    wanted = PAGES if not args.pages else {("" if p == "leaderboard" else p): PAGES[p if p != "leaderboard" else ""]
                                          for p in args.pages.split(",") if (p if p != "leaderboard" else "") in PAGES}
    if not wanted:
        sys.exit(f"error: --pages names none of {', '.join(p or 'leaderboard' for p in PAGES)}")
    from playwright.sync_api import sync_playwright

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.headless", "true",
           "--server.port", str(args.port), "--server.address", "127.0.0.1"]
    if args.bundle:
        cmd += ["--", "--bundle", args.bundle]
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{args.port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(base + "/_stcore/health", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": args.width, "height": 720})
            page.set_default_timeout(120_000)
            for path, heading in wanted.items():
                page.goto(f"{base}/{path}")
                page.get_by_role("heading", name=heading).first.wait_for()
                page.wait_for_function(IDLE)
                time.sleep(1.5)
                page.wait_for_function(IDLE)
                errors = page.locator('[data-testid="stException"]').count()
                name = out / f"{path or 'leaderboard'}.png"
                page.set_viewport_size({"width": args.width, "height": min(int(page.evaluate(HEIGHT)) + 40, 8000)})
                time.sleep(0.5)
                page.screenshot(path=str(name))
                page.set_viewport_size({"width": args.width, "height": 720})
                print(f"{name}{'  (exception shown!)' if errors else ''}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

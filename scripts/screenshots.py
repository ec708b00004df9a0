"""Screenshots of every dashboard page in Debian's Chromium (Playwright), to look at what users see.

Starts `streamlit run app.py` on 127.0.0.1 (optionally `-- --bundle PATH`), opens each page, waits
for its real content, saves full-page PNGs and stops the server.
Usage: python scripts/screenshots.py [--bundle PATH] [--out DIR] [--port 8599]
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
         "embedding": "Embedding space", "thresholds": "Thresholds", "failures": "Failure browser"}
IDLE = """() => { const a = document.querySelector('[data-testid="stApp"]');
  return a && a.getAttribute('data-test-script-state') !== 'running' && !document.querySelector('[data-stale="true"]'); }"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bundle")
    ap.add_argument("--out", default="screenshots")
    ap.add_argument("--port", type=int, default=8599)
    args = ap.parse_args()
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
            page = browser.new_page(viewport={"width": 1500, "height": 1000})
            page.set_default_timeout(120_000)
            for path, heading in PAGES.items():
                page.goto(f"{base}/{path}")
                page.get_by_role("heading", name=heading).first.wait_for()
                page.wait_for_function(IDLE)
                time.sleep(1.5)
                page.wait_for_function(IDLE)
                errors = page.locator('[data-testid="stException"]').count()
                name = out / f"{path or 'leaderboard'}.png"
                page.screenshot(path=str(name), full_page=True)
                print(f"{name}{'  (exception shown!)' if errors else ''}")
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)


if __name__ == "__main__":
    main()

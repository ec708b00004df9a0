"""import-model while the app runs: after a reload the imported model is on the Leaderboard in Chromium."""

from __future__ import annotations

import shutil
import sys
from subprocess import run

import pytest

from tests.e2e.test_app_e2e import ARGS, CHROMIUM, ROOT, no_exception, serve, settle, sync_api
from tests.tiny_bundle import dash_bundle  # noqa: F401  (session fixture)

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")]
MODEL = "true_groups_import"


def test_an_imported_model_appears_on_the_leaderboard(dash_bundle, tmp_path):  # noqa: F811
    from shopee_core.bundle import Bundle

    bundle = tmp_path / "dash"
    shutil.copytree(dash_bundle, bundle)
    b = Bundle.open(bundle)
    lines = ["posting_id,matches"]  # every posting matched with exactly its true group: F1 = 1, the best
    for s in b.splits:
        post = b.postings.iloc[b.split_rows(s)]
        for pid, g in zip(post["posting_id"], post["label_group"]):
            lines.append(f"{pid},{' '.join(post['posting_id'][post['label_group'] == g])}")
    (tmp_path / "sub.csv").write_text("\n".join(lines) + "\n")
    with serve(bundle) as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(45_000)
        page.goto(url)
        settle(page, "Leaderboard")
        main = page.locator('[data-testid="stMainBlockContainer"]')
        assert main.get_by_text(MODEL).count() == 0
        done = run([sys.executable, "-m", "shopee_core", "import-model", "--bundle", str(bundle), "--id", MODEL,
                    "--label", "true groups (a perfect submission)", "--family", "fusion", "--predictions",
                    str(tmp_path / "sub.csv")], cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        page.reload()
        settle(page, "Leaderboard")
        no_exception(page, "leaderboard after the import")
        # the best validation F1 is now 1 (the import ties with a model of the tiny bundle that is also perfect
        # on valid; the star goes to the first of them in the manifest)
        best = main.locator('[data-testid="stMetric"]', has_text="Best on valid")
        # the reload's run can end before a rerun on the new bundle version draws the metrics (seen once on a
        # loaded machine: the heading there, the metric not yet): wait for it, as for the chart below
        best.first.wait_for(state="visible", timeout=30_000)
        assert best.count() == 1 and "1.0000" in best.inner_text()
        # its bar in the chart (Plotly draws after the script run is over: wait for it)
        main.locator("svg text", has_text=MODEL).first.wait_for(state="attached", timeout=30_000)
        browser.close()

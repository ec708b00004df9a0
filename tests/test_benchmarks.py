"""Every benchmark script runs, in its ``--quick`` mode, against the tiny dashboard bundle.

The README's speed tables come from these scripts; a script that stops finding its controls (a
slider renamed, a default model that is now an INB entry) must fail here, not the next time
someone re-measures. The figures of a quick run mean nothing: only that each script gets through
every step and prints its targets with their ratios.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.tiny_bundle import dash_bundle  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
needs_browser = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium")


def run(script: str, *args, timeout: int = 600) -> str:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)], capture_output=True,
                       text=True, env=env, cwd=ROOT, timeout=timeout)
    assert r.returncode == 0, f"{script} exited {r.returncode}:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    return r.stdout


def test_bench_matching_quick():
    out = run("bench_matching.py", "--quick")
    assert "one recompute" in out and out.strip().splitlines()[-1].startswith("ratio=")


def test_bench_candidates_quick():
    out = run("bench_candidates.py", "--quick")
    assert "copy/ours" in out and out.strip().splitlines()[-1].startswith("ratio=")


def test_bench_embed_quick():
    out = run("bench_embed.py", "--quick")
    assert "ratio on/off" in out and "titles/s" in out


def test_bench_decisions_quick():
    out = run("bench_decisions.py", "--quick")
    assert "threshold move, single table" in out and "page rerun after a T2 move, view plane" in out


def test_memory_tour(dash_bundle):  # noqa: F811
    out = run("memory_tour.py", dash_bundle)
    assert "review" in out and "malloc_trim gave back" in out and "pools' shared cache" in out
    assert "error:" not in out


def test_bench_app_quick(dash_bundle):  # noqa: F811
    out = run("bench_app.py", dash_bundle, "--quick")
    assert "slider move on Thresholds" in out and "summary:" in out


def test_bench_scaling_quick(dash_bundle):  # noqa: F811
    out = run("bench_scaling.py", "--quick", f"{dash_bundle}:test")
    assert "re-weighting step, exact search" in out and "bundle open" in out and "target 3.0 s" in out


def test_bench_million_quick():
    out = run("bench_million.py", "--quick")
    assert "chosen:" in out and "threshold move on the 20,000-row table" in out and "recall@50" in out


@needs_browser
def test_bench_browser_quick(dash_bundle):  # noqa: F811
    out = run("bench_browser.py", dash_bundle, "--quick")
    for what in ("first page on a fresh server", "warm render from the sidebar", "a box drawn over the whole map selects",
                 "F1 text changed (median)", "re-weighting", "decision plane", "peak over the whole run"):
        assert what in out, what
    assert "every point" in out and "summary:" in out


@needs_browser
def test_bench_groups_browser_quick(dash_bundle):  # noqa: F811
    out = run("bench_groups_browser.py", dash_bundle, "--quick")
    for what in ("first view (groups + table built)", "warm view (median)", "from the group picker (median)",
                 "-member group drawn", "with cluster (median)", "summary:"):
        assert what in out, what
    # the tiny bundle's F1 may not move in one T step (the slider lines may read n/a); the group figures must not
    assert not re.search(r"(first view|warm view|group picker|group drawn).*n/a", out) and "WARNING" not in out, out


@needs_browser
def test_bench_load_quick(dash_bundle):  # noqa: F811
    out = run("bench_load.py", dash_bundle, "--quick")
    assert "2 user(s)" in out and "server script run per rerun, p95" in out and "beside one user" in out
    assert "exception elements seen: 0" in out


@needs_browser
def test_bench_data_page_quick(dash_bundle):  # noqa: F811
    out = run("bench_data_page.py", "--quick", "--from", dash_bundle)
    assert "600 postings" in out and "Data overview" in out and "Training" in out and "ratio" in out

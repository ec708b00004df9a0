"""Pages drawn while another process imports and removes models: each render shows one version of the
bundle (the old or the new, never a mix of the two), with no exception and no 'refused' error."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from shopee_core.analysis.leaderboard import best_variant
from shopee_core.bundle import Bundle
from shopee_core.bundle.format import BundleChanged
from shopee_core.bundle.importer import import_model
from tests.analysis.bundles import metric, open_page, tiny_bundle
from tests.bundle.test_importer import noisy_embeddings
from tests.crash import ENV, ROOT

EDITOR = """
import sys, time
from pathlib import Path
from shopee_core.bundle.importer import import_model, remove_model
bundle, rows, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
i, t0 = 0, time.monotonic()
while not (i % 2 == 0 and stop.exists()) and time.monotonic() - t0 < 240:  # stops at x = e0 with y
    import_model(bundle, "x", "x", "text", embeddings=[rows / f"e{(i + 1) % 2}.npy"], ids=[rows / "ids.csv"],
                 replace=True, inb_iters=0, umap=False)
    if i % 2:
        import_model(bundle, "y", "y", "image", embeddings=[rows / "e2.npy"], ids=[rows / "ids.csv"], inb_iters=0,
                     umap=False)
    else:
        remove_model(bundle, "y")
    i += 1
    print(i, flush=True)
"""


@pytest.fixture(scope="module")
def swapping(tmp_path_factory):
    """A bundle with x (rows e0) and y imported; each version of x as stored (its F1s, the variant shown)."""
    root = tmp_path_factory.mktemp("swap")
    out = root / "bundle"
    shutil.copytree(tiny_bundle(tmp_path_factory), out)
    b = Bundle.open(out)
    for seed in range(3):
        np.save(root / f"e{seed}.npy", noisy_embeddings(b, seed))
    b.postings[["posting_id"]].to_csv(root / "ids.csv", index=False)
    shown = {}
    for seed in (1, 0):  # each version of x once, ending at x = e0
        m = import_model(out, "x", "x", "text", embeddings=[root / f"e{seed}.npy"], ids=[root / "ids.csv"],
                         replace=True, inb_iters=0, umap=False)
        shown[seed] = m
    import_model(out, "y", "y", "image", embeddings=[root / "e2.npy"], ids=[root / "ids.csv"], inb_iters=0, umap=False)
    f1 = {seed: f"{e.metrics['test']['min2']['f1']:.4f}" for seed, e in shown.items()}
    assert f1[0] != f1[1]  # a mix would show
    return root, out, [m["id"] for m in b.models], shown


def _no_error(at):
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def test_pages_drawn_while_imports_and_removals_swap_the_bundle(swapping, monkeypatch):
    root, out, built, shown = swapping
    # the Leaderboard shows each model's best variant on valid (a smoke bundle's imports may tune a graph step)
    leader_f1 = {f"{e.metrics['test'][best_variant(e)]['f1']:.6f}" for e in shown.values()}
    live_f1 = {f"{e.metrics['test']['min2']['f1']:.4f}" for e in shown.values()}
    stop = root / "stop"
    stop.unlink(missing_ok=True)
    editor = subprocess.Popen([sys.executable, "-c", EDITOR, str(out), str(root), str(stop)], cwd=ROOT, env=ENV,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert editor.stdout.readline().strip() == "1"  # the swaps have begun
    try:
        for _ in range(3):  # each render while the editor swaps the bundle again and again
            at = open_page("app_pages/leaderboard.py", out, monkeypatch)
            _no_error(at)
            frame = at.dataframe[0].value
            names = [n.lstrip("★ ").removesuffix(" ⇪") for n in frame["name"]]
            assert set(names) in ({*built, "x"}, {*built, "x", "y"}), names  # one manifest's models
            assert f"{frame['f1'].iat[names.index('x')]:.6f}" in leader_f1
            at = open_page("app_pages/thresholds.py", out, monkeypatch, models=["x"], rule="min2")
            _no_error(at)
            assert metric(at, "F1").value in live_f1  # scored live from one version's table and thresholds
            _no_error(open_page("app_pages/compare.py", out, monkeypatch, models=["x", "y"]))
            assert editor.poll() is None, "the editor stopped before the pages were drawn"
    finally:
        stop.touch()
        done, err = editor.communicate(timeout=300)
    assert editor.returncode == 0, err[-2000:]
    assert int(done.split()[-1]) >= 4  # swaps landed all through the renders


def test_a_swap_landing_mid_page_draws_the_page_again(swapping, monkeypatch):
    """The frame catches BundleChanged from any page and reruns: the user sees the new version."""
    _, out, _, _ = swapping
    calls = []
    real = Bundle.check_current

    def swapped_once(self):
        if not calls:
            calls.append(1)
            raise BundleChanged(f"bundle {self.name} was replaced by another command while it was being read")
        return real(self)

    monkeypatch.setattr(Bundle, "check_current", swapped_once)
    at = open_page("app_pages/compare.py", out, monkeypatch, models=["x", "tfidf"])
    _no_error(at)
    assert calls == [1] and at.dataframe  # raised once, drawn whole on the rerun


def test_an_untouched_slider_follows_a_replaced_model_a_moved_one_stays(swapping, monkeypatch):
    root, out, _, _ = swapping
    step = 0.005

    def replace(seed):
        m = import_model(out, "x", "x", "text", embeddings=[root / f"e{seed}.npy"], ids=[root / "ids.csv"],
                         replace=True, inb_iters=0, umap=False)
        return round(m.t / step) * step

    t0 = replace(0)
    at = open_page("app_pages/thresholds.py", out, monkeypatch, models=["x"], rule="min2")
    assert at.slider(key="th-m-x-inb0-t").value == pytest.approx(t0)
    t1 = replace(1)
    assert t1 != pytest.approx(t0)
    at.run()
    _no_error(at)
    assert at.slider(key="th-m-x-inb0-t").value == pytest.approx(t1)  # the new version's tuned T
    at.slider(key="th-m-x-inb0-t").set_value(0.3).run()
    replace(0)
    at.run()
    _no_error(at)
    assert at.slider(key="th-m-x-inb0-t").value == pytest.approx(0.3)  # the user's choice is kept

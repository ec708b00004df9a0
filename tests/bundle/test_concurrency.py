"""Several commands on one bundle at once: edits queue (none is lost), a second build into one --out is
refused naming the first, a lock left by a dead process is taken over, and readers see one version of
the bundle (old or new, never a mix) while edits swap it."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from shopee_core.bundle import Bundle, check_bundle
from shopee_core.bundle.format import BundleChanged
from shopee_core.cli import main
from tests.bundle.test_importer import noisy_embeddings, sha
from tests.crash import ENV, KILLED, ROOT, cli, leftovers, one_error_line, wait_stopped

MODELS = ["tfidf", "phash"]


@pytest.fixture
def bundle_dir(small_bundle, tmp_path):
    out = tmp_path / "b"
    shutil.copytree(small_bundle, out)
    return out


@pytest.fixture
def rows(bundle_dir, tmp_path):
    """Three different embedding files for the bundle's postings, and its ids."""
    b = Bundle.open(bundle_dir)
    for seed in range(3):
        np.save(tmp_path / f"e{seed}.npy", noisy_embeddings(b, seed))
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    return tmp_path


def _import(bundle_dir, rows, mid, seed=0, *extra):
    return ["import-model", "--bundle", bundle_dir, "--id", mid, "--label", mid, "--family", "text",
            "--embeddings", rows / f"e{seed}.npy", "--ids", rows / "ids.csv", "--no-umap", *extra]


def _ids(bundle_dir) -> list[str]:
    return [m["id"] for m in check_bundle(bundle_dir).models]


def _finish(procs) -> list[tuple[int, str]]:
    out = []
    for p in procs:
        _, err = p.communicate(timeout=300)
        out.append((p.returncode, err))
    return out


class StderrWatch:
    """Collect a running process's stderr lines in a thread, so a test can wait for one."""

    def __init__(self, proc):
        self.proc, self.lines = proc, []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        for line in self.proc.stderr:
            self.lines.append(line)

    def wait_for(self, text: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            hit = next((line for line in self.lines if text in line), None)
            if hit:
                return hit
            assert self.proc.poll() is None or self.thread.is_alive(), "".join(self.lines)
            time.sleep(0.02)
        pytest.fail(f"no {text!r} in {''.join(self.lines)}")

    def finish(self) -> tuple[int, str]:
        self.proc.wait(timeout=300)
        self.thread.join(timeout=30)
        return self.proc.returncode, "".join(self.lines)


# --------------------------------------------------------------------------- edits queue
def test_three_imports_at_once_all_land(bundle_dir, rows):
    procs = [cli(_import(bundle_dir, rows, f"m{i}", i), wait=False) for i in range(3)]
    results = _finish(procs)
    assert [rc for rc, _ in results] == [0, 0, 0], results
    assert sorted(_ids(bundle_dir)) == sorted(MODELS + ["m0", "m1", "m2"])
    manifest = Bundle.open(bundle_dir).manifest
    for i in range(3):  # each with its own rows, none overwritten by another's
        m = next(x for x in manifest["models"] if x["id"] == f"m{i}")
        assert m["imported"]["files"][0]["sha256"] == sha(rows / f"e{i}.npy")
    assert len(manifest["edits"]) == 3 and leftovers(bundle_dir) == []


def test_two_imports_of_one_id_one_wins_the_other_needs_replace(bundle_dir, rows):
    procs = [cli(_import(bundle_dir, rows, "same", i), wait=False) for i in range(2)]
    results = _finish(procs)
    assert sorted(rc for rc, _ in results) == [0, 1], results
    winner = next(i for i, (rc, _) in enumerate(results) if rc == 0)
    loser = one_error_line(results[1 - winner][1])
    assert "already has a model 'same'" in loser and "--replace" in loser
    m = next(x for x in Bundle.open(bundle_dir).models if x["id"] == "same")
    assert m["imported"]["files"][0]["sha256"] == sha(rows / f"e{winner}.npy")
    assert _ids(bundle_dir) == MODELS + ["same"] and leftovers(bundle_dir) == []


def test_a_second_edit_waits_with_a_note_or_refuses_with_no_wait(bundle_dir, rows):
    first = cli(_import(bundle_dir, rows, "first", 0), pause="edit:staged", wait=False)  # holds the lock, stopped
    try:
        wait_stopped(first.pid)
        r = cli(["remove-model", "--bundle", bundle_dir, "--id", "phash", "--no-wait"])
        assert r.returncode == 1
        assert one_error_line(r.stderr) == f"error: another edit of {bundle_dir} is running (pid {first.pid})"
        second = StderrWatch(cli(_import(bundle_dir, rows, "second", 1), wait=False))
        note = second.wait_for("note: waiting")
        assert note.startswith(f"note: waiting for another edit of {bundle_dir} (pid {first.pid}) to finish")
        os.kill(first.pid, signal.SIGCONT)
        assert first.wait(timeout=300) == 0
        rc, err = second.finish()
        assert rc == 0, err
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
    assert _ids(bundle_dir) == MODELS + ["first", "second"] and leftovers(bundle_dir) == []


def test_a_lock_left_by_a_dead_process_is_taken_over_not_waited_on(bundle_dir, rows):
    r = cli(_import(bundle_dir, rows, "dead", 0), kill="edit:staged")
    assert r.returncode == KILLED
    lock = bundle_dir.parent / f".{bundle_dir.name}.lock"
    pid = json.loads(lock.read_text())["pid"]
    assert leftovers(bundle_dir) == [f".{bundle_dir.name}.edit", lock.name]  # its lock file and staging left
    t0 = time.monotonic()
    r = cli(_import(bundle_dir, rows, "alive", 1, "--no-wait"))  # not refused: the holder is dead
    assert r.returncode == 0, r.stderr
    assert f"note: took over the lock of {bundle_dir} left by pid {pid}, which is no longer running" in r.stderr
    assert time.monotonic() - t0 < 120
    assert _ids(bundle_dir) == MODELS + ["alive"] and leftovers(bundle_dir) == []


def test_an_interrupted_two_rename_swap_is_repaired_by_the_next_edit(bundle_dir, rows, monkeypatch, caplog):
    """Where RENAME_EXCHANGE is missing the swap is two renames; a crash between them leaves the
    old bundle whole at .NAME.old and nothing at NAME: the next edit puts it back first."""
    import shopee_core.bundle.edit as edit
    from shopee_core import faults

    monkeypatch.setattr(edit, "_exchange", lambda a, b: False)
    faults.configure(enospc="swap:aside")  # in-process stand-in for a kill between the renames
    try:
        assert main([str(a) for a in _import(bundle_dir, rows, "lost", 0)]) == 1
    finally:
        faults.configure()
    assert not bundle_dir.exists() and (bundle_dir.parent / f".{bundle_dir.name}.old" / "manifest.json").exists()
    with caplog.at_level(logging.WARNING, logger="shopee_core.bundle.edit"):
        assert main([str(a) for a in _import(bundle_dir, rows, "after", 1)]) == 0
    assert any(f"restored {bundle_dir.name} from .{bundle_dir.name}.old" in r.getMessage() for r in caplog.records)
    assert _ids(bundle_dir) == MODELS + ["after"] and leftovers(bundle_dir) == []


# --------------------------------------------------------------------------- builds own their output
def test_a_second_build_into_one_out_is_refused_and_the_cache_serves_a_later_one(small_bundle, tmp_path):
    data, out = small_bundle.parent / "cat", tmp_path / "out"
    args = ["build-bundle", "--profile", "smoke", "--data", data, "--out", out, "--models", "tfidf,phash", "--no-umap"]
    first = cli(args, pause="build:embedded#2", wait=False)  # both models embedded into the cache, then stopped
    try:
        wait_stopped(first.pid)
        r = cli(args)
        assert r.returncode == 1
        assert one_error_line(r.stderr) == f"error: another build of {out} is running (pid {first.pid})"
        r = cli(["import-model", "--bundle", out, "--id", "x", "--label", "x", "--family", "text", "--predictions",
                 tmp_path / "none.csv", "--no-wait"])
        assert one_error_line(r.stderr) == f"error: another build of {out} is running (pid {first.pid})"
        os.kill(first.pid, signal.SIGCONT)
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-2000:]
    finally:
        if first.poll() is None:
            os.kill(first.pid, signal.SIGCONT)
            first.kill()
    assert _ids(out) == MODELS
    r = cli(args)  # a later build: the cache is shared with it, every embedding reused
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stderr.count("reused cached embeddings") == 2
    assert _ids(out) == MODELS and leftovers(out) == []


# --------------------------------------------------------------------------- readers during swaps
EDITOR = """
import sys, time
from pathlib import Path
from shopee_core.bundle.importer import import_model, remove_model
bundle, rows, stop = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
i, t0 = 0, time.monotonic()
while not (i % 2 == 0 and stop.exists()) and time.monotonic() - t0 < 240:
    import_model(bundle, "x", "x", "text", embeddings=[rows / f"e{i % 2}.npy"], ids=[rows / "ids.csv"],
                 replace=i > 0, inb_iters=0, umap=False)
    if i % 2:
        remove_model(bundle, "y")
    else:
        import_model(bundle, "y", "y", "text", embeddings=[rows / "e2.npy"], ids=[rows / "ids.csv"], inb_iters=0,
                     umap=False)
    i += 1
    print(i, flush=True)
    time.sleep(0.2)  # room for whole reads between the swaps, besides the ones a swap interrupts
"""


def test_readers_see_the_old_or_the_new_version_never_a_mix(bundle_dir, rows):
    """Every Bundle object read while edits swap the folder: its stored metrics recomputed from the tables
    it loads must match its own manifest (a table of the next version would not: the two rows files give
    different scores), or the read stops with BundleChanged; never a mix, never a spurious 'refused'."""
    from shopee_core.analysis import decisions as D

    def score(b, mid):
        return D.scores(b, mid, "test", min2=False)["f1"], b.model(mid)["metrics"]["test"]["base"]["f1"]

    stop = rows / "stop"
    editor = subprocess.Popen([sys.executable, "-c", EDITOR, str(bundle_dir), str(rows), str(stop)], cwd=ROOT,
                              env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert editor.stdout.readline().strip() == "1"  # the swaps have begun
    versions, changed, reads = set(), 0, 0
    try:
        while reads < 6 or len(versions) < 3:
            assert editor.poll() is None, "the editor stopped before the reads were done"
            try:
                b = Bundle.open(bundle_dir)
                versions.add(b.digest)
                time.sleep(0.05)  # a swap may land between the open and the loads below
                for mid in [m["id"] for m in b.models if m["id"] in ("x", "y")]:  # the ones edits change
                    got, stored = score(b, mid)
                    assert got == pytest.approx(stored, abs=2e-6), (mid, "a table from another version")
                reads += 1
            except BundleChanged:
                changed += 1
    finally:
        stop.touch()
        _, err = editor.communicate(timeout=300)
    assert editor.returncode == 0, err[-2000:]
    assert _ids(bundle_dir) == MODELS + ["x"]  # stopped after a whole round: x (rows e1), y removed

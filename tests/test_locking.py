"""The exclusive lock that names its holder: waits or refuses naming the pid, frees itself when its holder
dies (SIGKILL; also with a forked child still alive), re-enters within a thread, serialises threads."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shopee_core.locking import LockBusy, exclusive, holds, pid_alive, read_holder

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}

# a process that takes the lock, says so in a file, optionally forks a child that sleeps, and waits
HOLDER = """
import os, sys, time
from shopee_core.locking import exclusive
lock, ready, fork = sys.argv[1], sys.argv[2], sys.argv[3] == "fork"
with exclusive(lock, name="B", what="edit"):
    child = os.fork() if fork else None
    if child == 0:
        time.sleep(60)
        os._exit(0)
    with open(ready, "w") as fh:
        fh.write(str(child or ""))
    time.sleep(60)
"""


def _hold(tmp_path, fork: bool = False) -> tuple[subprocess.Popen, int | None]:
    """A live process holding ``tmp_path/.B.lock`` (and the pid of its forked child)."""
    ready = tmp_path / "ready"
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(tmp_path / ".B.lock"), str(ready),
                             "fork" if fork else "no"], env=ENV)
    deadline = time.monotonic() + 60
    while not (ready.exists() and (not fork or ready.read_text())):
        assert proc.poll() is None and time.monotonic() < deadline, "the holder did not start"
        time.sleep(0.02)
    return proc, int(ready.read_text()) if fork else None


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def test_a_second_writer_refuses_naming_the_holder_or_waits_with_a_note(tmp_path, caplog):
    lock = tmp_path / ".B.lock"
    proc, _ = _hold(tmp_path)
    try:
        assert read_holder(lock).pid == proc.pid and read_holder(lock).what == "edit"
        with pytest.raises(LockBusy, match=rf"^another edit of B is running \(pid {proc.pid}\)$"):
            with exclusive(lock, name="B", wait=False):
                pass
        threading.Timer(0.5, proc.kill).start()  # the holder dies while we wait
        t0 = time.monotonic()
        with caplog.at_level(logging.WARNING, logger="shopee_core.locking"):
            with exclusive(lock, name="B", what="build"):
                assert read_holder(lock).pid == os.getpid() and read_holder(lock).what == "build"
        assert time.monotonic() - t0 < 30
        notes = [r.getMessage() for r in caplog.records]
        assert any(n.startswith(f"note: waiting for another edit of B (pid {proc.pid})") for n in notes), notes
    finally:
        proc.kill()
        proc.wait()
    assert not lock.exists()  # removed at release


def test_a_lock_left_by_a_killed_process_is_taken_over_at_once(tmp_path, caplog):
    lock = tmp_path / ".B.lock"
    proc, _ = _hold(tmp_path)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert json.loads(lock.read_text())["pid"] == proc.pid and not pid_alive(proc.pid)  # left behind
    with caplog.at_level(logging.WARNING, logger="shopee_core.locking"):
        with exclusive(lock, name="B", wait=False):  # free: no waiting, no refusal
            pass
    assert any(f"left by pid {proc.pid}, which is no longer running" in r.getMessage() for r in caplog.records)
    # a lock file naming a dead pid that nobody ever flocked (copied, restored from a backup) is free too
    lock.write_text(json.dumps({"pid": proc.pid, "what": "edit"}))
    with exclusive(lock, name="B", wait=False):
        pass
    assert not lock.exists()


def test_a_forked_child_does_not_keep_a_dead_parents_lock(tmp_path):
    """DataLoader workers are forked while a build holds the lock: killed with their parent's
    lock in their hands they would keep it until they exit (seconds, or for good if stuck)."""
    proc, child = _hold(tmp_path, fork=True)
    try:
        assert pid_alive(child)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert pid_alive(child)  # the orphan lives on
        with exclusive(tmp_path / ".B.lock", name="B", wait=False):
            pass
    finally:
        proc.kill()
        proc.wait()
        _kill(child)


def test_reentrant_in_a_thread_and_exclusive_between_threads(tmp_path):
    lock = tmp_path / ".B.lock"
    with exclusive(lock):
        with exclusive(lock, wait=False):  # the same thread: taken once more, not refused
            assert holds(lock)
        assert holds(lock) and lock.exists()
        refused = []

        def other():
            try:
                with exclusive(lock, name="B", wait=False):
                    pass
            except LockBusy as exc:
                refused.append(str(exc))
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert refused == [f"another edit of B is running (pid {os.getpid()})"]
    assert not holds(lock) and not lock.exists()

    # read-modify-write under the lock from several threads loses no update
    counter = tmp_path / "n.txt"
    counter.write_text("0")

    def bump():
        for _ in range(20):
            with exclusive(lock):
                n = int(counter.read_text())
                time.sleep(0.0005)
                counter.write_text(str(n + 1))
    threads = [threading.Thread(target=bump) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.read_text() == "80" and not lock.exists()

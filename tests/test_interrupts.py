"""Commands stopped mid-way: SIGTERM takes the DataLoader workers down with `embed`, the previous output
survives, and a `train` killed after its first checkpoint resumes from that checkpoint."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from shopee_core.io import atomic_save_npy
from tests.conftest import write_tiny_catalog

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow  # subprocesses that train and embed
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is ``pid``, from /proc."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _wait_for(condition, timeout: float, what: str, proc=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"the command exited ({proc.returncode}) before {what}")
        time.sleep(0.01)
    pytest.fail(f"timed out waiting for {what}")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")
def test_sigterm_to_embed_stops_its_workers_and_keeps_the_previous_file(tmp_path):
    data = tmp_path / "cat"
    write_tiny_catalog(data, n_groups=200)  # ~600 images: embedding outlasts the signal
    out = tmp_path / "e.npy"
    atomic_save_npy(out, np.arange(12, dtype=np.float16).reshape(3, 4))
    before = out.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "shopee_core", "embed", "--model", "effnet_lite0_zeroshot",
                             "--profile", "demo", "--data", str(data), "--out", str(out), "--workers", "2",
                             "--device", "cpu", "--quiet"], cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        workers = _wait_for(lambda: len(_children(proc.pid)) >= 2 and _children(proc.pid), 120,
                            "two DataLoader workers", proc)
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and err.strip().splitlines()[-1].startswith("error: interrupted"), err
    # the loader shut its workers down before the process ended; killed outright, orphaned workers
    # linger until their parent watchdog notices (up to 5 s) or, blocked on a full queue, for good
    _wait_for(lambda: not any(_alive(w) for w in workers), 0.2, "the workers to be gone with their parent")
    assert out.read_bytes() == before  # interrupted before writing: the old file, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp file left


def _history(run: Path) -> list:
    try:
        return json.loads((run / "metrics.json").read_text())["history"]
    except (OSError, ValueError):
        return []


def test_train_killed_after_its_first_checkpoint_resumes_from_it(tiny_catalog, tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "shopee_core", "train", "--model", "bert_multilingual", "--profile", "smoke",
           "--data", str(tiny_catalog), "--out", str(run), "--set", "epochs=3", "--set", "max_steps=null",
           "--device", "cpu", "--quiet"]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        _wait_for(lambda: _history(run), 300, "the first finished epoch", proc)
        os.killpg(proc.pid, signal.SIGKILL)  # no clean-up at all
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    done = _history(run)
    assert 1 <= len(done) < 3, "the run finished before it was killed"
    first = (run / "epoch_01.safetensors").read_bytes()
    resumed = subprocess.run(cmd + ["--resume"], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    history = _history(run)
    assert [r["epoch"] for r in history] == [0, 1, 2]
    assert history[: len(done)] == done  # the epochs before the kill are kept, not retrained
    assert resumed.stderr.count("bert_multilingual epoch ") == 3 - len(done)
    assert (run / "epoch_01.safetensors").read_bytes() == first

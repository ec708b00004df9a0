"""A command killed mid-way (SIGKILL) leaves the previous good output readable."""

import os
import signal
import subprocess
import sys
import time

import numpy as np

from shopee_core.io import atomic_save_npy


def test_killed_embed_keeps_the_previous_file(tiny_catalog, tmp_path):
    out = tmp_path / "e.npy"
    old = np.arange(12, dtype=np.float16).reshape(3, 4)
    atomic_save_npy(out, old)
    before = out.read_bytes()
    proc = subprocess.Popen([sys.executable, "-m", "shopee_core", "embed", "--model", "minilm_zeroshot",
                             "--profile", "demo", "--data", str(tiny_catalog), "--out", str(out)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    time.sleep(2.5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert out.read_bytes() == before or np.load(out).shape[0] > 3  # old file, or the complete new one
    np.load(out, allow_pickle=False)

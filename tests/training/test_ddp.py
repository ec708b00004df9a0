"""Multi-process training through PyTorch's own DDP (torchrun), two CPU processes on gloo."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.ddp, pytest.mark.slow]


def test_torchrun_two_processes_gloo(tiny_catalog, tmp_path):
    out = tmp_path / "ddp"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "shopee_core", "train", "--model", "bert_multilingual", "--profile", "smoke",
           "--data", str(tiny_catalog), "--out", str(out), "--quiet", "--device", "cpu"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["world_size"] == 2
    assert (out / "best.safetensors").exists()
    hist = json.loads((out / "metrics.json").read_text())["history"]
    assert len(hist) == 1 and hist[0]["steps"] >= 1

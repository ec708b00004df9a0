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


def test_torchrun_sharded_embed_equals_one_process(tiny_catalog, tmp_path):
    """`embed` under torchrun: two gloo ranks each embed every other batch, rank 0 writes the rows;
    they equal one process's rows exactly (the same batches), and only one file is written."""
    import numpy as np

    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    args = ["-m", "shopee_core", "embed", "--model", "minilm_zeroshot", "--profile", "smoke", "--data",
            str(tiny_catalog), "--quiet", "--device", "cpu"]
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one.npy")], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=300)
    assert one.returncode == 0, one.stderr[-3000:]
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          *args, "--out", str(tmp_path / "two.npy")], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=300)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = np.load(tmp_path / "one.npy"), np.load(tmp_path / "two.npy")
    n = len((tiny_catalog / "train.csv").read_text().splitlines()) - 1
    assert a.shape == b.shape and a.shape[0] == n
    assert np.array_equal(a, b)
    assert two.stdout.count("two.npy") == 1  # rank 0 alone reports (and writes) the file
    assert sorted(p.name for p in tmp_path.glob("*.npy*")) == ["one.npy", "two.npy"]  # no rank wrote another
    assert not list(tmp_path.glob(".*.tmp"))


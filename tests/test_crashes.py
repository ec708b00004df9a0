"""Killed at every step, or out of disk: `import-model`, `remove-model`, `build-bundle`, `embed` and `train`
run in a subprocess that SIGKILLs itself at each named step (shopee_core.faults). After each kill the
previous state is intact (check-bundle ok, the previous bundle / .npy / checkpoint unchanged), the next
run completes, and nothing it leaves (lock file, staging folder, temporary file) outlives that next run.
A write failing with ENOSPC is one `error:` line and changes nothing. Each command's list of steps here
is checked against the steps it really reaches, so a new step cannot go untested."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from shopee_core.bundle import Bundle, check_bundle
from shopee_core.cli import main
from shopee_core.io import load_npy
from shopee_core.locking import LockBusy
from shopee_core.models import get, with_overrides
from shopee_core.training.checkpoint import load_state
from shopee_core.training.loop import train
from tests.conftest import write_tiny_catalog
from tests.crash import KILLED, cli, leftovers, one_error_line, snapshot, steps_of, temp_files, traced, wait_stopped

IMPORT_STEPS = ["edit:locked", "edit:staged", "edit:written", "edit:sealed", "edit:verified", "swap:exchanged"]
REMOVE_STEPS = ["edit:locked", "edit:staged", "edit:sealed", "edit:verified", "swap:exchanged"]
BUILD_STEPS = ["build:locked", "build:embedded", "build:matched", "build:thumbs", "build:sealed", "swap:exchanged"]
EMBED_STEPS = ["embed:computed", "write:e.npy"]
AFTER_SWAP = "swap:exchanged"  # the new version is in place; only the old copy's removal is left


def named(steps):
    """Named steps, without the per-file ``write:`` ones (those are tested where they matter)."""
    return [s for s in steps if not s.startswith("write:")]


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A catalog, a bundle built from it (pHash), rows to import and a bundle with one import more."""
    from shopee_core.bundle.builder import build
    from shopee_core.bundle.importer import import_model

    root = tmp_path_factory.mktemp("crashes")
    write_tiny_catalog(root / "cat", n_groups=30)
    build("smoke", root / "cat", root / "bundle", only=["phash"], umap=False)
    b = Bundle.open(root / "bundle")
    rng = np.random.default_rng(0)
    labels = b.postings["label_group"].to_numpy()
    centre = {g: rng.normal(size=12) for g in np.unique(labels)}
    np.save(root / "x.npy", np.stack([centre[g] + rng.normal(scale=0.8, size=12) for g in labels]).astype(np.float32))
    b.postings[["posting_id"]].to_csv(root / "ids.csv", index=False)
    shutil.copytree(root / "bundle", root / "with_x")
    import_model(root / "with_x", "x", "x", "text", embeddings=[root / "x.npy"], ids=[root / "ids.csv"],
                 inb_iters=0, umap=False)
    return root


def _copy(base: Path, name: str, tmp_path: Path) -> Path:
    out = tmp_path / "b"
    shutil.copytree(base / name, out)
    return out


def _import_args(base: Path, bundle: Path, mid: str = "x") -> list:
    return ["import-model", "--bundle", bundle, "--id", mid, "--label", mid, "--family", "text", "--embeddings",
            base / "x.npy", "--ids", base / "ids.csv", "--inb-iters", "0", "--no-umap"]


def _ids(bundle: Path) -> list[str]:
    return [m["id"] for m in check_bundle(bundle).models]


# --------------------------------------------------------------------------- the lists are complete
def test_each_commands_list_of_steps_is_the_steps_it_reaches(base, tmp_path):
    b = _copy(base, "bundle", tmp_path)
    trace = tmp_path / "trace.txt"
    rc, steps = steps_of(_import_args(base, b), trace)
    assert rc == 0 and named(steps) == IMPORT_STEPS
    rc, steps = steps_of(["remove-model", "--bundle", b, "--id", "x"], trace)
    assert rc == 0 and named(steps) == REMOVE_STEPS
    rc, steps = steps_of(["build-bundle", "--profile", "smoke", "--data", base / "cat", "--out", b, "--models",
                          "phash", "--no-umap"], trace)
    assert rc == 0 and named(steps) == BUILD_STEPS
    rc, steps = steps_of(["embed", "--model", "phash", "--profile", "smoke", "--data", base / "cat", "--out",
                          tmp_path / "e.npy", "--quiet"], trace)
    assert rc == 0 and steps == EMBED_STEPS


# --------------------------------------------------------------------------- bundle edits
@pytest.mark.parametrize("step", IMPORT_STEPS)
def test_import_killed_at_every_step(base, tmp_path, step):
    b = _copy(base, "bundle", tmp_path)
    before = snapshot(b)
    r = cli(_import_args(base, b), kill=step)
    assert r.returncode == KILLED, r.stderr
    if step == AFTER_SWAP:
        assert _ids(b) == ["phash", "x"]  # swapped in whole: the new version
    else:
        assert snapshot(b) == before  # byte for byte the old bundle
        assert _ids(b) == ["phash"]
    # the next edit takes over the dead process's lock, clears its staging and completes
    assert main([str(a) for a in _import_args(base, b, "y")]) == 0
    assert set(_ids(b)) >= {"phash", "y"} and leftovers(b) == []


@pytest.mark.parametrize("step", REMOVE_STEPS)
def test_remove_killed_at_every_step(base, tmp_path, step):
    b = _copy(base, "with_x", tmp_path)
    before = snapshot(b)
    r = cli(["remove-model", "--bundle", b, "--id", "x"], kill=step)
    assert r.returncode == KILLED, r.stderr
    if step == AFTER_SWAP:
        assert _ids(b) == ["phash"] and not (b / "models" / "x").exists()
    else:
        assert snapshot(b) == before and _ids(b) == ["phash", "x"]
        assert main(["remove-model", "--bundle", str(b), "--id", "x"]) == 0
        assert _ids(b) == ["phash"]
    assert main([str(a) for a in _import_args(base, b, "y")]) == 0  # the next edit completes
    assert _ids(b) == ["phash", "y"] and leftovers(b) == []


@pytest.mark.parametrize("command", ["import-model", "remove-model"])
def test_an_edit_on_a_full_disk_is_one_error_line_and_changes_nothing(base, tmp_path, command):
    b = _copy(base, "with_x", tmp_path)
    before = snapshot(b)
    args = _import_args(base, b, "y") if command == "import-model" else ["remove-model", "--bundle", b, "--id", "x"]
    r = cli(args, enospc="write:manifest.json")
    assert r.returncode == 1
    assert one_error_line(r.stderr).startswith("error: No space left on device")
    assert snapshot(b) == before and leftovers(b) == [] and _ids(b) == ["phash", "x"]


# --------------------------------------------------------------------------- builds
def _build_args(base: Path, out: Path) -> list:
    # k = 4 (the first build had the profile's 50): the new version differs from the old
    return ["build-bundle", "--profile", "smoke", "--data", base / "cat", "--out", out, "--models", "phash",
            "--no-umap", "--k", "4"]


@pytest.mark.parametrize("step", BUILD_STEPS)
def test_build_killed_at_every_step(base, tmp_path, step):
    out = _copy(base, "bundle", tmp_path)
    before = snapshot(out)
    r = cli(_build_args(base, out), kill=step)
    assert r.returncode == KILLED, r.stderr[-2000:]
    assert check_bundle(out).k == (4 if step == AFTER_SWAP else 50)
    if step != AFTER_SWAP:
        assert snapshot(out) == before
    assert main([str(a) for a in _build_args(base, out)]) == 0  # the next build completes
    assert check_bundle(out).k == 4
    assert leftovers(out) == [] and temp_files(out.parent) == []  # the cache kept, nothing half-written


def test_a_build_on_a_full_disk_is_one_error_line_and_keeps_the_old_bundle(base, tmp_path):
    out = _copy(base, "bundle", tmp_path)
    before = snapshot(out)
    r = cli(_build_args(base, out), enospc="write:manifest.json")
    assert r.returncode == 1 and "No space left on device" in one_error_line(r.stderr)
    assert snapshot(out) == before and leftovers(out) == []  # the half-made .NAME.new freed at once


# --------------------------------------------------------------------------- embed
@pytest.mark.parametrize("step", EMBED_STEPS)
def test_embed_killed_at_every_step_keeps_the_previous_file(base, tmp_path, step):
    out = tmp_path / "e.npy"
    np.save(out, np.ones((3, 4), dtype=np.float16))  # the previous output
    before = out.read_bytes()
    args = ["embed", "--model", "phash", "--profile", "smoke", "--data", base / "cat", "--out", out, "--quiet"]
    r = cli(args, kill=step)
    assert r.returncode == KILLED, r.stderr
    assert out.read_bytes() == before
    assert len(temp_files(tmp_path)) == (step == "write:e.npy")  # written, never renamed
    assert main([str(a) for a in args]) == 0
    assert load_npy(out).shape[0] == _catalog_rows(base)
    assert temp_files(tmp_path) == []  # the killed writer's temporary file is swept


def _catalog_rows(base: Path) -> int:
    import pandas as pd

    return len(pd.read_csv(base / "cat" / "train.csv"))


def test_embed_on_a_full_disk_keeps_the_previous_file(base, tmp_path):
    out = tmp_path / "e.npy"
    np.save(out, np.ones((3, 4), dtype=np.float16))
    before = out.read_bytes()
    r = cli(["embed", "--model", "phash", "--profile", "smoke", "--data", base / "cat", "--out", out, "--quiet"],
            enospc="write:e.npy")
    assert r.returncode == 1 and "No space left on device" in one_error_line(r.stderr)
    assert out.read_bytes() == before and temp_files(tmp_path) == []


# --------------------------------------------------------------------------- train
TRAIN_STEPS = ["train:config", "checkpoint:state", "checkpoint:best"]
TRAIN = ["--model", "bert_multilingual", "--profile", "smoke", "--set", "epochs=2", "--set", "select_from_epoch=0",
         "--device", "cpu", "--quiet"]


def _history(run: Path) -> list:
    """The history without its timings (wall-clock seconds differ between runs)."""
    return [{k: v for k, v in r.items() if k not in ("seconds", "items_per_s", "wall")}
            for r in json.loads((run / "metrics.json").read_text())["history"]]


def _committed(run: Path) -> int | None:
    """The last epoch the run's one-file state commits, checked to be whole (its weights file
    exists and its history ends at it); None before the first checkpoint."""
    if not (run / "last_state.safetensors").exists():
        return None
    state = load_state(run / "last_state.safetensors")
    assert (run / state["weights"]).is_file()
    assert [r["epoch"] for r in state["history"]] == list(range(state["epoch"] + 1))
    return state["epoch"]


def test_train_killed_at_every_step_resumes_to_the_uninterrupted_result(base, tmp_path):
    """One run killed (or out of disk) at each step in turn, each next run a --resume: every crash
    point leaves a whole checkpoint, and the run finally ends bit for bit where an uninterrupted one does."""
    data = base / "cat"
    ref = tmp_path / "ref"
    r = cli(["train", "--data", data, "--out", ref, *TRAIN], trace=tmp_path / "trace.txt")
    assert r.returncode == 0, r.stderr[-2000:]
    assert named(traced(tmp_path / "trace.txt")) == TRAIN_STEPS  # each is a crash point below
    run = tmp_path / "run"
    args = ["train", "--data", data, "--out", run, *TRAIN]
    resume = [*args, "--resume"]

    holder = cli(args, pause="train:config", wait=False)  # set up, nothing trained; stopped there
    try:
        wait_stopped(holder.pid)
        with pytest.raises(LockBusy, match=rf"^another training run of {run} is running \(pid {holder.pid}\)$"):
            train(with_overrides(get("bert_multilingual", "smoke"), {"epochs": 2, "select_from_epoch": 0}), data,
                  run, resume=True)  # a second process on the same run folder is refused, naming the first
    finally:
        holder.kill()  # killed at train:config
        holder.communicate(timeout=60)
    assert holder.returncode == KILLED and _committed(run) is None
    r = cli(resume, kill="checkpoint:state#1")  # epoch 1 committed, best and metrics not derived yet
    assert r.returncode == KILLED and _committed(run) == 0
    assert not (run / "best.safetensors").exists() and not (run / "metrics.json").exists()
    first = (run / "epoch_01.safetensors").read_bytes()
    assert first == (ref / "epoch_01.safetensors").read_bytes()
    r = cli(resume, kill="checkpoint:best#1")  # the resume re-derives best first: killed right after
    assert r.returncode == KILLED and _committed(run) == 0
    assert (run / "best.safetensors").read_bytes() == first
    r = cli(resume, enospc="write:last_state.safetensors#1")  # epoch 2's state on a full disk
    assert r.returncode == 1 and "No space left on device" in one_error_line(r.stderr)
    assert _committed(run) == 0 and _history(run) == _history(ref)[:1]
    r = cli(resume, kill="write:last_state.safetensors#1")  # epoch 2's weights written, its state beside, not
    assert r.returncode == KILLED and _committed(run) == 0     # renamed over: where two files could tear apart
    assert (run / "epoch_02.safetensors").exists() and temp_files(run)
    assert (run / "epoch_01.safetensors").read_bytes() == first  # the kept checkpoint never rewritten

    r = cli(resume)  # the next run completes (a subprocess like the reference: same threads, same bits)
    assert r.returncode == 0, r.stderr[-2000:]
    assert _committed(run) == 1 and temp_files(run) == []
    assert _history(run) == _history(ref)
    for name in ("epoch_01.safetensors", "epoch_02.safetensors", "best.safetensors"):
        assert (run / name).read_bytes() == (ref / name).read_bytes(), name

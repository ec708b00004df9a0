"""A sweep of a smoke recipe: every configuration trained once, scored as the builder scores a
model, resumed after a kill without retraining what finished, and shared by two worker processes
on one storage without any configuration trained twice."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shopee_core.analysis.sweeps import check_sweep
from shopee_core.bundle import Bundle
from shopee_core.models import get, with_overrides
from shopee_core.sweep import prepare, read_results, work
from shopee_core.sweep.score import score_run
from shopee_core.training.history import read_history
from tests.analyses_bundle import TRAINED, analyses_bundle  # noqa: F401  (session fixture)

ROOT = Path(__file__).resolve().parents[2]
MODEL = "bert_multilingual"


def _cmd(data, out, grid, epochs, *extra):
    return [sys.executable, "-m", "shopee_core", "sweep", "--model", MODEL, "--profile", "smoke", "--data", str(data),
            "--out", str(out), "--grid", grid, "--set", f"epochs={epochs}", "--quiet", *extra]


def _env():
    return {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}


def _attempts(out, name) -> list[dict]:
    path = out / "runs" / name / "attempts.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def test_a_killed_sweep_resumes_without_retraining_the_finished_run(tiny_catalog, tmp_path):
    out = tmp_path / "sweep"
    proc = subprocess.Popen(_cmd(tiny_catalog, out, "margin=0.5,0.7", 2), cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    try:
        while not (out / "results.json").exists():  # written once the first trial is COMPLETE in the storage
            assert proc.poll() is None and time.time() < deadline, "the sweep ended before its first result"
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean-up at all: its trial stays RUNNING in the storage
        proc.wait()
    done = [p.parent.name for p in out.glob("runs/*/score.json")]
    assert len(done) == 1
    first = done[0]
    scored = (out / "runs" / first / "score.json").read_bytes()
    sw = prepare(MODEL, "smoke", tiny_catalog, out, ["margin=0.5,0.7"], {"epochs": 2})
    rest = [n for n in sw.names if n != first][0]
    report = work(sw, progress=False)
    assert first not in report.trained + report.reused  # finished: skipped, not even re-scored
    assert report.trained + report.reused == [rest]
    assert len(_attempts(out, first)) == 1 and (out / "runs" / first / "score.json").read_bytes() == scored
    assert [r["epoch"] for r in read_history(out / "runs" / rest)] == [0, 1]  # each epoch once, resumed or not
    doc = read_results(out)
    assert sorted(r["config"] for r in doc["results"]) == sorted(sw.names)
    assert {r["margin"] for r in doc["results"]} == {0.5, 0.7}
    # a rerun finds nothing to do
    again = work(prepare(MODEL, "smoke", tiny_catalog, out, ["margin=0.5,0.7"], {"epochs": 2}), progress=False)
    assert again.trained == [] and again.reused == []


def test_two_workers_on_one_storage_train_each_configuration_once(tiny_catalog, tmp_path):
    out = tmp_path / "shared"
    grid = "margin=0.4,0.5,0.6,0.7"
    # each worker stops after 2 configurations: both must take part for all 4 to finish
    procs = [subprocess.Popen(_cmd(tiny_catalog, out, grid, 1, "--max-configs", "2"), cwd=ROOT, env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600) for p in procs]
    errors = [e for _, e in outputs]
    outputs = [o for o, _ in outputs]
    assert [p.returncode for p in procs] == [0, 0], [e[-2000:] for e in errors]
    names = [f"margin-{m}" for m in ("0.4", "0.5", "0.6", "0.7")]
    for name in names:
        assert len(_attempts(out, name)) == 1, (name, _attempts(out, name))
        assert [r["epoch"] for r in read_history(out / "runs" / name)] == [0]
    trained = [line.split(":", 1)[1].split(";")[0].strip() for o in outputs for line in o.splitlines()
               if line.startswith("trained here:")]
    mine = [set(t.split(", ")) - {"none"} for t in trained]
    assert len(mine) == 2 and not (mine[0] & mine[1]) and mine[0] | mine[1] == set(names)
    assert len(mine[0]) == len(mine[1]) == 2
    assert sorted(r["config"] for r in read_results(out)["results"]) == sorted(names)


def test_a_configuration_is_scored_as_the_builder_scores_the_model(analyses_bundle):  # noqa: F811
    """score_run on the bundle's own cached run gives the bundle's thresholds and metrics exactly."""
    bundle = Bundle.open(analyses_bundle)
    model = bundle.model(TRAINED)
    runs = list((analyses_bundle.parent / f".{analyses_bundle.name}.build" / "runs").glob(f"{TRAINED}--*"))
    assert len(runs) == 1
    entry = with_overrides(get(TRAINED, "smoke"), {"epochs": 3})
    score = score_run(entry, runs[0], analyses_bundle.parent / "catalog", progress=False)
    for split in ("test", "valid"):  # the decisions a sweep scores (the build adds a graph variant on top)
        assert score["metrics"][split] == {v: m for v, m in model["metrics"][split].items() if v != "graph"}
    assert score["thresholds"]["t"] == model["thresholds"]["t"] and score["thresholds"]["t2"] == model["thresholds"]["t2"]
    assert score["epochs"] == 3 and score["kept_epoch"] == bundle.history(TRAINED)[-1]["selection"]["best_epoch"]


def test_the_results_table_holds_every_decision_per_split(analyses_bundle):  # noqa: F811
    doc = Bundle.open(analyses_bundle).sweep("bert_margins")
    check_sweep(doc, "bundle")
    assert doc["model"] == MODEL and doc["profile"] == "smoke" and doc["configs"] == 2
    for r in doc["results"]:
        assert r["backbone"] == "bert-base-multilingual-uncased" and r["loss"] == "arcface"
        for split in ("valid", "test"):
            for variant in ("base", "min2", "inb"):
                assert 0 < r[f"{split}_{variant}_f1"] <= 1
        assert r["epochs"] == 2 and r["t"] is not None and r["axes"] == {"margin": r["margin"]}


def test_bad_sweeps_fail_before_any_training(tiny_catalog, tmp_path):
    out = tmp_path / "bad"
    for grid, message in [("marginx=0.5", "unknown spec key"), ("margin=high", "takes a number"),
                          ("margin=", "no values")]:
        res = subprocess.run(_cmd(tiny_catalog, out, grid, 1), cwd=ROOT, env=_env(), capture_output=True, text=True)
        assert res.returncode == 1 and res.stderr.startswith("error: ") and message in res.stderr
        assert len(res.stderr.strip().splitlines()) == 1 and "Traceback" not in res.stderr
    assert not (out / "runs").exists()

"""Every train run records its epochs as JSON lines and TensorBoard event files, read back by
TensorBoard's own reader; a resumed run never holds an epoch twice; bad records are refused."""

import json

import pytest

from shopee_core.errors import ShopeeError
from shopee_core.models import get, with_overrides
from shopee_core.training import history as H
from shopee_core.training import loop


def _events(run):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run))
    acc.Reload()
    return acc


def test_each_epoch_is_recorded_in_jsonl_and_tensorboard(tiny_catalog, tmp_path):
    entry = with_overrides(get("bert_multilingual", "smoke"), {"epochs": 3})  # seed18 rule: kept from epoch index 2
    run = tmp_path / "run"
    loop.train(entry, tiny_catalog, run, progress=False)
    lines = (run / H.HISTORY).read_text().splitlines()
    records = [json.loads(x) for x in lines]
    assert [r["epoch"] for r in records] == [0, 1, 2]
    for r in records:
        assert r["loss"] > 0 and r["items_per_s"] > 0 and r["seconds"] > 0 and r["wall"] > 1e9
        backbone, head = r["lrs"]  # two parameter groups: the head's LR is head_lr_mult (2) x the backbone's
        assert head == pytest.approx(2 * backbone) and r["lr"] == backbone
        assert r["valid"]["threshold"] == 0.40 and 0 <= r["valid"]["f1"] <= 1
        assert 0 <= r["valid"]["best_f1"] <= 1 and r["valid"]["best_threshold"] > 0
    # the seed's text LR per epoch: 7.5e-6, then the warm-up towards 1e-4
    assert records[0]["lrs"][0] == pytest.approx(7.5e-6) and records[2]["lrs"][0] == pytest.approx(1e-4)
    assert [r["selection"]["eligible"] for r in records] == [False, False, True]
    assert records[2]["selection"] == {"eligible": True, "kept": True, "best_epoch": 2}
    assert H.kept_epoch(H.read_history(run)) == 2 == json.loads((run / "metrics.json").read_text())["best"]["epoch"]
    acc = _events(run)
    scalars = set(acc.Tags()["scalars"])
    assert {"train/loss", "lr/backbone", "lr/head", "valid/f1_at_selection_T", "valid/f1_best_scan",
            "valid/best_scan_T", "speed/items_per_s", "time/epoch_seconds", "checkpoint/kept_epoch"} <= scalars
    loss = acc.Scalars("train/loss")
    assert [s.step for s in loss] == [1, 2, 3]
    assert [s.value for s in loss] == pytest.approx([r["loss"] for r in records], rel=1e-6)
    assert [s.value for s in acc.Scalars("lr/head")] == pytest.approx([r["lrs"][1] for r in records], rel=1e-6)
    assert acc.Scalars("checkpoint/kept_epoch")[-1].value == 3  # 1-based, as the log prints epochs
    assert "checkpoint/text_summary" in acc.Tags()["tensors"]


def test_a_resumed_run_records_every_epoch_once(tiny_catalog, tmp_path, monkeypatch):
    entry = with_overrides(get("bert_multilingual", "smoke"), {"epochs": 3, "select_from_epoch": 0})
    run = tmp_path / "run"
    real, calls = loop.validate, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # killed while finishing epoch 3
        return real(*a, **k)

    monkeypatch.setattr(loop, "validate", flaky)
    with pytest.raises(KeyboardInterrupt):
        loop.train(entry, tiny_catalog, run, progress=False)
    assert [r["epoch"] for r in H.read_history(run)] == [0, 1]
    monkeypatch.setattr(loop, "validate", real)
    loop.train(entry, tiny_catalog, run, resume=True, progress=False)
    records = H.read_history(run)
    assert [r["epoch"] for r in records] == [0, 1, 2]
    assert [s.step for s in _events(run).Scalars("train/loss")] == [1, 2, 3]


def test_bad_histories_are_refused_in_one_line(tmp_path):
    good = {"epoch": 0, "loss": 1.0, "lrs": [1e-3], "valid": {"f1": 0.5}, "selection": {"best_epoch": 0}}
    cases = {
        "no loss": {k: v for k, v in good.items() if k != "loss"},
        "text loss": {**good, "loss": "low"},
        "negative epoch": {**good, "epoch": -1},
        "f1 not a number": {**good, "valid": {"f1": "0.5"}},
        "lrs not a list": {**good, "lrs": 0.1},
        "bad kept epoch": {**good, "selection": {"best_epoch": "2"}},
    }
    for what, record in cases.items():
        path = tmp_path / f"{what}.jsonl"
        path.write_text(json.dumps(record) + "\n")
        with pytest.raises(ShopeeError) as err:
            H.read_history(path)
        assert "\n" not in str(err.value), what
    path = tmp_path / "twice.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps(good) + "\n")
    with pytest.raises(ShopeeError, match="epoch must be a new integer"):
        H.read_history(path)
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    with pytest.raises(ShopeeError, match="not JSON"):
        H.read_history(tmp_path / "broken.jsonl")
    with pytest.raises(ShopeeError, match="no training history"):
        H.read_history(tmp_path / "nothing")


def test_runs_from_before_history_files_ship_their_metrics_history(tmp_path):
    """A cached run with only metrics.json (trained before history.jsonl existed) still ships its epochs."""
    run = tmp_path / "old"
    run.mkdir()
    history = [{"epoch": e, "loss": 3.0 - e, "steps": 2, "seconds": 1.0, "items_per_s": 8.0, "lr": 1e-3,
                "valid": {"threshold": 0.4, "f1": f1}} for e, f1 in enumerate([0.5, 0.7, 0.6])]
    (run / "metrics.json").write_text(json.dumps({"history": history, "best": {"epoch": 1, "f1": 0.7},
                                                  "selection": {"threshold": 0.4, "from_epoch": 0}}))
    doc = H.run_history(run)
    assert [r["selection"]["kept"] for r in doc["history"]] == [False, True, False]
    assert H.kept_epoch(doc["history"]) == 1 and doc["best"]["epoch"] == 1

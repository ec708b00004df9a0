"""Spec overrides: ``--set key=value`` / ``--config FILE.json`` reach every key, and only real keys."""

import json

import pytest

from shopee_core import cli
from shopee_core.errors import ShopeeError
from shopee_core.models import get, parse_overrides, spec_changes, with_overrides


def test_dotted_and_nested_overrides_leave_the_registry_alone():
    base = get("resnet50", "seed18")
    e = with_overrides(base, {"epochs": 2, "lr_schedule.max": 1e-3, "optimizer": {"eps": 1e-8},
                              "select_threshold": "scan", "max_steps": 10})
    assert e.spec["epochs"] == 2 and e.spec["lr_schedule"]["max"] == 1e-3
    assert e.spec["optimizer"]["eps"] == 1e-8 and e.spec["optimizer"]["betas"] == [0.95, 0.999]  # merged
    assert e.spec["select_threshold"] == "scan" and e.spec["max_steps"] == 10
    assert get("resnet50", "seed18").spec == base.spec and base.spec["epochs"] == 8
    assert spec_changes(base.spec, e.spec) == {"epochs": 2, "lr_schedule.max": 1e-3, "optimizer.eps": 1e-8,
                                               "select_threshold": "scan", "max_steps": 10}
    assert with_overrides(base, {"epochs": 3.0}).spec["epochs"] == 3
    assert with_overrides(get("resnet50", "smoke"), {"max_steps": None}).spec["max_steps"] is None  # no cap
    with pytest.raises(ShopeeError, match="takes a number"):
        with_overrides(base, {"epochs": None})


@pytest.mark.parametrize("overrides,phrase", [
    ({"lr_schedul.max": 1}, "unknown spec key 'lr_schedul.max'"),
    ({"lr_schedule.peak": 1e-3}, "unknown spec key 'lr_schedule.peak' \\(lr_schedule has: counter_step"),
    ({"epochs": "eight"}, "'epochs' takes a number"),
    ({"epochs": 2.5}, "takes an integer"),
    ({"optimizer.betas": 0.9}, "takes a list"),
    ({"mish": 1}, "takes a boolean"),
])
def test_unknown_keys_and_wrong_types_are_one_line_errors(overrides, phrase):
    with pytest.raises(ShopeeError, match=phrase) as err:
        with_overrides(get("resnet50", "seed18"), overrides)
    assert "\n" not in str(err.value) and "resnet50 (seed18)" in str(err.value)


def test_parse_overrides_json_or_string_and_config_first(tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"epochs": 3, "lr_schedule": {"max": 1e-3}}))
    got = parse_overrides(["epochs=2", "precision=bf16", "optimizer.betas=[0.9, 0.99]", "max_steps=null",
                           "select_threshold=0.5", "backbone=a=b"], cfg)
    assert got == {"epochs": 2, "lr_schedule": {"max": 1e-3}, "precision": "bf16",
                   "optimizer.betas": [0.9, 0.99], "max_steps": None, "select_threshold": 0.5, "backbone": "a=b"}
    for bad, phrase in ((["epochs"], "expected key=value"), (["=3"], "expected key=value")):
        with pytest.raises(ShopeeError, match=phrase):
            parse_overrides(bad)
    (tmp_path / "list.json").write_text("[1]")
    with pytest.raises(ShopeeError, match="JSON object"):
        parse_overrides([], tmp_path / "list.json")
    with pytest.raises(ShopeeError, match="no such file"):
        parse_overrides([], tmp_path / "missing.json")


def test_models_command_applies_overrides(capsys, tmp_path):
    cfg = tmp_path / "c.json"
    cfg.write_text(json.dumps({"lr_schedule.counter_step": 1}))
    assert cli.main(["models", "--json", "--profile", "seed18", "--model", "resnet50", "--config", str(cfg),
                     "--set", "epochs=3", "--set", "optimizer.lookahead_k=6"]) == 0
    (m,) = json.loads(capsys.readouterr().out)
    assert m["spec"]["epochs"] == 3 and m["spec"]["lr_schedule"]["counter_step"] == 1
    t = m["training"]
    assert len(t["lr_per_epoch"]) == 3 and t["optimizer"]["lookahead_k"] == 6
    assert t["lr_per_epoch"][1] == pytest.approx(1e-5 + (3.2e-4 - 1e-5) / 5, rel=1e-6)  # counter step 1


def test_train_refuses_an_unknown_key_in_one_line(capsys, tiny_catalog, tmp_path):
    code = cli.main(["train", "--model", "bert_multilingual", "--profile", "smoke", "--data", str(tiny_catalog),
                     "--out", str(tmp_path / "run"), "--set", "epoch=2", "--quiet"])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("error: bert_multilingual (smoke): unknown spec key 'epoch'")
    assert err.count("\n") == 1 and not (tmp_path / "run").exists()


def test_train_records_the_effective_spec(capsys, tiny_catalog, tmp_path):
    out = tmp_path / "run"
    assert cli.main(["train", "--model", "bert_multilingual", "--profile", "smoke", "--data", str(tiny_catalog),
                     "--out", str(out), "--set", "max_steps=1", "--set", "optimizer.eps=1e-8", "--quiet",
                     "--device", "cpu"]) == 0
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["spec"]["max_steps"] == 1 and cfg["model"]["spec"]["optimizer"]["eps"] == 1e-8
    assert cfg["overrides"] == {"max_steps": 1, "optimizer.eps": 1e-8}
    assert json.loads((out / "metrics.json").read_text())["history"][0]["steps"] == 1

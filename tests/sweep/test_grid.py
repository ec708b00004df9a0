"""The grid: axes of spec keys, checked against the recipe before anything trains."""

import json

import pytest

from shopee_core.errors import ShopeeError
from shopee_core.models import get
from shopee_core.sweep import configs, parse_grid, prepare


def test_axes_multiply_and_linked_keys_move_together():
    axes = parse_grid(["margin=0.5,0.9", "loss:head_init=arcface:xavier_uniform,curricularface:normal_0.01"])
    cfgs = configs(get("resnet50", "demo"), axes)
    assert [c.overrides for c in cfgs] == [
        {"margin": 0.5, "loss": "arcface", "head_init": "xavier_uniform"},
        {"margin": 0.5, "loss": "curricularface", "head_init": "normal_0.01"},
        {"margin": 0.9, "loss": "arcface", "head_init": "xavier_uniform"},
        {"margin": 0.9, "loss": "curricularface", "head_init": "normal_0.01"}]
    assert len({c.name for c in cfgs}) == 4 and all("/" not in c.name for c in cfgs)
    # values parse as --set does (JSON when it parses), lists included; dotted keys reach nested dicts
    axes = parse_grid(["optimizer.betas=[0.9,0.99],[0.95,0.999]", "lr_schedule.peak=1e-3,3e-3"])
    assert [c.overrides["optimizer.betas"] for c in configs(get("resnet50", "demo"), axes)][::2] == [[0.9, 0.99],
                                                                                                  [0.95, 0.999]]


@pytest.mark.parametrize("grid,message", [
    ([], "at least one --grid"),
    (["margin="], "no values"),
    (["margin"], "expected KEY=V1,V2"),
    (["marginx=0.5,0.6"], "unknown spec key 'marginx'"),
    (["margin=0.5,big"], "takes a number"),
    (["epochs=1.5"], "takes an integer"),
    (["margin=0.5,0.5"], "listed twice"),
    (["margin=0.5", "margin=0.6"], "more than one axis"),
    (["loss:head_init=arcface"], "needs 2 parts"),
])
def test_bad_grids_are_one_line_errors(grid, message):
    with pytest.raises(ShopeeError, match=message) as err:
        configs(get("resnet50", "demo"), parse_grid(grid))
    assert "\n" not in str(err.value)


def test_a_sweep_folder_belongs_to_one_model_profile_and_grid(tiny_catalog, tmp_path):
    out = tmp_path / "sweep"
    sw = prepare("bert_multilingual", "smoke", tiny_catalog, out, ["margin=0.5,0.7"], {"epochs": 1})
    assert sw.names == ["margin-0.5", "margin-0.7"]
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["model"] == "bert_multilingual" and meta["profile"] == "smoke" and meta["overrides"] == {"epochs": 1}
    prepare("bert_multilingual", "smoke", tiny_catalog, out, ["margin=0.5,0.7"], {"epochs": 1})  # the same: resumes
    for args, message in [
        (("bert_indonesian", "smoke", ["margin=0.5,0.7"], {"epochs": 1}), "holds a sweep of bert_multilingual"),
        (("bert_multilingual", "demo", ["margin=0.5,0.7"], {"epochs": 1}), r"bert_multilingual \(smoke\)"),
        (("bert_multilingual", "smoke", ["margin=0.5,0.8"], {"epochs": 1}), "other --grid"),
        (("bert_multilingual", "smoke", ["margin=0.5,0.7"], {"epochs": 2}), "other --set"),
        (("tfidf", "smoke", ["k=10,20"], {}), "nothing to train"),
        (("bert_multilingual", "smoke", ["margin=0.5"], {"margin": 0.6}), "both set margin"),
    ]:
        model, profile, grid, overrides = args
        with pytest.raises(ShopeeError, match=message):
            prepare(model, profile, tiny_catalog, out, grid, overrides)
    assert json.loads((out / "sweep.json").read_text()) == meta
    assert not (out / "runs").exists()  # nothing trained

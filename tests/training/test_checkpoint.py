import json
import pickle

import pytest
import torch

from shopee_core.errors import ShopeeError
from shopee_core.models import get
from shopee_core.training.checkpoint import load_state, save_state, select_best, selection_rule
from shopee_core.training.optim import ranger


def test_optimizer_state_roundtrip_without_pickle(tmp_path, monkeypatch):
    m = torch.nn.Linear(4, 3)
    opt = ranger(m.parameters(), lr=1e-2)
    for _ in range(6):  # past the first Lookahead sync (k = 5): slow buffers are in the state
        opt.zero_grad()
        m(torch.randn(5, 4)).pow(2).sum().backward()
        opt.step()
    rng = torch.get_rng_state()
    path = tmp_path / "state.safetensors"
    save_state(path, {"optimizer": opt.state_dict(), "epoch": 2, "rng": rng, "note": None})
    assert json.loads(_header(path)["__metadata__"]["skeleton"])  # the skeleton is plain JSON
    assert [p.name for p in tmp_path.iterdir()] == ["state.safetensors"]  # one file: no pair to tear

    def no_unpickling(*a, **k):
        raise AssertionError("a checkpoint was unpickled")

    monkeypatch.setattr(pickle, "load", no_unpickling)
    monkeypatch.setattr(pickle, "loads", no_unpickling)
    monkeypatch.setattr(pickle, "Unpickler", no_unpickling)
    monkeypatch.setattr(torch, "load", no_unpickling)
    back = load_state(path)
    monkeypatch.undo()
    assert back["epoch"] == 2 and back["note"] is None
    expected = torch.rand(5)  # the stored generator state reproduces the same draws
    torch.set_rng_state(back["rng"])
    assert torch.equal(torch.rand(5), expected)
    opt2 = ranger(m.parameters(), lr=1e-2)
    opt2.load_state_dict(back["optimizer"])
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert set(s1) == set(s2) and all("lookahead_slow_buff" in s for s in s1.values())
    for k in s1:
        for name, v in s1[k].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(s2[k][name]))


def _header(path) -> dict:
    """A safetensors file's JSON header, read as the format defines it (8-byte length, then JSON)."""
    raw = path.read_bytes()
    return json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")])


def test_a_state_written_by_the_two_file_format_still_loads(tmp_path):
    from shopee_core.training.checkpoint import _flatten, save_tensors

    tensors: dict = {}
    skeleton = _flatten({"epoch": 4, "rng": torch.arange(3)}, "s", tensors)
    save_tensors(tmp_path / "last_state.safetensors", tensors)
    (tmp_path / "last_state.json").write_text(json.dumps(skeleton))
    back = load_state(tmp_path / "last_state.safetensors")
    assert back["epoch"] == 4 and torch.equal(back["rng"], torch.arange(3))
    save_state(tmp_path / "last_state.safetensors", back)  # rewritten as one file, the stale sidecar gone
    assert not (tmp_path / "last_state.json").exists() and load_state(tmp_path / "last_state.safetensors")["epoch"] == 4


def _history(f1s):
    return [{"epoch": i, "valid": {"f1": f}} for i, f in enumerate(f1s)]


def test_the_seeds_selection_rules():
    assert selection_rule(get("resnet50", "seed18").spec) == (0.36, 0)
    assert selection_rule(get("efficientnet_b3_curricular", "seed18").spec) == (0.36, 0)
    for mid in ("bert_multilingual", "xlmr_paraphrase"):
        assert selection_rule(get(mid, "seed18").spec) == (0.40, 2)
    assert selection_rule(get("resnet50", "tuned").spec) == ("scan", 0)


def test_select_best_honours_the_first_eligible_epoch():
    h = _history([0.50, 0.90, 0.60, 0.70, 0.65])
    assert select_best(h, 0) == 1
    assert select_best(h, 2) == 3  # text: the best epoch (index 1) comes too early
    assert select_best(h[:2], 2) is None
    assert select_best(_history([0.5, 0.7, 0.7]), 0) == 1  # ties keep the earlier epoch
    assert select_best(_history([float("nan"), 0.1]), 0) == 1


@pytest.mark.parametrize("spec", [{"select_threshold": "best"}, {"select_threshold": 0.0},
                                  {"select_threshold": 0.4, "select_from_epoch": -1}])
def test_bad_selection_rules_are_user_errors(spec):
    with pytest.raises(ShopeeError, match="select_"):
        selection_rule(spec)

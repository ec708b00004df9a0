import json

import torch

from shopee_core.training.checkpoint import load_state, save_state
from shopee_core.training.optim import ranger


def test_optimizer_state_roundtrip_without_pickle(tmp_path):
    m = torch.nn.Linear(4, 3)
    opt = ranger(m.parameters(), lr=1e-2)
    for _ in range(3):
        opt.zero_grad()
        m(torch.randn(5, 4)).pow(2).sum().backward()
        opt.step()
    path = tmp_path / "state.safetensors"
    save_state(path, {"optimizer": opt.state_dict(), "epoch": 2, "rng": torch.get_rng_state(), "note": None})
    assert json.loads(path.with_suffix(".json").read_text())  # the skeleton is plain JSON
    assert path.read_bytes()[:8] != b"\x80\x04\x95"  # not a pickle
    back = load_state(path)
    assert back["epoch"] == 2 and back["note"] is None
    assert torch.equal(back["rng"], torch.get_rng_state()) or back["rng"].dtype == torch.uint8
    opt2 = ranger(m.parameters(), lr=1e-2)
    opt2.load_state_dict(back["optimizer"])
    s1, s2 = opt.state_dict()["state"], opt2.state_dict()["state"]
    assert set(s1) == set(s2)
    for k in s1:
        for name, v in s1[k].items():
            assert torch.equal(torch.as_tensor(v), torch.as_tensor(s2[k][name]))

"""Training loop on a tiny catalog with a tiny text recipe: checkpoints, best epoch, resume."""

import json
from dataclasses import replace

import numpy as np
import pytest

from shopee_core.errors import ShopeeError
from shopee_core.models import get
from shopee_core.training import loop


@pytest.fixture
def tiny_text():
    e = get("bert_multilingual", "smoke")
    return replace(e, spec={**e.spec, "epochs": 2})


def test_train_writes_safetensors_every_epoch_and_embeds(tiny_catalog, tmp_path, tiny_text):
    out = tmp_path / "run"
    res = loop.train(tiny_text, tiny_catalog, out, progress=False)
    assert res["epochs"] == 2
    assert {p.name for p in out.glob("*.safetensors")} >= {"epoch_01.safetensors", "epoch_02.safetensors",
                                                            "best.safetensors", "last_state.safetensors"}
    assert not list(out.rglob("*.pt")) and not list(out.rglob("*.pkl"))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["id"] == "bert_multilingual" and cfg["n_classes"] > 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 2 and "f1" in metrics["history"][0]["valid"]
    x, rows = loop.embed_run(out, tiny_catalog, split="test", progress=False)
    assert x.shape == (len(rows), 32) and np.isfinite(x).all()


def test_interrupted_run_resumes_after_last_good_epoch(tiny_catalog, tmp_path, tiny_text, monkeypatch):
    out = tmp_path / "run"
    calls = {"n": 0}
    real = loop.validate

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt  # killed during epoch 2
        return real(*a, **k)

    monkeypatch.setattr(loop, "validate", flaky)
    with pytest.raises(KeyboardInterrupt):
        loop.train(tiny_text, tiny_catalog, out, progress=False)
    first = (out / "epoch_01.safetensors").read_bytes()
    assert json.loads((out / "metrics.json").read_text())["history"][0]["epoch"] == 0
    with pytest.raises(ShopeeError, match="--resume"):
        loop.train(tiny_text, tiny_catalog, out, progress=False)
    res = loop.train(tiny_text, tiny_catalog, out, resume=True, progress=False)
    assert res["epochs"] == 2
    assert (out / "epoch_01.safetensors").read_bytes() == first
    other = replace(tiny_text, spec={**tiny_text.spec, "margin": 0.9})
    with pytest.raises(ShopeeError, match="different recipe"):
        loop.train(other, tiny_catalog, out, resume=True, progress=False)


def test_untrainable_and_unfinished(tiny_catalog, tmp_path):
    with pytest.raises(ShopeeError, match="nothing to train"):
        loop.train(get("tfidf", "smoke"), tiny_catalog, tmp_path / "x", progress=False)
    with pytest.raises(ShopeeError, match="not a finished run"):
        loop.load_run(tmp_path / "nothing")

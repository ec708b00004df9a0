"""Training loop on a tiny catalog with tiny recipes: checkpoints, the kept epoch, resume, records."""

import json

import numpy as np
import pandas as pd
import pytest

from shopee_core.errors import ShopeeError
from shopee_core.models import get, with_overrides
from shopee_core.training import embed, loop


@pytest.fixture
def tiny_text():
    return with_overrides(get("bert_multilingual", "smoke"), {"epochs": 2})


def test_train_writes_safetensors_every_epoch_and_embeds(tiny_catalog, tmp_path, tiny_text):
    out = tmp_path / "run"
    res = loop.train(tiny_text, tiny_catalog, out, progress=False)
    assert res["epochs"] == 2
    assert {p.name for p in out.glob("*.safetensors")} >= {"epoch_01.safetensors", "epoch_02.safetensors",
                                                            "best.safetensors", "last_state.safetensors"}
    assert not list(out.rglob("*.pt")) and not list(out.rglob("*.pkl"))
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["model"]["id"] == "bert_multilingual" and cfg["n_classes"] > 0
    assert cfg["model"]["spec"]["epochs"] == 2 and cfg["overrides"] == {"epochs": 2}  # the effective spec
    # smoke text inherits seed18's fp16, which this CPU does not do natively: recorded as run
    assert cfg["precision"]["requested"] == "fp16" and cfg["precision"]["effective"] == res["precision"]
    assert cfg["seed"] == 412
    metrics = json.loads((out / "metrics.json").read_text())
    assert len(metrics["history"]) == 2 and "f1" in metrics["history"][0]["valid"]
    assert metrics["selection"] == {"threshold": 0.40, "from_epoch": 2}
    assert metrics["best"]["fallback"] == "last epoch"  # 2 epochs: none has index >= 2
    assert (out / "best.safetensors").read_bytes() == (out / "epoch_02.safetensors").read_bytes()
    x, rows = embed.embed_run(out, tiny_catalog, split="test", progress=False)
    assert x.shape == (len(rows), 32) and np.isfinite(x).all()


def _fake_validation(monkeypatch, f1s):
    calls = iter(f1s)
    monkeypatch.setattr(loop, "validate", lambda *a, **k: {"threshold": 0.4, "f1": next(calls)})


@pytest.mark.parametrize("mid,first,f1s,kept", [
    ("bert_multilingual", 2, [0.50, 0.90, 0.60, 0.70, 0.65], 3),  # the best epoch (index 1) is too early
    ("effnet_lite0_arcface", 0, [0.50, 0.90, 0.60], 1),
])
def test_the_kept_checkpoint_follows_the_rule(tiny_catalog, tmp_path, monkeypatch, mid, first, f1s, kept):
    entry = with_overrides(get(mid, "smoke"), {"epochs": len(f1s), "max_steps": 1})
    assert entry.spec["select_from_epoch"] == first
    _fake_validation(monkeypatch, f1s)
    out = tmp_path / "run"
    res = loop.train(entry, tiny_catalog, out, progress=False, workers=0)
    assert res["best"]["epoch"] == kept
    assert (out / "best.safetensors").read_bytes() == (out / f"epoch_{kept + 1:02d}.safetensors").read_bytes()


def test_validation_scores_at_the_fixed_threshold(monkeypatch):
    """Crafted embeddings whose scan optimum is not 0.40: the text recipe reports F1 at 0.40."""
    entry = get("bert_multilingual", "seed18")
    labels = np.repeat(np.arange(6), 2)
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(6, 16))
    emb = centres[labels] + rng.normal(scale=0.45, size=(12, 16))
    monkeypatch.setattr(loop, "embed_rows", lambda *a, **k: emb)
    val = loop.validate(None, entry, pd.DataFrame({"label_group": labels}), None, np.arange(12), None, 0)
    x = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    dist = 1 - x @ x.T
    f1 = []
    for i in range(12):  # k = 50 > 12 postings: every posting is a candidate
        pred, true = set(np.flatnonzero(dist[i] < 0.40)) | {i}, set(np.flatnonzero(labels == labels[i]))
        f1.append(2 * len(pred & true) / (len(pred) + len(true)))
    want = float(np.mean(f1))
    assert val["threshold"] == 0.40 and val["f1"] == pytest.approx(want, abs=1e-6)
    assert val["best_threshold"] != 0.40 and val["best_f1"] > val["f1"]


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
    other = with_overrides(tiny_text, {"margin": 0.9})
    with pytest.raises(ShopeeError, match="different recipe"):
        loop.train(other, tiny_catalog, out, resume=True, progress=False)


def test_untrainable_and_unfinished(tiny_catalog, tmp_path):
    with pytest.raises(ShopeeError, match="nothing to train"):
        loop.train(get("tfidf", "smoke"), tiny_catalog, tmp_path / "x", progress=False)
    with pytest.raises(ShopeeError, match="not a finished run"):
        embed.load_run(tmp_path / "nothing")


def test_seed18_text_runs_fp16_autocast_without_loss_scaling_under_sam():
    """Issue 21, point 5b: the seed's text loop created a GradScaler under SAM and never used it, so
    its fp16 autocast steps back-propagated the plain loss; tuned keeps the scaler (sound fp16)."""
    import torch

    from shopee_core.training.describe import training_facts
    from shopee_core.training.model import build_model
    from shopee_core.training.optim import build_optimizer
    from shopee_core.training.runtime import grad_scaler

    seed = get("xlmr_paraphrase", "seed18")
    assert seed.spec["precision"] == "fp16" and seed.spec["loss_scaling"] is False
    assert grad_scaler("fp16", torch.device("cpu"), seed.spec["loss_scaling"]) is None
    assert training_facts(seed)["loss_scaling"] is False
    tuned = with_overrides(get("xlmr_paraphrase", "tuned"), {"precision": "fp16"})
    assert isinstance(grad_scaler("fp16", torch.device("cpu"), tuned.spec["loss_scaling"]), torch.amp.GradScaler)
    assert training_facts(tuned)["loss_scaling"] is True
    # the unscaled fp16 step itself: SAM's two passes under CPU autocast, no scaler
    entry = get("bert_multilingual", "smoke")  # seed18 at tiny size
    torch.manual_seed(0)
    model = build_model(entry, n_classes=4).train()
    opt = build_optimizer(entry.spec, model)
    tokens = model.encoder.tokenize(["kaos polos", "serum wajah", "tas kulit", "kopi"])
    before = [p.detach().clone() for p in model.parameters()]
    loss = loop.train_step(model, opt, tokens, torch.tensor([0, 1, 2, 3]), "fp16", torch.device("cpu"), None)
    assert torch.isfinite(loss)
    assert any(not torch.equal(a, p.detach()) for a, p in zip(before, model.parameters()))
    assert all("e_w" not in opt.state[p] for p in model.parameters())


def test_fp16_step_with_sam_goes_through_the_grad_scaler():
    """fp16 autocast with a GradScaler (``loss_scaling: true``, tuned at fp16) around SAM, on CPU autocast."""
    import torch

    from shopee_core.training.model import build_model
    from shopee_core.training.optim import build_optimizer

    entry = get("bert_multilingual", "smoke")
    torch.manual_seed(0)
    model = build_model(entry, n_classes=4).train()
    opt = build_optimizer(entry.spec, model)
    scaler = torch.amp.GradScaler("cpu", init_scale=2.0**8)
    tokens = model.encoder.tokenize(["kaos polos", "serum wajah", "tas kulit", "kopi"])
    y = torch.tensor([0, 1, 2, 3])
    before = [p.detach().clone() for p in model.parameters()]
    loss = loop.train_step(model, opt, tokens, y, "fp16", torch.device("cpu"), scaler)
    assert torch.isfinite(loss)
    moved = [not torch.equal(a, p.detach()) for a, p in zip(before, model.parameters())]
    assert any(moved) and all(torch.isfinite(p).all() for p in model.parameters())
    assert all("e_w" not in opt.state[p] for p in model.parameters())  # SAM restored w before the step
    scaler_before = scaler.get_scale()
    with torch.no_grad():
        model.head.weight[0, 0] = float("inf")  # an overflowing pass: the base step is skipped
    kept = [p.detach().clone() for p in model.encoder.parameters()]
    loop.train_step(model, opt, tokens, y, "fp16", torch.device("cpu"), scaler)
    assert scaler.get_scale() < scaler_before
    assert all(torch.equal(a, p.detach()) for a, p in zip(kept, model.encoder.parameters()))

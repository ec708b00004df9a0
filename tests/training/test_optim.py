"""Optimisers and schedules: the seed's numbers (README, "Fidelity: `seed18` and `tuned`"), not the code's output."""

import math

import numpy as np
import pytest
import torch

from shopee_core.models import get, list_models, with_overrides
from shopee_core.training.optim import (
    SAM,
    AdamW2021,
    RangerLookahead,
    build_optimizer,
    build_scheduler,
    centralize_gradients,
    describe_optimizer,
    lr_trace,
    ranger,
    step_scheduler,
)

# the LR each epoch ran at, from the seed's logs
SEED_IMAGE_LR = [1e-5, 1.34e-4, 2.58e-4, 2.56e-4, 1.64e-4, 1.06e-4, 6.8e-5, 4.4e-5]
SEED_TEXT_LR = [7.5e-6, 5.38e-5, 1e-4, 1e-4, 8.94e-5, 6.37e-5, 3.8e-5, 2.74e-5]


def _seed18(kind):
    return [e for e in list_models("seed18") if e.kind == kind]


def _close(got, want, rel=0.01):
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert g == pytest.approx(w, rel=rel), (got, want)


def test_image_lr_per_epoch_is_the_seeds():
    assert len(_seed18("image")) == 6
    for e in _seed18("image"):
        lrs, _ = lr_trace(e.spec)
        _close(lrs, SEED_IMAGE_LR)


@pytest.mark.filterwarnings("ignore:Detected call of `lr_scheduler.step\\(\\)` before")
def test_text_lr_per_epoch_is_the_seeds_and_the_head_runs_at_twice():
    assert len(_seed18("text")) == 5
    for e in _seed18("text"):
        lrs, opt = lr_trace(e.spec)
        _close(lrs, SEED_TEXT_LR)
        assert opt["group_lr_ratio"] == [1.0, 2.0]
    e = get("bert_multilingual", "seed18")

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.neck, self.head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)

    opt = build_optimizer(e.spec, Net())
    sched, every = build_scheduler(e.spec, opt, 1)
    assert every == "epoch"
    for epoch in range(3):  # warm-up: the FC/BN/ArcFace group at 2x the backbone
        g = opt.param_groups
        assert g[1]["lr"] == pytest.approx(2 * SEED_TEXT_LR[epoch], rel=0.01)
        step_scheduler(sched)


def test_the_counter_quirk_is_an_override_away():
    e = with_overrides(get("resnet50", "seed18"), {"lr_schedule.counter_step": 1})
    lrs, _ = lr_trace(e.spec)
    start, top = 1e-5, 3.2e-4  # the schedule as written: ramp over 5 epochs, then x0.8 towards 1e-6
    _close(lrs, [start + (top - start) * i / 5 for i in range(5)] + [(top - 1e-6) * 0.8 ** i + 1e-6 for i in range(3)])


def test_seed_ranger_hyper_parameters_read_from_the_optimiser():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.Flatten(), torch.nn.LazyLinear(2))
    model(torch.zeros(1, 3, 5, 5))
    opt = build_optimizer(get("eca_nfnet_l0", "seed18").spec, model)
    assert isinstance(opt, RangerLookahead)
    inner = opt._base_optimizer
    assert isinstance(inner, torch.optim.RAdam)
    g = inner.param_groups[0]
    assert tuple(g["betas"]) == (0.95, 0.999) and g["eps"] == 1e-5 and g["weight_decay"] == 0.0
    assert g["lookahead_k"] == 5 and g["lookahead_alpha"] == 0.5
    assert len(inner._optimizer_step_pre_hooks) == 1  # gradient centralisation
    d = describe_optimizer(opt)
    assert (d["betas"], d["eps"], d["weight_decay"], d["lookahead_k"], d["lookahead_alpha"]) == (
        [0.95, 0.999], 1e-5, 0.0, 5, 0.5)


def _reference_ranger(params, grads_per_step, lr, betas=(0.95, 0.999), eps=1e-5, alpha=0.5, k=5):
    """lessw2020's Ranger (RAdam + Lookahead + GC on grads with dim > 1), written out by hand."""
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    w = [p.detach().clone() for p in params]
    slow = [x.clone() for x in w]
    m = [torch.zeros_like(x) for x in w]
    v = [torch.zeros_like(x) for x in w]
    for t, grads in enumerate(grads_per_step, start=1):
        for i, g in enumerate(grads):
            g = g.clone()
            if g.dim() > 1:
                g -= g.mean(dim=tuple(range(1, g.dim())), keepdim=True)
            v[i] = b2 * v[i] + (1 - b2) * g * g
            m[i] = b1 * m[i] + (1 - b1) * g
            rho_t = rho_inf - 2 * t * b2 ** t / (1 - b2 ** t)
            if rho_t > 5:
                rect = math.sqrt((1 - b2 ** t) * (rho_t - 4) / (rho_inf - 4) * (rho_t - 2) / rho_t
                                 * rho_inf / (rho_inf - 2)) / (1 - b1 ** t)
                w[i] = w[i] - lr * rect * m[i] / (v[i].sqrt() + eps)
            else:
                w[i] = w[i] - lr / (1 - b1 ** t) * m[i]
            if t % k == 0:
                slow[i] = slow[i] + alpha * (w[i] - slow[i])
                w[i] = slow[i].clone()
    return w


def test_ranger_steps_like_the_seeds_ranger():
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 4)
    params = list(model.parameters())
    steps = [[torch.randn_like(p) for p in params] for _ in range(13)]
    want = _reference_ranger(params, steps, lr=1e-2)
    opt = ranger(params, lr=1e-2)
    for grads in steps:
        for p, g in zip(params, grads):
            p.grad = g.clone()
        opt.step()
    for p, w in zip(params, want):
        torch.testing.assert_close(p.detach(), w, atol=1e-6, rtol=1e-5)


def test_gradient_centralisation():
    m = torch.nn.Linear(4, 3)
    m(torch.randn(5, 4)).pow(2).sum().backward()
    bias_grad = m.bias.grad.clone()
    centralize_gradients(m.parameters())
    assert torch.allclose(m.weight.grad.mean(dim=1), torch.zeros(3), atol=1e-6)
    assert torch.equal(m.bias.grad, bias_grad)  # 1-D gradients are left alone


def test_seed_sam_adamw_hyper_parameters():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.neck, self.head = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)

    opt = build_optimizer(get("xlmr_paraphrase", "seed18").spec, Net())
    # the seed's: transformers' AdamW of 2021 inside SAM; tuned keeps torch's
    assert isinstance(opt, SAM) and isinstance(opt.base_optimizer, AdamW2021)
    g = opt.base_optimizer.param_groups[0]
    assert (g["rho"], g["eps"], g["weight_decay"], tuple(g["betas"])) == (0.05, 1e-6, 0.0, (0.9, 0.999))
    tuned = build_optimizer(get("xlmr_paraphrase", "tuned").spec, Net())
    assert type(tuned.base_optimizer) is torch.optim.AdamW
    assert describe_optimizer(opt)["class"] == "SAM(shopee_core.training.optim.AdamW2021)"


def _one_param_steps(opt_cls, grads, p0=1.0, **kw):
    p = torch.nn.Parameter(torch.tensor([p0], dtype=torch.float64))
    opt = opt_cls([p], **kw)
    out = []
    for g in grads:
        p.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        out.append(float(p.detach()))
    return out


def test_adamw_2021_update_is_transformers_2021s_written_out():
    """Issue 21, point 5a, by hand (lr 1e-4, betas (0.9, 0.999), eps 1e-6, the seed's defaults):
    step 1, g = 1e-6: m = 1e-7, v = 1e-15, step size = 1e-4 * sqrt(0.001) / 0.1 = 3.16228e-5,
    update = 3.16228e-5 * 1e-7 / (sqrt(1e-15) + 1e-6) = 3.06534e-6.
    step 2, g = -2e-6: m = 0.9e-7 - 2e-7 = -1.1e-7, v = 0.999e-15 + 4e-15 = 4.999e-15,
    step size = 1e-4 * sqrt(1 - 0.999**2) / (1 - 0.9**2), update = -step size * m / (sqrt(v) + 1e-6).
    torch's AdamW puts eps after the bias correction: step 1 moves 1e-4 * 1e-6 / (1e-6 + 1e-6) = 5e-5,
    16x more."""
    kw = dict(lr=1e-4, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.0)
    got = _one_param_steps(AdamW2021, [1e-6, -2e-6], **kw)
    step1 = 1e-4 * math.sqrt(0.001) / 0.1 * 1e-7 / (math.sqrt(1e-15) + 1e-6)
    assert step1 == pytest.approx(3.06534e-6, rel=1e-5)
    step2 = 1e-4 * math.sqrt(1 - 0.999 ** 2) / (1 - 0.9 ** 2) * 1.1e-7 / (math.sqrt(4.999e-15) + 1e-6)
    assert got[0] == pytest.approx(1.0 - step1, abs=1e-15)
    assert got[1] == pytest.approx(1.0 - step1 + step2, abs=1e-15)
    torch_first = _one_param_steps(torch.optim.AdamW, [1e-6], **kw)[0]
    assert 1.0 - torch_first == pytest.approx(5e-5, rel=1e-6)
    assert (1.0 - torch_first) / step1 == pytest.approx(16.31, rel=1e-3)
    # large gradients (sqrt(v) >> eps): the two updates agree to eps / sqrt(v) (6e-5 here)
    big = np.subtract(1.0, _one_param_steps(AdamW2021, [0.5, 0.3], **kw))
    ref = np.subtract(1.0, _one_param_steps(torch.optim.AdamW, [0.5, 0.3], **kw))
    assert big == pytest.approx(ref, rel=2e-4)


def test_adamw_2021_decays_after_the_update():
    # p = 2, g = 0.5, lr 0.1, wd 0.01: update = 0.1 * sqrt(0.001) / 0.1 * 0.05 / (sqrt(0.00025) + 1e-6),
    # then p *= 1 - 0.1 * 0.01 (transformers decays the updated weight; torch decays before updating)
    got = _one_param_steps(AdamW2021, [0.5], p0=2.0, lr=0.1, betas=(0.9, 0.999), eps=1e-6, weight_decay=0.01)[0]
    update = 0.1 * math.sqrt(0.001) / 0.1 * 0.05 / (math.sqrt(0.00025) + 1e-6)
    assert got == pytest.approx((2.0 - update) * (1 - 0.001), abs=1e-12)


def test_sam_takes_the_base_step_with_the_gradient_at_the_perturbed_point():
    torch.manual_seed(0)
    m = torch.nn.Linear(3, 1, bias=False)
    x = torch.tensor([[1.0, -2.0, 0.5]])
    w0 = m.weight.detach().clone()
    opt = SAM(m.parameters(), torch.optim.SGD, rho=0.1, lr=0.1)

    def loss():
        return m(x).pow(2).sum()  # gradient 2(w·x)x: it changes with w

    loss().backward()
    g = m.weight.grad.clone()
    opt.first_step()
    w_adv = w0 + 0.1 * g / g.norm()
    assert torch.allclose(m.weight, w_adv, atol=1e-6)
    loss().backward()
    opt.second_step()
    g_adv = 2 * (w_adv @ x.T) * x
    assert not torch.allclose(g_adv, g)
    assert torch.allclose(m.weight, w0 - 0.1 * g_adv, atol=1e-6)
    with pytest.raises(RuntimeError, match="two passes"):
        opt.step()


def test_sam_does_not_climb_along_an_overflowed_gradient():
    m = torch.nn.Linear(2, 1)
    w0 = [p.detach().clone() for p in m.parameters()]
    opt = SAM(m.parameters(), torch.optim.SGD, rho=0.05, lr=0.1)
    for p in m.parameters():
        p.grad = torch.full_like(p, float("inf"))
    opt.first_step()
    for p, w in zip(m.parameters(), w0):
        assert torch.equal(p.detach(), w)
    opt.restore()
    for p, w in zip(m.parameters(), w0):
        assert torch.equal(p.detach(), w)

import math

import pytest
import torch

from shopee_core.training.optim import SAM, centralize_gradients, ranger, seed_image_lr, warmup_cosine


def test_seed_image_schedule():
    assert seed_image_lr(0) == pytest.approx(1e-5)
    assert seed_image_lr(5) == pytest.approx(3.2e-4)
    assert seed_image_lr(2) == pytest.approx(1e-5 + (3.2e-4 - 1e-5) * 2 / 5)
    assert seed_image_lr(7) == pytest.approx(3.2e-4 * 0.8 ** 2)


def test_warmup_cosine():
    assert warmup_cosine(0, 100, 10) == pytest.approx(0.1)
    assert warmup_cosine(9, 100, 10) == pytest.approx(1.0)
    assert warmup_cosine(55, 100, 10) == pytest.approx(0.5)
    assert warmup_cosine(100, 100, 10) == pytest.approx(0.0, abs=1e-12)


def test_gradient_centralisation_and_ranger_hook():
    m = torch.nn.Linear(4, 3)
    m(torch.randn(5, 4)).pow(2).sum().backward()
    bias_grad = m.bias.grad.clone()
    centralize_gradients(m.parameters())
    assert torch.allclose(m.weight.grad.mean(dim=1), torch.zeros(3), atol=1e-6)
    assert torch.equal(m.bias.grad, bias_grad)  # 1-D gradients are left alone
    opt = ranger(m.parameters(), lr=1e-2)
    opt.zero_grad()
    m(torch.randn(5, 4)).pow(2).sum().backward()
    opt.step()
    assert torch.allclose(m.weight.grad.mean(dim=1), torch.zeros(3), atol=1e-6)


def test_sam_perturbs_then_restores_before_the_base_step():
    torch.manual_seed(0)
    m = torch.nn.Linear(3, 1, bias=False)
    w0 = m.weight.detach().clone()
    opt = SAM(m.parameters(), torch.optim.SGD, rho=0.1, lr=0.0)  # lr 0: the base step changes nothing
    m(torch.ones(1, 3)).sum().backward()
    g = m.weight.grad.clone()
    opt.first_step()
    assert torch.allclose(m.weight, w0 + 0.1 * g / g.norm(), atol=1e-6)
    m(torch.ones(1, 3)).sum().backward()
    opt.second_step()
    assert torch.allclose(m.weight, w0, atol=1e-6)
    with pytest.raises(RuntimeError, match="two passes"):
        opt.step()
    assert math.isfinite(float(m.weight.detach().sum()))

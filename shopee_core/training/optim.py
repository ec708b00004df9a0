"""Optimisers and LR schedules of the seed recipes.

Built from maintained parts: timm's ``lookahead_radam`` (RAdam inside Lookahead)
and torch's AdamW. Only what no library ships is written here: gradient
centralisation (the third part of the seed's Ranger) and SAM (sharpness-aware
minimisation, two gradient evaluations per step).
"""

from __future__ import annotations

import math

import torch


def centralize_gradients(params) -> None:
    """Gradient centralisation: remove the mean over all but the output dim of every
    weight gradient with more than one dimension (Yong et al., 2020)."""
    for p in params:
        g = p.grad
        if g is not None and g.dim() > 1:
            g.sub_(g.mean(dim=tuple(range(1, g.dim())), keepdim=True))


def ranger(params, lr: float, weight_decay: float = 0.0):
    """The seed's Ranger: timm's RAdam inside Lookahead, with gradient centralisation
    run as a pre-step hook of the inner RAdam (so every Lookahead step centralises)."""
    from timm.optim import create_optimizer_v2

    opt = create_optimizer_v2(params, opt="lookahead_radam", lr=lr, weight_decay=weight_decay)
    opt._base_optimizer.register_step_pre_hook(
        lambda o, args, kwargs: centralize_gradients(p for g in o.param_groups for p in g["params"]))
    return opt


class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimisation around a base optimiser (Foret et al., 2021).

    Usage per batch: loss.backward(); first_step(); loss(model(x)).backward(); second_step().
    """

    def __init__(self, params, base_optimizer_cls=torch.optim.AdamW, rho: float = 0.05, **kwargs):
        if rho <= 0:
            raise ValueError(f"rho must be positive, got {rho}")
        super().__init__(params, dict(rho=rho, **kwargs))
        self.base_optimizer = base_optimizer_cls(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    @torch.no_grad()
    def first_step(self):
        grads = [p.grad.norm(2) for g in self.param_groups for p in g["params"] if p.grad is not None]
        norm = torch.norm(torch.stack(grads), 2) if grads else torch.tensor(0.0)
        for group in self.param_groups:
            scale = group["rho"] / (norm + 1e-12)
            for p in group["params"]:
                if p.grad is None:
                    continue
                e_w = p.grad * scale.to(p)
                p.add_(e_w)
                self.state[p]["e_w"] = e_w
        self.zero_grad(set_to_none=True)

    @torch.no_grad()
    def second_step(self):
        for group in self.param_groups:
            for p in group["params"]:
                if "e_w" in self.state[p]:
                    p.sub_(self.state[p].pop("e_w"))
        self.base_optimizer.step()
        self.zero_grad(set_to_none=True)

    def step(self, closure=None):
        raise RuntimeError("SAM needs two passes: call first_step() and second_step()")

    def state_dict(self):
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups


def seed_image_lr(epoch: int, start: float = 1e-5, peak: float = 3.2e-4, warmup: int = 5, decay: float = 0.8) -> float:
    """The seed's image schedule, per epoch: linear warm-up start -> peak over ``warmup``
    epochs, then x``decay`` every epoch."""
    if epoch < warmup:
        return start + (peak - start) * epoch / warmup
    return peak * decay ** (epoch - warmup)


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Multiplier for linear warm-up then cosine decay to zero (the seed's text schedule)."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

"""Optimisers and LR schedules of the recipes, built from the spec's ``optimizer`` / ``lr_schedule``.

Optimisers (``optimizer.name``):

- ``ranger``: torch's RAdam inside timm's Lookahead, with gradient centralisation (``gc:
  conv_fc``: every gradient with more than one dimension, i.e. conv and fc weights) run as a
  pre-step hook of the inner RAdam. With the seed's arguments (betas (0.95, 0.999), eps 1e-5,
  weight decay 0, alpha 0.5, k 5) this is the seed's Ranger (lessw2020): same RAdam update and
  rectification threshold, GC before the moments, a slow-weight pull every k steps. One
  difference of timm's Lookahead is undone by :class:`RangerLookahead`: timm creates the slow
  weights at step k from the weights of that moment, Ranger from the weights before step 1.
- ``sam_adamw``: SAM (Foret et al. 2021, ``rho``) around an AdamW: ``adamw: transformers_2021``
  (:class:`AdamW2021`, the seed's: transformers' class of 2021, eps added to sqrt(v) before the
  bias correction folds into the step size) or ``torch`` (torch.optim.AdamW, eps added to the
  bias-corrected sqrt(v̂), Kingma & Ba's form). The two differ where sqrt(v) is near eps: with
  the seed's eps 1e-6 and gradients near 1e-6 the first update differs by an order of magnitude.

Schedules (``lr_schedule.kind``), all torch LR schedulers:

- ``shopee``: the seed's ShopeeScheduler, lr(e) = (max - start)/ramp·e + start for e < ramp,
  max while e < ramp + sustain, else (max - min)·decay^(e - ramp - sustain) + min, stepped
  once per epoch. Its counter advanced twice per step, so epoch i ran at lr(counter_step·i):
  ``counter_step`` 2 reproduces that, 1 gives the schedule as written (a LambdaLR).
- ``warmup_cosine_epochs``: per epoch, linear warm-up start -> peak over ``warmup_epochs``,
  then cosine from peak to ``eta_min`` over ``t_max`` epochs starting one epoch after the
  peak (LinearLR, CosineAnnealingLR in a SequentialLR: the values of the seed's
  GradualWarmupSchedulerV2 + CosineAnnealingLR; ``eta_min`` is absolute, as in torch, so
  a group at 2x ends at the same floor).
- ``warmup_cosine_steps``: per batch, linear warm-up over ``warmup_ratio`` of all steps, then
  cosine to 0 (the demo profile's text schedule).
"""

from __future__ import annotations

import math
import warnings

import torch
from timm.optim import Lookahead
from torch import nn

from ..errors import ShopeeError

OPTIMIZERS = ("ranger", "sam_adamw", "adamw")
ADAMWS = ("torch", "transformers_2021")
SCHEDULES = ("shopee", "warmup_cosine_epochs", "warmup_cosine_steps")
GC_MODES = ("conv_fc", "none")


def centralize_gradients(params) -> None:
    """Gradient centralisation: remove the mean over all but the output dim of every
    weight gradient with more than one dimension (Yong et al., 2020)."""
    for p in params:
        g = p.grad
        if g is not None and g.dim() > 1:
            g.sub_(g.mean(dim=tuple(range(1, g.dim())), keepdim=True))


class RangerLookahead(Lookahead):
    """timm's Lookahead whose slow weights start from the weights before the first step (as Ranger's)."""

    @torch.no_grad()
    def step(self, closure=None):
        base = self._base_optimizer
        fresh = [(p, p.detach().clone()) for g in self.param_groups for p in g["params"]
                 if p.grad is not None and "lookahead_slow_buff" not in base.state[p]]
        loss = base.step(closure)
        for p, start in fresh:  # after the base step: RAdam initialises a param's state only when it is empty
            base.state[p]["lookahead_slow_buff"] = start
        for group in base.param_groups:
            group["lookahead_step"] += 1
            if group["lookahead_step"] % group["lookahead_k"] == 0:
                self.update_slow(group)
        return loss


def ranger(params, lr: float, betas=(0.95, 0.999), eps: float = 1e-5, weight_decay: float = 0.0,
           alpha: float = 0.5, k: int = 5, gc: str = "conv_fc") -> RangerLookahead:
    """Ranger = Lookahead(RAdam) + gradient centralisation; the defaults are the seed's."""
    if gc not in GC_MODES:
        raise ShopeeError(f"ranger: unknown gc {gc!r}; choose one of: {', '.join(GC_MODES)}")
    inner = torch.optim.RAdam(params, lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay)
    if gc == "conv_fc":
        inner.register_step_pre_hook(
            lambda o, args, kwargs: centralize_gradients(p for g in o.param_groups for p in g["params"]))
    opt = RangerLookahead(inner, alpha=alpha, k=k)
    opt.gradient_centralization = gc
    return opt


class AdamW2021(torch.optim.Optimizer):
    """transformers' ``AdamW`` as of 2021 (``correct_bias=True``), the seed's text optimiser.

    Per parameter, at step t with gradient g::

        m = b1·m + (1 - b1)·g
        v = b2·v + (1 - b2)·g²
        step_size = lr · sqrt(1 - b2^t) / (1 - b1^t)
        p = p - step_size · m / (sqrt(v) + eps)
        p = p - lr · wd · p                  (decoupled decay, after the update)

    torch's AdamW divides by ``sqrt(v) / sqrt(1 - b2^t) + eps`` instead: the same update with eps
    scaled by sqrt(1 - b2^t) (at t = 1 with b2 = 0.999, eps counts 31.6× more here).
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-6, weight_decay: float = 0.0):
        if lr < 0 or eps < 0 or weight_decay < 0 or not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"AdamW2021: invalid lr {lr}, betas {betas}, eps {eps} or weight_decay {weight_decay}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            b1, b2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if p.grad.is_sparse:
                    raise RuntimeError("AdamW2021 does not support sparse gradients")
                state = self.state[p]
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = torch.zeros_like(p)
                    state["exp_avg_sq"] = torch.zeros_like(p)
                m, v = state["exp_avg"], state["exp_avg_sq"]
                state["step"] += 1
                g = p.grad
                m.mul_(b1).add_(g, alpha=1.0 - b1)
                v.mul_(b2).addcmul_(g, g, value=1.0 - b2)
                denom = v.sqrt().add_(group["eps"])
                step_size = group["lr"] * math.sqrt(1.0 - b2 ** state["step"]) / (1.0 - b1 ** state["step"])
                p.addcdiv_(m, denom, value=-step_size)
                if group["weight_decay"] > 0.0:
                    p.add_(p, alpha=-group["lr"] * group["weight_decay"])
        return loss


class SAM(torch.optim.Optimizer):
    """Sharpness-aware minimisation around a base optimiser (Foret et al., 2021).

    Per batch: loss.backward(); first_step(); loss(model(x)).backward(); second_step().
    Under a GradScaler: unscale before first_step, then restore() and scaler.step(base_optimizer).
    """

    def __init__(self, params, base_optimizer_cls=torch.optim.AdamW, rho: float = 0.05, **kwargs):
        if rho <= 0:
            raise ValueError(f"rho must be positive, got {rho}")
        super().__init__(params, dict(rho=rho, **kwargs))
        self.base_optimizer = base_optimizer_cls(self.param_groups, **kwargs)
        self.param_groups = self.base_optimizer.param_groups

    @torch.no_grad()
    def first_step(self):
        """Climb to w + rho·g/|g| (skipped when the gradient is not finite, e.g. an fp16 overflow)."""
        grads = [p.grad.norm(2) for g in self.param_groups for p in g["params"] if p.grad is not None]
        norm = torch.norm(torch.stack(grads), 2) if grads else torch.tensor(0.0)
        if torch.isfinite(norm):
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
    def restore(self):
        """Back to w (the gradient at the perturbed point stays for the base step)."""
        for group in self.param_groups:
            for p in group["params"]:
                if "e_w" in self.state[p]:
                    p.sub_(self.state[p].pop("e_w"))

    @torch.no_grad()
    def second_step(self):
        self.restore()
        self.base_optimizer.step()
        self.zero_grad(set_to_none=True)

    def step(self, closure=None):
        raise RuntimeError("SAM needs two passes: call first_step() and second_step()")

    def state_dict(self):
        return self.base_optimizer.state_dict()

    def load_state_dict(self, state_dict):
        self.base_optimizer.load_state_dict(state_dict)
        self.param_groups = self.base_optimizer.param_groups


# ----------------------------------------------------------------------------- schedules

def shopee_lr(e: float, start: float, max: float, min: float, ramp_epochs: int, sustain_epochs: int = 0,
              decay: float = 0.8) -> float:
    """The seed's ShopeeScheduler formula at counter value ``e``."""
    if e < ramp_epochs:
        return (max - start) / ramp_epochs * e + start
    if e < ramp_epochs + sustain_epochs:
        return max
    return (max - min) * decay ** (e - ramp_epochs - sustain_epochs) + min


def warmup_cosine(step: int, total: int, warmup: int) -> float:
    """Multiplier for linear warm-up then cosine decay to zero (``warmup_cosine_steps``)."""
    if step < warmup:
        return (step + 1) / max(1, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))


class _ShopeeFactor:
    """LambdaLR factor of ``shopee`` (a class, so the scheduler's state dict stays plain)."""

    def __init__(self, sched: dict):
        self.sched = dict(sched)

    def __call__(self, epoch: int) -> float:
        s = self.sched
        return shopee_lr(s["counter_step"] * epoch, s["start"], s["max"], s["min"], s["ramp_epochs"],
                         s["sustain_epochs"], s["decay"]) / s["max"]


class _WarmupCosineFactor:
    def __init__(self, total: int, warmup: int):
        self.total, self.warmup = total, warmup

    def __call__(self, step: int) -> float:
        return warmup_cosine(step, self.total, self.warmup)


def _schedule(spec: dict) -> dict:
    sched = spec.get("lr_schedule") or {}
    if sched.get("kind") not in SCHEDULES:
        raise ShopeeError(f"unknown lr_schedule kind {sched.get('kind')!r}; choose one of: {', '.join(SCHEDULES)}")
    return sched


def base_lr(spec: dict) -> float:
    """The backbone group's reference LR the scheduler scales (the schedule's max / peak)."""
    sched = _schedule(spec)
    return float(sched["max"] if sched["kind"] == "shopee" else sched["peak"])


def build_scheduler(spec: dict, opt, steps_per_epoch: int):
    """(scheduler, "epoch" | "step"): how often the training loop steps it."""
    sched = _schedule(spec)
    torch_opt = opt.base_optimizer if isinstance(opt, SAM) else opt
    kind = sched["kind"]
    if kind == "shopee":
        return torch.optim.lr_scheduler.LambdaLR(torch_opt, _ShopeeFactor(sched)), "epoch"
    if kind == "warmup_cosine_epochs":
        warm = int(sched["warmup_epochs"])
        ramp = torch.optim.lr_scheduler.LinearLR(torch_opt, start_factor=sched["start"] / sched["peak"],
                                                 end_factor=1.0, total_iters=warm)
        cosine = torch.optim.lr_scheduler.CosineAnnealingLR(torch_opt, T_max=int(sched["t_max"]),
                                                            eta_min=sched["eta_min"])
        return torch.optim.lr_scheduler.SequentialLR(torch_opt, [ramp, cosine], milestones=[warm + 1]), "epoch"
    total = max(1, int(spec["epochs"]) * int(steps_per_epoch))
    factor = _WarmupCosineFactor(total, int(total * sched.get("warmup_ratio", 0.1)))
    return torch.optim.lr_scheduler.LambdaLR(torch_opt, factor), "step"


def step_scheduler(sched) -> None:
    """One scheduler step (SequentialLR's switch passes an epoch to the next scheduler, which warns)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="The epoch parameter in `scheduler.step\\(\\)`")
        sched.step()


# ----------------------------------------------------------------------------- optimisers

def param_groups(model: nn.Module, spec: dict, lr: float) -> list[dict]:
    """One group, or with ``head_lr_mult`` the backbone group then the neck + head group at lr × mult."""
    mult = spec.get("head_lr_mult")
    if mult is None:
        return [{"params": list(model.parameters()), "lr": lr}]
    head = list(model.neck.parameters()) + list(model.head.parameters())
    return [{"params": list(model.encoder.parameters()), "lr": lr}, {"params": head, "lr": lr * float(mult)}]


def build_optimizer(spec: dict, model: nn.Module):
    """The recipe's optimiser over ``model`` (a MatchModel, or anything with encoder/neck/head)."""
    o = spec.get("optimizer") or {}
    name = o.get("name")
    if name not in OPTIMIZERS:
        raise ShopeeError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")
    lr = base_lr(spec)
    groups = param_groups(model, spec, lr)
    if name == "ranger":
        return ranger(groups, lr=lr, betas=o["betas"], eps=o["eps"], weight_decay=o["weight_decay"],
                      alpha=o["lookahead_alpha"], k=int(o["lookahead_k"]), gc=o.get("gc", "conv_fc"))
    if name == "adamw":  # plain AdamW (the frozen stand-ins' neck + head)
        return torch.optim.AdamW(groups, lr=lr, betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weight_decay"])
    adamw = o.get("adamw", "torch")
    if adamw not in ADAMWS:
        raise ShopeeError(f"unknown optimizer.adamw {adamw!r}; choose one of: {', '.join(ADAMWS)}")
    base = AdamW2021 if adamw == "transformers_2021" else torch.optim.AdamW
    return SAM(groups, base, rho=o["rho"], lr=lr, betas=tuple(o["betas"]), eps=o["eps"],
               weight_decay=o["weight_decay"])


def describe_optimizer(opt) -> dict:
    """What an optimiser object really holds (read back from it, not from the spec)."""
    inner = opt.base_optimizer if isinstance(opt, SAM) else getattr(opt, "_base_optimizer", opt)
    g = inner.param_groups[0]
    out = {"name": "sam_adamw" if isinstance(opt, SAM) else "ranger" if isinstance(opt, Lookahead) else
           type(opt).__name__.lower(),
           "class": f"{type(opt).__name__}({type(inner).__module__}.{type(inner).__name__})",
           "betas": [float(b) for b in g["betas"]], "eps": float(g["eps"]), "weight_decay": float(g["weight_decay"]),
           "groups": len(inner.param_groups)}
    if isinstance(opt, Lookahead):
        out.update(lookahead_k=int(g["lookahead_k"]), lookahead_alpha=float(g["lookahead_alpha"]),
                   gradient_centralization=getattr(opt, "gradient_centralization", "none"),
                   pre_step_hooks=len(inner._optimizer_step_pre_hooks))
    if isinstance(opt, SAM):
        out["rho"] = float(g["rho"])
    if len(inner.param_groups) > 1:  # the groups' base LRs (before any schedule), relative to the first
        base = [float(x.get("initial_lr", x["lr"])) for x in inner.param_groups]
        out["group_lr_ratio"] = [b / base[0] for b in base]
    return out


class _StandIn(nn.Module):
    """Three tiny layers named like a MatchModel's parts, for reading a recipe's optimiser back."""

    def __init__(self):
        super().__init__()
        self.encoder, self.neck, self.head = nn.Linear(2, 2), nn.Linear(2, 2), nn.Linear(2, 2)


def _zero_grad_step(opt, model: nn.Module) -> None:
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    if isinstance(opt, SAM):
        opt.first_step()
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        opt.second_step()
    else:
        opt.step()
        opt.zero_grad(set_to_none=True)


def lr_trace(spec: dict, steps_per_epoch: int = 1) -> tuple[list[float], dict]:
    """(backbone LR of every epoch, the optimiser read back), from the recipe's own optimiser and
    scheduler on a stand-in module, stepped as the training loop steps them."""
    model = _StandIn()
    opt = build_optimizer(spec, model)
    sched, every = build_scheduler(spec, opt, steps_per_epoch)
    torch_opt = opt.base_optimizer if isinstance(opt, SAM) else opt
    lrs = []
    for _ in range(int(spec["epochs"])):
        lrs.append(float(torch_opt.param_groups[0]["lr"]))
        for _ in range(steps_per_epoch):
            _zero_grad_step(opt, model)
            if every == "step":
                step_scheduler(sched)
        if every == "epoch":
            step_scheduler(sched)
    return lrs, describe_optimizer(opt)

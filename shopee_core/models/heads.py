"""Angular-margin classification heads (ArcFace, CurricularFace) for metric learning.

Both heads hold one weight row per train class, L2-normalise features and rows,
and work on the cosine matrix ``cos = F.normalize(x) @ F.normalize(W).T`` (clamped to
[-1, 1]), computed in float32 outside autocast (``cosine="fp32"``), or - the seed's text
recipes, ``cosine="autocast"`` - by a matmul in the autocast dtype (fp16 there) whose result is
cast to float32, as the seed's ``F.linear(...).float()`` under AMP gave it:

- **ArcFace** (Deng et al. 2019): the target logit becomes ``s·cos(θ_y + m)``; when
  ``θ_y + m > π`` (``cos θ_y <= cos(π - m)``) the usual fallback ``s·(cos θ_y - sin(π - m)·m)``
  keeps it monotonic (``easy_margin=True`` instead keeps ``cos θ_y`` whenever ``cos θ_y <= 0``).
  Other classes get ``s·cos``.
- **CurricularFace** (Huang et al. 2020): the same target logit; a non-target class that
  is "hard" (``cos θ_j > cos(θ_y + m)``) gets ``s·cos θ_j·(t + cos θ_j)``, where the buffer
  ``t`` is a running mean (momentum 0.01) of the target cosines, updated (before it is
  used) in training mode with labels.

Without labels both return ``s·cos`` for every class. :meth:`seed_output` is the seed's
"head" retrieval vector instead: the training forward with every row labelled 1 (the margin
lands on column 1) and, for CurricularFace, ``t`` moving at inference too, as the seed's
code did in any mode (so its vectors depend on batch order).

Initialisation (``init``): ``xavier_uniform`` (the seed's ArcFace) or ``normal_0.01``
(N(0, 0.01), the seed's CurricularFace kernel). Rows are normalised before use, so the
choice only sets the starting directions and the rows' norm (the optimiser's step relative
to them).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ShopeeError

__all__ = ["ArcFace", "COSINES", "CurricularFace", "HEADS", "HEAD_INITS", "SEED_DUMMY_LABEL", "create_head"]

_SINE_EPS = 1e-7  # keeps d sqrt(1 - cos^2) finite at cos = ±1
HEAD_INITS = ("xavier_uniform", "normal_0.01")
COSINES = ("fp32", "autocast")
SEED_DUMMY_LABEL = 1  # the label the seed passed when it kept the head output as the embedding


def _check_args(in_features: int, n_classes: int, s: float, m: float) -> None:
    if int(in_features) < 1:
        raise ShopeeError(f"margin head: in_features must be >= 1, got {in_features}")
    if int(n_classes) < 1:
        raise ShopeeError(f"margin head: n_classes must be >= 1, got {n_classes}")
    if not s > 0:
        raise ShopeeError(f"margin head: scale s must be > 0, got {s}")
    if not 0 <= m < math.pi:
        raise ShopeeError(f"margin head: margin m must be in [0, pi), got {m}")


class _MarginHead(nn.Module):
    def __init__(self, in_features: int, n_classes: int, s: float, m: float, init: str = "xavier_uniform",
                 cosine: str = "fp32"):
        super().__init__()
        _check_args(in_features, n_classes, s, m)
        if init not in HEAD_INITS:
            raise ShopeeError(f"margin head: unknown init {init!r}; choose one of: {', '.join(HEAD_INITS)}")
        if cosine not in COSINES:
            raise ShopeeError(f"margin head: unknown cosine {cosine!r}; choose one of: {', '.join(COSINES)}")
        self.init, self.cosine_precision = init, cosine
        self.in_features = int(in_features)
        self.n_classes = int(n_classes)
        self.s = float(s)
        self.m = float(m)
        self.cos_m = math.cos(self.m)
        self.sin_m = math.sin(self.m)
        self.th = math.cos(math.pi - self.m)        # theta + m > pi  <=>  cos(theta) < th
        self.mm = math.sin(math.pi - self.m) * self.m
        self.weight = nn.Parameter(torch.empty(self.n_classes, self.in_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.init == "normal_0.01":
            nn.init.normal_(self.weight, std=0.01)
        else:
            nn.init.xavier_uniform_(self.weight)

    def extra_repr(self) -> str:
        return (f"in_features={self.in_features}, n_classes={self.n_classes}, s={self.s}, m={self.m}, init={self.init}, "
                f"cosine={self.cosine_precision}")

    def seed_output(self, x: torch.Tensor, label: int = SEED_DUMMY_LABEL) -> torch.Tensor:
        """The seed's "head" embedding: the training logits with every row labelled ``label``."""
        if not 0 <= label < self.n_classes:
            raise ShopeeError(f"{type(self).__name__}: the seed's dummy label {label} needs >= {label + 1} classes")
        return self._logits(x, torch.full((x.shape[0],), label, dtype=torch.long, device=x.device),
                            update_t=True)

    def cosine(self, x: torch.Tensor) -> torch.Tensor:
        """(B, n_classes) float32 cosines between the features and every class row (under autocast
        with ``cosine="autocast"``: rounded to the autocast dtype by its matmul)."""
        if x.dim() != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"{type(self).__name__}: expected features (B, {self.in_features}), "
                             f"got {tuple(x.shape)}")
        if self.cosine_precision == "autocast" and torch.is_autocast_enabled(x.device.type):
            cos = F.linear(F.normalize(x.float(), dim=1), F.normalize(self.weight.float(), dim=1)).float()
            return cos.clamp(-1.0, 1.0)
        with torch.autocast(device_type=x.device.type, enabled=False):
            cos = F.linear(F.normalize(x.float(), dim=1), F.normalize(self.weight.float(), dim=1))
        return cos.clamp(-1.0, 1.0)

    def _check_labels(self, labels: torch.Tensor, batch: int) -> torch.Tensor:
        labels = torch.as_tensor(labels)
        if labels.dim() != 1 or labels.shape[0] != batch:
            raise ValueError(f"{type(self).__name__}: expected labels ({batch},), got {tuple(labels.shape)}")
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(f"{type(self).__name__}: labels must be integer class indices")
        labels = labels.long()
        if batch and (int(labels.min()) < 0 or int(labels.max()) >= self.n_classes):
            raise ValueError(f"{type(self).__name__}: labels must be in [0, {self.n_classes}), "
                             f"got {int(labels.min())}..{int(labels.max())}")
        return labels

    def _target_cos(self, cos: torch.Tensor, labels: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Checked labels on the cosines' device and each row's target cosine (B, 1)."""
        labels = self._check_labels(labels, cos.shape[0]).to(cos.device)
        return labels, cos.gather(1, labels[:, None])

    def _target_logit(self, cos_y: torch.Tensor, easy_margin: bool = False) -> torch.Tensor:
        """cos(theta_y + m) with the standard fallback for theta_y + m > pi."""
        sine = torch.sqrt((1.0 - cos_y * cos_y).clamp(min=_SINE_EPS))
        phi = cos_y * self.cos_m - sine * self.sin_m
        if easy_margin:
            return torch.where(cos_y > 0, phi, cos_y)
        return torch.where(cos_y > self.th, phi, cos_y - self.mm)


class ArcFace(_MarginHead):
    """Additive angular margin head: ``s·cos(θ_y + m)`` on the target class, ``s·cos θ`` elsewhere."""

    def __init__(self, in_features: int, n_classes: int, s: float = 30.0, m: float = 0.5,
                 easy_margin: bool = False, init: str = "xavier_uniform", cosine: str = "fp32"):
        super().__init__(in_features, n_classes, s, m, init, cosine)
        self.easy_margin = bool(easy_margin)

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            return self.cosine(x) * self.s
        return self._logits(x, labels)

    def _logits(self, x: torch.Tensor, labels: torch.Tensor, update_t: bool = False) -> torch.Tensor:
        cos = self.cosine(x)
        labels, cos_y = self._target_cos(cos, labels)
        target = self._target_logit(cos_y, self.easy_margin)
        return cos.scatter(1, labels[:, None], target) * self.s


class CurricularFace(_MarginHead):
    """CurricularFace: ArcFace target logit plus adaptive modulation ``cos·(t + cos)`` of hard negatives."""

    momentum = 0.01

    def __init__(self, in_features: int, n_classes: int, s: float = 30.0, m: float = 0.5,
                 init: str = "normal_0.01", cosine: str = "fp32"):
        super().__init__(in_features, n_classes, s, m, init, cosine)
        self.register_buffer("t", torch.zeros(1))

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        if labels is None:
            return self.cosine(x) * self.s
        return self._logits(x, labels, update_t=self.training)

    def _logits(self, x: torch.Tensor, labels: torch.Tensor, update_t: bool = False) -> torch.Tensor:
        cos = self.cosine(x)
        labels, cos_y = self._target_cos(cos, labels)
        target = self._target_logit(cos_y)
        # hard negatives: cos(theta_j) > cos(theta_y + m) (the seed's mask, before the fallback)
        sine = torch.sqrt((1.0 - cos_y * cos_y).clamp(min=_SINE_EPS))
        cos_theta_m = cos_y * self.cos_m - sine * self.sin_m
        hard = cos > cos_theta_m
        if update_t:
            with torch.no_grad():
                self.t.mul_(1.0 - self.momentum).add_(self.momentum * cos_y.detach().mean())
        t = self.t.to(cos.dtype)
        out = torch.where(hard, cos * (t + cos), cos)
        return out.scatter(1, labels[:, None], target) * self.s


HEADS = {"arcface": ArcFace, "curricularface": CurricularFace}


def create_head(loss: str, in_features: int, n_classes: int, s: float = 30.0, m: float = 0.5,
                init: str | None = None, cosine: str = "fp32") -> nn.Module:
    """A margin head by loss name (``arcface`` or ``curricularface``, case-insensitive).

    ``init`` None: each head's seed default (ArcFace Xavier uniform, CurricularFace N(0, 0.01)).
    ``cosine``: ``fp32`` or ``autocast`` (see the module docstring).
    """
    key = str(loss).strip().lower().replace("-", "").replace("_", "")
    if key not in HEADS:
        raise ShopeeError(f"unknown margin loss {loss!r}; choose one of: {', '.join(HEADS)}")
    return HEADS[key](in_features, n_classes, s=s, m=m, cosine=cosine, **({"init": init} if init else {}))

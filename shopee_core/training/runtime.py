"""How a run executes: numeric precision, seeds and determinism flags, and SIGTERM.

- Precision (spec ``precision``): ``fp32`` (no autocast), ``fp16`` autocast with a GradScaler
  (spec ``loss_scaling``; the seed's text runs created one under SAM and never used it:
  ``loss_scaling: false`` is fp16 autocast with unscaled gradients), ``bf16`` autocast (no scaling
  needed). A device that cannot do the requested one natively
  (fp16 or bf16 on a CPU without AMX-FP16 / AVX512-BF16, bf16 on an old GPU) runs fp32; the
  run records what it really used (:func:`effective_precision`).
- Seeds: python ``random``, numpy and torch (all devices) from one number, and cuDNN's
  ``deterministic`` / ``benchmark`` flags as the recipe says (the seed set both to True).
- SIGTERM: by default it kills the process at once, and DataLoader workers blocked on a
  full queue then outlive it; :func:`sigterm_as_interrupt` turns it into KeyboardInterrupt so
  the loader's iterator shuts its workers down on the way out.
"""

from __future__ import annotations

import contextlib
import random
import signal
import threading

import numpy as np
import torch

from ..errors import ShopeeError

PRECISIONS = ("fp32", "fp16", "bf16")
_DTYPES = {"fp16": torch.float16, "bf16": torch.bfloat16}


def _cpu_can(precision: str) -> bool:
    cpu = torch.cpu
    if precision == "bf16":
        return bool(getattr(cpu, "_is_avx512_bf16_supported", lambda: False)()
                    or getattr(cpu, "_is_amx_tile_supported", lambda: False)())
    return bool(getattr(cpu, "_is_amx_fp16_supported", lambda: False)())


def effective_precision(requested: str, device: torch.device | str) -> str:
    """The precision a run of ``requested`` really uses on ``device``."""
    if requested not in PRECISIONS:
        raise ShopeeError(f"unknown precision {requested!r}; choose one of: {', '.join(PRECISIONS)}")
    device = torch.device(device)
    if requested == "fp32":
        return "fp32"
    if device.type == "cuda":
        return "fp32" if requested == "bf16" and not torch.cuda.is_bf16_supported() else requested
    if device.type == "cpu":
        return requested if _cpu_can(requested) else "fp32"
    return "fp32"


def autocast(precision: str, device: torch.device):
    """The autocast context of an (effective) precision; fp32 is a no-op context."""
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


def scales_loss(precision: str, loss_scaling: bool = True) -> bool:
    """Whether a run at ``precision`` scales its loss: fp16 unless ``loss_scaling`` is off."""
    return precision == "fp16" and bool(loss_scaling)


def grad_scaler(precision: str, device: torch.device, loss_scaling: bool = True):
    """A GradScaler for fp16 (small gradients underflow without one) unless ``loss_scaling`` is off,
    else None."""
    return torch.amp.GradScaler(device.type) if scales_loss(precision, loss_scaling) else None


def seed_everything(seed: int, deterministic: bool, benchmark: bool) -> None:
    """Seed python, numpy and torch; set cuDNN's flags (no effect without CUDA)."""
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)  # every device, CUDA included
    torch.backends.cudnn.deterministic = bool(deterministic)
    torch.backends.cudnn.benchmark = bool(benchmark)


_terminated = False


def _raise_interrupt(signum, frame):
    global _terminated
    _terminated = True
    raise KeyboardInterrupt(f"signal {signum}")


def raise_if_terminated() -> None:
    """Re-raise a SIGTERM whose KeyboardInterrupt was swallowed (it can land inside a ``__del__``
    or a logging lock release, where Python only prints "Exception ignored"); loops call this per batch."""
    if _terminated:
        raise KeyboardInterrupt("SIGTERM")


@contextlib.contextmanager
def sigterm_as_interrupt():
    """Within the block SIGTERM raises KeyboardInterrupt (main thread only; elsewhere a no-op)."""
    global _terminated
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _terminated = False
    previous = signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

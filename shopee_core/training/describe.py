"""What a trainable recipe will really do, computed by the code that trains it (``models --json``).

The LR list and the optimiser's hyper-parameters come from the recipe's own optimiser and
scheduler objects, built on a stand-in module and stepped through the epochs as the loop
steps them; nothing here restates a number from the spec by hand.
"""

from __future__ import annotations

from ..errors import ShopeeError
from ..models.registry import ModelEntry
from .checkpoint import selection_rule
from .inference import pick_device
from .model import EMBEDDINGS
from .optim import lr_trace
from .runtime import effective_precision, scales_loss


def training_facts(entry: ModelEntry, steps_per_epoch: int = 1) -> dict:
    """``lr_per_epoch`` (backbone group, at each epoch's start), ``optimizer`` (read back),
    ``seed``, ``precision`` (and what this machine's default device would run), ``loss_scaling``
    (a GradScaler under fp16), ``embedding``, ``select_threshold``, ``select_from_epoch``.
    Per-batch schedules are traced with
    ``steps_per_epoch`` steps per epoch."""
    if not entry.trainable:
        raise ShopeeError(f"model {entry.id!r} ({entry.kind}) is not trained")
    spec = entry.spec
    lrs, optimizer = lr_trace(spec, steps_per_epoch)
    threshold, from_epoch = selection_rule(spec)
    modality = "image" if entry.kind == "image" else "text"
    embedding = spec.get("embedding")
    if embedding not in EMBEDDINGS[modality]:
        raise ShopeeError(f"{entry.id}: {modality} models embed with one of {EMBEDDINGS[modality]}, not {embedding!r}")
    precision = spec.get("precision", "fp32")
    here = pick_device()
    return {"lr_per_epoch": lrs, "optimizer": optimizer, "seed": int(spec["seed"]), "precision": precision,
            "precision_here": {"device": here.type, "effective": effective_precision(precision, here)},
            "loss_scaling": scales_loss(precision, spec.get("loss_scaling", True)),
            "embedding": embedding, "select_threshold": threshold, "select_from_epoch": from_epoch}

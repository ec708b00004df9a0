"""Batched inference of a MatchModel over postings (images or titles) -> float32 rows."""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import torch
from torch.utils.data import DataLoader

from ..data.text import title_cleaning
from .data import ImagePostings, TitleCollate, TitlePostings, collate_images
from .model import MatchModel


def pick_device(requested: str | None = None) -> torch.device:
    if requested:
        return torch.device(requested)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def default_workers() -> int:
    return min(4, max(0, (os.cpu_count() or 1) - 1))


def to_device(inputs: dict, device: torch.device, channels_last: bool) -> dict:
    out = {k: v.to(device, non_blocking=True) for k, v in inputs.items()}
    if channels_last and "pixels" in out:
        out["pixels"] = out["pixels"].contiguous(memory_format=torch.channels_last)
    return out


def autocast(device: torch.device):
    """bf16 autocast on CUDA (no loss scaling needed); a no-op on CPU."""
    return torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else torch.autocast("cpu", enabled=False)


def make_loader(model: MatchModel, spec: dict, *, paths=None, titles=None, labels=None, train: bool,
                batch_size: int, workers: int | None = None, sampler=None, generator=None) -> DataLoader:
    workers = default_workers() if workers is None else workers
    if model.modality == "image":
        from ..models.image import image_transforms

        tf = image_transforms(model.encoder.data_config, spec["image_size"], train=train,
                              augment=spec.get("augment", "seed") if train else "none")
        ds, collate = ImagePostings(paths, labels, tf), collate_images
    else:
        ds, collate = TitlePostings(titles, labels), TitleCollate(model.encoder.tokenize, title_cleaning(spec))
    return DataLoader(ds, batch_size=batch_size, shuffle=train and sampler is None, sampler=sampler,
                      num_workers=workers, collate_fn=collate, drop_last=train and len(ds) > batch_size,
                      persistent_workers=False, pin_memory=torch.cuda.is_available(), generator=generator)


@torch.inference_mode()
def embed_postings(model: MatchModel, spec: dict, *, paths: Sequence | None = None, titles: Sequence | None = None,
                   device: torch.device | None = None, batch_size: int = 64, workers: int | None = None,
                   progress: bool = False, desc: str = "embed") -> np.ndarray:
    device = device or pick_device()
    channels_last = model.modality == "image"
    model.eval().to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    loader = make_loader(model, spec, paths=paths, titles=titles, train=False, batch_size=batch_size, workers=workers)
    it = loader
    if progress:
        from tqdm.auto import tqdm

        it = tqdm(loader, desc=desc, unit="batch", leave=False)
    out = []
    for inputs, _ in it:
        with autocast(device):
            z = model.embed(to_device(inputs, device, channels_last))
        out.append(z.float().cpu().numpy())
    return np.concatenate(out, axis=0) if out else np.zeros((0, 0), dtype=np.float32)

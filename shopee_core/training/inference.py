"""Batched inference of a MatchModel over postings (images or titles) -> float32 rows.

Inference runs at the recipe's precision (spec ``precision``, as far as the device can) and in
the loader's order; ``embedding: head`` of a CurricularFace recipe moves the head's buffer t
batch by batch, as the seed's did. Batches are ``embed_batch_size`` rows in order; with
``embed_chunks: study`` (the seed's text inference) one more batch re-embeds the last
``embed_batch_size`` rows, whose results replace the first ones (``list(range(0, n, 32)) + [n - 32]``).

Under ``torchrun`` (several ranks, the process group up) a pass is sharded by batch: rank r embeds
batches r, r + W, ... — the very batches one process would make, so every row comes out as it would
alone — and the rows meet on every rank through one sum over a gloo group (each row is filled by
the rank that embedded its last batch, zeros elsewhere). A CurricularFace head embedding, whose t
moves batch by batch, is not sharded: every rank makes the whole pass, as one process would.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import torch
import torch.distributed as td
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..data.text import title_cleaning
from ..errors import ShopeeError
from ..models.image import image_transforms
from . import dist
from .data import (
    FeaturePostings,
    ImagePostings,
    TitleCollate,
    TitlePostings,
    collate_features,
    collate_images,
)
from .model import MatchModel
from .runtime import autocast, effective_precision, raise_if_terminated


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


EMBED_CHUNKS = ("plain", "study")


def chunks(n: int, size: int, how: str = "plain") -> list[list[int]]:
    """Row batches of an embedding pass: ``size`` rows in order; ``study`` adds the seed's extra
    last chunk, the final ``size`` rows (all rows when there are fewer)."""
    if how not in EMBED_CHUNKS:
        raise ShopeeError(f"unknown embed_chunks {how!r}; choose one of: {', '.join(EMBED_CHUNKS)}")
    starts = list(range(0, n, size)) + ([n - size] if how == "study" and n else [])
    return [list(range(max(i, 0), min(i + size, n))) for i in starts]


def make_loader(model: MatchModel, spec: dict, *, paths=None, titles=None, features=None, labels=None, train: bool,
                batch_size: int, workers: int | None = None, sampler=None, generator=None,
                batch_sampler=None) -> DataLoader:
    workers = default_workers() if workers is None else workers
    if model.modality == "features":
        ds, collate, workers = FeaturePostings(features, labels), collate_features, 0
    elif model.modality == "image":
        tf = image_transforms(model.encoder.data_config, spec["image_size"], train=train,
                              augment=spec.get("augment", "none"), resize=spec.get("resize", "torchvision"))
        ds, collate = ImagePostings(paths, labels, tf), collate_images
    else:
        ds, collate = TitlePostings(titles, labels), TitleCollate(model.encoder.tokenize, title_cleaning(spec))
    if batch_sampler is not None:  # inference batches given row by row
        return DataLoader(ds, batch_sampler=batch_sampler, num_workers=workers, collate_fn=collate,
                          persistent_workers=False, pin_memory=torch.cuda.is_available())
    return DataLoader(ds, batch_size=batch_size, shuffle=train and sampler is None, sampler=sampler,
                      num_workers=workers, collate_fn=collate, drop_last=train and len(ds) > batch_size,
                      persistent_workers=False, pin_memory=torch.cuda.is_available(), generator=generator)


@torch.inference_mode()
def embed_postings(model: MatchModel, spec: dict, *, paths: Sequence | None = None, titles: Sequence | None = None,
                   features: np.ndarray | None = None, device: torch.device | None = None,
                   batch_size: int | None = None, workers: int | None = None, progress: bool = False,
                   desc: str = "embed", shard: bool = True) -> np.ndarray:
    """One float32 row per path, title or feature row; ``batch_size`` None: the spec's
    ``embed_batch_size`` (else 64); batches as the spec's ``embed_chunks`` (:func:`chunks`).

    ``shard``: under torchrun every rank embeds its share and the rows meet in a collective, so every
    rank must make the call; a caller that embeds on one rank alone (training's validation runs on
    rank 0) passes False, or it waits forever for ranks that never come."""
    device = device or pick_device()
    batch_size = int(batch_size or spec.get("embed_batch_size", 64))
    precision = effective_precision(spec.get("precision", "fp32"), device)
    channels_last = model.modality == "image"
    model.eval().to(device)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    n = len(next(x for x in (paths, titles, features) if x is not None))
    batches = chunks(n, batch_size, spec.get("embed_chunks", "plain"))

    shard = shard and dist.sharded() and not model.stateful_embedding
    mine = batches[dist.rank()::dist.world_size()] if shard else batches
    loader = make_loader(model, spec, paths=paths, titles=titles, features=features, train=False,
                         batch_size=batch_size, workers=workers, batch_sampler=mine)
    it = loader
    if progress:
        it = tqdm(loader, desc=desc, unit="batch", leave=False)
    out = None
    for rows, (inputs, _) in zip(mine, it):
        raise_if_terminated()
        with autocast(precision, device):
            z = model.embed(to_device(inputs, device, channels_last))
        z = z.float().cpu().numpy()
        if out is None:
            out = np.zeros((n, z.shape[1]), dtype=np.float32)
        out[rows] = z  # a re-embedded row takes its last batch's value, as the seed's slice assignment did
    raise_if_terminated()
    if shard:
        return _meet(out, n, batches)
    return out if out is not None else np.zeros((0, 0), dtype=np.float32)


def _meet(out: np.ndarray | None, n: int, batches: list) -> np.ndarray:
    """Every rank's rows of a sharded pass, summed over a gloo group: a row is kept by the rank of the
    last batch that covers it (zeros on the others), so the sum is that row exactly."""
    world, rank = dist.world_size(), dist.rank()
    last = np.full(n, -1, dtype=np.int64)
    for b, rows in enumerate(batches):
        last[rows] = b
    group = dist.cpu_group()
    dims = torch.tensor([0 if out is None else out.shape[1]], dtype=torch.int64)
    td.all_reduce(dims, op=td.ReduceOp.MAX, group=group)
    if out is None:
        out = np.zeros((n, int(dims.item())), dtype=np.float32)
    out[(last % world) != rank] = 0.0
    total = torch.from_numpy(out)
    td.all_reduce(total, op=td.ReduceOp.SUM, group=group)
    return total.numpy()


def embed_rows(model: MatchModel, spec: dict, frame, catalog, rows: np.ndarray, device, workers=None,
               progress: bool = False, desc: str = "embed", features: np.ndarray | None = None,
               shard: bool = True) -> np.ndarray:
    """Embeddings of ``frame``'s ``rows`` (images from the catalog, cached features of every row of
    ``frame``, or titles), in row order; ``shard`` as :func:`embed_postings`."""
    if model.modality == "features":
        return embed_postings(model, spec, features=features[rows], device=device, progress=progress, desc=desc,
                              shard=shard)
    if model.modality == "image":
        paths = [catalog.image_dir / name for name in frame["image"].to_numpy()[rows]]
        return embed_postings(model, spec, paths=paths, device=device, workers=workers, progress=progress, desc=desc,
                              shard=shard)
    return embed_postings(model, spec, titles=frame["title"].to_numpy()[rows].tolist(), device=device, workers=0,
                          progress=progress, desc=desc, shard=shard)

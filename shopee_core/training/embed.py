"""Embeddings from networks: a trained run's (:func:`embed_run`) or an untrained entry's
(:func:`embed_untrained`: zero-shot encoders here, the baselines via :mod:`shopee_core.models.embedders`).

The seed's head-output embedding of a CurricularFace recipe moves the head's buffer t batch by
batch, and the seed embedded valid and then test with one loaded model, so test started from the
t valid left (spec ``curricular_t: carry``; ``reset``: every split from the checkpoint's t). Its
text inference chunked each split on its own (``embed_chunks: study``). :func:`embed_run` then
embeds split by split, valid first, in catalog order within each.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..data import attach_splits, load_catalog, load_or_create_folds
from ..errors import ShopeeError
from ..io import load_npy
from ..models.embedders import BASELINE_KINDS, embed_baseline
from ..models.registry import ModelEntry
from ..speed import enable_cpu_speed
from .checkpoint import load_weights
from .features import pooled_features
from .inference import embed_postings, embed_rows, pick_device
from .loop import BEST, CLASSES, CONFIG
from .model import MatchModel, build_model
from .runtime import sigterm_as_interrupt


def load_run(run_dir) -> tuple[ModelEntry, MatchModel]:
    """Rebuild a trained run's network from its own files (no hub, no original weights)."""
    run = Path(run_dir)
    if not (run / CONFIG).is_file() or not (run / BEST).is_file():
        raise ShopeeError(f"{run}: not a finished run (needs {CONFIG} and {BEST}; train it or --resume it)")
    entry = ModelEntry(**json.loads((run / CONFIG).read_text())["model"])
    model = build_model(entry, int(len(load_npy(run / CLASSES))), from_run=run)
    load_weights(run / BEST, model)
    return entry, model.eval()


def _device(device: str | None):
    dev = pick_device(device)
    if dev.type == "cpu":
        enable_cpu_speed()
    return dev


CURRICULAR_T = ("carry", "reset")
SPLIT_ORDER = ("valid", "test", "train")  # the seed's order; train (not embedded by the seed) last


def by_split(model: MatchModel, spec: dict, split_of: np.ndarray, rows: np.ndarray, embed) -> np.ndarray:
    """Embeddings of ``rows`` made split by split (``embed(part)`` per split's rows, in row order),
    valid, test, then train. A CurricularFace head embedding starts valid from the checkpoint's t and
    carries t on into test (``curricular_t: carry``) or starts every split from it (``reset``); train
    always starts from it. With carry, test asked for alone still follows an (unreturned) valid pass."""
    carry = spec.get("curricular_t", "reset")
    if carry not in CURRICULAR_T:
        raise ShopeeError(f"unknown curricular_t {carry!r}; choose one of: {', '.join(CURRICULAR_T)}")
    stateful = model.stateful_embedding
    start = model.head.t.detach().clone() if stateful else None
    names = split_of[rows]
    parts = {}
    for name in SPLIT_ORDER:
        part = rows[names == name]
        if stateful and not (carry == "carry" and name == "test"):
            model.head.t.copy_(start)
        if stateful and carry == "carry" and name == "valid" and not len(part) and (names == "test").any():
            embed(np.flatnonzero(split_of == "valid"))  # moves t as the seed's valid pass did
        if len(part):
            parts[name] = (part, embed(part))
    if stateful:
        model.head.t.copy_(start)
    out = np.empty((len(rows), next(iter(parts.values()))[1].shape[1]), dtype=np.float32)
    for part, x in parts.values():  # rows ascend, so searchsorted finds each part's places
        out[np.searchsorted(rows, part)] = x
    return out


def embed_run(run_dir, data_dir, split: str | None = None, device: str | None = None, progress: bool = True,
              workers: int | None = None, features_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of a catalog by a trained run: (float32 rows, row indices in train.csv order).

    A frozen-backbone run embeds cached pooled features (``features_dir``, default the run's own)."""
    with sigterm_as_interrupt():
        entry, model = load_run(run_dir)
        dev = _device(device)
        catalog = load_catalog(data_dir, check_images=model.modality == "image")
        frame = catalog.frame
        rows = np.arange(len(frame))
        per_split = model.stateful_embedding or entry.spec.get("embed_chunks") == "study"
        if split is not None or per_split:
            frame = attach_splits(frame, load_or_create_folds(data_dir, frame))
        if split is not None:
            rows = np.flatnonzero(frame["split"].to_numpy() == split)
            if len(rows) == 0:
                raise ShopeeError(f"{data_dir}: no postings in split {split!r}")
        desc = f"embed {entry.id}"
        feats = None
        if model.modality == "features":
            feats = pooled_features(entry.spec, catalog, frame, features_dir or Path(run_dir) / "features", dev,
                                    workers, progress)
        if not per_split:
            return embed_rows(model, entry.spec, frame, catalog, rows, dev, workers, progress, desc, feats), rows
        split_of = frame["split"].to_numpy()
        return by_split(model, entry.spec, split_of, rows, lambda part: embed_rows(
            model, entry.spec, frame, catalog, part, dev, workers, progress,
            f"{desc} ({split_of[part[0]]})", feats)), rows


def embed_untrained(entry: ModelEntry, catalog, frame, progress: bool = True, device: str | None = None,
                    workers: int | None = None, features_dir=None):
    """Rows for every posting of ``frame`` (which carries ``split`` for per-split models).

    ``features_dir``: a zero-shot image model's pooled features come from (and go to) this
    cache, shared with the frozen stand-ins of the same backbone and size."""
    if entry.kind in BASELINE_KINDS:
        return embed_baseline(entry, frame, progress=progress)
    if entry.kind not in ("text_zeroshot", "image_zeroshot"):
        raise ShopeeError(f"model {entry.id!r} ({entry.kind}) needs a trained run: `train` it, then `embed --run`")
    with sigterm_as_interrupt():
        dev = _device(device) if entry.kind == "image_zeroshot" else pick_device(device)
        if entry.kind == "image_zeroshot" and features_dir is not None and entry.spec.get("embedding") == "backbone":
            return pooled_features(entry.spec, catalog, frame, features_dir, dev, workers, progress)
        model = build_model(entry, None)
        if entry.kind == "image_zeroshot":
            paths = [catalog.image_dir / n for n in frame["image"]]
            return embed_postings(model, entry.spec, paths=paths, device=dev, workers=workers, progress=progress,
                                  desc=entry.id)
        return embed_postings(model, entry.spec, titles=frame["title"].tolist(), device=dev, workers=0,
                              progress=progress, desc=entry.id)

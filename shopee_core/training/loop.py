"""Train a recipe: margin-head classification over the train split's label groups.

One function serves image and text recipes, one process or many (torchrun /
DDP). Each epoch ends with validation F1 at the seed's fixed threshold,
safetensors checkpoints (written atomically) and ``metrics.json``; the best
epoch is kept as ``best.safetensors``; ``resume`` continues after the last
finished epoch.
"""

from __future__ import annotations

import json
import platform
import random
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..data import attach_splits, load_catalog, load_or_create_folds
from ..errors import ShopeeError
from ..io import atomic_save_npy, atomic_write_json, load_npy
from ..models.registry import ModelEntry
from . import dist
from .checkpoint import load_state, load_weights, save_state, save_weights
from .inference import autocast, embed_postings, make_loader, pick_device, to_device
from .model import MatchModel, build_model
from .optim import SAM, ranger, seed_image_lr, warmup_cosine

CONFIG, CLASSES, METRICS, BEST, LAST_STATE = "config.json", "classes.npy", "metrics.json", "best.safetensors", "last_state.safetensors"


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def _versions() -> dict:
    import timm
    import transformers

    return {"python": platform.python_version(), "torch": torch.__version__, "timm": timm.__version__,
            "transformers": transformers.__version__}


def prepare_data(entry: ModelEntry, data_dir):
    """Catalog + splits; class indices of the train split's label groups."""
    modality = "image" if entry.kind.startswith("image") else "text"
    catalog = load_catalog(data_dir, check_images=modality == "image")
    if not catalog.has_labels:
        raise ShopeeError(f"{data_dir}: training needs train.csv with label_group")
    if dist.is_main():
        folds = load_or_create_folds(data_dir, catalog.frame)
    dist.barrier()
    if not dist.is_main():
        folds = load_or_create_folds(data_dir, catalog.frame)
    frame = attach_splits(catalog.frame, folds)
    return catalog, frame


def build_optimizer(entry: ModelEntry, model: MatchModel, steps_per_epoch: int):
    spec = entry.spec
    if spec["optimizer"] == "ranger":
        sched = spec["lr_schedule"]
        opt = ranger(model.parameters(), lr=seed_image_lr(0, sched["start"], sched["peak"], sched["warmup_epochs"],
                                                            sched["decay"]), weight_decay=spec.get("weight_decay", 0))
        return opt, None
    if spec["optimizer"] == "sam_adamw":
        lr, mult = spec["lr"], spec.get("head_lr_mult", 2.0)
        groups = [{"params": list(model.encoder.parameters()), "lr": lr},
                  {"params": list(model.neck.parameters()) + list(model.head.parameters()), "lr": lr * mult}]
        opt = SAM(groups, torch.optim.AdamW, rho=spec.get("sam_rho", 0.05), lr=lr,
                  weight_decay=spec.get("weight_decay", 0.01))
        total = max(1, spec["epochs"] * steps_per_epoch)
        warm = int(total * spec["lr_schedule"].get("warmup_ratio", 0.1))
        sched = torch.optim.lr_scheduler.LambdaLR(opt.base_optimizer, lambda s: warmup_cosine(s, total, warm))
        return opt, sched
    raise ShopeeError(f"unknown optimizer {spec['optimizer']!r}")


def train_step(net, opt, sched, inputs: dict, target: torch.Tensor, dev: torch.device) -> torch.Tensor:
    """One optimisation step (two forward/backward passes under SAM); bf16 autocast on CUDA."""
    with autocast(dev):
        loss = F.cross_entropy(net(inputs, target).float(), target)
    loss.backward()
    if isinstance(opt, SAM):
        opt.first_step()
        with autocast(dev):
            F.cross_entropy(net(inputs, target).float(), target).backward()
        opt.second_step()
    else:
        opt.step()
        opt.zero_grad(set_to_none=True)
    if sched is not None:
        sched.step()
    return loss.detach()


def _set_epoch_lr(entry: ModelEntry, opt, epoch: int) -> None:
    sched = entry.spec.get("lr_schedule", {})
    if sched.get("kind") == "seed_image":
        lr = seed_image_lr(epoch, sched["start"], sched["peak"], sched["warmup_epochs"], sched["decay"])
        for g in opt.param_groups:
            g["lr"] = lr


def _check_run_dir(out: Path, entry: ModelEntry, resume: bool) -> dict | None:
    cfg_path = out / CONFIG
    if not cfg_path.exists():
        return None
    stored = json.loads(cfg_path.read_text())
    if not resume:
        raise ShopeeError(f"{out} already holds a run of {stored['model']['id']}; pass --resume to continue it "
                          f"or choose another --out")
    if stored["model"] != entry.as_dict():
        raise ShopeeError(f"{out} was trained with a different recipe ({stored['model']['id']}, "
                          f"{stored['model']['profile']}); cannot resume it as {entry.id} ({entry.profile})")
    return stored


def save_encoder_files(model: MatchModel, out: Path) -> None:
    """What a run needs to rebuild its network without the original weights source."""
    if model.modality == "text":
        folder = out / "encoder"
        model.encoder.model.config.save_pretrained(folder)
        model.encoder.tokenizer.save_pretrained(folder)


def validate(model: MatchModel, entry: ModelEntry, frame, catalog, rows: np.ndarray, device, workers) -> dict:
    """Validation F1 at the seed's fixed threshold, and at the best threshold of a full scan."""
    from ..matching import Embeddings, Scorer, knn, search_t

    if len(rows) < 2:
        return {"f1": float("nan"), "threshold": None}
    emb = _embed_rows(model, entry, frame, catalog, rows, device, workers, progress=False)
    scorer = Scorer(knn(Embeddings.from_array(emb), 50), frame["label_group"].to_numpy()[rows])
    t = entry.spec.get("threshold") or 0.5
    best_t, _ = search_t(scorer)
    return {"threshold": t, "f1": scorer.score(t)["f1"], "best_threshold": best_t,
            "best_f1": scorer.score(best_t)["f1"]}


def _embed_rows(model, entry, frame, catalog, rows, device, workers, progress, desc="valid"):
    spec = entry.spec
    bs = max(spec.get("batch_size", 32), 32)
    if model.modality == "image":
        paths = [catalog.image_dir / name for name in frame["image"].to_numpy()[rows]]
        return embed_postings(model, spec, paths=paths, device=device, batch_size=bs, workers=workers,
                              progress=progress, desc=desc)
    return embed_postings(model, spec, titles=frame["title"].to_numpy()[rows].tolist(), device=device,
                          batch_size=bs, workers=0, progress=progress, desc=desc)


def train(entry: ModelEntry, data_dir, out_dir, resume: bool = False, device: str | None = None,
          progress: bool = True, workers: int | None = None) -> dict:
    if not entry.trainable:
        raise ShopeeError(f"model {entry.id!r} is {entry.kind}: nothing to train (embed it directly)")
    spec = entry.spec
    out = Path(out_dir)
    dist.init()
    dev = dist.device() if dist.world_size() > 1 else pick_device(device)
    if dev.type == "cpu":
        from ..speed import enable_cpu_speed

        enable_cpu_speed()
    stored = _check_run_dir(out, entry, resume)
    catalog, frame = prepare_data(entry, data_dir)
    split = frame["split"].to_numpy()
    train_rows, valid_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "valid")
    if len(train_rows) < 2:
        raise ShopeeError(f"{data_dir}: the train split has {len(train_rows)} postings; nothing to train on")
    labels = frame["label_group"].to_numpy()
    classes = np.unique(labels[train_rows])
    y = np.searchsorted(classes, labels[train_rows])
    _seed_everything(int(spec.get("seed", 42)) + dist.rank())

    model = build_model(entry, len(classes)).to(dev)
    channels_last = model.modality == "image"
    if channels_last:
        model.to(memory_format=torch.channels_last)
    net = model
    if dist.world_size() > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[dev.index] if dev.type == "cuda" else None)

    sampler = dist.sampler(len(train_rows), int(spec.get("seed", 42))) if dist.world_size() > 1 else None
    gen = torch.Generator().manual_seed(int(spec.get("seed", 42)))
    if model.modality == "image":
        loader = make_loader(model, spec, paths=[catalog.image_dir / n for n in frame["image"].to_numpy()[train_rows]],
                             labels=y, train=True, batch_size=spec["batch_size"], workers=workers, sampler=sampler,
                             generator=gen)
    else:
        loader = make_loader(model, spec, titles=frame["title"].to_numpy()[train_rows].tolist(), labels=y, train=True,
                             batch_size=spec["batch_size"], workers=0, sampler=sampler, generator=gen)
    steps_per_epoch = min(len(loader), spec.get("max_steps") or len(loader))
    opt, sched = build_optimizer(entry, model, steps_per_epoch)

    history, start_epoch, best = [], 0, {"epoch": None, "f1": -1.0}
    if stored is not None and (out / LAST_STATE).exists():
        state = load_state(out / LAST_STATE)
        load_weights(out / state["weights"], model)
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        history, best, start_epoch = state["history"], state["best"], state["epoch"] + 1
    if dist.is_main():
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / CONFIG, {"model": entry.as_dict(), "data": str(Path(data_dir).resolve()),
                                         "n_classes": int(len(classes)), "n_train": int(len(train_rows)),
                                         "n_valid": int(len(valid_rows)), "world_size": dist.world_size(),
                                         "device": str(dev), "versions": _versions()})
        atomic_save_npy(out / CLASSES, classes.astype(np.int64))
        save_encoder_files(model, out)

    epochs = int(spec["epochs"])
    for epoch in range(start_epoch, epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)
        _set_epoch_lr(entry, opt, epoch)
        net.train()
        t0, seen, loss_sum, steps = time.perf_counter(), 0, 0.0, 0
        it = loader
        if progress and dist.is_main():
            from tqdm.auto import tqdm

            it = tqdm(loader, total=steps_per_epoch, desc=f"{entry.id} epoch {epoch + 1}/{epochs}", unit="batch",
                      file=sys.stderr)
        for inputs, target in it:
            loss = train_step(net, opt, sched, to_device(inputs, dev, channels_last), target.to(dev), dev)
            steps += 1
            seen += len(target)
            loss_sum += float(loss.detach())
            if it is not loader:
                it.set_postfix(loss=f"{loss_sum / steps:.3f}", rate=f"{seen / (time.perf_counter() - t0):.1f}/s")
            if steps >= steps_per_epoch:
                break
        if it is not loader:
            it.close()
        seconds = time.perf_counter() - t0
        if dist.is_main():
            val = validate(model, entry, frame, catalog, valid_rows, dev, workers)
            record = {"epoch": epoch, "loss": loss_sum / max(1, steps), "steps": steps, "seconds": seconds,
                      "items_per_s": seen * dist.world_size() / max(seconds, 1e-9),
                      "lr": opt.param_groups[0]["lr"], "valid": val}
            history.append(record)
            weights = f"epoch_{epoch + 1:02d}.safetensors"
            save_weights(out / weights, model)
            if val["f1"] == val["f1"] and val["f1"] > best["f1"]:  # NaN never wins
                best = {"epoch": epoch, "f1": val["f1"]}
                shutil.copyfile(out / weights, out / f".{BEST}.tmp")
                (out / f".{BEST}.tmp").replace(out / BEST)
            save_state(out / LAST_STATE, {"weights": weights, "optimizer": opt.state_dict(),
                                          "scheduler": sched.state_dict() if sched is not None else {},
                                          "rng": torch.get_rng_state(), "history": history, "best": best,
                                          "epoch": epoch})
            atomic_write_json(out / METRICS, {"history": history, "best": best})
            print(f"{entry.id} epoch {epoch + 1}/{epochs}: loss {record['loss']:.4f}, valid F1 "
                  f"{val['f1']:.4f} at T={val['threshold']} (best scan {val.get('best_f1', float('nan')):.4f} at "
                  f"T={val.get('best_threshold')}), {record['items_per_s']:.1f} items/s", file=sys.stderr)
        dist.barrier()
    if dist.is_main() and not (out / BEST).exists() and history:  # no valid split: keep the last epoch
        shutil.copyfile(out / f"epoch_{epochs:02d}.safetensors", out / BEST)
    dist.barrier()
    dist.shutdown()
    return {"run": str(out), "best": best, "epochs": len(history)}


def load_run(run_dir) -> tuple[ModelEntry, MatchModel]:
    """Rebuild a trained run's network from its own files (no hub, no original weights)."""
    run = Path(run_dir)
    if not (run / CONFIG).is_file() or not (run / BEST).is_file():
        raise ShopeeError(f"{run}: not a finished run (needs {CONFIG} and {BEST}; train it or --resume it)")
    cfg = json.loads((run / CONFIG).read_text())
    entry = ModelEntry(**cfg["model"])
    n_classes = int(len(load_npy(run / CLASSES)))
    if entry.kind == "image":
        stub = ModelEntry(**{**cfg["model"], "spec": {**entry.spec, "weights": "none"}})
        model = build_model(stub, n_classes)
    else:
        from ..models.text import encoder_from_folder
        from .model import MatchModel as _M

        encoder = encoder_from_folder(run / "encoder", entry.spec["max_length"], backbone=entry.spec["backbone"])
        hidden = encoder.hidden_size
        neck = torch.nn.Sequential(torch.nn.Linear(hidden, hidden), torch.nn.BatchNorm1d(hidden))
        from ..models.heads import create_head

        head = create_head(entry.spec["loss"], hidden, n_classes, s=entry.spec.get("scale", 30.0),
                           m=entry.spec["margin"])
        model = _M("text", encoder, neck, head, entry.spec.get("embedding", "pooled"))
    load_weights(run / BEST, model)
    return entry, model.eval()


def embed_run(run_dir, data_dir, split: str | None = None, device: str | None = None, progress: bool = True,
              workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings of a catalog by a trained run: (float32 rows, row indices in train.csv order)."""
    entry, model = load_run(run_dir)
    dev = pick_device(device)
    if dev.type == "cpu":
        from ..speed import enable_cpu_speed

        enable_cpu_speed()
    catalog = load_catalog(data_dir, check_images=model.modality == "image")
    frame = catalog.frame
    rows = np.arange(len(frame))
    if split is not None:
        frame = attach_splits(frame, load_or_create_folds(data_dir, frame))
        rows = np.flatnonzero(frame["split"].to_numpy() == split)
        if len(rows) == 0:
            raise ShopeeError(f"{data_dir}: no postings in split {split!r}")
    return _embed_rows(model, entry, frame, catalog, rows, dev, workers, progress, desc=f"embed {entry.id}"), rows

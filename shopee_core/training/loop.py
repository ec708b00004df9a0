"""Train a recipe: margin-head classification over the train split's label groups.

One function serves image and text recipes, one process or many (torchrun / DDP). Its
steps: set up the device, precision and seeds; split the catalog; build the network,
loader, optimiser and schedule; resume; then per epoch train, validate, checkpoint
(safetensors, written atomically) and keep the checkpoint the recipe's rule selects
(:mod:`.checkpoint`). ``resume`` continues after the last finished epoch. A frozen-backbone
recipe (kind ``image_frozen``) trains the same way on cached pooled features (:mod:`.features`). ``config.json``
records the effective spec (overrides included) and the precision really used.
"""

from __future__ import annotations

import contextlib
import json
import logging
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .. import faults
from ..data import attach_splits, load_catalog, load_or_create_folds
from ..errors import ShopeeError
from ..io import atomic_path, atomic_save_npy, atomic_write_json, sweep_temp
from ..locking import exclusive
from ..matching import Embeddings, Scorer, knn, search_t
from ..models import get as registered
from ..models import spec_changes
from ..models.registry import ModelEntry
from ..speed import enable_cpu_speed
from . import dist
from .checkpoint import load_state, load_weights, save_state, save_weights, select_best, selection_rule
from .features import pooled_features
from .history import HistoryWriter, selection_mark
from .inference import embed_rows, make_loader, pick_device, to_device
from .model import MatchModel, build_model
from .optim import SAM, build_optimizer, build_scheduler, step_scheduler
from .runtime import (
    autocast,
    effective_precision,
    grad_scaler,
    raise_if_terminated,
    seed_everything,
    sigterm_as_interrupt,
)

CONFIG, CLASSES, METRICS, BEST, LAST_STATE = "config.json", "classes.npy", "metrics.json", "best.safetensors", "last_state.safetensors"
log = logging.getLogger(__name__)


def _versions() -> dict:
    return {"python": platform.python_version(), "torch": torch.__version__,
            **{name: version(name) for name in ("timm", "transformers", "numpy", "opencv-python-headless")}}


def prepare_data(entry: ModelEntry, data_dir):
    """Catalog + splits (folds written once, by the main process)."""
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


def _backward(loss: torch.Tensor, scaler) -> None:
    (scaler.scale(loss) if scaler is not None else loss).backward()


def _optimizer_step(opt, scaler) -> None:
    if scaler is None:
        opt.step()
    else:
        scaler.step(opt)
        scaler.update()


def train_step(net, opt, inputs: dict, target: torch.Tensor, precision: str, dev: torch.device,
               scaler=None) -> torch.Tensor:
    """One optimisation step at an effective ``precision`` (two forward/backward passes under SAM).

    With a scaler (fp16) the loss is scaled; SAM's ascent uses the unscaled gradient and its base
    step goes through the scaler, which skips it when either pass overflowed. Without one (the
    seed's fp16 text runs) both passes back-propagate the plain loss.
    """
    def loss_of():
        with autocast(precision, dev):
            logits = net(inputs, target)
        return F.cross_entropy(logits.float(), target)

    loss = loss_of()
    _backward(loss, scaler)
    if isinstance(opt, SAM):
        if scaler is not None:
            scaler.unscale_(opt)
        opt.first_step()
        _backward(loss_of(), scaler)
        opt.restore()
        _optimizer_step(opt.base_optimizer, scaler)
    else:
        _optimizer_step(opt, scaler)
    opt.zero_grad(set_to_none=True)
    return loss.detach()


def validate(model: MatchModel, entry: ModelEntry, frame, catalog, rows: np.ndarray, device, workers,
             features: np.ndarray | None = None) -> dict:
    """Validation F1 at the recipe's selection threshold, and at the best threshold of a full scan."""
    if len(rows) < 2:
        return {"f1": float("nan"), "threshold": None}
    emb = embed_rows(model, entry.spec, frame, catalog, rows, device, workers, progress=False, desc="valid",
                     features=features, shard=False)  # rank 0 alone validates
    scorer = Scorer(knn(Embeddings.from_array(emb), int(entry.spec.get("k", 50))),
                    frame["label_group"].to_numpy()[rows])
    best_t, _ = search_t(scorer)
    rule, _ = selection_rule(entry.spec)
    t = best_t if rule == "scan" else rule
    return {"threshold": t, "f1": scorer.score(t)["f1"], "best_threshold": best_t,
            "best_f1": scorer.score(best_t)["f1"]}


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
                          f"{stored['model']['profile']}, overrides {stored.get('overrides', {})}); cannot resume it "
                          f"as {entry.id} ({entry.profile}); pass the same --set/--config as its first run")
    return stored


def save_encoder_files(model: MatchModel, out: Path) -> None:
    """What a run needs to rebuild its network without the original weights source."""
    if model.modality == "text":
        folder = out / "encoder"
        model.encoder.model.config.save_pretrained(folder)
        model.encoder.tokenizer.save_pretrained(folder)


@dataclass
class _Run:
    """What the steps of one training run share."""
    entry: ModelEntry
    out: Path
    dev: torch.device
    precision: str
    catalog: object = None
    frame: object = None
    train_rows: np.ndarray = None
    valid_rows: np.ndarray = None
    classes: np.ndarray = None
    features: np.ndarray = None  # image_frozen: pooled backbone features of every posting
    model: MatchModel = None
    net: torch.nn.Module = None
    loader: object = None
    sampler: object = None
    generator: torch.Generator = None
    steps_per_epoch: int = 0
    opt: object = None
    sched: object = None
    sched_every: str = "epoch"
    scaler: object = None
    history: list = field(default_factory=list)
    best: dict = field(default_factory=lambda: {"epoch": None, "f1": -1.0})
    start_epoch: int = 0
    log: HistoryWriter = None  # history.jsonl + TensorBoard events (main process)


def _start(entry: ModelEntry, out: Path, device: str | None) -> _Run:
    """Device, effective precision, seeds and determinism flags."""
    spec = entry.spec
    dist.init()
    dev = dist.device() if dist.world_size() > 1 else pick_device(device)
    if dev.type == "cpu":
        enable_cpu_speed()
    seed_everything(int(spec["seed"]) + dist.rank(), spec.get("cudnn_deterministic", False),
                    spec.get("cudnn_benchmark", False))
    return _Run(entry, out, dev, effective_precision(spec.get("precision", "fp32"), dev))


def _split(run: _Run, data_dir) -> None:
    run.catalog, run.frame = prepare_data(run.entry, data_dir)
    split = run.frame["split"].to_numpy()
    run.train_rows, run.valid_rows = np.flatnonzero(split == "train"), np.flatnonzero(split == "valid")
    if len(run.train_rows) < 2:
        raise ShopeeError(f"{data_dir}: the train split has {len(run.train_rows)} postings; nothing to train on")
    run.classes = np.unique(run.frame["label_group"].to_numpy()[run.train_rows])


def _build(run: _Run, workers: int | None) -> None:
    """Network (channels-last for images, DDP when launched by torchrun), loader, optimiser, schedule."""
    spec, frame = run.entry.spec, run.frame
    run.model = build_model(run.entry, len(run.classes)).to(run.dev)
    if run.model.modality == "image":
        run.model.to(memory_format=torch.channels_last)
    run.net = run.model
    if dist.world_size() > 1:
        run.net = torch.nn.parallel.DistributedDataParallel(
            run.model, device_ids=[run.dev.index] if run.dev.type == "cuda" else None)
    y = np.searchsorted(run.classes, frame["label_group"].to_numpy()[run.train_rows])
    seed = int(spec["seed"])
    run.sampler = dist.sampler(len(run.train_rows), seed) if dist.world_size() > 1 else None
    run.generator = torch.Generator().manual_seed(seed)
    common = dict(labels=y, train=True, batch_size=spec["batch_size"], sampler=run.sampler, generator=run.generator)
    if run.model.modality == "features":
        run.loader = make_loader(run.model, spec, features=run.features[run.train_rows], workers=0, **common)
    elif run.model.modality == "image":
        paths = [run.catalog.image_dir / n for n in frame["image"].to_numpy()[run.train_rows]]
        run.loader = make_loader(run.model, spec, paths=paths, workers=workers, **common)
    else:
        titles = frame["title"].to_numpy()[run.train_rows].tolist()
        run.loader = make_loader(run.model, spec, titles=titles, workers=0, **common)
    run.steps_per_epoch = min(len(run.loader), spec.get("max_steps") or len(run.loader))
    run.opt = build_optimizer(spec, run.model)
    run.sched, run.sched_every = build_scheduler(spec, run.opt, run.steps_per_epoch)
    run.scaler = grad_scaler(run.precision, run.dev, bool(spec.get("loss_scaling", True)))


def _resume(run: _Run, stored: dict | None) -> None:
    if stored is None or not (run.out / LAST_STATE).exists():
        return
    state = load_state(run.out / LAST_STATE)
    load_weights(run.out / state["weights"], run.model)
    run.opt.load_state_dict(state["optimizer"])
    run.sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"])
    if "loader_rng" in state:
        run.generator.set_state(state["loader_rng"])
    run.history, run.best, run.start_epoch = state["history"], state["best"], state["epoch"] + 1
    if dist.is_main():
        _publish(run, force=True)  # killed after the state, before best/metrics followed it


def _write_config(run: _Run, data_dir) -> None:
    if not dist.is_main():
        return
    entry, spec = run.entry, run.entry.spec
    try:
        overrides = spec_changes(registered(entry.id, entry.profile).spec, spec)
    except ShopeeError:  # an entry made outside the registry
        overrides = {}
    run.out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(run.out / CONFIG, {
        "model": entry.as_dict(), "overrides": overrides, "data": str(Path(data_dir).resolve()),
        "n_classes": int(len(run.classes)), "n_train": int(len(run.train_rows)), "n_valid": int(len(run.valid_rows)),
        "world_size": dist.world_size(), "device": str(run.dev),
        "precision": {"requested": spec.get("precision", "fp32"), "effective": run.precision,
                      "loss_scaling": run.scaler is not None},
        "seed": int(spec["seed"]), "cudnn": {"deterministic": torch.backends.cudnn.deterministic,
                                             "benchmark": torch.backends.cudnn.benchmark},
        "versions": _versions()})
    atomic_save_npy(run.out / CLASSES, run.classes.astype(np.int64))
    save_encoder_files(run.model, run.out)


def _train_epoch(run: _Run, epoch: int, progress: bool) -> dict:
    """One pass over the train split (at most ``max_steps`` batches); the epoch's record."""
    if run.sampler is not None:
        run.sampler.set_epoch(epoch)
    lrs = [float(g["lr"]) for g in run.opt.param_groups]
    run.net.train()
    t0, seen, loss_sum, steps = time.perf_counter(), 0, 0.0, 0
    epochs = int(run.entry.spec["epochs"])
    it = run.loader
    if progress and dist.is_main():
        it = tqdm(run.loader, total=run.steps_per_epoch, desc=f"{run.entry.id} epoch {epoch + 1}/{epochs}",
                  unit="batch", file=sys.stderr)
    channels_last = run.model.modality == "image"
    for inputs, target in it:
        raise_if_terminated()
        loss = train_step(run.net, run.opt, to_device(inputs, run.dev, channels_last), target.to(run.dev),
                          run.precision, run.dev, run.scaler)
        if run.sched_every == "step":
            step_scheduler(run.sched)
        steps += 1
        seen += len(target)
        loss_sum += float(loss)
        if it is not run.loader:
            it.set_postfix(loss=f"{loss_sum / steps:.3f}", rate=f"{seen / (time.perf_counter() - t0):.1f}/s")
        if steps >= run.steps_per_epoch:
            break
    if it is not run.loader:
        it.close()
    if run.sched_every == "epoch":
        step_scheduler(run.sched)
    seconds = time.perf_counter() - t0
    return {"epoch": epoch, "loss": loss_sum / max(1, steps), "steps": steps, "seconds": seconds,
            "items_per_s": seen * dist.world_size() / max(seconds, 1e-9), "lr": lrs[0], "lrs": lrs}


def _end_epoch(run: _Run, record: dict, workers: int | None) -> None:
    """Validate, checkpoint, keep the selected epoch as best.safetensors, write metrics (main process)."""
    if not dist.is_main():
        return
    epoch, out, spec = record["epoch"], run.out, run.entry.spec
    record["valid"] = validate(run.model, run.entry, run.frame, run.catalog, run.valid_rows, run.dev, workers,
                               run.features)
    run.history.append(record)
    weights = f"epoch_{epoch + 1:02d}.safetensors"
    save_weights(out / weights, run.model)
    _, from_epoch = selection_rule(spec)
    kept = select_best(run.history, from_epoch) == epoch and run.best.get("epoch") != epoch
    if kept:
        run.best = {"epoch": epoch, "f1": record["valid"]["f1"]}
    record["wall"] = time.time()
    record["selection"] = selection_mark(epoch, epoch >= from_epoch, kept, run.best.get("epoch"))
    # the commit point: one file naming the epoch's weights, history and best; what follows derives from it
    save_state(out / LAST_STATE, {"weights": weights, "optimizer": run.opt.state_dict(),
                                  "scheduler": run.sched.state_dict(), "rng": torch.get_rng_state(),
                                  "loader_rng": run.generator.get_state(), "history": run.history,
                                  "best": run.best, "epoch": epoch})
    faults.step("checkpoint:state")
    _publish(run)
    run.log.write(run.history)
    val = record["valid"]
    log.info(f"{run.entry.id} epoch {epoch + 1}/{spec['epochs']}: loss {record['loss']:.4f}, lr {record['lr']:.3g}, "
             f"valid F1 {val['f1']:.4f} at T={val['threshold']} (best scan {val.get('best_f1', float('nan')):.4f} at "
             f"T={val.get('best_threshold')}), {record['items_per_s']:.1f} items/s")


def _publish(run: _Run, force: bool = False) -> None:
    """``best.safetensors`` and ``metrics.json`` from the committed state: the kept epoch's weights
    (copied atomically when it changed, or always with ``force``) and the history. A kill
    between the state and these leaves them one epoch behind until ``--resume`` redoes this."""
    out, best = run.out, run.best.get("epoch")
    if best is not None and (force or run.history[-1]["epoch"] == best or not (out / BEST).exists()):
        with atomic_path(out / BEST) as tmp:
            shutil.copyfile(out / f"epoch_{best + 1:02d}.safetensors", tmp)
        faults.step("checkpoint:best")
    atomic_write_json(out / METRICS, {"history": run.history, "best": run.best, "selection": _rule(run.entry.spec)})


def _rule(spec: dict) -> dict:
    threshold, from_epoch = selection_rule(spec)
    return {"threshold": threshold, "from_epoch": from_epoch}


def _finish(run: _Run) -> None:
    """No epoch qualified (no validation split, or fewer epochs than select_from_epoch): keep the last."""
    if dist.is_main() and not (run.out / BEST).exists() and run.history:
        last = run.history[-1]
        with atomic_path(run.out / BEST) as tmp:
            shutil.copyfile(run.out / f"epoch_{last['epoch'] + 1:02d}.safetensors", tmp)
        run.best = {"epoch": last["epoch"], "f1": last["valid"]["f1"], "fallback": "last epoch"}
        last["selection"] = {**last.get("selection", {}), "kept": True, "best_epoch": last["epoch"],
                             "fallback": "last epoch"}
        atomic_write_json(run.out / METRICS, {"history": run.history, "best": run.best,
                                              "selection": _rule(run.entry.spec)})
        run.log.write(run.history, new=[])
    if dist.is_main() and run.history and run.best.get("epoch") is not None:
        b = run.best
        run.log.note(f"kept epoch {b['epoch'] + 1} (valid F1 {b['f1']:.4f} at the selection threshold"
                     f"{', ' + b['fallback'] if b.get('fallback') else ''})", run.history[-1]["epoch"])


def _run_lock(out: Path):
    """One process trains into a run folder at a time (two would interleave their epochs); the
    second is refused naming the first. Only the main process of a torchrun launch writes."""
    if not dist.is_main():
        return contextlib.nullcontext()
    return exclusive(out.parent / f".{out.name}.lock", name=str(out), what="training run", wait=False)


def train(entry: ModelEntry, data_dir, out_dir, resume: bool = False, device: str | None = None,
          progress: bool = True, workers: int | None = None, features_dir=None) -> dict:
    """Train ``entry`` (with any overrides already applied) into ``out_dir``; SIGTERM stops it cleanly.

    ``features_dir``: where an ``image_frozen`` recipe's pooled features are cached (default
    ``<out_dir>/features``; the builder shares one folder between its models)."""
    if not entry.trainable:
        raise ShopeeError(f"model {entry.id!r} is {entry.kind}: nothing to train (embed it directly)")
    selection_rule(entry.spec)  # a bad rule fails before any work
    out = Path(out_dir)
    with sigterm_as_interrupt(), _run_lock(out):
        stored = _check_run_dir(out, entry, resume)
        if dist.is_main():
            sweep_temp(out)  # files a killed run was writing
        run = _start(entry, out, device)
        _split(run, data_dir)
        if entry.kind == "image_frozen":
            run.features = pooled_features(entry.spec, run.catalog, run.frame, features_dir or out / "features",
                                           run.dev, workers, progress)
        _build(run, workers)
        _resume(run, stored)
        _write_config(run, data_dir)
        faults.step("train:config")
        run.log = HistoryWriter(out, run.start_epoch)
        try:
            for epoch in range(run.start_epoch, int(entry.spec["epochs"])):
                record = _train_epoch(run, epoch, progress)
                _end_epoch(run, record, workers)
                dist.barrier()
            _finish(run)
        finally:
            run.log.close()
        dist.barrier()
        dist.shutdown()
    return {"run": str(out), "best": run.best, "epochs": len(run.history), "precision": run.precision}

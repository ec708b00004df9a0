"""train, embed and models: the recipe registry and its runs."""

from __future__ import annotations

import json
from pathlib import Path

from .. import faults
from ..data import attach_splits, load_catalog, load_or_create_folds
from ..errors import ShopeeError
from ..io import save_matrix, sweep_temp
from ..matching.embeddings import check_block
from ..models import PROFILES, get, list_models, parse_overrides, with_overrides
from ..models.embedders import to_storage
from .common import command, data_arg, device_args, override_args


def cmd_train(args) -> int:
    from ..training.loop import train

    entry = with_overrides(get(args.model, args.profile), parse_overrides(args.set, args.config))
    result = train(entry, args.data, args.out, resume=args.resume, device=args.device, progress=not args.quiet,
                   workers=args.workers)
    best = result["best"]
    from ..training import dist

    if dist.is_main():
        print(f"{args.out}: {result['epochs']} epoch(s) at {result['precision']}; kept epoch "
              f"{best['epoch'] + 1 if best['epoch'] is not None else '-'} (valid F1 {best['f1']:.4f})")
    return 0


def cmd_embed(args) -> int:
    out = Path(args.out)
    if bool(args.run) == bool(args.model):
        raise ShopeeError("give exactly one of --run RUN_DIR (a trained run) or --model ID (an untrained model)")
    from ..training import dist

    # torchrun --nproc_per_node N -m shopee_core embed ...: every rank embeds its share of the batches
    # (training/inference.py); rank 0 writes the file
    dist.init()
    try:
        if dist.world_size() > 1 and args.device is None:
            args.device = str(dist.device())
        return _embed(args, out, dist.is_main())
    finally:
        dist.shutdown()


def _embed(args, out: Path, main: bool) -> int:
    if args.run:
        from ..training.embed import embed_run

        matrix, _ = embed_run(args.run, args.data, split=args.split, device=args.device, progress=not args.quiet,
                              workers=args.workers)
        what = f"run {args.run}"
    else:
        from ..training.embed import embed_untrained

        entry = get(args.model, args.profile)
        catalog = load_catalog(args.data, check_images=entry.kind == "image_zeroshot")
        frame = attach_splits(catalog.frame, load_or_create_folds(args.data, catalog.frame))
        if args.split:
            frame = frame[frame["split"] == args.split].reset_index(drop=True)
            if frame.empty:
                raise ShopeeError(f"{args.data}: no postings in split {args.split!r}")
        matrix = embed_untrained(entry, catalog, frame, progress=not args.quiet, device=args.device,
                                 workers=args.workers)
        what = entry.label
    check_block(matrix, what)  # NaN/inf or all-zero dense rows are refused before anything is written
    if not main:
        return 0
    matrix = to_storage(matrix)
    faults.step("embed:computed")
    sweep_temp(out.parent, name=out.name)  # left by an embed killed while writing this file
    save_matrix(out, matrix)
    print(f"{out}: {matrix.shape[0]} x {matrix.shape[1]} {matrix.dtype} ({what})")
    return 0


def cmd_models(args) -> int:
    models = [get(args.model, args.profile)] if args.model else list_models(args.profile)
    overrides = parse_overrides(args.set, args.config)
    models = [with_overrides(m, overrides) for m in models]
    if args.json:
        from ..training.describe import training_facts

        print(json.dumps([{**m.as_dict(), **({"training": training_facts(m)} if m.trainable else {})}
                          for m in models], indent=2))
        return 0
    print(f"{'id':<28} {'recipe':>6}  {'family':<9} {'profile':<7} label")
    for m in models:
        print(f"{m.id:<28} {m.recipe if m.recipe is not None else '-':>6}  {m.family:<9} {m.profile:<7} {m.label}")
    return 0


def add_train(sub) -> None:
    s = command(sub, "train", cmd_train, help="train a recipe (ArcFace/CurricularFace over the train split's groups)",
                description="Train one registry entry; checkpoints every epoch as safetensors, the best "
                            "validation epoch kept. Multi-GPU: torchrun --nproc_per_node N -m shopee_core train ...",
                bar=True)
    s.add_argument("--model", required=True, metavar="ID", help="model id (see `models`)")
    data_arg(s)
    s.add_argument("--profile", choices=PROFILES, default="seed18",
                   help="recipe profile (default seed18: the seed's full recipe, for a GPU)")
    s.add_argument("--out", required=True, metavar="RUN_DIR")
    s.add_argument("--resume", action="store_true", help="continue an interrupted run in RUN_DIR")
    override_args(s)
    device_args(s)


def add_embed(sub) -> None:
    s = command(sub, "embed", cmd_embed, help="embed a catalog with a trained run or an untrained model",
                description="Write one L2-normalised row per posting in train.csv order: .npy (float32) "
                            "or, for TF-IDF, .npz (sparse CSR). Several GPUs: torchrun --nproc_per_node N -m "
                            "shopee_core embed ... (each rank embeds a share of the batches; the same rows as one "
                            "process).", bar=True)
    s.add_argument("--run", metavar="RUN_DIR", help="a finished (or best-so-far) training run")
    s.add_argument("--model", metavar="ID", help="an untrained model: tfidf, phash, e5_zeroshot, *_zeroshot")
    s.add_argument("--profile", choices=PROFILES, help="profile of --model (default: its first)")
    data_arg(s)
    s.add_argument("--split", metavar="NAME", help="only this split's postings (train|valid|test)")
    s.add_argument("--out", required=True, metavar="PATH")
    device_args(s, workers="image-loading worker processes")


def add_models(sub) -> None:
    s = command(sub, "models", cmd_models, help="list the model registry",
                description="Every model recipe with its full spec; --json adds, for trained recipes, what "
                            "the training code computes from it (LR per epoch, the optimiser read back, "
                            "seed, precision, embedding, checkpoint rule).")
    s.add_argument("--json", action="store_true", help="print the full (effective) specs as JSON")
    s.add_argument("--profile", choices=PROFILES, help="only models of this profile")
    s.add_argument("--model", metavar="ID", help="only this model")
    override_args(s)

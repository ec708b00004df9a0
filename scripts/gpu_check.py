"""GPU check: AMP training steps of two seed18 recipes on synthetic batches.

Recipe 5 (eca_nfnet_l0, 512 px, batch 8, Ranger, ArcFace over 6,609 classes) and
recipe 11's architecture (xlm-roberta-base shape, random init when the weights are
absent; batch 16, 128 tokens, SAM(AdamW)). Prints steps/s, items/s and peak GPU
memory. Usage: python scripts/gpu_check.py [--steps 300] [--device cuda]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.models import get  # noqa: E402
from shopee_core.training.loop import build_optimizer, train_step  # noqa: E402
from shopee_core.training.model import MatchModel, build_model  # noqa: E402

N_CLASSES = 6609  # the seed's train groups


def image_recipe(dev, steps: int, size: int, batch: int):
    entry = get("eca_nfnet_l0", "seed18")
    entry = replace(entry, spec={**entry.spec, "weights": "none", "image_size": size, "batch_size": batch})
    model = build_model(entry, N_CLASSES).to(dev).to(memory_format=torch.channels_last)
    opt, sched = build_optimizer(entry, model, steps)
    x = {"pixels": torch.randn(batch, 3, size, size, device=dev).contiguous(memory_format=torch.channels_last)}
    y = torch.randint(0, N_CLASSES, (batch,), device=dev)
    return entry, model, opt, sched, x, y


def text_recipe(dev, steps: int, length: int, batch: int, tiny: bool):
    from transformers import AutoModel, XLMRobertaConfig

    from shopee_core.models.heads import create_head
    from shopee_core.models.text import TextEncoder, offline_tokenizer

    entry = get("xlmr_paraphrase", "seed18")
    cfg = XLMRobertaConfig(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1)  # base shape
    if tiny:
        cfg = XLMRobertaConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=514, type_vocab_size=1)
    encoder = TextEncoder(AutoModel.from_config(cfg, add_pooling_layer=False), offline_tokenizer(), length,
                          backbone=entry.spec["backbone"], source="random init (xlm-roberta-base shape)")
    h = encoder.hidden_size
    neck = torch.nn.Sequential(torch.nn.Linear(h, h), torch.nn.BatchNorm1d(h))
    head = create_head("arcface", h, N_CLASSES, s=30.0, m=entry.spec["margin"])
    model = MatchModel("text", encoder, neck, head, "pooled").to(dev)
    entry = replace(entry, spec={**entry.spec, "batch_size": batch, "epochs": 1})
    opt, sched = build_optimizer(entry, model, steps)
    x = {"input_ids": torch.randint(5, cfg.vocab_size, (batch, length), device=dev),
         "attention_mask": torch.ones(batch, length, dtype=torch.long, device=dev)}
    y = torch.randint(0, N_CLASSES, (batch,), device=dev)
    return entry, model, opt, sched, x, y


def run(name, built, dev, steps: int, warmup: int) -> None:
    entry, model, opt, sched, x, y = built
    model.train()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    for i in range(warmup + steps):
        if i == warmup:
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
        loss = train_step(model, opt, sched, x, y, dev)
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
    dt = time.perf_counter() - t0
    peak = torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else float("nan")
    batch = y.shape[0]
    print(f"{name}: {steps} steps in {dt:.1f} s = {steps / dt:.2f} steps/s, {steps * batch / dt:.1f} items/s, "
          f"peak GPU memory {peak:.2f} GiB, last loss {float(loss):.3f}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--tiny", action="store_true", help="small shapes, for a CPU dry run of this script")
    args = ap.parse_args()
    dev = torch.device(args.device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        sys.exit("error: no CUDA device (use --device cpu --tiny for a dry run)")
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
        print(f"device: {torch.cuda.get_device_name(dev)}, torch {torch.__version__}, bf16 autocast", flush=True)
    size, length = (64, 16) if args.tiny else (512, 128)
    run("recipe 5 eca_nfnet_l0 512px b8 Ranger ArcFace" if not args.tiny else "recipe 5 (tiny)",
        image_recipe(dev, args.steps, size, 8 if not args.tiny else 2), dev, args.steps, args.warmup)
    run("recipe 11 xlm-roberta-base b16 L128 SAM-AdamW ArcFace" if not args.tiny else "recipe 11 (tiny)",
        text_recipe(dev, args.steps, length, 16 if not args.tiny else 2, args.tiny), dev, args.steps, args.warmup)


if __name__ == "__main__":
    main()

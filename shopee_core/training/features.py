"""Pooled features of a frozen ImageNet backbone, computed once per backbone, image size and catalog.

The demo's image stand-ins (kind ``image_frozen``) train only a neck and a margin head; their
backbone never changes, so its globally pooled features are a pure function of (backbone,
weights, image size, resize, the image bytes). They are computed once, without augmentation,
into ``<features_dir>/<key>.npy`` and shared by every recipe and zero-shot model with the same
key: three backbones feed the six stand-ins and the zero-shot rows. A file whose row count or
key does not fit is never used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from pathlib import Path

import numpy as np

from ..data.fingerprint import images_digest
from ..errors import ShopeeError
from ..io import atomic_save_npy, load_npy

FEATURE_KEYS = ("backbone", "weights", "image_size", "resize")
log = logging.getLogger(__name__)


def feature_key(spec: dict, image_dir: Path, names) -> str:
    """``<backbone>-<hash of the extraction settings>-<digest of the images>``."""
    settings = {k: spec.get(k) for k in FEATURE_KEYS}
    settings["resize"] = settings["resize"] or "torchvision"
    h = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:8]
    return f"{spec['backbone']}-{settings['image_size']}-{h}-{images_digest(image_dir, names)}"


def pooled_features(spec: dict, catalog, frame, features_dir, device=None, workers=None,
                    progress: bool = True) -> np.ndarray:
    """(len(frame), feature_dim) float32 pooled backbone features of every posting's image, cached."""
    from ..models.image import create_image_encoder
    from .inference import embed_postings, pick_device
    from .model import MatchModel

    names = frame["image"].to_numpy()
    key = feature_key(spec, catalog.image_dir, names)
    path = Path(features_dir) / f"{key}.npy"
    if path.is_file():
        try:
            x = load_npy(path, error=ShopeeError)
        except (ShopeeError, OSError, EOFError):
            x = np.zeros((0, 0))
        if x.ndim == 2 and x.shape[0] == len(frame) and np.isfinite(x).all():
            log.info(f"    features: reused {path.name}")
            return x
        path.unlink()
    encoder = create_image_encoder(spec["backbone"], weights=spec["weights"], mish=False)
    model = MatchModel("image", encoder, None, None, "backbone")
    t0 = time.time()
    x = embed_postings(model, {**spec, "embedding": "backbone", "precision": "fp32"},
                       paths=[catalog.image_dir / n for n in names], device=device or pick_device(),
                       workers=workers, progress=progress, desc=f"features {spec['backbone']} {spec['image_size']} px")
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.shape[0] != len(frame) or not np.isfinite(x).all():
        raise ShopeeError(f"{spec['backbone']}: pooled features are not finite or miss rows; not cached")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(path, x)
    log.info(f"    features: computed {path.name} ({time.time() - t0:.0f} s)")
    return x

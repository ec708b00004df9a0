"""The pooled-feature cache of the frozen stand-ins: keyed by settings and image bytes, never stale."""

import logging

import numpy as np
import pytest
from PIL import Image

from shopee_core.data import load_catalog
from shopee_core.models import get
from shopee_core.training import features as F

SPEC = {**get("resnet50", "demo").spec, "image_size": 32}


@pytest.fixture
def catalog(tiny_catalog):
    return load_catalog(tiny_catalog)


def test_computed_once_then_reused(catalog, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="shopee_core")
    x = F.pooled_features(SPEC, catalog, catalog.frame, tmp_path, progress=False, workers=0)
    assert x.shape == (len(catalog.frame), 1280) and x.dtype == np.float32 and np.isfinite(x).all()
    assert [r.getMessage().split()[1] for r in caplog.records if r.name == F.__name__] == ["computed"]
    caplog.clear()
    y = F.pooled_features(SPEC, catalog, catalog.frame, tmp_path, progress=False, workers=0)
    assert [r.getMessage().split()[1] for r in caplog.records if r.name == F.__name__] == ["reused"]
    assert np.array_equal(x, y)


def test_key_follows_settings_and_image_bytes(catalog, tmp_path):
    names = catalog.frame["image"]
    key = F.feature_key(SPEC, catalog.image_dir, names)
    assert F.feature_key({**SPEC, "image_size": 64}, catalog.image_dir, names) != key
    assert F.feature_key({**SPEC, "epochs": 1, "margin": 0.1}, catalog.image_dir, names) == key  # head-only keys
    path = catalog.image_dir / names.iloc[0]
    Image.new("RGB", (40, 40), (250, 10, 10)).save(path, "JPEG")
    assert F.feature_key(SPEC, catalog.image_dir, names) != key


def test_a_broken_cache_file_is_recomputed(catalog, tmp_path):
    key = F.feature_key(SPEC, catalog.image_dir, catalog.frame["image"])
    (tmp_path / f"{key}.npy").write_bytes(b"not an array")
    x = F.pooled_features(SPEC, catalog, catalog.frame, tmp_path, progress=False, workers=0)
    assert x.shape[0] == len(catalog.frame)
    np.save(tmp_path / f"{key}.npy", np.zeros((3, 1280), np.float32))  # rows of another catalog
    assert F.pooled_features(SPEC, catalog, catalog.frame, tmp_path, progress=False, workers=0).shape == x.shape

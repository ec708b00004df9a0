"""A short learning test: the demo's frozen-backbone stand-in (EfficientNet-Lite0 ImageNet features,
a neck and the recipe's ArcFace head trained on them) raises test F1 over the same backbone's
zero-shot features, on a small demo catalog of another seed and size than the shipped one."""

from dataclasses import replace

import numpy as np
import pytest

from shopee_core.data import attach_splits, load_catalog, load_or_create_folds
from shopee_core.data.demo import generate_catalog
from shopee_core.matching import Decision, Embeddings, Pool, model_source, scores, tune
from shopee_core.models import get
from shopee_core.training.embed import embed_run, embed_untrained
from shopee_core.training.loop import train

SIZE = 128
pytestmark = pytest.mark.slow  # a demo catalog, a training run and two embeddings


def test_the_frozen_stand_in_learns_beyond_zero_shot(tmp_path):
    data = tmp_path / "cat"
    generate_catalog(data, n_postings=800, seed=3, progress=False)
    catalog = load_catalog(data)
    frame = attach_splits(catalog.frame, load_or_create_folds(data, catalog.frame))
    split, labels = frame["split"].to_numpy(), frame["label_group"].to_numpy()
    valid, test = np.flatnonzero(split == "valid"), np.flatnonzero(split == "test")

    def test_f1(x):  # thresholds searched on valid, scored on test
        pools = [Pool(labels[rows], embeddings={"m": Embeddings.from_array(x[rows].astype(np.float32))})
                 for rows in (valid, test)]
        decision = tune(pools[0], Decision.single(model_source("m"), 0.5), min2=False)
        return scores(pools[1], decision)["f1"]

    feats = tmp_path / "features"
    zs = get("effnet_lite0_zeroshot", "demo")
    zero_shot = test_f1(embed_untrained(replace(zs, spec={**zs.spec, "image_size": SIZE}), catalog, frame,
                                        progress=False, features_dir=feats))
    stand_in = get("resnet50", "demo")
    stand_in = replace(stand_in, spec={**stand_in.spec, "image_size": SIZE, "epochs": 15})
    train(stand_in, data, tmp_path / "run", progress=False, workers=1, features_dir=feats)
    assert len(list(feats.glob("*.npy"))) == 1  # the zero-shot model's features were reused, not recomputed
    x, _ = embed_run(tmp_path / "run", data, progress=False, workers=1, features_dir=feats)
    trained = test_f1(x)
    print(f"EfficientNet-Lite0 {SIZE} px test F1: zero-shot {zero_shot:.4f}, frozen + ArcFace head {trained:.4f}")
    assert trained > zero_shot + 0.02

"""A short learning test: ArcFace fine-tuning of EfficientNet-Lite0 (ImageNet weights from the
efficientnet-lite0 package) raises test F1 over its zero-shot embedding on a small demo catalog."""

from dataclasses import replace

import numpy as np

from shopee_core.data import attach_splits, load_catalog, load_or_create_folds
from shopee_core.data.demo import generate_catalog
from shopee_core.matching import Decision, Embeddings, Pool, model_source, scores, tune
from shopee_core.models import get
from shopee_core.training.embed import embed_run, embed_untrained
from shopee_core.training.loop import train

SIZE = 128


def test_finetuning_beats_zero_shot(tmp_path):
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

    zs = get("effnet_lite0_zeroshot", "demo")
    zero_shot = test_f1(embed_untrained(replace(zs, spec={**zs.spec, "image_size": SIZE}), catalog, frame,
                                        progress=False))
    ft = get("effnet_lite0_arcface", "demo")
    ft = replace(ft, spec={**ft.spec, "image_size": SIZE, "epochs": 3,
                           "lr_schedule": {"kind": "shopee", "start": 5e-4, "max": 2e-3, "min": 0.0, "ramp_epochs": 1,
                                           "sustain_epochs": 0, "decay": 0.7, "counter_step": 1}})
    train(ft, data, tmp_path / "run", progress=False, workers=1)
    x, _ = embed_run(tmp_path / "run", data, progress=False, workers=1)
    fine_tuned = test_f1(x)
    print(f"EfficientNet-Lite0 test F1: zero-shot {zero_shot:.4f}, ArcFace fine-tuned {fine_tuned:.4f}")
    assert fine_tuned > zero_shot

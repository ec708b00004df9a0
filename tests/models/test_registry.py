"""The registry holds the seed's 18 recipes with the seed's numbers, in every profile."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from shopee_core.models import PROFILES, get, leaves, list_models

SEED = pd.read_csv(Path(__file__).resolve().parents[2] / "precomputed" / "reference" / "seed_results.csv")
MARGINS = {1: 0.6, 2: 0.8, 3: 0.9, 4: 0.9, 5: 0.9, 8: 0.5, 9: 0.6, 10: 0.6, 11: 0.8, 12: 0.6}


@pytest.fixture(scope="module")
def seed18():
    r = subprocess.run([sys.executable, "-m", "shopee_core", "models", "--json", "--profile", "seed18"],
                       capture_output=True, text=True, check=True)
    return {m["recipe"]: m for m in json.loads(r.stdout) if m["recipe"] is not None}


def test_all_18_recipes_once(seed18):
    assert sorted(seed18) == list(range(1, 19))
    for m in seed18.values():
        assert {"id", "recipe", "family", "profile", "spec"} <= set(m)


def test_families_match_the_seed_report(seed18):
    for _, row in SEED.iterrows():
        assert seed18[row["id"]]["family"] == row["family"], row["model"]


def test_seed_hyper_parameters(seed18):
    for r, m in MARGINS.items():
        assert seed18[r]["spec"]["margin"] == m
        assert seed18[r]["spec"]["loss"] == "arcface"
        assert seed18[r]["spec"]["epochs"] == 8
    for r in range(1, 6):
        s = seed18[r]["spec"]
        assert (s["image_size"], s["batch_size"], s["optimizer"], s["neck"], s["scale"]) == (512, 8, "ranger", 512, 30.0)
        assert s["lr_schedule"] == {"kind": "seed_image", "start": 1e-5, "peak": 3.2e-4, "warmup_epochs": 5, "decay": 0.8}
        assert s["weights"] == "imagenet" and s["mish"] and s["embedding"] == "neck"
    for r in range(8, 13):
        s = seed18[r]["spec"]
        assert (s["max_length"], s["batch_size"], s["optimizer"], s["lr"], s["head_lr_mult"]) == (128, 16, "sam_adamw", 1e-4, 2.0)
    assert seed18[7]["spec"]["params"] == {"stop_words": "english", "binary": True, "max_features": 15000}
    assert seed18[11]["spec"]["backbone"] == "sentence-transformers/paraphrase-xlm-r-multilingual-v1"


def test_combinations(seed18):
    ens = seed18[6]["spec"]
    assert ens["combine"] == "mean" and "efficientnet_b3_curricular" in ens["members"]
    cur = get("efficientnet_b3_curricular", "seed18").spec
    assert (cur["loss"], cur["margin"]) == ("curricularface", 0.5)
    assert [seed18[r]["spec"]["combine"] for r in (14, 15, 16, 17, 18)] == ["union", "union", "mean", "mean", "union"]
    assert seed18[17]["spec"]["members"] == ["xlmr_paraphrase", "eca_nfnet_l0"]
    assert {e.id for e in leaves(get("image_union_text", "seed18"))} >= {"resnet50", "bert_multilingual"}


def test_every_recipe_in_every_profile_and_demo_is_honest():
    for profile in PROFILES:
        assert {e.recipe for e in list_models(profile) if e.recipe} == set(range(1, 19))
    for e in list_models("demo"):
        if e.kind == "text" and e.recipe:
            assert "stand-in" in e.label and e.spec["stand_in_for"] != e.spec["backbone"]
        if e.kind == "image" and e.recipe:
            assert "from scratch" in e.label and e.spec["weights"] == "none"
    assert {"effnet_lite0_zeroshot", "effnet_lite0_arcface", "minilm_zeroshot", "minilm_arcface", "e5_zeroshot",
            "phash"} <= {e.id for e in list_models("demo")}

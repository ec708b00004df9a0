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
        assert (s["image_size"], s["batch_size"], s["neck"], s["scale"]) == (512, 8, 512, 30.0)
        assert s["mish"]
        assert (s["resize"], s["augment"], s["neck_init"]) == ("cv2_bilinear", "seed", "xavier_normal")
        t = seed18[r]["training"]
        assert t["optimizer"]["name"] == "ranger"
        assert (t["seed"], t["precision"], t["embedding"], t["select_threshold"]) == (2021, "fp32", "head", 0.36)
        assert s["cudnn_deterministic"] is True and s["cudnn_benchmark"] is True
    for r in range(8, 13):
        s, t = seed18[r]["spec"], seed18[r]["training"]
        assert (s["max_length"], s["batch_size"], s["head_lr_mult"]) == (128, 16, 2.0)
        assert t["optimizer"]["name"] == "sam_adamw" and t["optimizer"]["rho"] == 0.05
        assert (t["seed"], t["precision"], t["embedding"], t["select_threshold"], t["select_from_epoch"]) == (
            412, "fp16", "pooled", 0.40, 2)
    assert seed18[7]["spec"]["params"] == {"stop_words": "english", "binary": True, "max_features": 15000}
    assert seed18[11]["spec"]["backbone"] == "sentence-transformers/paraphrase-xlm-r-multilingual-v1"


# Issue 21, point 1: the ImageNet weights the seed's 2021 timm gave each backbone, by full tag. From
# the study's logs (resnext50_32x4d_ra-d733960d.pth) and timm 0.4's default configs (resnet50:
# resnet50_ram-a26f946b.pth; densenet121: densenet121_ra-50efcf5c.pth; efficientnet_b3:
# efficientnet_b3_ra2-cf984f9c.pth; eca_nfnet_l0: ecanfnet_l0_ra2-e3e9ac50.pth).
SEED_WEIGHTS = {1: "timm:resnet50.ram_in1k", 2: "timm:resnext50_32x4d.ra_in1k", 3: "timm:densenet121.ra_in1k",
                4: "timm:efficientnet_b3.ra2_in1k", 5: "timm:eca_nfnet_l0.ra2_in1k"}


def test_models_json_pins_the_seeds_imagenet_weights_by_full_tag(seed18):
    for r, tag in SEED_WEIGHTS.items():
        assert seed18[r]["spec"]["weights"] == tag
        assert get(seed18[r]["id"], "tuned").spec["weights"] == tag  # tuned: same weights (no evidence to change)
    assert get("efficientnet_b3_curricular", "seed18").spec["weights"] == SEED_WEIGHTS[4]


def test_pinned_tags_are_the_2021_files_under_the_pinned_timm():
    import timm
    import timm.models

    from shopee_core.models.image import timm_tag

    files = {"resnet50.ram_in1k": "resnet50_ram-a26f946b.pth", "resnext50_32x4d.ra_in1k": "resnext50_32x4d_ra-d733960d.pth",
             "efficientnet_b3.ra2_in1k": "efficientnet_b3_ra2-cf984f9c.pth",
             "eca_nfnet_l0.ra2_in1k": "ecanfnet_l0_ra2-e3e9ac50.pth"}
    for tag, name in files.items():
        assert timm.models.get_pretrained_cfg(tag).url.endswith("/" + name)
    assert timm.models.get_pretrained_cfg("densenet121.ra_in1k").hf_hub_id == "timm/densenet121.ra_in1k"
    # under timm 1.0.31 the default tags of resnet50 and resnext50_32x4d are newer weights; the other
    # three defaults are the seed's
    assert timm.__version__ == "1.0.31"
    assert (timm_tag("resnet50"), timm_tag("resnext50_32x4d")) == ("resnet50.a1_in1k", "resnext50_32x4d.a1h_in1k")
    for backbone in ("densenet121", "efficientnet_b3", "eca_nfnet_l0"):
        r = {"densenet121": 3, "efficientnet_b3": 4, "eca_nfnet_l0": 5}[backbone]
        assert "timm:" + timm_tag(backbone) == SEED_WEIGHTS[r]


def test_models_json_computes_the_training_facts(seed18):
    trained = [m for m in seed18.values() if m["kind"] in ("image", "text")]
    assert len(trained) == 10
    for m in trained:
        t = m["training"]
        assert {"lr_per_epoch", "optimizer", "seed", "precision", "embedding", "select_threshold"} <= set(t)
        assert len(t["lr_per_epoch"]) == 8 and all(isinstance(x, float) for x in t["lr_per_epoch"])
        assert {"name", "betas", "eps", "weight_decay"} <= set(t["optimizer"])
    ranger = seed18[5]["training"]["optimizer"]
    assert (ranger["betas"], ranger["eps"], ranger["weight_decay"], ranger["lookahead_k"],
            ranger["lookahead_alpha"]) == ([0.95, 0.999], 1e-5, 0.0, 5, 0.5)
    assert seed18[1]["training"]["lr_per_epoch"][1] == pytest.approx(1.34e-4, rel=0.01)
    assert seed18[8]["training"]["lr_per_epoch"][4] == pytest.approx(8.94e-5, rel=0.01)
    assert all("training" not in m for m in seed18.values() if m["kind"] not in ("image", "text"))


def test_matching_keys_per_profile(seed18):
    search = {r: seed18[r]["spec"]["search"] for r in seed18}
    assert {r for r, s in search.items() if s == "seed_single"} == {1, 2, 3, 4, 5, 8, 9, 10, 11, 12}
    assert (search[7], search[6], search[13]) == ("seed_tfidf", "seed_ensemble", "seed_ensemble")
    assert (search[16], search[17]) == ("seed_fusion", "seed_fusion")
    assert {search[14], search[15], search[18]} == {"per_side"}
    assert all((m["spec"]["inb_vectors"], m["spec"]["k"]) == ("raw", 50) for m in seed18.values())
    want = {"tuned": ("full", "normalised", 51), "demo": ("full", "normalised", 50),
            "smoke": ("full", "normalised", 50)}
    for profile, keys in want.items():
        for e in list_models(profile):
            assert (e.spec["search"], e.spec["inb_vectors"], e.spec["k"]) == keys, (profile, e.id)


def test_tuned_holds_the_18_recipes_and_the_curricular_member():
    tuned = {e.id: e for e in list_models("tuned")}
    assert {e.recipe for e in tuned.values() if e.recipe} == set(range(1, 19))
    # besides the recipes: the CurricularFace member of model 6 and the unit-normalising TF-IDF
    assert set(tuned) - {e.id for e in list_models("seed18") if e.recipe} == {"efficientnet_b3_curricular",
                                                                              "tfidf_units"}
    for mid in ("resnet50", "efficientnet_b3_curricular"):
        seed, t = get(mid, "seed18").spec, tuned[mid].spec
        assert (t["embedding"], t["precision"], t["select_threshold"]) == ("neck", "bf16", "scan")
        assert (t["backbone"], t["optimizer"], t["lr_schedule"]) == (seed["backbone"], seed["optimizer"],
                                                                      seed["lr_schedule"])


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
        if e.family == "image" and e.kind != "combo" and (e.recipe or e.id.endswith("curricular")):
            seed = get(e.id, "seed18").spec
            assert e.kind == "image_frozen" and e.spec["stand_in_for"] == seed["backbone"]
            assert f"stand-in for {seed['backbone']}" in e.label and e.spec["backbone"].startswith("tf_efficientnet_lite")
            assert e.spec["weights"].startswith("package:") and e.spec["pretrained"]
            assert (e.spec["loss"], e.spec["margin"]) == (seed["loss"], seed["margin"])  # the recipe's head
    assert {"effnet_lite0_zeroshot", "effnet_lite1_zeroshot", "minilm_zeroshot", "minilm_arcface", "e5_zeroshot",
            "phash"} <= {e.id for e in list_models("demo")}


def test_every_single_recipe_sees_one_input():
    from shopee_core.models.registry import modality

    for e in list_models("demo"):
        if e.kind != "combo":
            want = "image" if e.kind.startswith("image") or e.kind == "phash" else "text"
            assert e.modality == want, e.id
    assert modality("combo", "fusion") is None and modality("external", "image") == "image"
    assert modality("external", "baseline") is None

"""The leaderboard frame: what each model is, its numbers per variant, the seed's beside it."""

import numpy as np
import pytest

from shopee_core.analysis import leaderboard as lb
from shopee_core.bundle import Bundle
from shopee_core.bundle.entry import ModelEntry

from .bundles import FUSION, INB3, UNION, tiny_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return Bundle.open(tiny_bundle(tmp_path_factory))


def test_numbers_come_from_the_manifest(bundle):
    for variant in ("base", "min2", "inb"):
        frame = lb.leaderboard(bundle, "test", variant).set_index("id")
        for m in bundle.models:
            has = variant in m["metrics"]["valid"]
            # a model without the rule's variant is listed on its best on valid (and the row says which)
            shown = variant if has else max(m["metrics"]["valid"], key=lambda v: m["metrics"]["valid"][v]["f1"])
            assert frame.at[m["id"], "variant"] == shown
            assert frame.at[m["id"], "f1"] == pytest.approx(m["metrics"]["test"][shown]["f1"])


def test_ranked_by_validation_f1_under_the_rule(bundle):
    for rule in lb.RULES:
        order = lb.ranked(bundle, rule)
        assert sorted(order) == sorted(m["id"] for m in bundle.models)
        exact = [e for e in (bundle.entry(i) for i in order) if rule == "best" or lb.variant_for(e, rule) == rule]
        f1s = [e.metrics["valid"][lb.variant_for(e, rule)]["f1"] for e in exact]
        assert f1s == sorted(f1s, reverse=True)
        assert order[:len(exact)] == [e.id for e in exact]  # models lacking the rule's variant come after
    with pytest.raises(ValueError):
        lb.variant_for(bundle.entries[0], "nonsense")


def test_best_variant_is_chosen_on_validation(bundle):
    frame = lb.leaderboard(bundle, "test", "best").set_index("id")
    for m in bundle.models:
        valid = {v: d["f1"] for v, d in m["metrics"]["valid"].items()}
        best = max(valid, key=valid.get)
        assert frame.at[m["id"], "variant"] == best
        assert frame.at[m["id"], "f1"] == pytest.approx(m["metrics"]["test"][best]["f1"])
    assert frame.at[INB3, "variant"] == "inb"


def test_seed_numbers_beside_seed_recipes(bundle):
    ref = bundle.reference.set_index("id")
    frame = lb.leaderboard(bundle, "test", "min2").set_index("id")
    assert frame.at["tfidf", "recipe"] == 7
    assert frame.at["tfidf", "seed_f1"] == pytest.approx(ref.at[7, "f1_min2"])
    assert frame.at["tfidf", "seed_delta"] == pytest.approx(frame.at["tfidf", "f1"] - ref.at[7, "f1_min2"])
    assert np.isnan(frame.at["phash", "seed_f1"])
    assert frame.at[UNION, "t"].count("/") == 1  # one threshold per side


def entry(spec: dict) -> ModelEntry:
    return ModelEntry.from_manifest({"id": "m", "spec": spec})


def test_descriptions_say_what_a_model_is(bundle):
    frame = lb.leaderboard(bundle, "test").set_index("id")
    assert frame.at[FUSION, "what"] == "mean of cosine similarities: tfidf + phash"
    assert frame.at[UNION, "what"] == "union of predicted sets: tfidf + phash"
    assert frame.at[INB3, "what"].startswith("INB ×3 on tfidf_plus_phash")
    assert frame.at["tfidf", "training"] == "no training" and frame.at[FUSION, "training"] == "combination"
    spec = {"backbone": "resnet50", "loss": "arcface", "margin": 0.6, "weights": "imagenet", "image_size": 512,
            "trained": True, "epochs": 8}
    assert lb.describe(entry(spec)) == "resnet50 · ArcFace m=0.6 · ImageNet weights · 512 px · 8 epochs"
    zs = {"backbone": "tf_efficientnet_lite0", "weights": "package:efficientnet-lite0", "pretrained": True,
          "trained": False, "image_size": 224}
    assert lb.describe(entry(zs)) == "tf_efficientnet_lite0 · efficientnet-lite0 weights · 224 px"
    assert lb.training(entry(zs)) == "zero-shot"


def test_pool_and_floor(bundle):
    p = lb.pool(bundle, "test")
    assert p["postings"] == len(bundle.split_rows("test")) and 0 < p["groups"] <= p["postings"]
    floor = lb.self_only(bundle, "test")
    assert floor["precision"] == 1.0 and 0 < floor["f1"] < 1

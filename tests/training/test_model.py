"""build_model: the recipe's init, and which output is the retrieval embedding."""

import pytest
import torch

from shopee_core.models import get, with_overrides
from shopee_core.models.heads import CurricularFace
from shopee_core.training.model import build_model


def test_seed18_curricular_member_embeds_the_head_output_and_moves_t():
    entry = get("efficientnet_b3_curricular", "smoke")  # seed18's recipe at tiny size
    assert entry.spec["embedding"] == "head" and entry.spec["head_init"] == "normal_0.01"
    torch.manual_seed(0)
    model = build_model(entry, n_classes=7).eval()
    assert isinstance(model.head, CurricularFace) and model.stateful_embedding
    assert model.head.weight.std().item() == pytest.approx(0.01, rel=0.3)  # 7 x 512 values
    x = {"pixels": torch.randn(3, 3, 64, 64)}
    with torch.inference_mode():
        z = model.embed(x)
    assert z.shape == (3, 7)  # 30·cos to each train class
    assert model.head.t.item() != 0.0
    with torch.inference_mode():
        neck = model.encode(x)
        plain = model.head(neck)
    assert not torch.allclose(z[:, 1], plain[:, 1])  # column 1 carries the margin


def test_neck_embedding_and_the_projects_init():
    entry = with_overrides(get("effnet_lite0_arcface", "smoke"), {"backbone": "resnet18", "weights": "none"})
    assert (entry.spec["embedding"], entry.spec["neck_init"], entry.spec["head_init"]) == (
        "neck", "xavier_uniform", "xavier_uniform")
    model = build_model(entry, n_classes=5).eval()
    assert not model.stateful_embedding and model.head.init == "xavier_uniform"
    with torch.inference_mode():
        assert model.embed({"pixels": torch.randn(2, 3, 64, 64)}).shape == (2, 512)


def test_the_demo_stand_in_is_a_neck_and_head_over_pooled_features():
    entry = get("resnet50", "demo")
    model = build_model(entry, n_classes=7).eval()
    assert model.modality == "features" and model.encoder.feature_dim == 1280  # tf_efficientnet_lite0 pooled
    assert type(model.head).__name__ == "ArcFace" and model.head.m == get("resnet50", "seed18").spec["margin"]
    with torch.inference_mode():
        assert model.embed({"features": torch.randn(3, 1280)}).shape == (3, 512)

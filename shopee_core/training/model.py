"""A recipe's network: encoder -> neck -> margin head, and which output is the embedding.

- image: the encoder already ends in the 512-d neck (Linear + BN). ``embedding``:
  ``head`` - the seed's retrieval vector, the margin head's training output with every row
  labelled 1 (30·cos to each train class, the margin on column 1; CurricularFace also moves
  its buffer t, so the vectors depend on batch order); ``neck`` - the 512-d neck feature (the
  usual, better choice); ``backbone`` - the pooled backbone features (zero-shot models).
- features (kind ``image_frozen``, the demo's stand-ins): the encoder is only the neck
  (Linear + BN) over a frozen backbone's cached pooled features (:mod:`.features`);
  ``neck`` or ``head``.
- text: encoder = transformer + masked mean pooling; training neck Linear + BN;
  ``pooled`` (the seed's: the mean-pooled vector), ``neck`` or ``head``.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from ..errors import ShopeeError
from ..models.heads import CurricularFace, create_head
from ..models.image import NECK_INITS, create_image_encoder
from ..models.registry import ModelEntry
from ..models.text import create_text_encoder, encoder_from_folder

EMBEDDINGS = {"image": ("neck", "head", "backbone"), "features": ("neck", "head"), "text": ("pooled", "neck", "head")}


class FeatureNeck(nn.Sequential):
    """Linear -> BatchNorm1d over cached pooled features: the image encoder's neck without its backbone."""

    def __init__(self, feature_dim: int, neck: int = 512, neck_init: str = "xavier_normal"):
        # named as ImageEncoder's neck and bn, so its state dict reads like the image recipes'
        super().__init__(OrderedDict(zip(("neck", "bn"), _neck(feature_dim, neck, neck_init, "feature neck"))))
        self.feature_dim, self.neck_dim = int(feature_dim), int(neck)


def backbone_width(backbone: str) -> int:
    """Pooled feature width of a timm backbone (built without weights, so offline and quick)."""
    import timm

    return int(timm.create_model(backbone, pretrained=False, num_classes=0).num_features)


class MatchModel(nn.Module):
    def __init__(self, modality: str, encoder: nn.Module, neck: nn.Module | None, head: nn.Module | None,
                 embedding: str):
        super().__init__()
        if embedding not in EMBEDDINGS[modality]:
            raise ShopeeError(f"{modality} models embed with one of {EMBEDDINGS[modality]}, not {embedding!r}")
        if embedding == "head" and head is None:
            raise ShopeeError("the head embedding needs a margin head (a trained recipe)")
        self.modality, self.embedding = modality, embedding
        self.encoder = encoder
        self.neck = neck if neck is not None else nn.Identity()
        self.head = head

    @property
    def stateful_embedding(self) -> bool:
        """True when embedding changes the model (the seed's head output of CurricularFace moves t)."""
        return self.embedding == "head" and isinstance(self.head, CurricularFace)

    def encode(self, inputs: dict) -> torch.Tensor:
        if self.modality == "features":
            return self.encoder(inputs["features"])
        if self.modality == "image":
            return self.encoder(inputs["pixels"])
        return self.encoder(inputs["input_ids"], inputs["attention_mask"])

    def forward(self, inputs: dict, labels: torch.Tensor) -> torch.Tensor:
        """Margin-head logits for the training loss."""
        return self.head(self.neck(self.encode(inputs)), labels)

    @torch.no_grad()
    def embed(self, inputs: dict) -> torch.Tensor:
        if self.embedding == "backbone":
            return self.encoder.forward_features(inputs["pixels"])
        z = self.encode(inputs)
        if self.embedding == "pooled":
            return z
        z = self.neck(z)  # identity for images: their encoder ends in the neck
        return z if self.embedding == "neck" else self.head.seed_output(z)


def build_model(entry: ModelEntry, n_classes: int | None, from_run: str | Path | None = None) -> MatchModel:
    """The network of a trainable or zero-shot neural entry (weights resolved offline).

    ``from_run``: a training run's folder; the architecture is rebuilt from its own files
    (images: random init, text: the saved config and tokenizer) for its trained weights to load.
    """
    spec = entry.spec
    if entry.kind in ("image", "image_zeroshot"):
        weights = "none" if from_run is not None else spec["weights"]
        encoder = create_image_encoder(spec["backbone"], neck=spec.get("neck", 512), weights=weights,
                                       mish=spec.get("mish", False),
                                       neck_init=spec.get("neck_init", "xavier_normal"))
        head = _head(spec, encoder.neck_dim if entry.kind == "image" else None, n_classes)
        return MatchModel("image", encoder, None, head, spec.get("embedding", "neck"))
    if entry.kind == "image_frozen":
        encoder = FeatureNeck(backbone_width(spec["backbone"]), spec.get("neck", 512),
                              spec.get("neck_init", "xavier_normal"))
        return MatchModel("features", encoder, None, _head(spec, encoder.neck_dim, n_classes),
                          spec.get("embedding", "neck"))
    if entry.kind in ("text", "text_zeroshot"):
        if from_run is not None:
            encoder = encoder_from_folder(Path(from_run) / "encoder", spec["max_length"], backbone=spec["backbone"])
        else:
            encoder = create_text_encoder(spec["backbone"], weights=spec["weights"], max_length=spec["max_length"],
                                          tiny=spec.get("tiny", False))
        hidden = encoder.hidden_size
        neck = _neck(hidden, hidden, spec.get("neck_init", "xavier_normal"), "text neck") if entry.kind == "text" \
            else None
        head = _head(spec, hidden if entry.kind == "text" else None, n_classes)
        return MatchModel("text", encoder, neck, head, spec.get("embedding", "pooled"))
    raise ShopeeError(f"model {entry.id!r} ({entry.kind}) has no neural network")


def _neck(in_dim: int, out_dim: int, init: str, what: str) -> nn.Sequential:
    """Linear (``init`` weights, bias 0) -> BatchNorm1d: the text neck and the frozen stand-ins' neck."""
    if init not in NECK_INITS:
        raise ShopeeError(f"{what}: unknown neck_init {init!r}; choose one of: {', '.join(NECK_INITS)}")
    neck = nn.Sequential(nn.Linear(int(in_dim), int(out_dim)), nn.BatchNorm1d(int(out_dim)))
    (nn.init.xavier_normal_ if init == "xavier_normal" else nn.init.xavier_uniform_)(neck[0].weight)
    nn.init.zeros_(neck[0].bias)
    return neck


def _head(spec: dict, in_features: int | None, n_classes: int | None):
    if in_features is None or not n_classes:
        return None
    return create_head(spec["loss"], in_features, n_classes, s=spec.get("scale", 30.0), m=spec["margin"],
                       init=spec.get("head_init"), cosine=spec.get("head_cosine", "fp32"))

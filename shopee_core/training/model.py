"""A recipe's network: encoder -> neck -> margin head, and which output is the embedding.

- image: the encoder already ends in the seed's neck (Linear 512 + BN); the
  embedding is that neck feature (``neck``), the seed's head logits (``head``:
  30·cos to every train class), or for zero-shot models the pooled backbone
  features (``backbone``).
- text: encoder = transformer + masked mean pooling; training neck Linear + BN;
  the embedding is the pooled vector (``pooled``), as in the seed.
"""

from __future__ import annotations

import torch
from torch import nn

from ..errors import ShopeeError
from ..models.registry import ModelEntry

EMBEDDINGS = {"image": ("neck", "head", "backbone"), "text": ("pooled", "neck", "head")}


class MatchModel(nn.Module):
    def __init__(self, modality: str, encoder: nn.Module, neck: nn.Module | None, head: nn.Module | None,
                 embedding: str):
        super().__init__()
        if embedding not in EMBEDDINGS[modality]:
            raise ShopeeError(f"{modality} models embed with one of {EMBEDDINGS[modality]}, not {embedding!r}")
        self.modality, self.embedding = modality, embedding
        self.encoder = encoder
        self.neck = neck if neck is not None else nn.Identity()
        self.head = head

    def encode(self, inputs: dict) -> torch.Tensor:
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
        return z if self.embedding == "neck" else self.head(z, None)


def build_model(entry: ModelEntry, n_classes: int | None) -> MatchModel:
    """The network of a trainable or zero-shot neural entry (weights resolved offline)."""
    spec = entry.spec
    if entry.kind in ("image", "image_zeroshot"):
        from ..models.image import create_image_encoder

        encoder = create_image_encoder(spec["backbone"], neck=spec.get("neck", 512), weights=spec["weights"],
                                       mish=spec.get("mish", False))
        head = _head(spec, 512 if entry.kind == "image" else None, n_classes)
        return MatchModel("image", encoder, None, head, spec.get("embedding", "neck"))
    if entry.kind in ("text", "text_zeroshot"):
        from ..models.text import create_text_encoder

        encoder = create_text_encoder(spec["backbone"], weights=spec["weights"], max_length=spec["max_length"],
                                      tiny=spec.get("tiny", False))
        hidden = encoder.hidden_size
        neck = nn.Sequential(nn.Linear(hidden, hidden), nn.BatchNorm1d(hidden)) if entry.kind == "text" else None
        if neck is not None:
            nn.init.xavier_normal_(neck[0].weight)
            nn.init.zeros_(neck[0].bias)
        head = _head(spec, hidden if entry.kind == "text" else None, n_classes)
        return MatchModel("text", encoder, neck, head, spec.get("embedding", "pooled"))
    raise ShopeeError(f"model {entry.id!r} ({entry.kind}) has no neural network")


def _head(spec: dict, in_features: int | None, n_classes: int | None):
    if in_features is None or not n_classes:
        return None
    from ..models.heads import create_head

    return create_head(spec["loss"], in_features, n_classes, s=spec.get("scale", 30.0), m=spec["margin"])

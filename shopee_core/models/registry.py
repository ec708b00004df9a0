"""Registry of model recipes: one entry per id with its full spec.

A run is reproducible from its id. Later issues add the neural recipes; the
entries here need no training and work on any catalog.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

from ..errors import ShopeeError

PROFILES = ("seed18", "demo", "smoke")


@dataclass(frozen=True)
class ModelSpec:
    id: str
    label: str
    family: str                 # image | text | fusion | baseline
    recipe: int | None          # the seed's model number 1-18, or None
    profiles: tuple[str, ...]
    spec: dict = field(default_factory=dict)
    embed: Callable | None = field(default=None, repr=False, compare=False)  # (frame) -> dense or CSR

    def as_dict(self) -> dict:
        d = asdict(self)
        d.pop("embed")
        d["profiles"] = list(self.profiles)
        return d


_REGISTRY: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> ModelSpec:
    if spec.id in _REGISTRY:
        raise ValueError(f"model id {spec.id!r} registered twice")
    _REGISTRY[spec.id] = spec
    return spec


def get(model_id: str) -> ModelSpec:
    try:
        return _REGISTRY[model_id]
    except KeyError:
        raise ShopeeError(f"unknown model {model_id!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def list_models(profile: str | None = None) -> list[ModelSpec]:
    return [m for m in _REGISTRY.values() if profile is None or profile in m.profiles]


def _tfidf(frame):
    from .tfidf import per_split

    return per_split(frame["title"].tolist(), frame["split"] if "split" in frame else ["all"] * len(frame))


def _phash(frame):
    from .phash import embeddings

    return embeddings(frame["image_phash"].tolist())


register(ModelSpec(
    id="tfidf", label="TF-IDF (seed settings, fit per split)", family="text", recipe=7, profiles=PROFILES,
    spec={"backbone": "TfidfVectorizer", "weights": "none", "params": {"stop_words": "english", "binary": True,
          "max_features": 15000}, "fit": "per split", "embedding": "sparse tf-idf", "trained": False,
          "pretrained": False, "loss": None, "epochs": 0},
    embed=_tfidf,
))
register(ModelSpec(
    id="phash", label="pHash (Hamming distance of image_phash)", family="baseline", recipe=None, profiles=PROFILES,
    spec={"backbone": "imagehash.phash", "weights": "none", "embedding": "64 bits as +-1/8, cos distance = hamming/32",
          "trained": False, "pretrained": False, "loss": None, "epochs": 0},
    embed=_phash,
))

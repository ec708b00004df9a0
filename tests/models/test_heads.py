"""Margin heads against logits computed by hand with math.cos / math.acos."""

import math

import pytest
import torch
import torch.nn.functional as F

from shopee_core.errors import ShopeeError
from shopee_core.models.heads import HEADS, ArcFace, CurricularFace, create_head

S, M = 30.0, 0.5


def _unit(deg):
    return [math.cos(math.radians(deg)), math.sin(math.radians(deg))]


def _vec(deg, length):
    return [length * c for c in _unit(deg)]


# three class rows at 0°, 90° and 200° with different lengths (the heads must normalise them)
CLASS_DEG = [0.0, 90.0, 200.0]
CLASS_LEN = [2.0, 0.5, 3.0]


def _head(cls, **kw):
    head = cls(2, 3, **kw)
    with torch.no_grad():
        head.weight.copy_(torch.tensor([_vec(d, n) for d, n in zip(CLASS_DEG, CLASS_LEN)]))
    return head


def _cos(feature_deg, class_deg):
    return math.cos(math.radians(feature_deg - class_deg))


def _arc_target(c, m=M, easy=False):
    """The standard ArcFace target cosine, by hand."""
    theta = math.acos(c)
    if easy:
        return math.cos(theta + m) if c > 0 else c
    if theta + m <= math.pi:  # equivalently c > cos(pi - m)
        return math.cos(theta + m)
    return c - math.sin(math.pi - m) * m


FEATURES = [(30.0, 5.0, 0), (120.0, 0.3, 1), (10.0, 1.0, 0), (175.0, 2.0, 0), (250.0, 7.0, 2)]


def _inputs():
    x = torch.tensor([_vec(d, n) for d, n, _ in FEATURES])
    y = torch.tensor([lab for _, _, lab in FEATURES])
    return x, y


def test_arcface_matches_hand_computed_logits():
    head = _head(ArcFace, s=S, m=M)
    x, y = _inputs()
    out = head(x, y)
    assert out.shape == (5, 3) and out.dtype == torch.float32
    for i, (deg, _, lab) in enumerate(FEATURES):
        for j, cdeg in enumerate(CLASS_DEG):
            c = _cos(deg, cdeg)
            expected = S * (_arc_target(c) if j == lab else c)
            assert out[i, j].item() == pytest.approx(expected, abs=1e-4), (i, j)


def test_arcface_fallback_when_theta_plus_m_exceeds_pi():
    # feature at 175° vs class at 0°: theta = 175° = 3.054 rad, + 0.5 > pi -> linear fallback
    head = _head(ArcFace)
    out = head(torch.tensor([_vec(175.0, 1.0)]), torch.tensor([0]))
    c = math.cos(math.radians(175.0))
    assert math.acos(c) + M > math.pi
    assert out[0, 0].item() == pytest.approx(S * (c - math.sin(math.pi - M) * M), abs=1e-4)
    # and the fallback keeps the target logit below the plain cosine (still a penalty)
    assert out[0, 0].item() < S * c


def test_arcface_easy_margin():
    head = _head(ArcFace, easy_margin=True)
    x, y = _inputs()
    out = head(x, y)
    for i, (deg, _, lab) in enumerate(FEATURES):
        c = _cos(deg, CLASS_DEG[lab])
        assert out[i, lab].item() == pytest.approx(S * _arc_target(c, easy=True), abs=1e-4)


def test_arcface_other_margins_and_scale():
    head = _head(ArcFace, s=10.0, m=0.9)
    out = head(torch.tensor([_vec(40.0, 1.0)]), torch.tensor([1]))
    c = _cos(40.0, 90.0)
    assert out[0, 1].item() == pytest.approx(10.0 * _arc_target(c, m=0.9), abs=1e-4)
    assert out[0, 0].item() == pytest.approx(10.0 * _cos(40.0, 0.0), abs=1e-4)


@pytest.mark.parametrize("cls", [ArcFace, CurricularFace])
def test_without_labels_gives_scaled_cosine_to_every_class(cls):
    head = _head(cls)
    x, _ = _inputs()
    out = head(x)
    expected = torch.tensor([[S * _cos(d, c) for c in CLASS_DEG] for d, _, _ in FEATURES])
    torch.testing.assert_close(out, expected, atol=1e-4, rtol=0)


@pytest.mark.parametrize("cls", [ArcFace, CurricularFace])
def test_gradients_finite_when_feature_lies_on_its_class(cls):
    head = _head(cls).train()
    x = torch.tensor([_vec(0.0, 1.0), _vec(180.0, 1.0)], requires_grad=True)  # cos = 1 and cos = -1
    out = head(x, torch.tensor([0, 0]))
    torch.nn.functional.cross_entropy(out, torch.tensor([0, 0])).backward()
    assert torch.isfinite(x.grad).all() and torch.isfinite(head.weight.grad).all()


def test_curricularface_modulates_hard_negatives_by_hand():
    head = _head(CurricularFace, s=S, m=M).eval()
    head.t.fill_(0.3)
    # feature at 50°, label class 1 (90°): theta_y = 40°, cos(theta_y + m) = cos(40° + 0.5 rad) ≈ 0.364
    # class 0 (0°): cos 50° ≈ 0.643 > 0.364 -> hard: c·(0.3 + c); class 2 (200°): cos 150° < 0.364 -> plain
    out = head(torch.tensor([_vec(50.0, 2.0)]), torch.tensor([1]))
    c_y = _cos(50.0, 90.0)
    target = math.cos(math.acos(c_y) + M)
    c0, c2 = _cos(50.0, 0.0), _cos(50.0, 200.0)
    assert c0 > target > c2
    assert out[0, 1].item() == pytest.approx(S * target, abs=1e-4)
    assert out[0, 0].item() == pytest.approx(S * c0 * (0.3 + c0), abs=1e-4)
    assert out[0, 2].item() == pytest.approx(S * c2, abs=1e-4)
    assert head.t.item() == pytest.approx(0.3)  # eval: untouched


def test_curricularface_train_step_updates_t_then_uses_it():
    head = _head(CurricularFace).train()
    head.t.fill_(0.3)
    x, y = _inputs()
    out = head(x, y)
    target_cos = [_cos(d, CLASS_DEG[lab]) for d, _, lab in FEATURES]
    t = 0.99 * 0.3 + 0.01 * sum(target_cos) / len(target_cos)
    assert head.t.item() == pytest.approx(t, abs=1e-6)
    n_hard = 0
    for i, (deg, _, lab) in enumerate(FEATURES):
        c_y = target_cos[i]
        boundary = c_y * math.cos(M) - math.sqrt(1 - c_y * c_y) * math.sin(M)  # cos(theta_y + m)
        for j, cdeg in enumerate(CLASS_DEG):
            c = _cos(deg, cdeg)
            if j == lab:
                expected = _arc_target(c)
            elif c > boundary:
                expected = c * (t + c)
                n_hard += 1
            else:
                expected = c
            assert out[i, j].item() == pytest.approx(S * expected, abs=1e-4), (i, j)
    assert n_hard == 2  # the 175° feature: both other classes are harder than its margin target


def test_curricularface_t_only_moves_in_training_with_labels():
    head = _head(CurricularFace)
    x, y = _inputs()
    assert head.t.item() == 0.0
    head.eval()
    head(x, y)
    head(x)
    assert head.t.item() == 0.0
    head.train()
    head(x)  # no labels: an embedding pass, not a training step
    assert head.t.item() == 0.0
    with torch.no_grad():
        head(x, y)
    first = head.t.item()
    assert first != 0.0
    head(x, y)
    assert head.t.item() != first
    assert "t" in dict(head.named_buffers())  # saved with the state dict


def test_heads_normalise_inputs_and_rows():
    head = _head(ArcFace)
    x, y = _inputs()
    torch.testing.assert_close(head(x, y), head(x * 17.0, y))
    with torch.no_grad():
        head.weight.mul_(0.01)
    torch.testing.assert_close(head(x, y), _head(ArcFace)(x, y))


def test_low_precision_features_give_float32_logits():
    head = _head(ArcFace)
    x, y = _inputs()
    out = head(x.to(torch.bfloat16), y)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, head(x, y), atol=0.3, rtol=0)


@pytest.mark.parametrize("cls", [ArcFace, CurricularFace])
def test_seed_text_cosines_come_out_of_an_fp16_matmul(cls):
    """Issue 21, point 5c: under AMP the seed's ArcFace computed F.linear(F.normalize(x),
    F.normalize(W)).float() - an fp16 matmul cast to float32 after; tuned keeps float32 cosines."""
    torch.manual_seed(0)
    fp16 = cls(16, 40, cosine="autocast")
    fp32 = cls(16, 40, cosine="fp32")
    fp32.load_state_dict(fp16.state_dict())
    x = torch.randn(8, 16)
    xn, wn = F.normalize(x, dim=1), F.normalize(fp16.weight, dim=1)
    with torch.autocast("cpu", dtype=torch.float16):
        got, sound = fp16.cosine(x), fp32.cosine(x)
    assert got.dtype == torch.float32 and sound.dtype == torch.float32
    assert torch.equal(got, F.linear(xn.half(), wn.half()).float().clamp(-1, 1))  # every value an fp16 number
    assert torch.allclose(sound, (xn @ wn.T).clamp(-1, 1), atol=1e-6) and not torch.equal(sound, got)
    assert torch.equal(fp16.cosine(x), fp32.cosine(x))  # outside autocast both are float32
    from shopee_core.models import get

    assert get("xlmr_paraphrase", "seed18").spec["head_cosine"] == "autocast"
    assert get("xlmr_paraphrase", "tuned").spec["head_cosine"] == "fp32"


def test_default_inits_are_the_seeds_and_scale_margin_defaults():
    torch.manual_seed(0)
    head = ArcFace(64, 1000)  # the seed's ArcMarginProduct: Xavier uniform
    bound = math.sqrt(6.0 / (64 + 1000))
    assert head.weight.shape == (1000, 64) and head.init == "xavier_uniform"
    assert 0.9 * bound < head.weight.abs().max().item() <= bound
    cur = CurricularFace(64, 1000)  # the seed's CurricularFace kernel: N(0, 0.01)
    assert cur.init == "normal_0.01"
    assert cur.weight.std().item() == pytest.approx(0.01, rel=0.03)
    assert abs(cur.weight.mean().item()) < 1e-3
    within = (cur.weight.abs() < 0.01).float().mean().item()
    assert within == pytest.approx(0.683, abs=0.01)  # a normal's shape (a uniform box: 0.577)
    other = CurricularFace(64, 1000, init="xavier_uniform")
    assert other.weight.abs().max().item() <= bound
    for h in (head, cur):
        assert h.s == 30.0 and h.m == 0.5
    with pytest.raises(ShopeeError, match="unknown init"):
        ArcFace(4, 3, init="kaiming")


@pytest.mark.parametrize("cls", [ArcFace, CurricularFace])
def test_seed_head_output_is_30cos_with_the_margin_on_column_1(cls):
    head = _head(cls).eval()
    x, _ = _inputs()
    plain = head(x)  # 30·cos to every class
    with torch.inference_mode():
        out = head.seed_output(x)
    assert out.shape == (len(FEATURES), 3)  # one column per train class
    for i, (deg, _, _) in enumerate(FEATURES):
        c1 = _cos(deg, CLASS_DEG[1])
        assert out[i, 1].item() == pytest.approx(S * _arc_target(c1), abs=1e-4)  # the margin formula
        assert out[i, 1].item() != pytest.approx(plain[i, 1].item(), abs=1e-3)
        if cls is ArcFace:  # CurricularFace also rescales the hard columns
            torch.testing.assert_close(out[i, [0, 2]], plain[i, [0, 2]])


def test_seed_head_output_of_curricularface_moves_t_at_inference():
    head = _head(CurricularFace).eval()
    x, _ = _inputs()
    with torch.inference_mode():
        first = head.seed_output(x[:2])
        t1 = head.t.item()
        head.seed_output(x[2:])
        t2 = head.t.item()
    c = [_cos(d, CLASS_DEG[1]) for d, _, _ in FEATURES]
    assert t1 == pytest.approx(0.01 * (c[0] + c[1]) / 2, abs=1e-6)  # momentum 0.01 from t = 0
    assert t2 == pytest.approx(0.99 * t1 + 0.01 * sum(c[2:]) / 3, abs=1e-6)
    head.t.zero_()
    with torch.inference_mode():
        head.seed_output(x[2:])
        again = head.seed_output(x[:2])
    assert not torch.allclose(first, again)  # the same postings, another batch order: other vectors


def test_seed_head_output_needs_two_classes():
    with pytest.raises(ShopeeError, match="dummy label 1"):
        ArcFace(2, 1).seed_output(torch.ones(1, 2))


def test_create_head_by_name():
    assert set(HEADS) == {"arcface", "curricularface"}
    head = create_head("arcface", 8, 5, s=20.0, m=0.7)
    assert isinstance(head, ArcFace) and head.s == 20.0 and head.m == 0.7 and head.weight.shape == (5, 8)
    assert isinstance(create_head("CurricularFace", 8, 5), CurricularFace)
    with pytest.raises(ShopeeError, match="unknown margin loss 'cosface'"):
        create_head("cosface", 8, 5)


def test_bad_arguments():
    with pytest.raises(ShopeeError):
        ArcFace(0, 3)
    with pytest.raises(ShopeeError):
        CurricularFace(4, 0)
    with pytest.raises(ShopeeError):
        ArcFace(4, 3, m=4.0)
    head = ArcFace(2, 3)
    with pytest.raises(ValueError, match="labels must be in"):
        head(torch.zeros(2, 2) + 1, torch.tensor([0, 3]))
    with pytest.raises(ValueError, match="expected features"):
        head(torch.zeros(2, 5))

"""Embedding split by split as the seed did: CurricularFace's running t, and the text chunks."""

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from shopee_core.models import get
from shopee_core.models.heads import CurricularFace
from shopee_core.training.embed import by_split
from shopee_core.training.inference import chunks, embed_postings
from shopee_core.training.model import FeatureNeck, MatchModel

CPU = torch.device("cpu")


def _curricular_model():
    torch.manual_seed(3)
    head = CurricularFace(8, 5, m=0.5)
    with torch.no_grad():
        head.t.fill_(0.2)  # the checkpoint's t
    return MatchModel("features", FeatureNeck(12, 8), None, head, "head").eval()


def _setting(split_of, carry):
    torch.manual_seed(4)
    feats = torch.randn(len(split_of), 12).numpy()
    model = _curricular_model()
    spec = {"curricular_t": carry, "embed_batch_size": 4}
    return model, spec, feats


def test_curricularface_t_carries_from_valid_into_test_as_the_seed_embedded():
    """Issue 21, point 6: the seed embedded valid, then test, with one loaded model, and its
    CurricularFace updated t = 0.99 t + 0.01 mean(cos to class 1) before every batch's logits. By
    hand: t after valid's batches, then test's embeddings start from that t."""
    split_of = np.array(["test", "valid", "train"] * 6 + ["valid", "test"])  # splits interleaved in the catalog
    model, spec, feats = _setting(split_of, "carry")
    twin = copy.deepcopy(model)
    out = by_split(model, spec, split_of, np.arange(len(split_of)),
                   lambda part: embed_postings(model, spec, features=feats[part], device=CPU))
    valid, test = np.flatnonzero(split_of == "valid"), np.flatnonzero(split_of == "test")
    # t after valid, by hand: batches of 4 valid rows in catalog order
    with torch.no_grad():
        z = twin.encoder(torch.from_numpy(feats))
        cos1 = (F.normalize(z, dim=1) @ F.normalize(twin.head.weight, dim=1).T)[:, 1].clamp(-1, 1)
    t = 0.2
    for b in range(0, len(valid), 4):
        t = 0.99 * t + 0.01 * float(cos1[valid[b:b + 4]].mean())
    assert t != pytest.approx(0.2, abs=1e-4)
    # test's rows are the head's seed output starting from that t
    with torch.no_grad():
        twin.head.t.fill_(t)
        want = torch.cat([twin.head.seed_output(z[test[b:b + 4]]) for b in range(0, len(test), 4)])
    assert np.allclose(out[test], want.numpy(), atol=1e-5)
    # valid itself started from the checkpoint's t; and every split's start leaves the model as loaded
    with torch.no_grad():
        twin.head.t.fill_(0.2)
        want_valid = torch.cat([twin.head.seed_output(z[valid[b:b + 4]]) for b in range(0, len(valid), 4)])
    assert np.allclose(out[valid], want_valid.numpy(), atol=1e-5)
    assert float(model.head.t) == pytest.approx(0.2)
    # test asked for alone still follows valid's pass
    alone = by_split(model, spec, split_of, test, lambda part: embed_postings(model, spec, features=feats[part],
                                                                             device=CPU))
    assert np.allclose(alone, out[test], atol=1e-6)


def test_reset_starts_every_split_from_the_checkpoint_t():
    split_of = np.array(["valid"] * 8 + ["test"] * 8)
    model, spec, feats = _setting(split_of, "reset")
    out = by_split(model, spec, split_of, np.arange(16),
                   lambda part: embed_postings(model, spec, features=feats[part], device=CPU))
    carried, cspec, _ = _setting(split_of, "carry")
    got = by_split(carried, cspec, split_of, np.arange(16),
                   lambda part: embed_postings(carried, cspec, features=feats[part], device=CPU))
    assert np.allclose(out[:8], got[:8]) and not np.allclose(out[8:], got[8:])
    assert get("efficientnet_b3_curricular", "seed18").spec["curricular_t"] == "carry"
    assert get("efficientnet_b3_curricular", "tuned").spec["curricular_t"] == "reset"


def test_the_seeds_text_chunks_reembed_the_last_32_rows():
    """Issue 21, point 8: the seed's get_bert_embeddings embedded chunks starting at
    list(range(0, n, 32)) + [n - 32], each chunk rows [i, i + 32): the last 32 rows twice."""
    assert chunks(70, 32, "study") == [list(range(0, 32)), list(range(32, 64)), list(range(64, 70)),
                                       list(range(38, 70))]
    assert chunks(64, 32, "study") == [list(range(0, 32)), list(range(32, 64)), list(range(32, 64))]
    assert chunks(10, 32, "study") == [list(range(10)), list(range(10))]  # n - 32 < 0: the whole split
    assert chunks(70, 32) == [list(range(0, 32)), list(range(32, 64)), list(range(64, 70))]
    spec = get("xlmr_paraphrase", "seed18").spec
    assert (spec["embed_batch_size"], spec["embed_chunks"]) == (32, "study")
    assert get("xlmr_paraphrase", "tuned").spec["embed_chunks"] == "plain"


class _Recording(MatchModel):
    """A row-wise model that remembers the size of every batch it embeds."""

    def __init__(self):
        super().__init__("features", FeatureNeck(6, 4), None, None, "neck")
        self.sizes = []

    def embed(self, inputs):
        self.sizes.append(len(inputs["features"]))
        return super().embed(inputs)


def test_text_inference_is_chunked_per_split_with_the_tail_chunk():
    split_of = np.array(["valid"] * 40 + ["test"] * 35)
    torch.manual_seed(0)
    feats = torch.randn(75, 6).numpy()
    model = _Recording().eval()
    spec = {"embed_batch_size": 32, "embed_chunks": "study"}
    out = by_split(model, spec, split_of, np.arange(75),
                   lambda part: embed_postings(model, spec, features=feats[part], device=CPU))
    assert model.sizes == [32, 8, 32, 32, 3, 32]  # valid: 0-31, 32-39, 8-39; then test alike
    plain = embed_postings(model, {"embed_batch_size": 32}, features=feats, device=CPU)
    assert np.allclose(out, plain, atol=1e-6)  # a row-wise model: the re-embedded rows agree

"""Query by example: candidate lists against the truth, TF-IDF queries reproducing sklearn,
uploads through the bundle's encoders, and readable errors for bad uploads."""

import io
import json
from dataclasses import replace

import numpy as np
import pytest
import scipy.sparse as sp
from PIL import Image

from shopee_core.analysis import decisions
from shopee_core.analysis import query as q
from shopee_core.analysis.embedding_map import hashed_index, primary_error, selected_rows
from shopee_core.bundle import Bundle
from shopee_core.data.text import display_title
from shopee_core.matching import predict_query
from shopee_core.models import tfidf
from tests.tiny_bundle import FUSION, INB3, UNION, K, dash_bundle  # noqa: F401  (session fixture)

SPLIT = "test"


@pytest.fixture(scope="module")
def bundle(dash_bundle):  # noqa: F811
    return Bundle.open(dash_bundle)


@pytest.fixture(scope="module")
def catalog(dash_bundle):  # noqa: F811
    import pandas as pd

    root = dash_bundle.parent / "catalog"
    return root, pd.read_csv(root / "train.csv")


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    return buf.getvalue()


# ----------------------------------------------------------------------------- existing postings
def test_every_model_kind_gives_consistent_marks(bundle):
    labels = bundle.labels(SPLIT)
    kinds = set()
    for m in bundle.models:
        mid = m["id"]
        kinds.add(decisions.model_setting(bundle, mid)["kind"])
        pred = decisions.predictions(bundle, mid, SPLIT)
        for row in range(len(labels)):
            got = q.posting_matches(bundle, mid, SPLIT, row, pred[row], extra=2)
            predicted = {int(p) for p in pred[row] if p >= 0 and p != row}
            group = set(np.flatnonzero(labels == labels[row]).tolist()) - {row}
            assert set(got.loc[got["predicted"], "row"]) == predicted, mid
            assert set(got.loc[got["mark"] == "correct", "row"]) == predicted & group
            assert set(got.loc[got["mark"] == "wrong", "row"]) == predicted - group
            assert set(got.loc[got["mark"] == "missed", "row"]) == group - predicted
            assert (got["mark"] == "candidate").sum() <= 2
            assert row not in set(got["row"])
            assert got["row"].is_unique
            s = q.row_summary(got, len(group) + 1)
            ref = decisions.row_arrays(bundle, mid, SPLIT)
            assert s["f1"] == pytest.approx(ref["f1"][row]), mid
            # postings and ids line up with the bundle
            rows = bundle.split_rows(SPLIT)
            assert (got["posting"].to_numpy() == rows[got["row"].to_numpy()]).all()
            assert (got["posting_id"].to_numpy() == bundle.postings["posting_id"].to_numpy()[got["posting"]]).all()
    assert kinds == {"table", "union", "inb_only"}


def test_missed_members_beyond_top_k_get_their_similarity(bundle):
    labels = bundle.labels(SPLIT)
    nb = bundle.neighbors("tfidf", SPLIT)
    emb = bundle.embeddings("tfidf")
    rows = bundle.split_rows(SPLIT)
    found = 0
    for row in range(len(labels)):
        group = np.flatnonzero(labels == labels[row])
        outside = np.setdiff1d(group, nb.idx[row])
        if not len(outside):
            continue
        found += 1
        got = q.posting_matches(bundle, "tfidf", SPLIT, row, np.array([row]), extra=0).set_index("row")
        for j in outside:
            assert got.loc[j, "mark"] == "missed" and np.isnan(got.loc[j, "rank"])
            want = float((emb[rows[row]] @ emb[rows[j]].T).toarray()[0, 0])
            assert got.loc[j, "sim"] == pytest.approx(want, abs=1e-5)
            t = bundle.model("tfidf")["thresholds"]["t"]
            assert got.loc[j, "margin"] == pytest.approx(t - (1 - want), abs=1e-5)
    assert found, f"k={K} should leave some group member outside a candidate list"


def test_fusion_similarity_is_the_mean_of_its_members(bundle):
    nb = bundle.neighbors(FUSION, SPLIT)
    row = 0
    sims = q.pair_similarity(bundle, FUSION, SPLIT, row, nb.idx[row])
    mean = (q.pair_similarity(bundle, "tfidf", SPLIT, row, nb.idx[row])
            + q.pair_similarity(bundle, "effnet_lite0_zeroshot", SPLIT, row, nb.idx[row])) / 2
    assert sims == pytest.approx(mean, abs=1e-5)
    assert sims == pytest.approx(nb.sim[row], abs=2e-3)  # float16 storage
    assert np.isnan(q.pair_similarity(bundle, INB3, SPLIT, row, [1])).all()
    assert np.isnan(q.pair_similarity(bundle, UNION, SPLIT, row, [1])).all()


def test_union_sides_and_margins(bundle):
    sides = q.sides(bundle, UNION)
    assert [s.source for s in sides] == [("model", "tfidf", "base"), ("model", "effnet_lite0_zeroshot", "base")]
    assert q.sides(bundle, INB3)[0].source == ("model", INB3, "inb")
    assert q.sides(bundle, "tfidf", t=0.3)[0].t == pytest.approx(0.3)
    pred = decisions.predictions(bundle, UNION, SPLIT)
    got = q.posting_matches(bundle, UNION, SPLIT, 0, pred[0], extra=3)
    by_side = {s.source[1]: s for s in sides}
    for _, r in got[got["rank"].notna()].iterrows():
        assert r["margin"] == pytest.approx(by_side[r["via"]].t - r["dist"], abs=1e-6)


def test_search_and_defaults(bundle):
    rows = bundle.split_rows(SPLIT)
    title = str(bundle.postings["title"].iat[rows[2]])
    hits = q.search_postings(bundle, SPLIT, " ".join(title.split()[:2]).upper())
    assert 2 in hits
    pid = str(bundle.postings["posting_id"].iat[rows[5]])
    assert q.search_postings(bundle, SPLIT, pid).tolist() == [5]
    assert len(q.search_postings(bundle, SPLIT, "")) == len(rows)
    assert len(q.search_postings(bundle, SPLIT, "no-such-word-anywhere")) == 0
    shown = q.shown_titles(bundle, SPLIT)  # decoded once per split, shared by the search and the failure list
    assert shown is q.shown_titles(bundle, SPLIT) and not shown.flags.writeable
    assert list(shown) == [display_title(t) for t in bundle.postings["title"].to_numpy()[rows]]
    defaults = q.default_models(bundle)
    assert bundle.model(defaults[0])["family"] == "fusion"
    assert {bundle.model(m)["family"] for m in defaults[1:]} == {"image", "text"}


# ----------------------------------------------------------------------------- TF-IDF queries
TITLES = ["Kaos Polos Cotton 30s hitam", "kaos polos putih", "Serum wajah 30 ml the best", "and the of",
          "sepatu anak sepatu anak", "Madu murni 500 gr", "", "tas ransel laptop 14 inch"]
NEW = ["kaos polos abu", "KAOS kaos polos", "the and of", "", "unknownword zzz", "madu 500 gr asli", None]


def test_tfidf_query_reproduces_sklearn_exactly():
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(**tfidf.SEED_PARAMS, dtype=np.float32).fit(TITLES)
    state = json.loads(json.dumps(tfidf.state(vec)))  # through JSON, as stored in the bundle
    got = q.TfidfQuery(state).transform(NEW)
    want = vec.transform(["" if t is None else t for t in NEW])
    assert got.shape == want.shape
    assert np.array_equal(got.indices, sp.csr_matrix(want).indices)
    assert np.abs(got.toarray() - want.toarray()).max() < 1e-7
    assert np.abs(q.TfidfQuery(state).transform(TITLES).toarray() - vec.transform(TITLES).toarray()).max() < 1e-7


def test_tfidf_state_is_checked():
    with pytest.raises(q.QueryError):
        q.TfidfQuery({"vocabulary": {"a": 0, "b": 1}, "idf": [1.0], "params": {}})
    with pytest.raises(q.QueryError):
        q.TfidfQuery({"idf": []})


def test_tfidf_query_lands_on_the_bundle_rows(bundle):
    rows = bundle.split_rows(SPLIT)
    emb = bundle.embeddings("tfidf")
    for r in (0, 3, 7):
        title = str(bundle.postings["title"].iat[rows[r]])
        qv = q.tfidf_query(bundle, SPLIT, title)
        block = q._split_block(bundle, "tfidf", SPLIT, qv.shape[1])
        assert np.abs(block[r].toarray() - qv.toarray()).max() < 1e-6
        assert abs(block[r].toarray()).sum() == pytest.approx(abs(emb[rows[r]].toarray()).sum(), abs=1e-5)
        got = q.upload_matches(bundle, "tfidf", SPLIT, title=title, top=5)
        assert got["row"].iat[0] == r or got["sim"].iat[0] == pytest.approx(1.0, abs=1e-5)
        assert got["sim"].iat[0] == pytest.approx(1.0, abs=1e-5)
        assert got["predicted"].iat[0]


def test_missing_vectorizer_is_a_readable_error(bundle, tmp_path):
    with pytest.raises(q.QueryError, match="no vectorizer for split"):
        q.tfidf_vectorizer(bundle, "no-such-split")

    class Bare:
        root, name = tmp_path, "bare"

        def entry(self, model_id):
            return replace(bundle.entry(model_id), paths={})

        def cached(self, key, make):
            return make()

    with pytest.raises(q.QueryError, match="ships no TF-IDF vectorizer"):
        q.tfidf_query(Bare(), SPLIT, "kaos")


# ----------------------------------------------------------------------------- uploads
def test_queryable_models(bundle):
    assert set(q.queryable(bundle)) == {"tfidf", "phash", "minilm_zeroshot", "effnet_lite0_zeroshot", FUSION, UNION}
    assert q.needs(bundle, "tfidf") == {"title"} and q.needs(bundle, "phash") == {"image"}
    assert q.needs(bundle, FUSION) == {"title", "image"} and q.needs(bundle, UNION) == {"title", "image"}
    assert q.needs(bundle, INB3) == set()


def test_image_upload_finds_its_posting(bundle, catalog):
    root, frame = catalog
    rows = bundle.split_rows(SPLIT)
    pid = str(bundle.postings["posting_id"].iat[rows[4]])
    name = frame.loc[frame["posting_id"] == pid, "image"].iat[0]
    data = (root / "train_images" / name).read_bytes()
    up = q.read_upload(data, name)
    assert up.phash == frame.loc[frame["posting_id"] == pid, "image_phash"].iat[0]
    ph = q.upload_matches(bundle, "phash", SPLIT, image=up, top=3)
    assert ph["sim"].iat[0] == pytest.approx(1.0) and 4 in set(ph.loc[ph["sim"] > 0.999, "row"])
    img = q.upload_matches(bundle, "effnet_lite0_zeroshot", SPLIT, image=up, top=3)
    assert img["row"].iat[0] == 4 and img["sim"].iat[0] > 0.99
    assert img["predicted"].iat[0] and (img["rank"].to_numpy()[:3] == [1, 2, 3]).all()
    assert set(img["mark"]) <= {"predicted", "candidate"}


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """The same JPEG (pixels untouched, no re-encoding) with an EXIF Orientation tag added."""
    import struct

    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()
    payload = payload if payload.startswith(b"Exif\x00\x00") else b"Exif\x00\x00" + payload
    assert jpeg[:2] == b"\xff\xd8"
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def test_exif_rotated_upload_finds_its_posting_by_phash(bundle, catalog):
    """The data's image_phash is taken from the image as stored; an upload must be hashed the same way."""
    import imagehash
    from PIL import ImageOps

    root, frame = catalog
    rows = bundle.split_rows(SPLIT)
    pid = str(bundle.postings["posting_id"].iat[rows[4]])
    name = frame.loc[frame["posting_id"] == pid, "image"].iat[0]
    rotated = with_exif_orientation((root / "train_images" / name).read_bytes(), 6)
    with Image.open(io.BytesIO(rotated)) as im:
        shown = ImageOps.exif_transpose(im)
        assert shown.size == im.size[::-1]  # the viewer (and open_image) turns it by 90 degrees
        assert str(imagehash.phash(shown)) != bundle.postings["image_phash"].iat[rows[4]]
    up = q.read_upload(rotated, "rotated.jpg")
    assert up.size == shown.size  # shown and embedded upright
    assert up.phash == bundle.postings["image_phash"].iat[rows[4]]
    got = q.upload_matches(bundle, "phash", SPLIT, image=up, top=3)
    hit = got[got["row"] == 4]
    assert len(hit) == 1 and hit["dist"].iat[0] == pytest.approx(0.0, abs=1e-6)  # pHash distance 0


def test_fusion_and_union_uploads_combine_their_members(bundle, catalog):
    root, frame = catalog
    rows = bundle.split_rows(SPLIT)
    pid = str(bundle.postings["posting_id"].iat[rows[1]])
    up = q.read_upload((root / "train_images" / frame.loc[frame["posting_id"] == pid, "image"].iat[0]).read_bytes(),
                       "p.jpg")
    title = str(bundle.postings["title"].iat[rows[1]])
    s_txt = q.query_similarities(bundle, "tfidf", SPLIT, title=title, image=up)
    s_img = q.query_similarities(bundle, "effnet_lite0_zeroshot", SPLIT, title=title, image=up)
    fused = q.query_similarities(bundle, FUSION, SPLIT, title=title, image=up)
    assert fused == pytest.approx((s_txt + s_img) / 2, abs=1e-6)
    got = q.upload_matches(bundle, FUSION, SPLIT, title=title, image=up, top=50)
    assert got["row"].iat[0] == 1
    union = q.upload_matches(bundle, UNION, SPLIT, title=title, image=up, top=50)
    sides = {s.source[1]: s for s in q.sides(bundle, UNION)}
    want = set(np.flatnonzero(predict_query(1 - s_txt, sides["tfidf"].t, sides["tfidf"].t2))) | set(
        np.flatnonzero(predict_query(1 - s_img, sides["effnet_lite0_zeroshot"].t,
                                     sides["effnet_lite0_zeroshot"].t2)))
    assert set(union.loc[union["predicted"], "row"]) == want
    assert len(union) == len(rows)


def test_title_upload_with_a_text_encoder(bundle):
    rows = bundle.split_rows(SPLIT)
    title = str(bundle.postings["title"].iat[rows[6]])
    got = q.upload_matches(bundle, "minilm_zeroshot", SPLIT, title=title, top=4)
    assert got["row"].iat[0] == 6 and got["sim"].iat[0] > 0.999
    sims = q.query_similarities(bundle, "minilm_zeroshot", SPLIT, title=title)
    assert sims.shape == (len(rows),) and sims.dtype == np.float32


def test_inputs_a_model_needs(bundle):
    with pytest.raises(q.QueryError, match="needs a title"):
        q.upload_matches(bundle, "tfidf", SPLIT, title="  ")
    with pytest.raises(q.QueryError, match="needs an image"):
        q.upload_matches(bundle, "phash", SPLIT, title="kaos")
    with pytest.raises(q.QueryError, match="needs an image"):
        q.upload_matches(bundle, FUSION, SPLIT, title="kaos")
    with pytest.raises(q.QueryError, match="no query encoder"):
        q.upload_matches(bundle, INB3, SPLIT, title="kaos")




def bomb_png() -> bytes:
    return png_bytes(Image.new("L", (6000, 5000)))  # 30 M pixels, a few kB compressed


@pytest.mark.parametrize("data, name, match", [
    (b"", "empty.jpg", "empty"),
    (b"this is plain text, not a photo\n" * 20, "notes.jpg", "not an image"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 300, "broken.jpg", "corrupt|not an image|truncated"),
    (None, "bomb.png", "pixels"),
])
def test_bad_uploads_give_one_readable_error(data, name, match):
    data = bomb_png() if data is None else data
    with pytest.raises(q.QueryError, match=match) as info:
        q.read_upload(data, name)
    text = str(info.value)
    assert text.startswith(name) and "\n" not in text and "shopee-upload-" not in text


def test_truncated_and_oversized_uploads():
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(buf, "JPEG")
    with pytest.raises(q.QueryError, match="broken.jpg"):
        q.read_upload(buf.getvalue()[: len(buf.getvalue()) // 2], "broken.jpg")
    with pytest.raises(q.QueryError, match="larger than"):
        q.read_upload(buf.getvalue(), "big.jpg", max_bytes=1000)
    up = q.read_upload(io.BytesIO(buf.getvalue()), "../../etc/ok.jpg")
    assert up.name == "ok.jpg" and up.size == (64, 64) and len(up.phash) == 16


# ----------------------------------------------------------------------------- map helpers
def test_selected_rows_reads_customdata():
    event = {"selection": {"points": [{"customdata": [7, "t", "g", "p"], "point_index": 0},
                                      {"customdata": 3}, {"customdata": [7, "dup"]}, {"point_index": 5},
                                      {"customdata": ["x"]}, {"customdata": []}],
                           "box": [], "lasso": []}}
    assert selected_rows(event) == [7, 3]
    assert selected_rows(None) == [] and selected_rows({}) == [] and selected_rows({"selection": None}) == []

    class Attr(dict):
        __getattr__ = dict.get

    assert selected_rows(Attr(selection=Attr(points=[Attr(customdata=[np.int64(2)])]))) == [2]


def test_group_colours_are_stable_and_error_types_ordered():
    import pandas as pd

    idx = hashed_index(np.array([5, 9, 5, 11]))
    assert idx[0] == idx[2] and ((0 <= idx) & (idx < 48)).all()
    assert hashed_index(np.array([5]))[0] == idx[0]
    table = pd.DataFrame({"row": [2, 0, 1, 3], "f1": [0.5, 1.0, 0.4, 0.6], "orphan": [False, False, True, False],
                          "over_merged": [False] * 4, "unit_conflict": [True, False, True, False],
                          "label_noise": [False] * 4, "missed": [True, False, False, False]})
    assert primary_error(table).tolist() == ["correct", "orphan", "unit_conflict", "extra matches"]


def test_tfidf_without_a_saved_vectorizer_is_not_offered(bundle):
    class NoVectorizer:
        def __init__(self, b):
            self.root, self.name = b.root / "nowhere", b.name
            self.entries = tuple(replace(e, paths={k: v for k, v in e.paths.items() if k != "vectorizer"})
                                 for e in b.entries)

        def entry(self, mid):
            return next(e for e in self.entries if e.id == mid)

    nv = NoVectorizer(bundle)
    assert "tfidf" not in q.queryable(nv) and FUSION not in q.queryable(nv)
    assert "phash" in q.queryable(nv)
    assert "vectorizer" in q.unqueryable_reasons(nv)["tfidf"]
    assert q.unqueryable_reasons(bundle) == {}


def test_two_sessions_asking_for_an_encoder_at_once_build_it_once(bundle, monkeypatch):
    import threading
    import time

    built = []

    def slow_build(model):
        time.sleep(0.3)
        built.append(model.id)
        return object()

    monkeypatch.setattr(q, "_ENCODERS", q.Cache(8, size=q.one))
    monkeypatch.setattr(q, "_build_encoder", slow_build)
    model = bundle.entry("minilm_zeroshot")
    got = []
    threads = [threading.Thread(target=lambda: got.append(q.encoder(model))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert built == ["minilm_zeroshot"] and got[0] is got[1]


def test_the_vectorizer_is_read_once_per_bundle_object(dash_bundle):  # noqa: F811
    first, again = Bundle.open(dash_bundle), Bundle.open(dash_bundle)
    assert q.tfidf_vectorizer(first, SPLIT) is q.tfidf_vectorizer(first, SPLIT)
    assert q.tfidf_vectorizer(again, SPLIT) is not q.tfidf_vectorizer(first, SPLIT)  # a reopened bundle reads anew


def test_a_fusions_matches_carry_each_members_similarity(bundle):
    split, row = "test", 3
    members, w = q.fusion_parts(bundle, FUSION)
    assert members == list(bundle.entry(FUSION).members) and w.sum() == pytest.approx(1.0)
    assert q.fusion_parts(bundle, INB3)[0] == members  # an INB-only entry: the fusion it blends
    assert q.fusion_parts(bundle, "tfidf")[0] == [] and q.member_similarities(bundle, "tfidf", split, row, [1]) is None
    rows = np.arange(len(bundle.split_rows(split)))
    rows = rows[rows != row][:12]
    parts = q.member_similarities(bundle, FUSION, split, row, rows)
    fused = q.pair_similarity(bundle, FUSION, split, row, rows)
    mixed = sum(wi * parts[m].to_numpy() for m, wi in zip(members, w))
    np.testing.assert_allclose(mixed, fused, atol=1e-5)  # the fused similarity is the members' weighted mean
    for (_, r), carried in zip(parts.iterrows(), parts["carried"]):
        assert carried == max(members, key=lambda m: w[members.index(m)] * r[m])

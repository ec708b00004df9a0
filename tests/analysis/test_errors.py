"""Error taxonomy: the unit parser on real-looking titles, flags on hand-made predictions."""


import numpy as np
import pytest

from shopee_core.analysis import decisions as D
from shopee_core.analysis import errors as E
from shopee_core.bundle import Bundle
from shopee_core.metrics import row_scores

from .bundles import UNION, tiny_bundle

Q = E.parse_quantities


@pytest.mark.parametrize("title,want", [
    ("Wardah Serum Wajah 100ml", {"volume": {100}}),
    ("SERUM WAJAH 250 ML ORIGINAL", {"volume": {250}}),
    ("Aqua botol 1,5 liter", {"volume": {1500}}),
    ("AQUA 1.5L", {"volume": {1500}}),
    ("minyak goreng 2lt", {"volume": {2000}}),
    ("Parfum 30 mili edp", {"volume": {30}}),
    ("Gula pasir 200 gr", {"mass": {200}}),
    ("GULA PASIR 400gr", {"mass": {400}}),
    ("Beras pandan wangi 1kg", {"mass": {1000}}),
    ("beras 500 g", {"mass": {500}}),
    ("Madu murni 500 gram", {"mass": {500}}),
    ("kacang mede 2 ons", {"mass": {200}}),
    ("Masker 1 pcs", {"pieces": {1}}),
    ("masker earloop 3pcs", {"pieces": {3}}),
    ("Kaos kaki 1 lusin", {"pieces": {12}}),
    ("Tisu basah isi 10", {"pieces": {10}}),
    ("Sticker 5 lembar", {"pieces": {5}}),
    ("Telur asin 10 biji", {"pieces": {10}}),
    ("Kopi sachet 1 box", {"packs": {1}}),
    ("kopi 20 sachet", {"packs": {20}}),
    ("Susu UHT 3x200ml", {"volume": {200}, "pieces": {3}}),
    ("moisturizer aqua 250 ml x6", {"volume": {250}, "pieces": {6}}),
    ("Sprei 160 x 200 cm x 2", {"length": {"1600x2000"}}),
    ("kaos kaki 2 pasang", {"pairs": {2}}),
    ("Kabel data 1m", {"length": {1000}}),
    ("kabel data 100 cm", {"length": {1000}}),
    ("jack audio 3.5mm", {"length": {3.5}}),
    ("Sprei 160x200 cm", {"length": {"1600x2000"}}),
    ("Powerbank 10.000mAh", {"charge": {10000}}),
    ("Flashdisk 32gb", {"data": {32}}),
    ("Charger fast 20W", {"power": {20}}),
    ("Samsung Galaxy A52 5G", {}),
    ("HP OPPO A5s 4G LTE", {}),
    ("Kaos polos size M", {}),
    ("Sepatu sneakers 38", {}),
    ("Mainan anak 2 in 1", {}),
    ("Baju anak 1-2 tahun", {}),
    ("Tumbler 500ml/650ml", {"volume": {500, 650}}),
])
def test_parse_quantities(title, want):
    got = {k: set(v) for k, v in Q(title).items()}
    assert got == {k: set(v) for k, v in want.items()}


@pytest.mark.parametrize("a,b,conflict", [
    ("Serum 100ml", "serum 250 ml", ["volume"]),
    ("masker 1 pcs", "masker 3pcs", ["pieces"]),
    ("gula 200 gr", "gula 400gr", ["mass"]),
    ("beras 1kg", "beras 500 g", ["mass"]),
    ("beras 1kg", "beras 1000 gram", []),
    ("aqua 1,5 liter", "aqua 1500ml", []),
    ("serum 100ml", "serum wajah", []),            # only one states a volume
    ("tumbler 500ml/650ml", "tumbler 650 ml", []),  # a shared value: no conflict
    ("kabel 1m 2A", "kabel 2m 2A", ["length"]),
    ("susu 200ml isi 3", "susu 200 ml isi 6", ["pieces"]),
])
def test_quantity_conflict(a, b, conflict):
    assert E.quantity_conflict(a, b) == conflict


TITLES = ["Serum wajah 100ml", "serum wajah 250 ml", "Serum wajah 100 ml", "Kaos polos hitam", "kaos polos hitam",
          "Gula 1kg", "gula 1000 gr", "Sepatu lari"]
PHASH = ["ffff000000000000", "0000ffff00000000", "ffff000000000001", "00000000ffff0000", "aaaaaaaaaaaaaaaa",
         "1111111111111111", "2222222222222222", "0f0f0f0f0f0f0f0f"]
LABELS = np.array([1, 2, 1, 3, 4, 5, 5, 6])


def test_classify_flags_each_type():
    f = E.PostingFeatures(TITLES, PHASH)
    pred = np.full((8, 4), -1)
    pred[0, :3] = [0, 1, 2]        # 1 is a FP with a different volume -> unit conflict
    pred[1, :1] = [1]              # orphan, missed its (absent) group? group 2 has one member -> perfect
    pred[2, :2] = [2, 0]           # perfect
    pred[3, :2] = [3, 4]           # FP with the same title -> label noise
    pred[4, :1] = [4]
    pred[5, :1] = [5]              # orphan, misses 6
    pred[6, :4] = [6, 5, 7, 0]     # FPs in two other groups -> over-merged
    pred[7, :1] = [7]
    rows, pairs = E.classify(pred, LABELS, f)
    assert rows["unit_conflict"].tolist() == [True] + [False] * 7
    assert rows["label_noise"].tolist() == [False, False, False, True, False, False, False, False]
    assert rows["orphan"].tolist() == [False, False, False, False, False, True, False, False]  # singletons are right
    assert rows["over_merged"].tolist() == [False] * 6 + [True, False]
    assert rows["missed"].tolist() == [False, False, False, False, False, True, False, False]
    assert rows["wrong_members"].tolist() == [True, False, False, True, False, False, True, False]
    r = row_scores(pred, LABELS)
    np.testing.assert_allclose(rows["f1"], r["f1"])
    assert set(map(tuple, pairs[["i", "j"]].to_numpy())) == {(0, 1), (3, 4), (6, 7), (6, 0)}
    assert pairs.set_index(["i", "j"]).loc[(3, 4), "jaccard"] == 1.0


def test_near_identical_image_is_label_noise():
    titles = ["kaos polos hitam premium", "KAOS POLOS HITAM cotton"]  # one product, two sellers' words
    f = E.PostingFeatures(titles, ["ffff000000000000", "ffff00000000000f"])  # Hamming 4
    assert f.image_distance([0], [1]).tolist() == [4]
    pred = np.array([[0, 1], [1, -1]])
    rows, _ = E.classify(pred, np.array([1, 2]), f)
    assert rows["label_noise"].tolist() == [True, False]
    rows, _ = E.classify(pred, np.array([1, 2]), f, hamming_max=3)
    assert rows["label_noise"].tolist() == [False, False]


SIBLINGS = [  # (title a, title b): variants sellers show with one stock photo
    ("Softcase Macaron Samsung A51 hitam", "softcase macaron SAMSUNG A12 hitam"),   # model code
    ("Case iPhone 11 anti crack", "case iphone 12 anti crack"),
    ("Kaos polos combed 30s hitam", "kaos polos combed 30s PUTIH"),                # colour
    ("Kaos polos combed 30s size M", "kaos polos combed 30s size XL"),             # size
    ("Sepatu sekolah Steplux uk 40", "sepatu sekolah steplux no 43"),
    ("Serum wajah Glow 100ml", "serum wajah glow 250 ML"),                         # quantity
]


@pytest.mark.parametrize("a,b", SIBLINGS)
def test_shared_photo_siblings_are_variants_not_noise(a, b):
    f = E.PostingFeatures([a, b], ["0f0f0f0f0f0f0f0f"] * 2)  # one stock photo
    pred = np.array([[0, 1], [1, 0]])
    rows, pairs = E.classify(pred, np.array([1, 2]), f)
    assert not rows["label_noise"].any() and rows["shared_photo_variant"].all()
    assert pairs["variant"].all() and not pairs["label_noise"].any()
    reasons = E.pair_reasons(a, b, 0, float(pairs["jaccard"].iat[0]))
    assert reasons[0] == "shared photo, different variant" and "same image (pHash identical)" in reasons


def test_noise_and_pHash_collisions():
    titles = ["Softcase Macaron Samsung A51 hitam", "softcase macaron samsung a51 HITAM murah",  # the same listing
              "Sepatu sneakers pria", "Madu hutan asli 500ml"]  # unrelated products, near-identical photos
    f = E.PostingFeatures(titles, ["0f0f0f0f0f0f0f0f"] * 4)
    pred = np.array([[0, 1], [1, 0], [2, 3], [3, 2]])
    rows, pairs = E.classify(pred, np.array([1, 2, 3, 4]), f)
    assert rows["label_noise"].tolist() == [True, True, False, False]
    assert not rows["shared_photo_variant"].any()
    assert E.pair_reasons(titles[0], titles[1], 0, 0.8)[0] == "likely label noise"
    assert E.pair_reasons(titles[2], titles[3], 0, 0.0) == ["same image (pHash identical)"]  # said, not flagged


@pytest.mark.parametrize("a,b,kinds", [
    ("case samsung A51 hitam", "case samsung a12 hitam", ["code"]),
    ("kaos hitam", "KAOS PUTIH", ["colour"]),
    ("kaos abu-abu", "kaos grey", []),                      # one colour, two languages
    ("serum Green Tea hitam", "serum hitam", []),           # a line named after a colour is one-sided
    ("kaos 30s M ORIGINAL 100%", "kaos M", []),             # an extra code on one side is not a variant
    ("lipstik shade 08", "lipstik no 8", []),
    ("tas kecil", "tas small", []),
    ("tas kecil", "tas besar", ["size"]),
    ("jam tangan Nota Diver tali rantai biru", "jam tangan Nota Diver strap karet biru", ["material"]),
    ("strap kulit hitam", "leather strap black", []),     # one material, two languages
    ("tali rantai stainless", "strap chain", []),         # two words for one metal band
    ("tas kanvas besar", "tas besar", []),                # one side silent is no variant
    ("kaos \\xe2\\x9c\\xa8 hitam", "kaos \\xf0\\x9f\\x94\\xa5 hitam", []),  # escapes are characters, not codes
])
def test_variant_conflict(a, b, kinds):
    assert E.variant_conflict(a, b) == kinds


def test_missing_phash_is_never_noise():
    f = E.PostingFeatures(["a", "b"], [None, "zz"])
    assert f.image_distance([0], [1]).tolist() == [64]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return Bundle.open(tiny_bundle(tmp_path_factory))


def test_failure_table_worst_first_and_filters(bundle):
    t = E.failure_table(bundle, UNION, "test")
    assert len(t) == len(bundle.split_rows("test"))
    assert (np.diff(t["f1"].to_numpy()) >= 0).all()
    r = D.scores(bundle, UNION, "test", rows=True)["rows"]
    np.testing.assert_allclose(np.sort(t["f1"]), np.sort(r["f1"]))
    assert {"posting_id", "title", "f1", "precision", "recall", "n_pred", "n_true", "fp", "fn", "errors"} <= set(t)
    for _, row in t.iterrows():
        assert row["errors"] == [e for e in E.ERROR_TYPES if row[e]]
    missed = E.filter_table(t, ["missed"])
    assert len(missed) == int((t["fn"] > 0).sum())
    assert len(E.filter_table(t, [])) == int((t["f1"] < 1).sum())
    both = E.filter_table(t, ["missed", "wrong_members"], mode="all")
    assert len(both) <= len(missed)
    pairs = E.failure_pairs(bundle, UNION, "test")
    assert len(pairs) == int(t["fp"].sum())


def test_classify_handles_a_full_split():
    """A Kaggle-sized test split (6,851 rows, ~7 predictions each) classifies in one vectorised pass
    (no timing asserted: timed asserts flake on shared CPUs)."""
    rng = np.random.default_rng(0)
    n = 6851
    words = [f"w{i}" for i in range(3000)]
    units = ["100ml", "250 ml", "1kg", "500 gr", "3pcs", "1 pcs", "", "", ""]
    titles = [" ".join(rng.choice(words, 6)) + " " + str(rng.choice(units)) for _ in range(n)]
    phash = [f"{x:016x}" for x in rng.integers(0, 2**63, n)]
    labels = rng.integers(0, n // 3, n)
    pred = np.full((n, 50), -1)
    pred[:, 0] = np.arange(n)
    pred[:, 1:8] = rng.integers(0, n, (n, 7))  # ~7 predictions per row, mostly false positives
    pred = np.where(np.arange(50) < rng.integers(1, 9, n)[:, None], pred, -1)
    f = E.PostingFeatures(titles, phash)
    rows, pairs = E.classify(pred, labels, f)
    assert len(rows) == n and len(pairs) > 10_000


def test_feature_columns_do_not_depend_on_string_hashing():
    """Python orders a set of strings by their hashes, which change per process: token and variant
    columns in that order summed the finder's title evidence in another order in each server, and
    its scores moved in the last bits from one run to the next. Tokens are numbered as first seen,
    a title's variant values in sorted order."""
    words = [f"w{i}" for i in range(40)]
    f = E.PostingFeatures([" ".join(words), "w7 zz w0"], ["0", "0"])
    assert f.token_names.tolist() == words + ["zz"]
    mv, _, vd, kinds = E._indicators([{"colour": frozenset(words)}, {"colour": frozenset({"w17"})},
                                      {"size": frozenset({"xl", "m"})}])
    assert kinds == ["colour", "size"]
    assert mv[1].indices.tolist() == [sorted(words).index("w17")]  # a set's order: its place is chance
    assert vd.indices.tolist() == [0] * 40 + [1, 1]


def test_a_pools_titles_are_parsed_once_each_and_not_kept_by_the_process():
    """A pool's features parse every distinct title once, with the same quantities and variant words the
    one-title functions give (escapes, NaN and repeats included), and leave the process's memo of parses
    bounded: at 200,000 entries it kept every title of a 70,000-posting pool (~110 MB of Python objects)
    for the server's life."""
    from shopee_core.data.units import TITLE_MEMO, _find

    titles = [f"Serum {i} ml merah XL kode a{i}" for i in range(TITLE_MEMO + 500)]
    nan_at = len(titles) + 2
    titles += ["Aqua 600ml \\xc2\\xae isi 2", "KAOS HITAM \\u00e9 XL 1kg", float("nan"), None, "", "Aqua 600ml isi 2"]
    titles += titles[:50]  # repeats
    quantities, variants = E.title_parses(titles)
    assert quantities == [Q(t) for t in titles]
    assert variants == [E.variant_attributes(t) for t in titles]
    assert quantities[nan_at] == variants[nan_at] == {}  # NaN: nothing stated
    f = E.PostingFeatures(titles, ["0"] * len(titles))
    assert f.qty_values.shape[0] == len(titles) and f.attr_values.shape[0] == len(titles)
    for memo in (_find, E.parse_quantities, E.variant_attributes):
        assert len(memo.cache) <= TITLE_MEMO < len(set(map(str, titles)))

import numpy as np
import pytest

from shopee_core.errors import DataError, ShopeeError
from shopee_core.matching import Embeddings, knn
from shopee_core.models import get, list_models, phash, tfidf


def test_phash_cosine_distance_is_hamming_over_32():
    hashes = ["0000000000000000", "000000000000000f", "ffffffffffffffff", "8000000000000001"]
    e = Embeddings.from_array(phash.embeddings(hashes))
    ints = [int(h, 16) for h in hashes]
    for i in range(4):
        for j in range(4):
            ham = bin(ints[i] ^ ints[j]).count("1")
            cos = e.pair_similarity(np.array([i]), np.array([j]))[0]
            assert 1 - cos == pytest.approx(phash.hamming_to_distance(ham), abs=1e-6)


def test_phash_rejects_bad_hashes():
    with pytest.raises(DataError, match="16 hex"):
        phash.embeddings(["abc"])


def test_tfidf_per_split_equals_separate_fits():
    titles = ["kaos polos hitam", "kaos polos putih", "serum wajah 30ml", "serum wajah 50ml",
              "sepatu lari pria", "sepatu lari wanita"]
    splits = ["a", "b", "a", "b", "a", "b"]
    x = tfidf.per_split(titles, splits)
    a = tfidf.fit_transform(titles[0::2])
    sims = (x @ x.T).toarray()
    np.testing.assert_allclose(sims[np.ix_([0, 2, 4], [0, 2, 4])], (a @ a.T).toarray(), atol=1e-6)
    assert np.all(sims[np.ix_([0, 2, 4], [1, 3, 5])] == 0)  # no similarity across splits


def test_tfidf_seed_settings_and_empty_vocabulary():
    assert tfidf.SEED_PARAMS == {"stop_words": "english", "binary": True, "max_features": 15000}
    x = tfidf.fit_transform(["the", "and", ""])  # stop words only: no vocabulary, all-zero rows
    nb = knn(Embeddings.from_array(x), 3)
    assert nb.is_self.any(axis=1).all()


def test_registry_lookup():
    assert get("tfidf").recipe == 7
    assert {m.id for m in list_models("demo")} >= {"tfidf", "phash"}
    with pytest.raises(ShopeeError, match="unknown model"):
        get("nope")


def test_tfidf_units_option_makes_one_word_per_quantity():
    titles = ["Aqua botol 0,9L", "AQUA botol 900 ML", "aqua botol 600ml", "kaos polos"]
    seed = tfidf.fit_transform(titles)
    units = tfidf.fit_transform(titles, normalise_units=True)
    assert (seed[0] @ seed[1].T).toarray()[0, 0] < 0.99  # the seed's settings see different words
    assert (units[0] @ units[1].T).toarray()[0, 0] == pytest.approx(1.0, abs=1e-6)
    assert (units[0] @ units[2].T).toarray()[0, 0] < 0.99  # another quantity stays another word
    # the option travels in the fitted state: a query is embedded exactly like the rows
    x, states = tfidf.per_split(titles, ["test"] * 4, return_states=True, normalise_units=True)
    assert states["test"]["params"]["normalise_units"] is True
    q = tfidf.transform(states["test"], ["aqua BOTOL 0.9 l"])
    assert (q @ x[1].T).toarray()[0, 0] == pytest.approx(1.0, abs=1e-6)


def test_registry_offers_units_and_accent_folding_outside_seed18_only():
    from shopee_core.models.embedders import tfidf_overrides

    for profile in ("demo", "smoke"):
        e = get("tfidf_units", profile)
        assert e.kind == "tfidf" and e.recipe is None and tfidf_overrides(e) == {"normalise_units": True}
        assert tfidf_overrides(get("tfidf", profile)) == {}  # recipe 7 keeps the seed's settings
        for mid in ("minilm_zeroshot", "minilm_arcface"):
            assert get(mid, profile).spec["fold_accents"] is True
    with pytest.raises(ShopeeError):
        get("tfidf_units", "seed18")
    assert not any(e.spec.get("fold_accents") or e.spec.get("params", {}).get("normalise_units")
                   for e in list_models("seed18"))
    assert not any(get(mid, "demo").spec.get("fold_accents") for mid in ("bert_multilingual", "xlmr_paraphrase"))

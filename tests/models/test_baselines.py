import numpy as np
import pytest

from shopee_core.errors import DataError, ShopeeError
from shopee_core.matching import Embeddings, knn
from shopee_core.models import get, list_models
from shopee_core.models import phash, tfidf


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

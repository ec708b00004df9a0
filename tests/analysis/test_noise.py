"""The label-noise suspect finder: calibrated witnesses, the two kinds of suspect, evidence against,
trained models muted on their own labels, and a floor on the demo generator's planted noise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shopee_core.analysis import noise as N
from shopee_core.analysis.errors import PostingFeatures
from shopee_core.matching import Embeddings, knn

PHASH = "0" * 16


def _witness(mid, modality, rows, k=12, weight=0.7, seen=None):
    return N.Witness(mid, modality, weight, knn(Embeddings.from_array(np.asarray(rows, dtype=np.float32)), k), seen)


def _pool(seed=0):
    """Seven groups of four around their own centres in two modalities, plus: posting 0 (labelled
    group 0) shows group 1's product; groups 5 and 6 are one product under two labels; groups 2
    and 3 are siblings whose titles state 100ml vs 250ml."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(100, 107), 4)
    product = np.repeat(np.arange(7), 4)
    product[0] = 1          # mislabelled posting
    product[product == 6] = 5  # the duplicate group
    centres = {m: rng.normal(size=(7, 16)) for m in ("image", "text")}
    centres["image"][3] = centres["image"][2] + 0.05 * rng.normal(size=16)  # siblings look alike
    centres["text"][3] = centres["text"][2] + 0.05 * rng.normal(size=16)
    rows = {m: c[product] + 0.25 * rng.normal(size=(len(labels), 16)) for m, c in centres.items()}
    titles = [f"brand{p} item{p} {'100ml' if p == 2 else '250ml' if p == 3 else ''}" for p in product]
    feats = PostingFeatures(titles, [PHASH] * len(labels))
    ids = [f"p{i}" for i in range(len(labels))]
    return labels, rows, feats, ids


def _suspects(witnesses, labels, feats, ids, **cfg):
    return N.find_suspects(witnesses, labels, ids, feats, N.SuspectConfig(**cfg))


def test_the_mislabelled_posting_and_the_duplicate_pair_come_first():
    labels, rows, feats, ids = _pool()
    ws = [_witness("img", "image", rows["image"]), _witness("txt", "text", rows["text"])]
    found = _suspects(ws, labels, feats, ids, min_pair_score=-1e9)
    posts = found[found["kind"] == "posting"]
    top = posts.iloc[0]
    assert (top["posting_id"], top["label_group"], top["other_label_group"]) == ("p0", 100, 101)
    assert top["score"] > 0 and top["image"] > 0 and top["text"] > 0  # both modalities vouch for the move
    assert list(found.columns[:5]) == N.COLUMNS[:5]  # the evidence in words comes from describe()
    assert found["score"].is_monotonic_decreasing
    pairs = found[found["kind"] == "group_pair"].reset_index(drop=True)
    assert (pairs.loc[0, "label_group"], pairs.loc[0, "other_label_group"]) == (105, 106)
    siblings = pairs[(pairs["label_group"] == 102) & (pairs["other_label_group"] == 103)]
    assert len(siblings) == 1 and siblings["against"].iat[0] == 1  # 100ml vs 250ml argues against
    # without the evidence against, the siblings (made alike) would rank near the duplicates
    free = _suspects(ws, labels, feats, ids, min_pair_score=-1e9, conflict_penalty=0.0)
    fp = free[free["kind"] == "group_pair"]
    gap = lambda f: float(f[(f["label_group"] == 102) & (f["other_label_group"] == 103)]["score"].iat[0])  # noqa: E731
    assert gap(fp) - gap(pairs) == pytest.approx(10.0)
    # the evidence says what argues against, every title of a side counting
    assert N.stated_conflicts(["Lumi serum 100ml", "Lumi serum merah"], ["Lumi serum 250 ML", "Lumi biru"]) == [
        "colour red vs blue", "volume 100 ml vs 250 ml"]


def test_listing_floors_and_the_witness_checks():
    labels, rows, feats, ids = _pool()
    ws = [_witness("img", "image", rows["image"]), _witness("txt", "text", rows["text"])]
    everything = _suspects(ws, labels, feats, ids, min_score=-1e9, min_pair_score=-1e9)
    listed = _suspects(ws, labels, feats, ids)
    assert len(listed) < len(everything)
    assert (listed.loc[listed["kind"] == "posting", "score"] > 0).all()
    pairs = listed[listed["kind"] == "group_pair"]
    # the floor reads the cross pairs (the score before the shortfall against the groups' own pairs)
    assert (pairs["score"] + pairs["image_shortfall"] + pairs["text_shortfall"] > -6).all()
    assert (pairs[["image_shortfall", "text_shortfall"]] >= 0).all().all()
    with pytest.raises(N.NoiseError, match="no single model"):
        N.find_suspects([], labels, ids, feats)
    with pytest.raises(N.NoiseError, match="modality"):
        N.Witness("x", "audio", 0.5, ws[0].neighbors)
    with pytest.raises(N.NoiseError, match="rows"):
        N.pair_evidence([_witness("img", "image", rows["image"][:10], k=5)], labels)


def _duplicate_among_siblings(seed):
    """Ten groups of four. Groups 208 and 209 are one product whose listings vary a lot (fresh photos
    and seller titles on both sides); 200/201 and 202/203 are sibling pairs: tight groups whose
    centres lie close, closer across than the duplicate's listings lie to each other, and whose
    titles state nothing that tells them apart."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(200, 210), 4)
    product = np.repeat(np.arange(10), 4)
    product[product == 9] = 8
    spread = np.repeat(np.where(np.arange(10) == 8, 0.45, 0.12), 4)[:, None]
    rows = {}
    for m in ("image", "text"):
        centres = rng.normal(size=(10, 16))
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        centres[1] = centres[0] + 0.075 * rng.normal(size=16)
        centres[3] = centres[2] + 0.075 * rng.normal(size=16)
        rows[m] = centres[product] + spread * rng.normal(size=(len(labels), 16)) / 4
    # every listing its own photo and title (a copy would be one listing twice: no measure of a group)
    titles = [f"brand{p // 2} item{p // 2} seller{i}" for i, p in enumerate(product)]
    hashes = [f"{h:016x}" for h in rng.integers(1, 2**63, size=len(labels))]
    return labels, rows, PostingFeatures(titles, hashes), [f"p{i}" for i in range(len(labels))]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_duplicate_group_outranks_close_siblings(seed):
    """Siblings' cross pairs can be as close as a loose duplicate's, in absolute terms; what tells
    them apart is that each sibling group's own listings are much closer still, while a product
    listed twice matches across about as well as within. The cross-pair probability alone put a
    sibling pair first (every seed here); weighed against the groups' own pairs the duplicate is
    first, and the siblings' shortfall is what holds them back."""
    labels, rows, feats, ids = _duplicate_among_siblings(seed)
    ws = [_witness(m, m, rows[m]) for m in ("image", "text")]
    pairs = _suspects(ws, labels, feats, ids, min_pair_score=-1e9)
    pairs = pairs[pairs["kind"] == "group_pair"].reset_index(drop=True)
    assert (pairs.loc[0, "label_group"], pairs.loc[0, "other_label_group"]) == (208, 209)
    short = pairs["image_shortfall"] + pairs["text_shortfall"]
    siblings = pairs["label_group"].isin([200, 202]) & (pairs["other_label_group"] == pairs["label_group"] + 1)
    assert siblings.sum() == 2 and (short[siblings] > short[0] + 5).all()
    cross = pairs["score"] + short  # the cross-pair part alone: a sibling pair outscores the duplicate
    assert cross[siblings].max() > cross[0]


def test_copies_do_not_measure_a_group():
    """A group's own pairs that are one listing twice (a re-posted photo, a copied title) are left
    out of what a cross pair is held against; a group of nothing but copies sets no bar."""
    labels, rows, feats, ids = _duplicate_among_siblings(0)
    ws = [_witness(m, m, rows[m]) for m in ("image", "text")]
    ev = N.pair_evidence(ws, labels)
    codes = np.unique(labels, return_inverse=True)[1]
    fresh = N.fresh_cohesion(ev, feats, codes)
    assert fresh.pairs.tolist() == [6.0] * 10
    hashes = [f"{h:016x}" for h in np.random.default_rng(9).integers(1, 2**63, size=len(labels))]
    copied = PostingFeatures([t if c != 0 else "One  title" if i % 2 else "one title"  # group 200: one title
                              for i, (t, c) in enumerate(zip(feats.titles, codes))],
                             [h if c != 1 else PHASH for h, c in zip(hashes, codes)])  # group 201: one photo
    again = N.fresh_cohesion(ev, copied, codes)
    assert again.pairs[:2].tolist() == [0.0, 0.0] and again.pairs[2:].tolist() == [6.0] * 8
    assert np.isnan(again.pooled("image", [0], [1])[0])
    assert again.pooled("text", [0], [2])[0] == pytest.approx(fresh.sums["text"][2] / 6)


def test_calibration_is_monotone_and_absent_pairs_are_rare_matches():
    labels, rows, _, _ = _pool()
    w = _witness("img", "image", rows["image"])
    ev = N.pair_evidence([w], labels)
    keys, sims = N._table_pairs(w.neighbors, len(labels))
    probs = ev.calibration[0](np.sort(sims))
    assert np.all(np.diff(probs) >= -1e-12)
    assert 0 < ev.absent_witness[0] < ev.prior < probs.max()
    assert ev.calibration[0]([np.nan])[0] == ev.absent_witness[0]  # beyond the top k: the absent rate
    assert ev.lookup([3, 0], [0, 3]).tolist()[0] == ev.lookup([0], [3])[0]  # either order, one pair


def test_a_pairs_similarity_is_read_from_either_row_of_the_table():
    labels, rows, _, _ = _pool()
    nb = _witness("img", "image", rows["image"]).neighbors
    keys, sims = N._table_pairs(nb, len(labels))
    a, b = keys // len(labels), keys % len(labels)
    assert np.array_equal(N.pair_similarities(nb, a, b), sims)
    assert np.array_equal(N.pair_similarities(nb, b, a), sims)  # either order
    held = set(keys.tolist())
    far = [(i, j) for i in range(len(labels)) for j in range(i + 1, len(labels)) if i * len(labels) + j not in held]
    assert far and np.isnan(N.pair_similarities(nb, [far[0][0]], [far[0][1]])).all()


def test_a_trained_model_is_not_heard_on_its_own_labels():
    """A model trained on the labels pulls a mislabelled posting into its group: its similarity to
    the group's members is memory. Muted there, the other witnesses' evidence decides."""
    labels, rows, feats, ids = _pool(seed=1)
    memory = rows["image"].copy()
    memory[0] = memory[1:4].mean(axis=0)  # learnt: posting 0 looks like its (wrong) group
    text = _witness("txt", "text", rows["text"])
    seen = np.ones(len(labels), dtype=bool)

    def score(seen_mask):
        found = _suspects([_witness("trained", "image", memory, seen=seen_mask), text], labels, feats, ids,
                          min_score=-1e9)
        hit = found[(found["posting_id"] == "p0") & (found["other_label_group"] == 101)]
        return float(hit["score"].iat[0]) if len(hit) else -np.inf
    assert score(seen) > score(None) + 1.0


# ----------------------------------------------------------------------------- planted noise
@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A 600-posting demo catalog with more planted noise than the default (so a small catalog
    holds enough cases), small images (only pHash reads them)."""
    from shopee_core.data.demo import generate_catalog, read_noise

    out = tmp_path_factory.mktemp("noisy")
    generate_catalog(out, n_postings=600, seed=3, image_size=64, progress=False, group_noise=0.08,
                     posting_noise=0.1)
    frame = pd.read_csv(out / "train.csv", dtype={"image_phash": str})
    return frame, read_noise(out / "noise.csv")


def _precision_at_half_recall(hits, total):
    cum = np.cumsum(hits)
    need = int(np.ceil(total / 2))
    at = int(np.searchsorted(cum, need)) + 1
    return need / at if cum[-1] >= need else 0.0


def test_floor_on_planted_noise(planted):
    """TF-IDF and TF-IDF with units (text) and pHash (image), every posting one pool: the planted
    postings are found (precision >= 0.5 at recall 0.5; 0.56 when this test was written: 20
    planted, the 10th found at rank 18) and planted duplicate groups rank far above chance (7 of
    the 9 planted pairs in the top 20 when written; floor 5)."""
    from shopee_core.models import phash, tfidf

    frame, noise = planted
    labels = frame["label_group"].to_numpy()
    titles = frame["title"].tolist()
    ws = [N.Witness("tfidf", "text", 0.77, knn(Embeddings.from_array(tfidf.fit_transform(titles)), 20)),
          N.Witness("tfidf_units", "text", 0.78,
                    knn(Embeddings.from_array(tfidf.fit_transform(titles, normalise_units=True)), 20)),
          N.Witness("phash", "image", 0.57, knn(Embeddings.from_array(phash.embeddings(frame["image_phash"])), 20))]
    feats = PostingFeatures(frame["title"].to_numpy(), frame["image_phash"].to_numpy())
    found = N.find_suspects(ws, labels, frame["posting_id"].to_numpy(), feats)
    pairs = noise[noise["kind"] == "group_pair"]
    root = dict(zip(pairs["label_group"], pairs["same_product_as"]))
    r = lambda g: root.get(int(g), int(g))  # noqa: E731
    posts = noise[noise["kind"] == "posting"]
    shows = {p: r(g) for p, g in zip(posts["posting_id"], posts["same_product_as"])}
    p = found[found["kind"] == "posting"]
    hits = [shows.get(pid) is not None and r(b) == shows[pid]
            for pid, b in zip(p["posting_id"], p["other_label_group"])]
    assert _precision_at_half_recall(hits, len(posts)) >= 0.5
    g = found[found["kind"] == "group_pair"]
    pair_hits = np.asarray([r(a) == r(b) for a, b in zip(g["label_group"], g["other_label_group"])])
    assert len(pairs) >= 8 and pair_hits[:20].sum() >= 5


# ----------------------------------------------------------------------------- a bundle, and the command
def test_bundle_suspects_and_the_command(tmp_path_factory, tmp_path, capsys):
    from shopee_core.bundle import Bundle
    from shopee_core.cli import main
    from tests.analysis.bundles import tiny_bundle

    path = tiny_bundle(tmp_path_factory)
    bundle = Bundle.open(path)
    ws = N.witnesses(bundle, "test")
    assert {w.id for w in ws} == {"tfidf", "phash"}  # single models only: fusions, unions, INB add nothing
    assert {w.modality for w in ws} == {"text", "image"} and all(0 < w.weight <= 1 for w in ws)
    both = N.bundle_suspects(bundle, "all")  # no 'all' pool in this bundle: every pool it shows
    assert set(both["split"]) <= {"valid", "test"} and both["score"].is_monotonic_decreasing
    assert N.bundle_suspects(bundle.relabelled(bundle.postings["label_group"].to_numpy(), "x"), "test").equals(
        N.bundle_suspects(bundle, "test"))  # always about the labels the bundle ships
    out = tmp_path / "s.csv"
    assert main(["suspects", "--bundle", str(path), "--split", "test", "--top", "3", "--out", str(out),
                 "--quiet"]) == 0
    table = pd.read_csv(out, dtype={"posting_id": str}, keep_default_na=False)
    assert list(table.columns) == N.COLUMNS and len(table) <= 3 and table["score"].is_monotonic_decreasing
    assert set(table["kind"]) <= {"posting", "group_pair"}
    assert ((table["kind"] == "posting") == (table["posting_id"] != "")).all()
    capsys.readouterr()
    for bad in (["--split", "train"], ["--top", "0"]):
        assert main(["suspects", "--bundle", str(path), "--out", str(tmp_path / "x.csv"), *bad]) == 1
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err
    assert not (tmp_path / "x.csv").exists()


def test_the_evidence_in_words_can_wait_for_the_suspect_shown(tmp_path_factory):
    """The Review page lists suspects without their words and describes the one it shows: the same
    words the command writes for it."""
    from shopee_core.bundle import Bundle
    from tests.analysis.bundles import tiny_bundle

    bundle = Bundle.open(tiny_bundle(tmp_path_factory))
    bare = N.bundle_suspects(bundle, "test", evidence=False)
    full = N.bundle_suspects(bundle, "test")
    assert "evidence" not in bare and len(bare) == len(full) > 0
    assert full.drop(columns="evidence").equals(bare)
    ctx = N.pool_context(bundle, "test")
    assert [N.describe(ctx, r) for r in bare.itertuples(index=False)] == full["evidence"].tolist()


def test_tables_that_hold_no_pair_give_no_suspect():
    """Every posting alone in every table (k = 1): nothing links two postings, so nothing is suspect."""
    from shopee_core.matching import Neighbors

    labels, _, feats, ids = _pool()
    n = len(labels)
    alone = Neighbors(np.arange(n, dtype=np.int32)[:, None], np.ones((n, 1), np.float32))
    for ws in ([N.Witness("a", "image", 0.5, alone), N.Witness("b", "text", 0.5, alone)],
               [N.Witness("a", "image", 0.5, alone)]):
        found = N.find_suspects(ws, labels, ids, feats)
        assert found.empty and list(found.columns[:5]) == N.COLUMNS[:5]


def test_the_finder_says_how_far_it_is():
    labels, rows, feats, ids = _pool()
    ws = [_witness("img", "image", rows["image"]), _witness("txt", "text", rows["text"])]
    seen = []
    found = N.find_suspects(ws, labels, ids, feats, progress=lambda done, total, what: seen.append((done, total, what)))
    assert [d for d, _, _ in seen] == list(range(1, 3 * len(ws) + 4)) and {t for _, t, _ in seen} == {3 * len(ws) + 3}
    assert seen[0][2] == "img: its pairs" and seen[-1][2] == "group-pair suspects"
    assert found.equals(N.find_suspects(ws, labels, ids, feats))


def test_narrow_keys_change_nothing(monkeypatch):
    """(posting, group) and group-pair keys are int32 where the pool's size allows (half the sort's time
    and memory at 70,000 postings): the suspects, their scores and their columns' types are those of
    int64 keys, which bigger pools use."""
    labels, rows, feats, ids = _pool()
    ws = [_witness("img", "image", rows["image"]), _witness("txt", "text", rows["text"])]
    narrow = _suspects(ws, labels, feats, ids, min_pair_score=-1e9)
    assert N._key_type(len(labels) ** 2) is np.int32 and N._key_type(2**31 + 1) is np.int64
    monkeypatch.setattr(N, "_key_type", lambda bound: np.int64)
    wide = _suspects(ws, labels, feats, ids, min_pair_score=-1e9)
    assert len(narrow) > 6 and narrow.equals(wide) and (narrow.dtypes == wide.dtypes).all()


def test_blocks_of_pairs_change_nothing(monkeypatch):
    """A 70,000-posting pool's millions of (posting, group) and group pairs are weighed a block at a
    time: the suspects and their scores are those of one block."""
    labels, rows, feats, ids = _pool()
    ws = [_witness("img", "image", rows["image"]), _witness("txt", "text", rows["text"])]
    whole = _suspects(ws, labels, feats, ids, min_pair_score=-1e9)
    monkeypatch.setattr(N, "BLOCK", 3)
    blocked = _suspects(ws, labels, feats, ids, min_pair_score=-1e9)
    assert len(whole) > 2 * 3 and whole.equals(blocked)


def _family_with_a_duplicate(seed):
    """One family of four look-alike groups (the same brand, line and photo design): 300 and 301 are
    one product listed twice, both stating its colour (navy); 302 is a sibling stating another colour
    (mint), so colour is what this family varies in; 303 is a sibling whose titles state no colour.
    Two more groups, 304 and 305, another family, both state 250ml; no group the models link them to
    states another volume."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(300, 306), 4)
    product = np.repeat(np.arange(6), 4)
    product[product == 1] = 0
    rows = {}
    for m in ("image", "text"):
        centre = rng.normal(size=16)
        centres = centre + 0.2 * rng.normal(size=(6, 16))
        centres[4:] = rng.normal(size=(2, 16)) * 3
        centres[5] = centres[4] + 0.3 * rng.normal(size=16)
        centres[1] = centres[0] + 0.2 * rng.normal(size=16)  # each listing afresh: no closer than siblings
        rows[m] = centres[np.repeat(np.arange(6), 4)] + 0.3 * rng.normal(size=(len(labels), 16))
    words = {0: "navy", 1: "navy", 2: "mint", 3: "", 4: "250ml", 5: "250ml"}
    shop = [f"toko {a}{b}" for a in "abcdef" for b in "pqrs"]  # no digits: a code would be a variant
    titles = [f"{'steplux canvas' if g < 4 else 'riniro lock'} {shop[i]} {words[g]}"
              for i, g in enumerate(np.repeat(np.arange(6), 4))]
    hashes = [f"{h:016x}" for h in rng.integers(1, 2**63, size=len(labels))]
    return labels, rows, PostingFeatures(titles, hashes), [f"p{i}" for i in range(len(labels))]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_agreeing_on_what_the_family_varies_in_lifts_a_duplicate(seed):
    """A duplicate group and a sibling whose titles do not state the attribute look the same to the
    models; what tells them apart is that the duplicate states the very value (navy) of the kind its
    family varies in (colour: a linked sibling says mint). Two groups that agree on a kind nobody
    near them varies in (304/305: 250ml) gain nothing from it."""
    labels, rows, feats, ids = _family_with_a_duplicate(seed)
    ws = [_witness(m, m, rows[m]) for m in ("image", "text")]

    def pairs(**cfg):
        p = _suspects(ws, labels, feats, ids, min_pair_score=-1e9, **cfg)
        p = p[p["kind"] == "group_pair"].set_index(["label_group", "other_label_group"])
        return p

    on, off = pairs(agreement_bonus=4.0), pairs(agreement_bonus=0.0)
    assert on.loc[(300, 301), "agrees"] == 1
    family = [k for k in on.index if k[0] < 304 and k[1] < 304]
    assert family[0] == (300, 301)
    assert (on.loc[[(300, 303), (301, 303)], "agrees"] == 0).all()
    assert on.loc[(300, 302), "against"] == 1 and on.loc[(301, 302), "against"] == 1
    assert on.loc[(304, 305), "agrees"] == 0
    # the evidence names what both state (codes are no variant: "30s" is left out)
    assert N.stated_agreements(["Riniro toples navy 350ml", "riniro"], ["RINIRO navy 350 ML combed 30s"]) == [
        "colour navy", "volume 350 ml"]
    if seed == 0:  # without the agreement (and the title splits: navy vs none) a sibling pair came first here
        bare = pairs(agreement_bonus=0.0, split_weight=0.0)
        assert [k for k in bare.index if k[0] < 304 and k[1] < 304][0] != (300, 301)
    assert on.loc[(300, 301), "score"] - off.loc[(300, 301), "score"] == pytest.approx(4.0)


def _families_split_by_a_word(seed):
    """Eight families of three look-alike groups, four listings each: one brand word per family,
    siblings that differ in a word no parser reads (made-up words, so nothing but the pool's own
    labels can say what they mean), stated by most listings, and seller words at random. In family
    0, groups 400 and 401 are one product listed twice (the same word, listed afresh), and its
    sibling 402, stating another word, lies closer to 400 than 401 does."""
    rng = np.random.default_rng(seed)
    pool = np.asarray(["velo", "quil", "zorb", "mank", "tesh", "purd"])
    sellers = np.asarray(["toko", "grosir", "promo", "kirim", "cepat", "hemat", "ready", "stok", "asli", "baru"])
    labels = np.repeat(np.arange(400, 424), 4)
    rows = {m: [] for m in ("image", "text")}
    titles = []
    for f in range(8):
        words = rng.choice(pool, size=3, replace=False)
        if f == 0:
            words[1] = words[0]  # 401 is 400 listed again
        for m in rows:
            centre = rng.normal(size=16) * 3
            centres = centre + 0.4 * rng.normal(size=(3, 16))
            if f == 0:
                centres[1] = centres[0] + 0.25 * rng.normal(size=16)  # listed afresh
                centres[2] = centres[0] + 0.02 * rng.normal(size=16)  # the sibling: as alike as can be
            rows[m].append(np.repeat(centres, 4, axis=0) + 0.3 * rng.normal(size=(12, 16)))
        for g in range(3):
            for _ in range(4):
                said = words[g] if rng.random() < 0.8 else ""
                titles.append(f"brand{'abcdefgh'[f]} {said} {' '.join(rng.choice(sellers, size=2, replace=False))}")
    rows = {m: np.vstack(v) for m, v in rows.items()}
    hashes = [f"{h:016x}" for h in rng.integers(1, 2**63, size=len(labels))]
    return labels, rows, PostingFeatures(titles, hashes), [f"p{i}" for i in range(len(labels))]


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_a_word_siblings_split_in_holds_them_apart(seed):
    """Siblings whose titles differ in a word the parsers do not read look like a product listed
    twice to the models. Learnt from the pool (listings of one group state their word together,
    look-alike groups' listings do not), that word is evidence against the sibling pair, while seller
    words weigh nothing: with it the duplicate comes first, without it the sibling pair did."""
    labels, rows, feats, ids = _families_split_by_a_word(seed)
    ws = [_witness(m, m, rows[m]) for m in ("image", "text")]

    def pairs(**cfg):
        p = _suspects(ws, labels, feats, ids, min_pair_score=-1e9, **cfg)
        return p[p["kind"] == "group_pair"].reset_index(drop=True)

    def first(p):
        fam = p[(p["label_group"] < 403) & (p["other_label_group"] < 403)]
        return tuple(fam[["label_group", "other_label_group"]].iloc[0])

    on, off = pairs(), pairs(split_weight=0.0)
    assert first(off) != (400, 401)  # a sibling pair first without the words' evidence
    assert first(on) == (400, 401)
    at = lambda p, a, b: p[(p["label_group"] == a) & (p["other_label_group"] == b)].iloc[0]  # noqa: E731
    assert at(on, 400, 402)["differs"] > at(on, 400, 401)["differs"] + 2.0
    codes = np.unique(labels, return_inverse=True)[1]
    fam = np.asarray([[a, b] for f in range(8) for a, b in ((0, 1), (0, 2), (1, 2))]) + np.repeat(np.arange(8) * 3, 3)[:, None]
    splits = N.title_splits(feats, codes, fam[:, 0], fam[:, 1])
    w = dict(zip(splits.names, splits.weights))
    assert min(w[t] for t in ("velo", "quil", "zorb", "mank", "tesh", "purd") if t in w) > 0.3
    assert max(w[t] for t in ("toko", "grosir", "promo", "kirim", "cepat", "hemat")) < 0.3
    # the evidence names the words
    said = N.describe({"features": feats, "labels": labels, "witnesses": [], "calibration": [],
                       "title_splits": splits},
                      at(on, 400, 402))
    assert "only one side's titles say '" in said

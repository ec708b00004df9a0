"""The live decision layer against the plain oracles (metrics.score, naive Python sets)."""

import numpy as np
import pandas as pd
import pytest

from shopee_core.analysis import decisions as D
from shopee_core.analysis import plane as P
from shopee_core.bundle import Bundle
from shopee_core.errors import ShopeeError
from shopee_core.matching import Embeddings, Neighbors, fuse, knn, predict, union
from shopee_core.matching import inb as inb_mod
from shopee_core.matching.reference import naive_f1, naive_predict
from shopee_core.matching.union import PairTable
from shopee_core.metrics import row_scores, score

from .bundles import FUSION, INB3, UNION, tiny_bundle

SPLITS = ("valid", "test")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return Bundle.open(tiny_bundle(tmp_path_factory))


def close(a: dict, b: dict):
    for k in ("f1", "precision", "recall"):
        assert a[k] == pytest.approx(b[k], abs=1e-12), k


# ------------------------------------------------------------------ every manifest kind
def test_every_model_kind_has_a_setting(bundle):
    kinds = {m["id"]: D.model_setting(bundle, m["id"])["kind"] for m in bundle.models}
    assert kinds == {"tfidf": "table", "phash": "table", FUSION: "table", UNION: "union", INB3: "inb_only"}
    sides = D.model_setting(bundle, UNION)["sides"]
    assert [s["model"] for s in sides] == ["tfidf", "phash"]


@pytest.mark.parametrize("split", SPLITS)
def test_tuned_scores_equal_the_oracles_for_every_model(bundle, split):
    labels = D.labels(bundle, split)
    for m in bundle.models:
        mid = m["id"]
        got = D.scores(bundle, mid, split)
        pred = D.predictions(bundle, mid, split)
        close(got, score(pred, labels))
        variant = "inb" if mid == INB3 else "min2"
        # the manifest's numbers come from the same tables (float16 similarities aside)
        assert got["f1"] == pytest.approx(m["metrics"][split][variant]["f1"], abs=0.02)


@pytest.mark.parametrize("t,t2", [(0.1, None), (0.3, 0.5), (0.45, 0.45), (0.6, 0.9), (0.0, 0.7), (1.2, None)])
def test_single_model_any_threshold_matches_naive_sets(bundle, t, t2):
    for mid in ("tfidf", "phash", FUSION):
        nb = bundle.neighbors(mid, "test")
        labels = D.labels(bundle, "test")
        got = D.scores(bundle, mid, "test", t=t, t2=t2, min2=t2 is not None)
        close(got, naive_f1(naive_predict(nb.idx, nb.sim, t, t2), labels))


@pytest.mark.parametrize("seed", range(6))
def test_union_any_thresholds_matches_union_of_predictions(bundle, seed):
    rng = np.random.default_rng(seed)
    ta, tb = rng.uniform(0, 0.9, 2)
    t2a, t2b = (ta + rng.uniform(0, 0.5), tb + rng.uniform(0, 0.5)) if seed % 2 else (None, None)
    d = D.decision(bundle, UNION, sides=[(ta, t2a), (tb, t2b)])
    labels = D.labels(bundle, "valid")
    want_pred = union(predict(bundle.neighbors("tfidf", "valid"), ta, t2a),
                      predict(bundle.neighbors("phash", "valid"), tb, t2b))
    got = D.scores(bundle, d, "valid", rows=True)
    close(got, score(want_pred, labels))
    want_rows = row_scores(want_pred, labels)
    np.testing.assert_array_equal(got["rows"]["n_pred"], want_rows["n_pred"])
    got_pred = D.predictions(bundle, d, "valid")
    assert [set(r[r >= 0]) for r in got_pred] == [set(r[r >= 0]) for r in want_pred]


def test_inb_only_entry_uses_its_inb_table(bundle):
    d = D.decision(bundle, INB3)
    assert d.sides[0].source == ("model", INB3, "inb")
    th = bundle.model(INB3)["thresholds"]
    assert (d.sides[0].t, d.sides[0].t2) == (th["inb_t"], th["inb_t2"])
    with pytest.raises(D.DecisionError):
        D.decision(bundle, INB3, weights=[1, 2])


# ------------------------------------------------------------------ hand-made pair tables
def _random_table(rng, n, k):
    idx = np.stack([np.concatenate([[i], rng.choice(np.delete(np.arange(n), i), k - 1, replace=False)])
                    for i in range(n)])
    sim = np.sort(rng.uniform(-0.2, 1.0, (n, k)), axis=1)[:, ::-1].copy()
    sim[:, 0] = 1.0
    sim[rng.random((n, k)) < 0.1] = 0.5  # ties
    sim[:, 0] = 1.0
    return Neighbors(idx, np.sort(sim, axis=1)[:, ::-1].copy())


@pytest.mark.parametrize("seed", range(4))
def test_pair_table_union_and_sweep_on_random_tables(seed):
    rng = np.random.default_rng(seed)
    n, k = 40, 8
    labels = rng.integers(0, 10, n)
    a, b, c = (_random_table(rng, n, k) for _ in range(3))
    table = PairTable([a, b, c], labels)
    for _ in range(5):
        ts = rng.uniform(0, 1, 3)
        t2s = [t + rng.uniform(0, 0.6) if rng.random() < 0.6 else None for t in ts]
        want = union(*(predict(x, t, t2) for x, t, t2 in zip((a, b, c), ts, t2s)))
        sides = list(zip(range(3), ts, t2s))
        got = table.rows(sides)
        w = row_scores(want, labels)
        for key in ("tp", "n_pred", "f1"):
            np.testing.assert_allclose(got[key], w[key])
        grid = np.round(np.linspace(0.02, 0.98, 13), 4)
        sweep = table.sweep(sides, 1, grid)
        for g, x in enumerate(grid):
            s = list(sides)
            s[1] = (1, float(x), t2s[1])
            assert sweep["f1"][g] == pytest.approx(score(table.predictions(s), labels)["f1"])


def test_min2_is_max_of_t_and_t2_on_the_best_candidate():
    # hand-worked: row 2's best candidate (d = 0.5) joins with T2 = 0.52, not with 0.5
    nb = Neighbors(np.array([[0, 1, 2], [1, 0, 3], [2, 0, 3], [3, 2, 1]]),
                   np.array([[1.0, 0.8, 0.5], [1.0, 0.8, 0.3], [1.0, 0.5, 0.45], [1.0, 0.45, 0.3]]))
    labels = np.array([1, 1, 2, 2])
    table = PairTable([nb], labels)
    for t2 in (0.5, 0.52, 0.6):
        got = table.rows([(0, 0.3, t2)])
        want = row_scores(predict(nb, 0.3, t2), labels)
        np.testing.assert_array_equal(got["n_pred"], want["n_pred"])


# ------------------------------------------------------------------ curves, fusions, INB
def test_curves_agree_with_point_scores(bundle):
    ts = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0]
    decisions = [D.decision(bundle, "tfidf"), D.decision(bundle, "tfidf", t2=0.7),
                 D.decision(bundle, "tfidf", min2=False), D.decision(bundle, UNION),
                 D.decision(bundle, UNION, sides=[(0.3, 0.8), (0.2, 0.6)]), D.decision(bundle, FUSION, t2=0.9)]
    for d in decisions:
        for side in range(len(d.sides)):
            c = D.curves(bundle, d, "test", side=side, ts=ts)
            for t, f1, p, r in zip(c["t"], c["f1"], c["precision"], c["recall"]):
                want = D.scores(bundle, d.with_side(side, t=float(t)), "test")
                assert (f1, p, r) == pytest.approx((want["f1"], want["precision"], want["recall"])), (d, side, t)
    for t in (0.05, 0.2, 0.4):
        t2s = [0.0, t, t + 0.1, 0.5, 0.8, 1.0]
        m2 = D.min2_curve(bundle, "tfidf", "test", t=t, t2s=t2s)
        for t2, f1, p in zip(m2["t2"], m2["f1"], m2["precision"]):
            want = D.scores(bundle, "tfidf", "test", t=t, t2=float(t2))
            assert (f1, p) == pytest.approx((want["f1"], want["precision"]))
        for side in (0, 1):
            u = D.decision(bundle, UNION, sides=[(t, 0.6), (t / 2, 0.3)])
            m2 = D.min2_curve(bundle, u, "valid", side=side, t2s=t2s)
            for t2, f1, r in zip(m2["t2"], m2["f1"], m2["recall"]):
                want = D.scores(bundle, u.with_side(side, t2=float(t2)), "valid")
                assert (f1, r) == pytest.approx((want["f1"], want["recall"]))


def test_a_bundles_pools_share_one_bounded_cache_and_clear_only_their_own(bundle):
    """The server's pools of one bundle (valid, test) hold their tables in one cache bounded together
    (three pools of a 70,000-posting bundle must not hold three times the bound); a pool cleared
    forgets its own tables, not another pool's."""
    valid, test = D.pool(bundle, "valid"), D.pool(bundle, "test")
    assert D.pool(bundle, "test") is test and valid._cache is test._cache
    assert valid._cache is D.pool(bundle, "valid")._cache
    a, b = valid.neighbors("tfidf"), test.neighbors("tfidf")
    assert a.n == len(bundle.split_rows("valid")) and b.n == len(bundle.split_rows("test"))
    valid.clear()
    assert not valid.holds(("nb", ("model", "tfidf", "base")))
    assert test.holds(("nb", ("model", "tfidf", "base"))) and test.neighbors("tfidf") is b


def test_equal_weight_fusion_reuses_the_stored_table(bundle):
    src = D.fusion_source(["tfidf", "phash"], [1, 1])
    assert D.canonical(bundle, src) == ("model", FUSION, "base")
    got, stored = D.neighbors(bundle, "test", src), bundle.neighbors(FUSION, "test")
    assert D.neighbors(bundle, "test", src) is got  # read once, then the pool's cached table
    assert np.array_equal(got.idx, stored.idx) and np.array_equal(got.sim, stored.sim)


def test_weighted_fusion_matches_manual_fusion(bundle):
    rows = bundle.split_rows("test")
    sets = [Embeddings.from_array(bundle.embeddings(m)[rows].astype(np.float32), m) for m in ("tfidf", "phash")]
    nb = knn(fuse(sets, [0.8, 0.2]), bundle.k)
    got = D.scores(bundle, FUSION, "test", weights=[0.8, 0.2], t=0.4, t2=0.6)
    close(got, score(predict(nb, 0.4, 0.6), D.labels(bundle, "test")))
    custom = D.custom_fusion(bundle, ["tfidf", "phash"], [4, 1], t=0.4, t2=0.6)
    close(D.scores(bundle, custom, "test"), got)


def test_prefetch_gathers_every_pool_asked_once_and_skips_pools_the_bundle_lacks(bundle):
    """The re-weighting pages start one background gather for the shown pool and valid (the
    weaker-than-a-member check): both end up held, equal to gathering on demand; asked again, nothing starts."""
    members = ("tfidf", "phash")
    for name in SPLITS:
        D.pool(bundle, name).clear()
    thread = D.prefetch_candidates(bundle, ["test", "valid", "test", "no such pool"], members)
    assert thread is not None
    thread.join(60)
    for name in SPLITS:
        p = D.pool(bundle, name)
        assert p.holds(("cand_sims", members))
        cands, sims = p.candidate_sims(members)
        p.clear()
        cands2, sims2 = p.candidate_sims(members)
        assert np.array_equal(cands.padded(), cands2.padded()) and np.array_equal(sims, sims2)
    assert D.prefetch_candidates(bundle, ["test", "valid"], members) is None


def test_custom_fusion_tunes_on_validation(bundle):
    d = D.custom_fusion(bundle, ["tfidf", "phash"], [0.7, 0.3])
    best = D.scores(bundle, d, "valid")["f1"]
    for t in np.arange(0.05, 1.0, 0.05):
        assert D.scores(bundle, d.with_thresholds(t, min2=False), "valid")["f1"] <= best + 1e-12


def test_inb_iterations(bundle):
    th = bundle.model("tfidf")["thresholds"]
    one = D.decision(bundle, "tfidf", inb=1)
    assert one.sides[0].source == ("model", "tfidf", "inb")
    two = D.decision(bundle, "tfidf", inb=2, t=0.3, t2=0.5)
    rows = bundle.split_rows("valid")
    x = Embeddings.from_array(bundle.embeddings("tfidf")[rows], "tfidf")
    _, nb = inb_mod.iterate(x, bundle.neighbors("tfidf", "valid"), th["t"], th["t2"], 2, bundle.k)
    close(D.scores(bundle, two, "valid"), score(predict(nb, 0.3, 0.5), D.labels(bundle, "valid")))
    with pytest.raises(D.DecisionError):  # a union has INB only as stored (its sides' own INB tables)
        D.decision(bundle, UNION, inb=2)


# ------------------------------------------------------------------ plane, sizes, export
def test_plane_counts_every_true_pair(bundle):
    d = D.decision(bundle, UNION)
    frame, info = P.plane(bundle, d, "test", "phash", "tfidf")
    rows = D.scores(bundle, d, "test", rows=True)["rows"]
    c = info["counts"]
    assert c["TP"] + c["FN"] + c["FN outside tables"] == int((rows["n_true"] - 1).sum())
    assert c["TP"] + c["FP"] == int((rows["n_pred"] - 1).sum())
    assert info["boundary"] == {"kind": "axes", "image": pytest.approx(1 - d.sides[1].t),
                                "text": pytest.approx(1 - d.sides[0].t)}
    assert set(frame["outcome"]) <= set(P.OUTCOMES)
    assert frame[["s_image", "s_text"]].notna().all().all()  # missing sims filled from embeddings
    one = frame.iloc[0]
    sims = [D.embeddings(bundle, "test", m).pair_similarity(np.array([one.i]), np.array([one.j]))[0]
            for m in ("phash", "tfidf")]
    assert [one.s_image, one.s_text] == pytest.approx(sims, abs=2e-3)


def test_plane_boundary_of_a_weighted_fusion_is_a_line(bundle):
    d = D.decision(bundle, FUSION, weights=[0.25, 0.75], t=0.4)
    b = P.boundary(bundle, d, "phash", "tfidf")
    assert b == {"kind": "line", "w": pytest.approx(0.75), "c": pytest.approx(0.6)}
    assert P.default_plane_models(bundle, FUSION) == ("phash", "tfidf")


def test_stratified_sample_keeps_rare_classes():
    classes = np.array([0] * 10_000 + [1] * 30 + [2] * 500 + [3] * 3)
    keep = P.stratified_sample(classes, 1000)
    got = np.bincount(classes[keep], minlength=4)
    assert len(keep) <= 1000 and got[1] == 30 and got[3] == 3 and got[2] == 483
    assert len(P.stratified_sample(classes[:50], 1000)) == 50


def test_group_size_histogram_and_submission(bundle):
    h = D.group_size_histogram(bundle, "tfidf", "test")
    n = len(bundle.split_rows("test"))
    assert h["predicted"].sum() == n and h["true"].sum() == n
    sub = D.submission(bundle, UNION, "test")
    assert list(sub.columns) == ["posting_id", "matches"] and len(sub) == n
    ids = bundle.postings["posting_id"].to_numpy()[bundle.split_rows("test")]
    assert all(pid in m.split() for pid, m in zip(sub["posting_id"], sub["matches"]))
    assert set(sub["posting_id"]) == set(ids)


def test_select_pairs_from_a_plotly_selection():
    frame = pd.DataFrame({"i": [1, 2, 3], "j": [5, 6, 7]}, index=[10, 11, 12])
    sel = {"points": [{"customdata": [2, 6, "p2", "p6"]}, {"customdata": [3, 7]}, {"customdata": [9, 9]},
                      {"customdata": ["x"]}, {"x": 1}]}
    assert list(P.select_pairs(frame, sel)["i"]) == [2, 3]
    assert P.select_pairs(frame, None).empty and P.select_pairs(frame, {"points": []}).empty


def test_readable_errors(bundle):
    with pytest.raises(D.DecisionError, match="weights"):
        D.decision(bundle, "tfidf", weights=[1])
    with pytest.raises(D.DecisionError, match="at least two"):
        D.custom_union(bundle, [("tfidf",)])
    with pytest.raises(D.DecisionError, match="no embeddings"):
        D.custom_fusion(bundle, ["tfidf", UNION])


def _memory_bundle(tables, labels):
    """A Bundle object held in memory: one split, one model per table (no files)."""
    from pathlib import Path

    n = len(labels)
    postings = pd.DataFrame({"posting_id": [f"p{i}" for i in range(n)], "title": "x", "label_group": labels,
                             "split": "test", "image_phash": "0", "thumb": "t.jpg"})
    models = [{"id": f"m{i}", "label": "", "family": "image", "recipe": None, "kind": "image", "spec": {},
               "thresholds": {"t": 0.5, "t2": 0.6, "inb_t": None, "inb_t2": None, "inb_iters": 0},
               "metrics": {}, "files": {"neighbors": {"path": "in-memory"}}, "query": False} for i in range(len(tables))]
    b = Bundle(Path("/nonexistent"), {"k": tables[0].k, "models": models}, postings)
    for i, nb in enumerate(tables):
        b.cached(("nb", f"m{i}", "test", "base"), lambda nb=nb: nb)
    return b


@pytest.mark.parametrize("seed", range(3))
def test_curves_with_min2_on_random_tables_with_ties(seed):
    rng = np.random.default_rng(seed)
    n, k = 40, 8
    tables = [_random_table(rng, n, k) for _ in range(3)]
    b = _memory_bundle(tables, rng.integers(0, 10, n))
    ts = np.round(np.linspace(0.0, 1.0, 21), 3)
    for d in (D.decision(b, "m0", t2=0.75), D.custom_union(b, [("m0", 0.3, 0.7), ("m1", 0.2, 0.9), ("m2", 0.4, None)])):
        for side in range(len(d.sides)):
            c = D.curves(b, d, "test", side=side, ts=ts)
            for t, f1, r in zip(c["t"], c["f1"], c["recall"]):
                want = D.scores(b, d.with_side(side, t=float(t)), "test")
                assert (f1, r) == pytest.approx((want["f1"], want["recall"])), (side, t)
            m2 = D.min2_curve(b, d, "test", side=side, t2s=ts)
            for t2, f1 in zip(m2["t2"], m2["f1"]):
                assert f1 == pytest.approx(D.scores(b, d.with_side(side, t2=float(t2)), "test")["f1"])


def test_a_fusion_weaker_than_its_best_member_is_named(bundle):
    from shopee_core.matching import Decision, model_source, tune

    valid = D.pool(bundle, "valid")
    member_f1 = {m: D.scores(bundle, tune(valid, Decision.single(model_source(m), 0.5)), "valid")["f1"]
                 for m in ("tfidf", "phash")}
    for d in (D.decision(bundle, FUSION), D.custom_fusion(bundle, ["tfidf", "phash"], [0.05, 0.95])):
        fused = D.scores(bundle, d, "valid")["f1"]
        weak = D.weaker_than_a_member(bundle, d)
        best = max(member_f1, key=member_f1.get)
        if fused < member_f1[best]:
            assert weak == {"fusion_f1": pytest.approx(fused), "member": best,
                            "member_f1": pytest.approx(member_f1[best])}
        else:
            assert weak is None
    assert D.weaker_than_a_member(bundle, D.decision(bundle, "tfidf")) is None  # not a fusion
    assert D.weaker_than_a_member(bundle, D.decision(bundle, UNION)) is None


@pytest.mark.parametrize("split", SPLITS)
def test_a_unions_inb_unites_its_sides_own_inb_tables(bundle, split):
    """Issue 21, point 9: the union's INB row (the seed's 14 and 15) is each side on its own stored INB
    table at its own re-searched T′, T2′ - predicted here with plain sets from the files."""
    s = D.model_setting(bundle, UNION)
    assert s["has_inb"] and [x["model"] for x in s["inb_sides"]] == ["tfidf", "phash"]
    for x in s["inb_sides"]:
        th = bundle.model(x["model"])["thresholds"]
        assert (x["t"], x["t2"]) == (th["inb_t"], th["inb_t2"])
    labels = D.labels(bundle, split)
    want = union(*(predict(bundle.neighbors(x["model"], split, "inb"), x["t"], x["t2"]) for x in s["inb_sides"]))
    got = D.scores(bundle, UNION, split, inb=1)
    close(got, score(want, labels))
    assert got["f1"] == pytest.approx(bundle.model(UNION)["metrics"][split]["inb"]["f1"], abs=1e-6)
    with pytest.raises(ShopeeError, match="inb=1"):
        D.decision(bundle, UNION, inb=2)

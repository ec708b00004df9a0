"""Intervals on a bundle: stored per-row counts, leaderboard intervals and "tied with the best", A vs B."""

import json
import shutil

import numpy as np
import pytest

from shopee_core import stats
from shopee_core.analysis import decisions as D
from shopee_core.analysis import intervals as I
from shopee_core.bundle import Bundle
from shopee_core.bundle.writer import seal

from .bundles import FUSION, INB3, UNION, tiny_bundle


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return tiny_bundle(tmp_path_factory)


@pytest.fixture(scope="module")
def bundle(path):
    return Bundle.open(path)


@pytest.fixture(scope="module")
def without_rows(path, tmp_path_factory):
    """The same bundle as built before intervals came in: no rows.npz (rows come from the tables)."""
    old = tmp_path_factory.mktemp("old") / "bundle"
    shutil.copytree(path, old)
    manifest = json.loads((old / "manifest.json").read_text())
    for m in manifest["models"]:
        f = m["files"].pop("rows", None)
        if f:
            (old / f["path"]).unlink()
    seal(old, manifest)
    return Bundle.open(old)


def entries(bundle):
    out = []
    for m in bundle.models:
        for split, variants in m["metrics"].items():
            for v in variants:
                out.append((m["id"], split, v))
    return out


def test_stored_row_counts_are_the_decisions_own_rows_and_the_manifest_means(bundle, without_rows):
    assert {m["id"] for m in bundle.models if "rows" in m["files"]} == {m["id"] for m in bundle.models}
    for mid, split, v in entries(bundle):
        stored = I.rows(bundle, split, mid, v)
        scored = D.row_arrays(bundle, I.variant_decision(bundle, mid, v), split)
        for k in stats.METRICS:
            np.testing.assert_allclose(stored[k], scored[k], atol=1e-12, err_msg=f"{mid} {split} {v} {k}")
            assert stored[k].mean() == pytest.approx(bundle.model(mid)["metrics"][split][v][k], abs=1e-6)
        assert without_rows.row_counts(mid, split, v) is None
        np.testing.assert_allclose(I.rows(without_rows, split, mid, v)["f1"], stored["f1"], atol=1e-12)


def test_leaderboard_intervals_hold_the_numbers_and_mark_the_ties(bundle, without_rows):
    e = [(m["id"], I.resolve(bundle, m["id"], "best")) for m in bundle.models]
    iv = I.leaderboard(bundle, "test", e)
    assert len(iv) == len(bundle.models) and iv["best"].sum() == 1
    for k in stats.METRICS:
        assert (iv[f"{k}_lo"] <= iv[k] + 1e-12).all() and (iv[k] <= iv[f"{k}_hi"] + 1e-12).all()
    best = iv[iv["best"]].iloc[0]
    assert best["gap"] == 0 and best["gap_lo"] == 0 and best["gap_hi"] == 0 and best["tied"]
    assert best["f1"] == iv["f1"].max()
    assert (iv["gap"] >= 0).all() and (iv["gap_lo"] <= iv["gap"] + 1e-12).all()
    assert (iv["tied"] == (iv["gap_lo"] <= stats.TIE)).all()
    # the same numbers from an old bundle (rows scored from the tables)
    old = I.leaderboard(without_rows, "test", e)
    np.testing.assert_allclose(old[["f1_lo", "f1_hi", "gap_lo", "gap_hi"]], iv[["f1_lo", "f1_hi", "gap_lo",
                                                                                  "gap_hi"]], atol=1e-12)
    # each interval is the one stats.interval gives for that model alone, on the same resamples
    boot = I.boot(bundle, "test")
    mid, v = e[0]
    one = stats.interval(I.rows(bundle, "test", mid, v), boot=boot)
    assert [iv.at[0, "f1_lo"], iv.at[0, "f1_hi"]] == pytest.approx(one["f1"])
    assert iv.attrs["resamples"] == 1000 and iv.attrs["groups"] == len(np.unique(bundle.labels("test")))


def test_a_model_against_itself_and_against_its_other_decision(bundle):
    same = I.compare(bundle, "test", ("tfidf", "min2"), ("tfidf", "min2"))
    o = same["overall"]
    assert o["ci"]["f1"] == [0.0, 0.0] and o["p_better"] == 0.0 and not o["significant"]
    assert (same["slices"]["diff"] == 0).all() and (same["slices"]["p_better"].fillna(0) == 0).all()
    plain = I.compare(bundle, "test", ("tfidf", "min2"), ("tfidf", "base"))["overall"]
    assert plain["difference"]["f1"] == pytest.approx(bundle.model("tfidf")["metrics"]["test"]["min2"]["f1"]
                                                      - bundle.model("tfidf")["metrics"]["test"]["base"]["f1"],
                                                      abs=1e-6)
    assert plain["ci"]["f1"][0] <= plain["difference"]["f1"] <= plain["ci"]["f1"][1]


def test_slices_partition_the_pool_and_carry_their_own_paired_intervals(bundle):
    labels = D.labels(bundle, "test")
    pa = D.predictions(bundle, I.variant_decision(bundle, FUSION, "min2"), "test")
    pb = D.predictions(bundle, I.variant_decision(bundle, "phash", "base"), "test")
    sl = I.slices(bundle, "test", pa, pb)
    sizes = [m for name, m in sl.items() if name.startswith("size ")]
    assert sum(m.astype(int) for m in sizes).tolist() == [1] * len(labels)  # every row in one size bin
    none = np.zeros(len(labels), dtype=bool)  # an empty slice is left out
    assert (sl.get("title states a quantity", none) ^ sl.get("title states no quantity", none)).all()
    # photo shared with another group: brute force over the pool's pHashes
    ph = bundle.postings["image_phash"].to_numpy()[bundle.split_rows("test")]
    want = np.array([any(ph[j] == ph[i] and labels[j] != labels[i] for j in range(len(labels)))
                     for i in range(len(labels))])
    np.testing.assert_array_equal(sl.get("photo shared with another group", none), want)
    assert all(m.any() for m in sl.values())
    res = I.compare(bundle, "test", (FUSION, "min2"), ("phash", "base"))
    frame = res["slices"]
    assert list(frame["diff"].abs()) == sorted(frame["diff"].abs(), reverse=True)
    ra, rb = I.rows(bundle, "test", FUSION, "min2"), I.rows(bundle, "test", "phash", "base")
    for _, r in frame.iterrows():
        mask = sl.get(r["slice"])
        if mask is None:  # an error type: A's or B's own taxonomy
            continue
        assert r["rows"] == mask.sum()
        assert r["diff"] == pytest.approx((ra["f1"][mask] - rb["f1"][mask]).mean())
        if r["lo"] is not None and not np.isnan(r["lo"]):
            assert r["lo"] <= r["diff"] + 1e-12 <= r["hi"] + 2e-12


def test_pairs_table_says_which_differences_are_real(bundle):
    t = I.pairs_table(bundle, "test", [((FUSION, "min2"), ("phash", "base")), ((UNION, "base"), (UNION, "base"))])
    assert t["verdict"].iat[1] == "tied (within noise)"
    assert t["verdict"].iat[0] in ("A better", "B better", "tied (within noise)")
    assert (t["verdict"].iat[0] == "A better") == (t["lo"].iat[0] > 0)
    assert I.resolve(bundle, INB3, "base") is None and I.resolve(bundle, INB3, "best") == "inb"


def test_photo_and_quantity_slices_on_the_shipped_demo():
    """The demo catalog reuses photos across sellers and states quantities in titles: both slices are
    real there, and each is what its definition says (brute force over the pool)."""
    from pathlib import Path

    from shopee_core.data.units import find_quantities

    demo = Path(__file__).resolve().parents[2] / "precomputed" / "demo"
    if not (demo / "manifest.json").exists():
        pytest.skip("no shipped demo bundle")
    b = Bundle.open(demo)
    sl = I.slices(b, "test")
    labels = D.labels(b, "test")
    rows = b.split_rows("test")
    ph = b.postings["image_phash"].to_numpy()[rows].astype(str)
    same = (ph[:, None] == ph[None, :]) & (labels[:, None] != labels[None, :])
    np.testing.assert_array_equal(sl["photo shared with another group"], same.any(axis=1))
    titles = b.postings["title"].to_numpy()[rows]
    np.testing.assert_array_equal(sl["title states a quantity"], [bool(find_quantities(t)) for t in titles])
    assert 0 < sl["photo shared with another group"].sum() < len(labels)
    assert 0 < sl["title states a quantity"].sum() < len(labels)

"""Group bootstrap and paired comparisons (shopee_core.stats): honest coverage, exact pairing, errors."""

import numpy as np
import pytest

from shopee_core import stats
from shopee_core.errors import ShopeeError


def population(n_groups: int, sizes: tuple[int, int], seed: int, noise: float = 0.05):
    """Synthetic label groups: each has a size and a group-level F1 (Beta(4, 1.5): most groups found,
    some lost), its rows that F1 plus a little row noise. Returns (sizes, per-group row-F1 lists)."""
    rng = np.random.default_rng(seed)
    size = rng.integers(sizes[0], sizes[1] + 1, n_groups)
    level = rng.beta(4.0, 1.5, n_groups)
    rows = [np.clip(lv + rng.normal(0, noise, s), 0, 1) for lv, s in zip(level, size)]
    return size, rows


def draw_pool(pop_rows, n_groups: int, rng):
    """A pool of ``n_groups`` groups drawn from the population: labels and per-row F1."""
    pick = rng.choice(len(pop_rows), n_groups, replace=False)
    labels = np.concatenate([np.full(len(pop_rows[g]), g) for g in pick])
    f1 = np.concatenate([pop_rows[g] for g in pick])
    return labels, f1


def coverage(pop_rows, truth: float, n_groups: int, draws: int, unit: str, seed: int) -> float:
    rng = np.random.default_rng(seed)
    hits = 0
    for i in range(draws):
        labels, f1 = draw_pool(pop_rows, n_groups, rng)
        boot = stats.group_bootstrap(labels, 500, seed=i, unit=unit)
        lo, hi = stats.interval({"f1": f1}, boot=boot, metrics=("f1",))["f1"]
        hits += lo <= truth <= hi
    return hits / draws


def test_group_bootstrap_covers_the_population_mean_and_per_row_resampling_does_not():
    """95 % intervals of mean F1 over many pools drawn from a known population: resampling whole
    label groups covers the population's mean F1 in 90-98 % of the pools; resampling single rows
    (the rows of a group share one truth set, so they are not independent) under-covers badly
    when groups are large."""
    _sizes, rows = population(20_000, (8, 30), seed=1)
    truth = float(np.concatenate(rows).mean())  # the population's mean over rows (what a pool estimates)
    group = coverage(rows, truth, n_groups=120, draws=300, unit="label_group", seed=2)
    naive = coverage(rows, truth, n_groups=120, draws=300, unit="posting", seed=2)
    assert 0.90 <= group <= 0.98, group
    assert naive < 0.75, naive
    assert group - naive > 0.2


def test_with_groups_of_one_both_units_give_the_same_intervals():
    rng = np.random.default_rng(0)
    f1 = rng.random(300)
    labels = np.arange(300)
    a = stats.interval({"f1": f1}, labels, resamples=200, metrics=("f1",))
    b = stats.interval({"f1": f1}, boot=stats.group_bootstrap(labels, 200, unit="posting"), metrics=("f1",))
    assert a["f1"] == b["f1"]


def _loop_means(labels, values, boot_draws):
    """The naive way: for every resample, gather the rows of each drawn group and average them."""
    groups = np.unique(labels)
    members = [np.flatnonzero(labels == g) for g in groups]
    return np.array([values[np.concatenate([members[g] for g in d])].mean() for d in boot_draws])


def test_vectorised_means_equal_a_per_resample_loop_over_the_same_draws():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 40, 500) * 7 + 3  # arbitrary label values, unsorted rows
    f1 = rng.random(500)
    boot = stats.group_bootstrap(labels, 50, seed=11)
    d = stats.draws(boot.n_groups, 50, 11)
    np.testing.assert_allclose(boot.means(f1), _loop_means(labels, f1, d), rtol=0, atol=1e-12)
    two = np.stack([f1, 1 - f1], axis=1)
    np.testing.assert_allclose(boot.means(two)[:, 1], 1 - boot.means(f1), atol=1e-12)


def test_counts_are_small_integers_and_blocks_of_resamples_give_the_float64_answer(monkeypatch):
    """At 70,000 postings B x G float64 counts were ~240 MB: they are kept as uint8 (a group drawn
    256+ times in one resample widens them) and multiplied a block of resamples at a time; every
    mean is still the float64 product's, to the last bits."""
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 300, 2000)
    values = rng.random((2000, 3))
    mask = rng.random(2000) < 0.3
    boot = stats.group_bootstrap(labels, 40, seed=2)
    assert boot.counts.dtype == np.uint8
    full = np.stack([np.bincount(d, minlength=boot.n_groups) for d in stats.draws(boot.n_groups, 40, 2)])
    np.testing.assert_array_equal(boot.counts, full)  # the same stream as the (B, G) draws
    f = full.astype(np.float64)
    want = (f @ boot.group_sums(values)) / (f @ boot.sizes)[:, None]
    want_mask = (f @ boot.group_sums(values * mask[:, None])) / (f @ boot.group_sums(mask.astype(float)))[:, None]
    monkeypatch.setattr(stats, "BLOCK_BYTES", 8 * boot.n_groups * 3)  # blocks of 3 resamples, the last short
    np.testing.assert_allclose(boot.means(values), want, rtol=1e-14, atol=0)
    np.testing.assert_allclose(boot.means(values, mask), want_mask, rtol=1e-14, atol=0)
    pick = np.array([39, 0, 7, 8, 9])
    np.testing.assert_allclose(boot.means(values, which=pick), want[pick], rtol=1e-14, atol=0)
    np.testing.assert_allclose(boot.means(values, which=np.arange(40) % 3 == 0), want[::3], rtol=1e-14, atol=0)
    class AllZero:  # a generator that always draws group 0: 300 draws of one group overflow uint8
        def integers(self, lo, hi, size, dtype):
            return np.zeros(size, dtype)
    monkeypatch.setattr(stats.np.random, "default_rng", lambda seed: AllZero())
    wide = stats.group_bootstrap(np.arange(300), 10, seed=0)
    assert wide.counts.dtype == np.uint16 and wide.counts[:, 0].tolist() == [300] * 10
    big = np.array([[300, 0], [1, 1]], dtype=np.uint16)  # counts above uint8 are kept as they are
    two = stats.GroupBootstrap(np.array([0, 1, 1]), big, seed=0)
    np.testing.assert_allclose(two.means(np.array([1.0, 0.0, 0.0])), [1.0, 1 / 3])


def test_a_slice_counts_only_its_rows_and_an_empty_draw_is_ignored():
    rng = np.random.default_rng(4)
    labels = np.repeat(np.arange(30), 3)
    f1 = rng.random(90)
    mask = labels < 3  # three groups: some resamples draw none of them
    boot = stats.group_bootstrap(labels, 300, seed=5)
    d = stats.draws(30, 300, 5)
    got = boot.means(f1, mask)
    for b in range(300):
        rows = np.concatenate([np.flatnonzero(labels == g) for g in d[b]])
        rows = rows[mask[rows]]
        if len(rows):
            assert got[b] == pytest.approx(f1[rows].mean(), abs=1e-12)
        else:
            assert np.isnan(got[b])
    assert np.isnan(got).any()
    lo, hi = stats.interval({"f1": f1}, boot=boot, metrics=("f1",), mask=mask)["f1"]
    assert lo <= f1[mask].mean() <= hi


def test_identical_decisions_differ_by_exactly_nothing():
    rng = np.random.default_rng(6)
    labels = np.repeat(np.arange(50), rng.integers(2, 6, 50))
    rows = {k: rng.random(len(labels)) for k in stats.METRICS}
    p = stats.paired(rows, {k: v.copy() for k, v in rows.items()}, labels, resamples=1000)
    assert all(p["ci"][k] == [0.0, 0.0] for k in stats.METRICS)
    assert p["difference"]["f1"] == 0.0
    assert p["p_better"] == 0.0 and p["p_worse"] == 0.0  # ties count as not better (README)
    assert not p["significant"]
    assert p["unit"] == "label_group" and p["resamples"] == 1000


def test_paired_comparison_uses_the_same_resamples():
    """B = A minus a little on every row, plus row noise: the two intervals overlap, yet the paired
    difference (same draws for both) is clearly positive; swapping A and B mirrors it."""
    rng = np.random.default_rng(7)
    labels = np.repeat(np.arange(200), 4)
    level = np.repeat(rng.beta(3, 1.5, 200), 4)
    a = {"f1": np.clip(level + rng.normal(0, 0.02, 800), 0, 1)}
    b = {"f1": np.clip(a["f1"] - 0.01 + rng.normal(0, 0.01, 800), 0, 1)}
    boot = stats.group_bootstrap(labels, 1000, seed=0)
    ia, ib = (stats.interval(x, boot=boot, metrics=("f1",))["f1"] for x in (a, b))
    assert ia[0] < ib[1]  # each decision's own interval overlaps the other's
    p = stats.paired(a, b, boot=boot, metrics=("f1",))
    assert p["ci"]["f1"][0] > 0 and p["significant"] and p["p_better"] == 1.0
    q = stats.paired(b, a, boot=boot, metrics=("f1",))
    assert q["ci"]["f1"] == pytest.approx([-p["ci"]["f1"][1], -p["ci"]["f1"][0]])
    assert q["p_worse"] == p["p_better"] and q["p_better"] == p["p_worse"]
    shift = stats.paired({"f1": a["f1"] + 0.25}, a, boot=boot, metrics=("f1",))
    assert shift["ci"]["f1"] == pytest.approx([0.25, 0.25])


def test_seeded_and_reproducible():
    rng = np.random.default_rng(8)
    labels = rng.integers(0, 60, 400)
    rows = {k: rng.random(400) for k in stats.METRICS}
    a = stats.interval(rows, labels, resamples=300, seed=1)
    assert stats.interval(rows, labels, resamples=300, seed=1) == a
    assert stats.interval(rows, labels, resamples=300, seed=2)["f1"] != a["f1"]
    assert a["f1"][0] <= rows["f1"].mean() <= a["f1"][1]
    assert a["groups"] == len(np.unique(labels))


@pytest.mark.parametrize("bad", [5, 9, 0, -100, "abc", "1e3", 10.5, 1000.0, True, None, ""])
def test_resamples_must_be_a_whole_number_of_at_least_ten(bad):
    with pytest.raises(ShopeeError, match=r"--bootstrap must be a whole number of resamples >= 10"):
        stats.check_resamples(bad, "--bootstrap")


def test_resample_counts_accept_integers_and_digit_strings():
    assert stats.check_resamples(10) == 10 and stats.check_resamples(" 200 ") == 200
    assert stats.check_resamples(np.int64(50)) == 50


def test_a_pool_needs_two_groups_and_pairs_need_one_pool():
    with pytest.raises(ShopeeError, match="1 label group: intervals resample whole label groups and need at least 2"):
        stats.group_bootstrap(np.array([5, 5, 5]), 100)
    with pytest.raises(ShopeeError, match="same pool"):
        stats.paired({"f1": np.ones(4)}, {"f1": np.ones(5)}, np.array([1, 1, 2, 2]), metrics=("f1",))
    with pytest.raises(ShopeeError, match="seed"):
        stats.group_bootstrap(np.array([1, 2]), 100, seed=-1)

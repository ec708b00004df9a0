"""The demo catalog generator: layout, determinism, Shopee-like statistics, hard cases."""

from __future__ import annotations

import filecmp
import re
import statistics
from collections import defaultdict

import imagehash
import pandas as pd
import pytest
from PIL import Image

from shopee_core.data.demo import generate_catalog, plan_catalog
from shopee_core.errors import DataError, ShopeeError

COLUMNS = ["posting_id", "image", "image_phash", "title", "label_group"]


def _read(path):
    return pd.read_csv(path / "train.csv", dtype={"image_phash": str}, keep_default_na=False)


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo2000")
    stats = generate_catalog(out, n_postings=2000, seed=7, progress=False, posting_noise=0.015)
    return out, stats, _read(out)


def _same_tree(a, b) -> bool:
    if (a / "train.csv").read_bytes() != (b / "train.csv").read_bytes():
        return False
    names_a = sorted(p.name for p in (a / "train_images").iterdir())
    names_b = sorted(p.name for p in (b / "train_images").iterdir())
    if names_a != names_b:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a / "train_images", b / "train_images", names_a,
                                           shallow=False)
    return not mismatch and not errors


def test_same_seed_gives_identical_files_and_other_seed_differs(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    sa = generate_catalog(a, n_postings=240, seed=3, progress=False)
    sb = generate_catalog(b, n_postings=240, seed=3, progress=False)
    assert sa == sb
    assert _same_tree(a, b)
    # overwriting an existing catalog with the same seed gives the same bytes again
    generate_catalog(a, n_postings=240, seed=3, progress=False)
    assert _same_tree(a, b)
    generate_catalog(c, n_postings=240, seed=4, progress=False)
    assert (a / "train.csv").read_bytes() != (c / "train.csv").read_bytes()
    assert _read(a)["title"].tolist() != _read(c)["title"].tolist()


def test_kaggle_layout(big):
    out, stats, df = big
    assert list(df.columns) == COLUMNS
    assert len(df) == 2000 == stats["n_postings"]
    assert df["posting_id"].str.fullmatch(r"train_\d{10}").all()
    assert df["posting_id"].is_unique
    assert df["image"].str.fullmatch(r"[0-9a-f]{32}\.jpg").all()
    assert df["image_phash"].str.fullmatch(r"[0-9a-f]{16}").all()
    assert pd.api.types.is_integer_dtype(df["label_group"])
    assert df["label_group"].between(10**8, 2**32).all()
    assert df.groupby("label_group").size().min() >= 2
    assert (df["title"].str.len() > 0).all()
    # one image name, one file, one phash (duplicate files share their name, as in Kaggle)
    assert (df.groupby("image")["image_phash"].nunique() == 1).all()
    on_disk = {p.name for p in (out / "train_images").iterdir()}
    assert set(df["image"]) == on_disk
    for name, phash in df.drop_duplicates("image")[["image", "image_phash"]].itertuples(index=False):
        with Image.open(out / "train_images" / name) as im:
            assert im.format == "JPEG" and im.size == (256, 256)
            assert str(imagehash.phash(im)) == phash


def test_shopee_like_statistics(big):
    _, stats, df = big
    sizes = df.groupby("label_group").size()
    assert statistics.median(sizes) == 2 == stats["group_size_median"]
    assert 2.6 <= sizes.mean() <= 3.6
    assert sizes.max() >= 15
    assert stats["n_groups"] == sizes.size and stats["group_size_max"] == sizes.max()
    assert stats["n_categories"] >= 8
    # re-used image files, copied titles, literal escape sequences as scraped titles have
    assert stats["n_unique_images"] == df["image"].nunique() < len(df)
    assert stats["n_unique_phash"] <= stats["n_unique_images"]
    assert stats["n_unique_titles"] == df["title"].nunique() < len(df)
    assert df["title"].str.contains(r"\\x[0-9a-f]{2}|\\n", regex=True).any()
    # Indonesian promo words and several unit spellings
    low = df["title"].str.lower()
    for word in ("cod", "murah", "ori", "ready"):
        assert low.str.contains(word).any(), word
    assert low.str.contains(r"\d+ ?ml\b").any() and low.str.contains(r"\d+ ?(?:gr|gram)\b").any()


def test_hard_negative_siblings_and_label_noise():
    plans = plan_catalog(2000, seed=7)
    by_group = defaultdict(list)
    for p in plans:
        by_group[p.group].append(p)
    product = {g: ps[0].product for g, ps in by_group.items()}
    assert len({p.category for p in plans}) >= 8
    # siblings: same brand, line and type, different label group, exactly one attribute differs
    families = defaultdict(list)
    for g, prod in product.items():
        families[prod.family].append(g)
    pairs = []
    for groups in families.values():
        for i, g1 in enumerate(groups):
            for g2 in groups[i + 1:]:
                a, b = product[g1], product[g2]
                diff = [k for k in a.attrs if a.attrs[k] != b.attrs[k]]
                if diff:
                    assert diff == [a.varying] and (a.brand, a.line, a.type_index) == (b.brand, b.line, b.type_index)
                    pairs.append((g1, g2))
    assert len(pairs) >= 0.2 * len(product)
    # their titles share the brand and the product type
    shared = 0
    for g1, g2 in pairs:
        a = product[g1]
        brand = a.brand.lower()
        t1 = [p.title.lower() for p in by_group[g1]]
        t2 = [p.title.lower() for p in by_group[g2]]
        if any(brand in t for t in t1) and any(brand in t for t in t2):
            shared += 1
    assert shared >= 0.5 * len(pairs)
    # label noise: the same product under two label groups (~1% of groups)
    keys = defaultdict(list)
    for g, prod in product.items():
        keys[(prod.brand, prod.line, prod.type_index, tuple(sorted(prod.attrs.items())))].append(g)
    dup_groups = sum(len(v) - 1 for v in keys.values() if len(v) > 1)
    assert 1 <= dup_groups <= 0.05 * len(product)


def test_planted_label_noise_is_recorded(big):
    out, _, df = big
    noise = pd.read_csv(out / "noise.csv", dtype={"posting_id": str}, keep_default_na=False)
    assert list(noise.columns) == ["label_group", "same_product_as", "kind", "posting_id"]
    assert set(noise["kind"]) == {"group_pair", "posting"}
    assert set(noise["label_group"]) | set(noise["same_product_as"]) <= set(df["label_group"])
    plans = plan_catalog(2000, seed=7)
    product = {p.label_group: p.product for p in plans if p.carries is None}
    pairs = noise[noise["kind"] == "group_pair"]
    planted = {g for g, p in product.items() if p.noise_of is not None}
    assert set(pairs["label_group"]) == planted and (pairs["posting_id"] == "").all()
    for g, o in zip(pairs["label_group"], pairs["same_product_as"]):
        a, b = product[g], product[o]  # the very same product under two labels
        assert (a.brand, a.line, a.type_index, a.attrs, a.visual) == (b.brand, b.line, b.type_index, b.attrs,
                                                                      b.visual)
        assert b.noise_of is None and a.noise_of == b.index


def test_planted_posting_noise_shows_another_groups_product(big):
    out, _, df = big
    noise = pd.read_csv(out / "noise.csv", dtype={"posting_id": str}, keep_default_na=False)
    posts = noise[noise["kind"] == "posting"]
    assert len(posts) >= 5
    plans = {p.posting_id: p for p in plan_catalog(2000, seed=7, posting_noise=0.015)}
    group_product = {p.label_group: p.product for p in plans.values() if p.carries is None}
    labels = dict(zip(df["posting_id"], df["label_group"]))
    for pid, own, other in zip(posts["posting_id"], posts["label_group"], posts["same_product_as"]):
        pl = plans[pid]
        assert labels[pid] == own != other  # labelled with its group, showing the other group's product
        assert pl.product is group_product[other] and pl.product.family != group_product[own].family
        members = df[df["label_group"] == own]
        assert len(members) >= 3  # the group keeps its majority
        assert sum(plans[m].carries is not None for m in members["posting_id"]) == 1
        # its photo is its own: no posting of its group shares the file
        assert (members["image"] == df.loc[df["posting_id"] == pid, "image"].iat[0]).sum() == 1
    assert set(posts["posting_id"]) == {p.posting_id for p in plans.values() if p.carries is not None}


def test_the_default_catalog_plants_no_posting_noise_and_the_option_does():
    """The default catalog is the one the shipped bundle was built from (no posting noise);
    `demo-data --posting-noise` plants it."""
    from shopee_core.cli import build_parser

    assert all(p.carries is None for p in plan_catalog(600, seed=0))
    assert any(p.carries is not None for p in plan_catalog(600, seed=0, posting_noise=0.1))
    assert build_parser().parse_args(["demo-data", "--out", "x"]).posting_noise == 0
    assert build_parser().parse_args(["demo-data", "--out", "x", "--posting-noise", "0.015"]).posting_noise == 0.015


def test_noise_rates_and_the_old_noise_file(tmp_path):
    from shopee_core.data.demo import planted_noise, read_noise

    none = planted_noise(plan_catalog(600, seed=0, group_noise=0.0, posting_noise=0.0))
    many = planted_noise(plan_catalog(600, seed=0, group_noise=0.08, posting_noise=0.1))
    assert none.empty and (many["kind"] == "posting").sum() >= 10 and (many["kind"] == "group_pair").sum() >= 3
    with pytest.raises(DataError, match="posting_noise"):
        plan_catalog(600, seed=0, posting_noise=2)
    old = tmp_path / "noise.csv"  # written before the kind column: group pairs only
    old.write_text("label_group,same_product_as\n11,22\n")
    frame = read_noise(old)
    assert frame.to_dict("records") == [{"label_group": 11, "same_product_as": 22, "kind": "group_pair",
                                        "posting_id": ""}]
    old.write_text("label_group,same_product_as,kind,posting_id\n11,22,typo,\n")
    with pytest.raises(DataError, match="unknown noise kind"):
        read_noise(old)


def test_titles_show_attribute_spellings():
    plans = plan_catalog(3000, seed=1)
    titles = " ".join(p.title for p in plans)
    for pattern in (r"\d+ml\b", r"\d+ ML\b", r"\d+ mili\b", r"isi \d+", r"\d+ ?pcs"):
        assert re.search(pattern, titles), pattern


def test_too_few_postings_is_a_one_line_data_error(tmp_path):
    with pytest.raises(DataError) as err:
        generate_catalog(tmp_path / "x", n_postings=19, progress=False)
    assert isinstance(err.value, ShopeeError)
    assert "\n" not in str(err.value) and "20" in str(err.value)
    assert not (tmp_path / "x" / "train.csv").exists()
    with pytest.raises(DataError):
        generate_catalog(tmp_path / "x", n_postings=100, image_size=8, progress=False)


def test_smallest_catalog_and_progress_off(tmp_path, capsys):
    stats = generate_catalog(tmp_path, n_postings=20, seed=0, progress=False)
    df = _read(tmp_path)
    assert len(df) == 20 == stats["n_postings"]
    assert df.groupby("label_group").size().min() >= 2
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""

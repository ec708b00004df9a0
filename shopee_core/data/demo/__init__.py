"""Deterministic synthetic Shopee catalog in the exact Kaggle layout.

``generate_catalog(out_dir)`` writes ``out_dir/train.csv`` (``posting_id, image, image_phash,
title, label_group``), ``out_dir/train_images/<32 hex>.jpg`` and ``out_dir/noise.csv`` (the
planted label noise, so tools that flag noise can be scored against the truth). Ten product categories with
brands, product lines and attributes; families of sibling products that differ in one
attribute (hard negatives); several sellers per product with their own title habits and
photo style; re-used and re-encoded images; ~1% label noise. The same seed gives
byte-identical files on every machine (Pillow's bundled font, seeded ``random.Random``).
``hostile_titles`` swaps in seller texts that must be shown literally (see :mod:`.hostile`).
"""

from __future__ import annotations

import hashlib
import io
import random
import statistics
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from ...errors import DataError
from ...io import atomic_write_bytes, atomic_write_csv
from ..images import file_phash
from .draw import render_product
from .groups import group_sizes
from .hostile import hostile_assignment
from .products import Product, plan_products
from .render import derive_scene, encode_jpeg, render_scene, sample_scene
from .shops import Shop, make_shops, shop_weights
from .titles import make_title

__all__ = ["generate_catalog", "plan_catalog", "planted_noise", "summarize", "PostingPlan", "MIN_POSTINGS",
           "NOISE_FILE", "NOISE_COLUMNS", "NOISE_KINDS", "read_noise"]

MIN_POSTINGS = 20
COLUMNS = ["posting_id", "image", "image_phash", "title", "label_group"]
NOISE_FILE = "noise.csv"
# label_group, same_product_as: the columns noise.csv has always had; kind says which noise a row is
# (group_pair: label_group lists same_product_as's very product; posting: posting_id, labelled
# label_group, shows the product of same_product_as); posting_id is empty for a group pair
NOISE_COLUMNS = ["label_group", "same_product_as", "kind", "posting_id"]
NOISE_KINDS = ("group_pair", "posting")

# per non-first posting of a group: exact image re-use, re-encoded copy of a sibling's photo,
# copied title, brand packshot on white
P_IMAGE_REUSE = 0.08
P_IMAGE_REPOST = 0.24
P_TITLE_COPY = 0.048
P_STOCK_PHOTO = 0.25
# per non-first posting of a group of >= 3: the seller lists another product under this group (its own
# title and photo of that product; at most one such posting per group, so the group keeps its majority).
# Off by default: the default catalog (and the shipped demo bundle built from it) is the one of before
# posting noise existed; `demo-data --posting-noise 0.015` plants it (the rate the noise-finder figures use)
P_POSTING_NOISE = 0.0
# groups that list an earlier group's very product (drawn per product in products.plan_products)
P_GROUP_NOISE = 0.012


@dataclass
class PostingPlan:
    posting_id: str
    label_group: int
    group: int  # group index in the plan
    product: Product
    shop: Shop
    title: str
    image_key: int  # postings sharing a key share one image file
    scene: dict | None  # None: re-uses the image of ``image_key``
    carries: int | None = None  # planted posting noise: the group whose product this posting shows

    @property
    def category(self) -> str:
        return self.product.category.key


def _image_name(seed: int, key: int) -> str:
    return hashlib.md5(f"shopee-demo/{seed}/image/{key}".encode()).hexdigest() + ".jpg"


def _check(n_postings, seed, image_size=256) -> None:
    if isinstance(n_postings, bool) or not isinstance(n_postings, int):
        raise DataError(f"n_postings must be an integer, got {n_postings!r}")
    if n_postings < MIN_POSTINGS:
        raise DataError(f"n_postings must be at least {MIN_POSTINGS} (got {n_postings})")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise DataError(f"seed must be an integer, got {seed!r}")
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 64:
        raise DataError(f"image_size must be an integer >= 64, got {image_size!r}")


def plan_catalog(n_postings: int = 5000, seed: int = 0, *, group_noise: float = P_GROUP_NOISE,
                 posting_noise: float = P_POSTING_NOISE) -> list[PostingPlan]:
    """Everything about the catalog except the pixels, in group order (fast, no files).

    ``group_noise`` / ``posting_noise``: the two planted label-noise rates (tests raise them to
    plant enough cases in a small catalog)."""
    _check(n_postings, seed)
    for name, rate in (("group_noise", group_noise), ("posting_noise", posting_noise)):
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 0.5:
            raise DataError(f"{name} must be a rate in [0, 0.5], got {rate!r}")
    sizes = group_sizes(n_postings, seed)
    products = plan_products(len(sizes), seed, noise_rate=group_noise)
    shops = make_shops(max(12, n_postings // 10), seed)
    weights = shop_weights(len(shops))
    ids = random.Random(f"shopee-demo/{seed}/ids")
    posting_ids = ids.sample(range(10**9, 10**10), n_postings)
    labels = ids.sample(range(10**8, 4_294_967_296), len(sizes))

    plans: list[PostingPlan] = []
    next_key = 0
    for g, (size, product) in enumerate(zip(sizes, products)):
        rnd = random.Random(f"shopee-demo/{seed}/group/{g}")
        # its own stream: the draws of the other postings do not depend on whether one is mislabelled
        mis = random.Random(f"shopee-demo/{seed}/mislabel/{g}")
        members: list[PostingPlan] = []
        used_shops: list[int] = []
        for j in range(size):
            for _ in range(3):  # a shop rarely lists the same product twice
                shop = rnd.choices(shops, weights=weights)[0]
                if shop.index not in used_shops:
                    break
            used_shops.append(shop.index)
            own = [m for m in members if m.carries is None]  # copies come from the group's own product
            if own and rnd.random() < P_TITLE_COPY:
                title = own[rnd.randrange(len(own))].title
            else:
                title = make_title(product, shop, rnd)
            r = rnd.random()
            if own and r < P_IMAGE_REUSE:
                src = own[rnd.randrange(len(own))]
                key, scene = src.image_key, None
            else:
                reposts = [m for m in own if m.scene is not None]
                if reposts and r < P_IMAGE_REUSE + P_IMAGE_REPOST:
                    scene = derive_scene(reposts[rnd.randrange(len(reposts))].scene, shop, rnd)
                else:
                    scene = sample_scene(shop, rnd, stock=rnd.random() < P_STOCK_PHOTO)
                key = next_key
                next_key += 1
            plan = PostingPlan(f"train_{posting_ids[len(plans) + j]}", labels[g], g, product, shop, title, key,
                               scene)
            if j > 0 and size >= 3 and len(own) == len(members) and mis.random() < posting_noise:
                other = _other_product_group(products, g, mis)
                if other is not None:
                    if scene is None:  # a fresh photo of the other product, never the group's own file
                        key = next_key
                        next_key += 1
                    plan = PostingPlan(plan.posting_id, labels[g], g, products[other], shop,
                                       make_title(products[other], shop, mis), key,
                                       sample_scene(shop, mis, stock=mis.random() < P_STOCK_PHOTO), carries=other)
            members.append(plan)
        plans.extend(members)
    return plans


def _other_product_group(products: list[Product], g: int, rnd: random.Random) -> int | None:
    """A group whose product is neither group ``g``'s nor one of its family (a sibling would be
    a variant, not another product); None when the catalog has no such group."""
    own = products[g]
    choices = [i for i, p in enumerate(products) if p.family != own.family]
    return choices[rnd.randrange(len(choices))] if choices else None


def planted_noise(plans: list[PostingPlan]):
    """The planted label noise, one row per case (:data:`NOISE_COLUMNS`).

    ``group_pair``: ``label_group`` is a group that lists an earlier group's very product,
    ``same_product_as`` that group (the first listing of the product); postings of the two are
    the same product under two labels. ``posting``: ``posting_id`` is labelled ``label_group``
    but shows the product of group ``same_product_as`` (its title and its photo). Every other
    cross-group pair is a genuinely different product.
    """
    label_of = {pl.group: pl.label_group for pl in plans}
    pairs = sorted({(label_of[pl.group], label_of[pl.product.noise_of]) for pl in plans
                    if pl.carries is None and pl.product.noise_of is not None})
    postings = sorted((pl.label_group, label_of[pl.carries], pl.posting_id) for pl in plans if pl.carries is not None)
    rows = [(a, b, "group_pair", "") for a, b in pairs] + [(a, b, "posting", pid) for a, b, pid in postings]
    frame = pd.DataFrame(rows, columns=NOISE_COLUMNS)
    return frame.astype({"label_group": "int64", "same_product_as": "int64", "kind": str, "posting_id": str})


def read_noise(path):
    """``noise.csv`` as written by :func:`planted_noise`; a file from before the ``kind`` column
    (group pairs only) reads as group pairs. Bad files are a one-line :class:`DataError`."""
    try:
        frame = pd.read_csv(path, dtype={"posting_id": str, "kind": str}, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: unreadable noise file ({' '.join(str(exc).split())})") from None
    missing = [c for c in NOISE_COLUMNS[:2] if c not in frame]
    if missing:
        raise DataError(f"{path}: lacks column(s) {', '.join(missing)}")
    if "kind" not in frame:
        frame["kind"] = "group_pair"
    if "posting_id" not in frame:
        frame["posting_id"] = ""
    bad = sorted(set(frame["kind"]) - set(NOISE_KINDS))
    if bad:
        raise DataError(f"{path}: unknown noise kind(s) {', '.join(map(repr, bad))}")
    try:
        frame = frame.astype({"label_group": "int64", "same_product_as": "int64"})
    except (TypeError, ValueError):
        raise DataError(f"{path}: label_group and same_product_as must be integers") from None
    return frame[NOISE_COLUMNS]


def _phash(jpeg: bytes) -> str:
    return file_phash(io.BytesIO(jpeg))


def generate_catalog(out_dir, n_postings: int = 5000, seed: int = 0, image_size: int = 256,
                     progress: bool = True, hostile_titles: list[str] | None = None, *,
                     group_noise: float = P_GROUP_NOISE, posting_noise: float = P_POSTING_NOISE) -> dict:
    """Write out_dir/train.csv, out_dir/train_images/*.jpg and out_dir/noise.csv; return summary stats.

    ``hostile_titles``: every other posting (in plan order) gets one of these titles instead of its
    own, in turn (:func:`~.hostile.hostile_assignment`); images, groups and ids stay as planned."""

    _check(n_postings, seed, image_size)
    out = Path(out_dir)
    img_dir = out / "train_images"
    try:
        img_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataError(f"cannot create {img_dir}: {exc.strerror or exc}") from None

    plans = plan_catalog(n_postings, seed, group_noise=group_noise, posting_noise=posting_noise)
    names: dict[int, str] = {}
    phashes: dict[int, str] = {}
    bar = tqdm(total=len(plans), desc="demo catalog", unit="posting", disable=not progress,
               dynamic_ncols=True)
    current_product, item = -1, None
    try:
        for pl in plans:
            if pl.scene is not None:
                if pl.product.index != current_product:  # a mislabelled posting draws another product
                    item = render_product(pl.product)
                    current_product = pl.product.index
                img = render_scene(item, pl.scene, pl.shop, image_size)
                data = encode_jpeg(img, pl.scene["quality"])
                name = _image_name(seed, pl.image_key)
                atomic_write_bytes(img_dir / name, data, durable=False)
                names[pl.image_key] = name
                phashes[pl.image_key] = _phash(data)
            bar.update(1)
    finally:
        bar.close()

    titles = hostile_assignment(len(plans), hostile_titles) if hostile_titles else {}
    rows = [(pl.posting_id, names[pl.image_key], phashes[pl.image_key], titles.get(i, pl.title), pl.label_group)
            for i, pl in enumerate(plans)]
    random.Random(f"shopee-demo/{seed}/order").shuffle(rows)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["label_group"] = frame["label_group"].astype("int64")
    atomic_write_csv(out / NOISE_FILE, planted_noise(plans))
    atomic_write_csv(out / "train.csv", frame)  # last: the CSV never points at missing images
    stats = summarize(frame, n_categories=len({pl.category for pl in plans}))
    if hostile_titles:
        stats["n_hostile_titles"] = len(titles)
    return stats


def summarize(frame, n_categories: int | None = None) -> dict:
    """Summary statistics of a catalog frame (Kaggle columns)."""
    sizes = frame.groupby("label_group").size().tolist()
    out = {
        "n_postings": int(len(frame)),
        "n_groups": int(len(sizes)),
        "group_size_median": float(statistics.median(sizes)),
        "group_size_mean": round(float(len(frame) / len(sizes)), 4),
        "group_size_max": int(max(sizes)),
        "n_unique_images": int(frame["image"].nunique()),
        "n_unique_phash": int(frame["image_phash"].nunique()),
        "n_unique_titles": int(frame["title"].nunique()),
    }
    if n_categories is not None:
        out["n_categories"] = int(n_categories)
    return out


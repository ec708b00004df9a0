"""A bundle shaped like the Kaggle data, made without training: the dashboard's benchmark at scale.

The catalog has Shopee's group sizes (every group >= 2, median 2, largest 51 at 34,250
postings) split exactly as the seed splits (GroupKFold: valid and test ~6,850 each). Each
leaf model of a profile (``seed18``: five image models, the CurricularFace variant, five text
models, TF-IDF, pHash) gets embeddings of its real shape: synthetic clustered 512-d image and
768-d text rows (product category -> sibling family -> label group -> posting, with photo /
title noise shared by the models of one modality and noise of each model's own), real
TF-IDF of synthetic titles (a sparse block) and pHash of synthetic hashes. From there the
builder's own steps make the bundle — neighbour tables, thresholds searched on valid, Min2,
INB, ensembles, fusions, unions, the iterated INB entry, thumbnails, checksummed manifest —
so the bundle is exactly what ``build-bundle`` writes, only its embeddings are synthetic.
Every model's label and spec say so.

    python scripts/make_kaggle_shaped_bundle.py --postings 13701 --out /tmp/kaggle_shaped [--pool-all]
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from ..analysis.maps import pca_2d
from ..data.demo.groups import group_sizes
from ..data.folds import make_folds
from ..errors import ShopeeError
from ..matching.embeddings import row_norms
from ..matching.index import check_memory, parse_index
from ..models import list_models, members
from ..models.embedders import to_storage
from ..models.registry import ModelEntry
from . import builder as B
from .edit import bundle_lock, swap_in
from .suspects import ship_suspects
from .writer import seal

DIMS = {"image": 512, "text": 768}
LATENT = 64
SHARE_SHOWN = 2 / 5  # valid + test of the 5 folds


log = logging.getLogger(__name__)


def catalog_size(shown: int) -> int:
    """Labelled postings whose valid + test folds hold about ``shown`` postings."""
    return int(math.ceil(shown / SHARE_SHOWN))


@dataclasses.dataclass
class Latents:
    """Per-posting latent vectors: what every model of one modality sees (before its own noise)."""

    image: np.ndarray
    text: np.ndarray


def catalog(n: int, seed: int = 0) -> tuple[pd.DataFrame, Latents]:
    """``n`` labelled postings (posting_id, image, image_phash, title, label_group, split) and latents."""
    rng = np.random.default_rng(seed)
    sizes = np.asarray(group_sizes(n, seed))
    n_groups = len(sizes)
    labels = np.repeat(np.arange(n_groups), sizes)
    order = rng.permutation(n)
    labels = labels[order]
    # groups come in sibling families (one attribute apart) inside categories
    n_fam = max(1, int(n_groups / 2.2))
    fam_of_group = rng.integers(0, n_fam, n_groups)
    n_cat = 60
    cat_of_fam = rng.integers(0, n_cat, n_fam)
    cat = rng.normal(size=(n_cat, LATENT))
    fam = cat[cat_of_fam] + 0.9 * rng.normal(size=(n_fam, LATENT))
    grp = fam[fam_of_group] + 0.75 * rng.normal(size=(n_groups, LATENT))
    grp /= np.linalg.norm(grp, axis=1, keepdims=True)

    def posting_latent(noise: float, outliers: float) -> np.ndarray:
        z = grp[labels] + noise * rng.normal(size=(n, LATENT)) / math.sqrt(LATENT)
        odd = rng.random(n) < outliers  # another photo / a generic title: far from its group
        z[odd] = rng.normal(size=(int(odd.sum()), LATENT)) / math.sqrt(LATENT) * 1.2
        return z.astype(np.float32)

    lat = Latents(image=posting_latent(0.55, 0.06), text=posting_latent(0.75, 0.03))
    frame = pd.DataFrame({
        "posting_id": [f"train_{1_000_000_000 + i}" for i in range(n)],
        "image": [f"{i:012d}.jpg" for i in range(n)],
        "image_phash": _phashes(labels, fam_of_group, rng),
        "title": _titles(labels, fam_of_group, cat_of_fam, rng),
        "label_group": 100_000_000 + labels,
    })
    folds = make_folds(frame)
    frame["split"] = folds["split"].to_numpy()
    return frame, lat


def synthetic_pool(n: int, dim: int = 512, seed: int = 0, noise: float = 1.0, chunk: int = 100_000):
    """(float32 unit rows (n, dim), labels): one model's embeddings of an ``n``-posting catalog with
    Shopee's group sizes, made as :func:`catalog` and :func:`dense_embeddings` make them (category ->
    family -> group -> posting latents, a projection and the model's own noise), without titles or
    images, in chunks of rows, for pools of millions (``scripts/bench_million.py``)."""
    rng = np.random.default_rng(seed)
    sizes = np.asarray(group_sizes(n, seed))
    n_groups = len(sizes)
    labels = np.repeat(np.arange(n_groups), sizes)[rng.permutation(n)]
    n_fam = max(1, int(n_groups / 2.2))
    fam_of_group = rng.integers(0, n_fam, n_groups)
    cat = rng.normal(size=(60, LATENT))
    fam = cat[rng.integers(0, 60, n_fam)] + 0.9 * rng.normal(size=(n_fam, LATENT))
    grp = fam[fam_of_group] + 0.75 * rng.normal(size=(n_groups, LATENT))
    grp /= np.linalg.norm(grp, axis=1, keepdims=True)
    proj = rng.normal(size=(LATENT, dim)).astype(np.float32) / math.sqrt(dim)
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        lab = labels[start:start + chunk]
        m = len(lab)
        z = (grp[lab] + 0.55 * rng.normal(size=(m, LATENT)) / math.sqrt(LATENT)).astype(np.float32)
        odd = rng.random(m) < 0.06
        z[odd] = rng.normal(size=(int(odd.sum()), LATENT)).astype(np.float32) / math.sqrt(LATENT) * 1.2
        x = z @ proj
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        x += noise * rng.normal(size=x.shape).astype(np.float32) / math.sqrt(dim)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        out[start:start + m] = x
    return out, labels


def _phashes(labels, fam_of_group, rng) -> list[str]:
    fam_hash = rng.integers(0, 2**63, fam_of_group.max() + 1, dtype=np.int64).astype(np.uint64)
    grp_flip = _bits(rng, len(fam_of_group), 6)
    h = fam_hash[fam_of_group[labels]] ^ grp_flip[labels] ^ _bits(rng, len(labels), 8)
    other = rng.random(len(labels)) < 0.4  # a re-shot photo: an unrelated hash
    h[other] = rng.integers(0, 2**63, int(other.sum()), dtype=np.int64).astype(np.uint64)
    return [f"{int(x):016x}" for x in h]


def _bits(rng, n: int, k: int) -> np.ndarray:
    """n random 64-bit masks with about ``k`` bits set."""
    out = np.zeros(n, dtype=np.uint64)
    for _ in range(k):
        out |= np.left_shift(np.uint64(1), rng.integers(0, 64, n).astype(np.uint64))
    return out


WORDS = [f"{a}{b}" for a in ("ka", "se", "ba", "mi", "to", "lu", "pe", "ro", "di", "ne", "su", "ga")
         for b in ("ran", "pit", "mos", "lek", "dun", "ria", "tok", "bel", "sin", "gar", "pul", "wen")]
PROMO = ["promo", "murah", "ori", "original", "ready", "stock", "cod", "gratis", "ongkir", "diskon", "new", "best"]
UNITS = ["50ml", "100ml", "250ml", "500 ml", "1kg", "500gr", "1 pcs", "3pcs", "merah", "biru", "hitam", "xl"]


def _titles(labels, fam_of_group, cat_of_fam, rng) -> list[str]:
    n_fam = len(cat_of_fam)
    fam_words = rng.integers(0, len(WORDS), (n_fam, 4))
    cat_words = rng.integers(0, len(WORDS), (cat_of_fam.max() + 1, 2))
    grp_unit = rng.integers(0, len(UNITS), len(fam_of_group))
    grp_word = rng.integers(0, len(WORDS), len(fam_of_group))
    out = []
    for lab in labels:
        f = fam_of_group[lab]
        words = [WORDS[w] for w in cat_words[cat_of_fam[f]]] + [WORDS[w] for w in fam_words[f]]
        words = [w for w in words if rng.random() > 0.3]
        words += [UNITS[grp_unit[lab]]] + ([WORDS[grp_word[lab]]] if rng.random() < 0.5 else [])
        words += list(rng.choice(PROMO, int(rng.integers(0, 3)), replace=False))
        words += [WORDS[w] for w in rng.integers(0, len(WORDS), int(rng.integers(0, 3)))]
        rng.shuffle(words)
        out.append(" ".join(words))
    return out


def dense_embeddings(latent: np.ndarray, dim: int, noise: float, seed: int) -> np.ndarray:
    """One model's float32 rows: the latents seen through the model's own projection, plus its noise."""
    rng = np.random.default_rng(seed)
    proj = rng.normal(size=(latent.shape[1], dim)).astype(np.float32) / math.sqrt(dim)
    x = latent @ proj
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    x += noise * rng.normal(size=x.shape).astype(np.float32) / math.sqrt(dim)
    return x * rng.uniform(0.8, 1.2, size=(len(x), 1)).astype(np.float32)  # raw rows are not unit length


def shaped_entries(profile: str) -> list[ModelEntry]:
    """The profile's models, each labelled as the synthetic stand-in it is here."""
    out = []
    for e in list_models(profile):
        spec = {**e.spec, "synthetic": True}
        if e.kind == "combo":
            out.append(dataclasses.replace(e, spec=spec))
            continue
        if e.kind in ("tfidf", "phash"):
            what = ("real computation on synthetic titles" if e.kind == "tfidf"
                    else "real pHash distance of synthetic hashes")
            out.append(dataclasses.replace(e, label=f"{e.label} — {what}", spec=spec))
            continue
        mod = e.modality
        spec.update(trained=False, weights="none", stand_in_for=spec.get("backbone"),
                    backbone=f"synthetic {DIMS[mod]}-d {mod} embeddings", dims=DIMS[mod], loss=None)
        out.append(dataclasses.replace(e, label=f"synthetic {DIMS[mod]}-d {mod} rows in the shape of: {e.label}",
                                       spec=spec))
    return out


def leaf_rows(entries, frame: pd.DataFrame, lat: Latents, seed: int) -> tuple[dict, dict]:
    """Storage-form rows (float32 unit dense / CSR) and raw row norms of every leaf model."""
    from ..training.embed import embed_untrained  # torch: only TF-IDF and pHash rows are computed here

    raw, norms = {}, {}
    leaves = [e for e in entries if e.kind != "combo"]
    for i, e in enumerate(leaves):
        t0 = time.time()
        if e.kind in ("tfidf", "phash"):
            x = embed_untrained(e, None, frame, progress=False)
        else:
            mod = e.modality
            noise = 0.9 + 0.12 * (i % 6)  # models of one modality differ in quality
            x = dense_embeddings(getattr(lat, mod), DIMS[mod], noise, seed * 1000 + i + 1)
        norms[e.id] = None if hasattr(x, "tocsr") else row_norms(np.asarray(x, dtype=np.float32))
        raw[e.id] = to_storage(x)
        log.info(f"[embed {i + 1}/{len(leaves)}] {e.id}: {x.shape[1]}-d {'sparse' if hasattr(x, 'tocsr') else 'dense'} "
            f"({time.time() - t0:.1f} s)")
    return raw, norms


def write_images(folder: Path, frame: pd.DataFrame, side: int = 112) -> None:
    """A small JPEG per posting (a colour per family, a mark per group), as a catalog's train_images."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, phash, lab in zip(frame["image"], frame["image_phash"], frame["label_group"]):
        h = int(phash, 16)
        im = Image.new("RGB", (side, side), ((h >> 8) & 255, (h >> 16) & 255, (h >> 24) & 255))
        d = ImageDraw.Draw(im)
        x = int(lab) % 80
        d.ellipse((x, 20, x + 30, 50 + (int(lab) // 80) % 50), fill=(255 - (h & 255), 255, 255))
        im.save(folder / name, quality=70)


def build_shaped(out, postings: int = 13_701, *, profile: str = "seed18", pool_all: bool = False, k: int = 50,
                 seed: int = 0, maps: str = "pca", catalog_n: int | None = None, index=None,
                 min_recall: float | None = None, storage: str = "float32", suspects: bool = True) -> dict:
    """Write the bundle to ``out``; ``postings``: the size of the shown pools together (valid + test);
    ``catalog_n``: the catalog's size instead (with ``pool_all``: one pool of that size). ``index``: the
    candidate search of every table (exact by default), its measured recall in the manifest. Like
    ``build-bundle`` it holds the bundle's lock and refuses while another build or edit runs. ``suspects``:
    ship the label-noise finder's results (as ``build-bundle``)."""
    index = parse_index(index)  # an unknown index fails before any work
    with bundle_lock(out, what="build", wait=False):
        return _build_shaped(out, postings, profile, pool_all, k, seed, maps, catalog_n, index, min_recall, storage,
                             suspects)


def _build_shaped(out, postings, profile, pool_all, k, seed, maps, catalog_n, index, min_recall, storage,
                  suspects) -> dict:
    t_start = time.time()
    out = Path(out)
    storage = B.storage_of(profile, storage)
    n = int(catalog_n or catalog_size(postings))
    if n < 50:
        raise ShopeeError(f"a Kaggle-shaped catalog needs at least 50 postings, got {n}")
    entries = B._entries(profile)  # the builder's order: leaves, then combinations after their members
    shaped = {e.id: e for e in shaped_entries(profile)}
    entries = [shaped[e.id] for e in entries]
    _check_memory(entries, n if pool_all else int(n * SHARE_SHOWN), k, index)
    B.STEPS.reset()
    with B.STEPS("synthetic catalog (groups, titles, hashes)"):
        frame, lat = catalog(n, seed)
    work = out.parent / f".{out.name}.shaped"
    if work.exists():
        shutil.rmtree(work)
    (work / "catalog").mkdir(parents=True)
    (work / "catalog" / "catalog.json").write_text(json.dumps({"source": "synthetic, Kaggle-shaped"}))
    log.info(f"[catalog] {n:,} postings, {frame['label_group'].nunique():,} groups; "
        + ", ".join(f"{s} {c:,}" for s, c in frame["split"].value_counts().items()))
    pools = B.WITH_ALL if pool_all else B.SHOWN
    p = B.Plan(f"{profile}-shaped", entries, SimpleNamespace(image_dir=work / "catalog" / "train_images"), frame,
               work / "catalog", out, k, None, pools, storage, index, min_recall)
    with B.STEPS("synthetic images"):
        write_images(work / "catalog" / "train_images", p.pool_frame)
    with B.STEPS("embed every leaf model (synthetic rows; TF-IDF, pHash)"):
        raw, norms = leaf_rows(entries, frame, lat, seed)
    raw = {m: x[p.shown] for m, x in raw.items()}
    norms = {m: None if x is None else x[p.shown] for m, x in norms.items()}
    new = out.parent / f".{out.name}.new"
    if new.exists():
        shutil.rmtree(new)
    new.mkdir(parents=True)
    try:
        models = B._match_models(p, raw, norms, new, pca_2d if maps == "pca" else maps == "umap", ())
        with B.STEPS("postings + thumbnails"):
            B._write_postings(p, new)
        top = B._manifest_top(p, models, t_start)
        size = f"--pool-size {n}" if catalog_n else f"--postings {postings}"
        top["built"]["command"] = (f"python scripts/make_kaggle_shaped_bundle.py {size} --out {out}"
                                   + (" --pool-all" if pool_all and not catalog_n else "")
                                   + f" --seed {seed} --maps {maps}"
                                   + ("" if index.exact else f" --index {index.describe()}")
                                   + ("" if storage == "float32" else f" --storage {storage}"))
        top["dataset"]["synthetic"] = ("embeddings are synthetic (clustered rows of the real dimensions); "
                                       "tables, thresholds and metrics come from the builder's own steps")
        with B.STEPS("manifest + checksums"):
            manifest = seal(new, {"format_version": 1, **top})
        if suspects:
            with B.STEPS("label-noise suspects (the finder, once per labelled pool)"):
                manifest = ship_suspects(new, manifest)
        swap_in(new, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if new.exists():
            shutil.rmtree(new, ignore_errors=True)
    B.STEPS.report(time.time() - t_start)
    log.info(f"[done] {out}: {len(manifest['models'])} models in {time.time() - t_start:.0f} s")
    return manifest


def _check_memory(entries, n: int, k: int, index) -> None:
    """Before any work: the biggest pool's rows of every dense model and its widest fused kNN must fit
    in free memory (a one-line error otherwise)."""
    def dims(e):
        if e.kind == "combo":
            return sum(dims(m) for m in members(e))
        return 0 if e.kind in ("tfidf", "phash") else DIMS[e.modality]
    by_id = {e.id: e for e in entries}
    widest = max(dims(by_id.get(e.id, e)) for e in entries)
    rows = sum(dims(e) for e in entries if e.kind != "combo")
    check_memory(n, widest, k, index, resident=n * rows * 4 * 2, what="the Kaggle-shaped bundle's biggest pool")

"""Bundles for the dashboard: discovery and cached, read-only loading."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from shopee_core.analysis.reviews import ReviewFile, check_outside, corrected_labels, default_path, manifest_sha
from shopee_core.bundle import Bundle, BundleError
from shopee_core.bundle.reader import CACHE_BYTES
from shopee_core.errors import ShopeeError

ROOT = Path(__file__).resolve().parents[1]
PRECOMPUTED = ROOT / "precomputed"
DEFAULT_BUNDLE = "demo"


ENV_BUNDLE = "SHOPEE_BUNDLE"
ENV_REVIEWS = "SHOPEE_REVIEWS"
ENV_CACHE_MB = "SHOPEE_CACHE_MB"
MIN_CACHE_MB = 64
TRUTHS = ("labelled", "fixed")
TRUTH_LABELS = {"labelled": "as labelled", "fixed": "with my fixes"}


def _cli_path(flag: str, env: str) -> Path | None:
    value = _cli_value(flag, env)
    return None if value is None else Path(value).expanduser().resolve()


def _cli_value(flag: str, env: str) -> str | None:
    args = sys.argv[1:]
    if flag in args:
        i = args.index(flag)
        if i + 1 < len(args):
            return args[i + 1]
    return os.environ.get(env, "").strip() or None


def cache_bytes() -> int:
    """What each open bundle may keep of what the server computed from it (its own cache; its pools
    share half as much again): ``streamlit run app.py -- --cache-mb N`` or ``$SHOPEE_CACHE_MB``,
    default 1,024. Less memory, more recomputing when a view comes back (README, *Dashboard speed*)."""
    raw = _cli_value("--cache-mb", ENV_CACHE_MB)
    if raw is None:
        return CACHE_BYTES
    try:
        mb = int(raw)
    except ValueError:
        mb = -1
    if mb < MIN_CACHE_MB:
        raise ShopeeError(f"--cache-mb / ${ENV_CACHE_MB} must be a whole number of MB, at least {MIN_CACHE_MB}; "
                          f"got {raw!r}")
    return mb * 2**20


def cli_bundle() -> Path | None:
    """A bundle path given as ``streamlit run app.py -- --bundle PATH`` or in ``$SHOPEE_BUNDLE``
    (the command line wins; tests use the variable)."""
    return _cli_path("--bundle", ENV_BUNDLE)


def cli_reviews() -> Path | None:
    """A review file given as ``streamlit run app.py -- --reviews FILE`` or in ``$SHOPEE_REVIEWS``."""
    return _cli_path("--reviews", ENV_REVIEWS)


def available_bundles() -> dict[str, Path]:
    """Name -> folder for every bundle under precomputed/ (and the --bundle one)."""
    found = {p.parent.name: p.parent for p in sorted(PRECOMPUTED.glob("*/manifest.json"))
             if not p.parent.name.startswith(".")}
    extra = cli_bundle()
    if extra is not None:
        others = {k: v for k, v in found.items() if v != extra}
        name = extra.name if extra.name not in others else f"{extra.name} ({extra.parent})"
        found = {name: extra, **others}
    return found


def default_bundle_name() -> str | None:
    """The bundle given on the command line / in $SHOPEE_BUNDLE, as named in the picker."""
    extra = cli_bundle()
    if extra is None:
        return None
    return next((k for k, v in available_bundles().items() if v == extra), None)


POOL_ORDER = ("test", "valid", "all")
POOL_LABELS = {"test": "test", "valid": "valid", "all": "all labelled"}


def bundle_pools(name: str | None) -> list[str]:
    """The candidate pools the named bundle has tables for (test first; a refused bundle: test, valid)."""
    bundles = available_bundles()
    path = bundles.get(name) or next(iter(bundles.values()), None)
    if path is None:
        return ["test", "valid"]
    try:
        shown = load_bundle(str(path)).splits
    except ShopeeError:  # refused, or a bad --cache-mb: the page says which
        return ["test", "valid"]
    return [s for s in POOL_ORDER if s in shown] + [s for s in shown if s not in POOL_ORDER]


def load_bundle(path: str) -> Bundle:
    """Open (checksums verified once per version of the bundle, and remembered across restarts by
    each file's identity: an unchanged file is not hashed again, a changed one is refused); arrays
    load lazily and read-only.

    Keyed by the manifest's identity too: import-model / remove-model swap in a new bundle
    folder, and the next page view then opens that one instead of serving the old."""
    try:
        st_ = (Path(path) / "manifest.json").stat()
        stamp = (st_.st_ino, st_.st_mtime_ns, st_.st_size)
    except OSError:
        stamp = None
    return _open_bundle(path, stamp, cache_bytes())


@st.cache_resource(show_spinner="Verifying and loading the bundle…", max_entries=8)
def _open_bundle(path: str, stamp, budget: int) -> Bundle:
    return Bundle.open(path, verify=True, cache_bytes=budget)


def current_bundle() -> Bundle | None:
    """The bundle chosen in the sidebar, under the truth chosen there (as labelled, or with the
    review file's fixes); shows a readable error and returns None if it is refused."""
    from .state import get
    from .text import code, md

    name = get("bundle")
    bundles = available_bundles()
    if not bundles:
        st.warning("No bundle found under `precomputed/`. Build one with "
                   "`python -m shopee_core build-bundle --profile demo --data DIR --out precomputed/demo`.")
        return None
    path = bundles.get(name) or next(iter(bundles.values()))
    try:
        bundle = load_bundle(str(path))
    except BundleError as exc:
        st.error(f"Bundle {code(path.name)} refused: {md(exc)}")
        return None
    except ShopeeError as exc:  # the server's own settings (--cache-mb)
        st.error(md(exc), icon=":material/error:")
        return None
    if get("truth") == "fixed" and bundle.has_labels:
        try:
            return truth_view(bundle)[0]
        except ShopeeError as exc:
            st.error(f"Truth with my fixes unavailable, showing the labels as they are: {md(exc)}",
                     icon=":material/error:")
    return bundle


# ----------------------------------------------------------------------------- review file and fixed truth
def truth_in_use() -> str | None:
    """The fixed truth's description when the sidebar asks for it and it applies (None otherwise;
    a page that cannot apply it says why)."""
    from .state import get

    if get("truth") != "fixed":
        return None
    bundles = available_bundles()
    path = bundles.get(get("bundle")) or next(iter(bundles.values()), None)
    if path is None:
        return None
    try:
        bundle = load_bundle(str(path))
        return truth_view(bundle)[0].truth if bundle.has_labels else None
    except ShopeeError:
        return None


def reviews_path(bundle: Bundle) -> Path:
    """The review file: ``-- --reviews FILE`` / ``$SHOPEE_REVIEWS``, else ``NAME.reviews.jsonl`` beside the bundle."""
    return check_outside(cli_reviews() or default_path(bundle.root), bundle.root)


def review_file(bundle: Bundle) -> ReviewFile:
    """The bundle's review file, checked against its manifest, postings and groups on every read."""
    b = bundle.labelled
    return ReviewFile(reviews_path(b), b.digest or manifest_sha(b.root), postings=b.postings["posting_id"].to_numpy(),
                      groups=b.postings["label_group"].dropna().to_numpy(), name=f"bundle {b.name}")


def _stamp(path: Path):
    try:
        st_ = path.stat()
        return (st_.st_ino, st_.st_mtime_ns, st_.st_size)
    except OSError:
        return None


def truth_view(bundle: Bundle):
    """``(view, fixes, verdicts)``: the bundle under the review file's fixes (a
    :meth:`~shopee_core.bundle.Bundle.relabelled` view), the ``label_fixes`` table and the live
    verdicts. Made again whenever the review file changes (another tab's verdict included)."""
    base = bundle.labelled
    rf = review_file(base)
    return _truth_view(str(base.root), _stamp(base.root / "manifest.json"), str(rf.path), _stamp(rf.path))


@st.cache_resource(show_spinner="Applying your fixes…", max_entries=2)  # a verdict makes a new one
def _truth_view(root: str, stamp, reviews: str, reviews_stamp):
    base = load_bundle(root)
    rf = review_file(base)
    verdicts = rf.verdicts()
    labels, fixes = corrected_labels(base.postings["posting_id"].to_numpy(), base.postings["label_group"].to_numpy(),
                                     verdicts)
    n = len(fixes)
    view = base.relabelled(labels, truth=f"with my fixes ({n} posting{'s' if n != 1 else ''} relabelled)")
    return view, fixes, verdicts

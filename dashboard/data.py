"""Bundles for the dashboard: discovery and cached, read-only loading."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import streamlit as st

from shopee_core.bundle import Bundle, BundleError

ROOT = Path(__file__).resolve().parents[1]
PRECOMPUTED = ROOT / "precomputed"
DEFAULT_BUNDLE = "demo"


ENV_BUNDLE = "SHOPEE_BUNDLE"


def cli_bundle() -> Path | None:
    """A bundle path given as ``streamlit run app.py -- --bundle PATH`` or in ``$SHOPEE_BUNDLE``
    (the command line wins; tests use the variable)."""
    args = sys.argv[1:]
    if "--bundle" in args:
        i = args.index("--bundle")
        if i + 1 < len(args):
            return Path(args[i + 1]).expanduser().resolve()
    env = os.environ.get(ENV_BUNDLE, "").strip()
    if env:
        return Path(env).expanduser().resolve()
    return None


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
    except BundleError:
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
    return _open_bundle(path, stamp)


@st.cache_resource(show_spinner="Verifying and loading the bundle…", max_entries=8)
def _open_bundle(path: str, stamp) -> Bundle:
    return Bundle.open(path, verify=True)


def current_bundle() -> Bundle | None:
    """The bundle chosen in the sidebar; shows a readable error and returns None if it is refused."""
    from .state import get

    name = get("bundle")
    bundles = available_bundles()
    if not bundles:
        st.warning("No bundle found under `precomputed/`. Build one with "
                   "`python -m shopee_core build-bundle --profile demo --data DIR --out precomputed/demo`.")
        return None
    path = bundles.get(name) or next(iter(bundles.values()))
    try:
        return load_bundle(str(path))
    except BundleError as exc:
        from .text import code, md

        st.error(f"Bundle {code(path.name)} refused: {md(exc)}")
        return None

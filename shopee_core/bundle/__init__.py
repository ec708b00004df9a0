"""Bundles: the precomputed artefacts the dashboard reads (format, writer, reader, builder)."""

from .format import FORMAT_VERSION, BundleError
from .reader import Bundle, check_bundle

__all__ = ["FORMAT_VERSION", "Bundle", "BundleError", "check_bundle"]

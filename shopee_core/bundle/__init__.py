"""Bundles: the precomputed artefacts the dashboard reads (format, writer, reader, builder).

The manifest's schema and the file layout are known in this package only: everything else reads a
bundle's models as :class:`ModelEntry` objects (:attr:`Bundle.entries`, :meth:`Bundle.entry`)."""

from .entry import ModelEntry
from .format import FORMAT_VERSION, BundleError
from .reader import Bundle, check_bundle

__all__ = ["FORMAT_VERSION", "Bundle", "BundleError", "ModelEntry", "check_bundle"]

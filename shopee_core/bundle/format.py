"""Bundle format: names, versions and the manifest schema.

A bundle is a folder of precomputed artefacts the dashboard reads. Only data
formats that execute nothing on load are allowed.
"""

from __future__ import annotations

from ..errors import ShopeeError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"
POSTINGS = "postings.parquet"
THUMBS = "thumbs"
REFERENCE = "reference/seed_results.csv"
SEED_SWEEPS = "reference/seed_sweeps.csv"  # the study's sweep tables (optional: older bundles lack it)
SWEEPS = "sweeps"                          # sweeps/<name>.json: sweep results (manifest "sweeps", optional)
HISTORY = "history.json"                   # models/<id>/history.json: a trained model's epochs (files "history")
ALLOWED_SUFFIXES = (".json", ".parquet", ".npy", ".npz", ".jpg", ".safetensors", ".csv", ".txt")
POSTING_COLUMNS = ("posting_id", "title", "label_group", "split", "image_phash", "thumb")
OPTIONAL_POSTING_COLUMNS = ("image",)  # the image file's name: postings sharing one file (Data overview)
MODEL_FIELDS = ("id", "label", "family", "recipe", "spec", "thresholds", "metrics", "files", "query")
THRESHOLD_FIELDS = ("t", "t2", "inb_t", "inb_t2", "inb_iters")
FAMILIES = ("image", "text", "fusion", "baseline")
VARIANTS = ("base", "min2", "inb", "graph")  # graph: the min2 decision + the step tuned on valid (optional)
SHOWN_SPLITS = ("valid", "test")
ALL_POOL = "all"  # every labelled posting of the catalog as one candidate pool (optional)
TOP_FIELDS = ("format_version", "dataset", "k", "models", "files")
# ``storage``: the dtype of dense embedding rows and neighbour similarities (bundles written before
# the field existed store float16)
STORAGE_DTYPES = ("float32", "float16")
LEGACY_STORAGE = "float16"


def storage_dtype(manifest: dict) -> str:
    """How a bundle stores its dense rows and similarities (its manifest's ``storage``)."""
    return str(manifest.get("storage") or LEGACY_STORAGE)


VECTORIZER = "vectorizer.json"  # a TF-IDF model's fitted vocabulary per pool, for typed-title queries


class BundleError(ShopeeError):
    """A bundle that cannot be trusted, with a one-line reason."""


class BundleChanged(Exception):
    """The bundle was replaced (an edit or a build swapped in a new version) while an open
    :class:`~shopee_core.bundle.reader.Bundle` of the old one was still reading files.

    Not a :class:`ShopeeError` on purpose: pages show those as messages, while this one must
    reach the dashboard's frame, which draws the page again from the new version (the CLI
    prints it as one ``error:`` line)."""


def model_dir(model_id: str) -> str:
    return f"models/{model_id}"

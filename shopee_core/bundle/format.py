"""Bundle format (DESIGN.md "Bundle format"): names, versions and the manifest schema.

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
ALLOWED_SUFFIXES = (".json", ".parquet", ".npy", ".npz", ".jpg", ".safetensors", ".csv", ".txt")
POSTING_COLUMNS = ("posting_id", "title", "label_group", "split", "image_phash", "thumb")
MODEL_FIELDS = ("id", "label", "family", "recipe", "spec", "thresholds", "metrics", "files", "query")
THRESHOLD_FIELDS = ("t", "t2", "inb_t", "inb_t2", "inb_iters")
FAMILIES = ("image", "text", "fusion", "baseline")
VARIANTS = ("base", "min2", "inb", "graph")  # graph: the min2 decision + the step tuned on valid (optional)
SHOWN_SPLITS = ("valid", "test")
ALL_POOL = "all"  # every labelled posting of the catalog as one candidate pool (optional)
TOP_FIELDS = ("format_version", "dataset", "k", "models", "files")


class BundleError(ShopeeError):
    """A bundle that cannot be trusted, with a one-line reason."""


def model_dir(model_id: str) -> str:
    return f"models/{model_id}"

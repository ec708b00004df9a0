"""Kaggle-layout catalogs: loading and validation, folds, title clean-up, images, demo catalog."""

from .folds import SPLIT_OF_FOLD, adopt_folds, attach_splits, load_or_create_folds, make_folds
from .images import MAX_PIXELS, open_image
from .kaggle import REQUIRED_COLUMNS, Catalog, find_bad_images, load_catalog, read_postings_csv
from .text import clean_title, count_literal_escapes, decode_escapes

__all__ = [
    "MAX_PIXELS", "REQUIRED_COLUMNS", "SPLIT_OF_FOLD", "Catalog", "adopt_folds", "attach_splits", "clean_title",
    "count_literal_escapes", "decode_escapes", "find_bad_images", "load_catalog", "load_or_create_folds",
    "make_folds", "open_image", "read_postings_csv",
]

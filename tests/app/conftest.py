"""Fixtures shared by the page tests: one tiny real bundle per module (see tests/analysis/bundles.py)."""

from tests.analysis.bundles import bundle, path  # noqa: F401  (fixtures)

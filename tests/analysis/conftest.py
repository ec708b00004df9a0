"""The tiny bundle's ``path`` and ``bundle`` fixtures (one definition, in bundles.py, shared with tests/app)."""

from .bundles import bundle, path  # noqa: F401  (fixtures)

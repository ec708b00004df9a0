"""Fixtures shared by the page tests: one tiny real bundle per module (see tests/analysis/bundles.py)."""

import pytest

from shopee_core.bundle import Bundle
from tests.analysis.bundles import tiny_bundle


@pytest.fixture(scope="module")
def path(tmp_path_factory):
    return tiny_bundle(tmp_path_factory)


@pytest.fixture(scope="module")
def bundle(path):
    return Bundle.open(path)

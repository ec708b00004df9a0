"""The server's cache budget: ``-- --cache-mb N`` / ``$SHOPEE_CACHE_MB`` bounds what each open bundle
keeps (its pools half as much again); a bad value is one line on the page, never a traceback."""

import pytest

from dashboard import data
from shopee_core.analysis import decisions
from shopee_core.bundle import Bundle
from shopee_core.bundle.reader import CACHE_BYTES
from shopee_core.errors import ShopeeError


def test_the_budget_reaches_the_bundle_and_its_pools(path, monkeypatch):
    monkeypatch.delenv(data.ENV_CACHE_MB, raising=False)
    assert data.cache_bytes() == CACHE_BYTES == 2**30
    monkeypatch.setenv(data.ENV_CACHE_MB, "96")
    assert data.cache_bytes() == 96 * 2**20
    b = Bundle.open(path, cache_bytes=data.cache_bytes())
    assert b.cache_bytes == 96 * 2**20
    pools = decisions.pool(b, "test")._cache
    assert pools._data.maxsize == 48 * 2**20  # the pools' share: half the bundle's
    view = b.relabelled(b.postings["label_group"].to_numpy(), "x")
    assert view.cache_bytes == b.cache_bytes  # a truth view keeps the same budget


@pytest.mark.parametrize("bad", ["lots", "12", "-5", "1.5"])
def test_a_bad_budget_is_one_line(path, monkeypatch, bad):
    monkeypatch.setenv(data.ENV_CACHE_MB, bad)
    with pytest.raises(ShopeeError, match="whole number of MB, at least 64"):
        data.cache_bytes()
    from streamlit.testing.v1 import AppTest

    from tests.analysis.bundles import APP

    monkeypatch.setenv("SHOPEE_BUNDLE", str(path))
    at = AppTest.from_file(str(APP), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    errors = [e.value.replace("\\", "") for e in at.error]  # shown escaped, as every message from outside
    assert any(e.startswith("--cache-mb") and "at least 64" in e and "\n" not in e for e in errors), errors

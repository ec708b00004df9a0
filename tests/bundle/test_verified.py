"""Checksums remembered by file identity: a reopened bundle hashes nothing, a changed file is still refused."""

import os
import shutil

import pytest

from shopee_core.bundle import Bundle, BundleError, check_bundle, reader


@pytest.fixture
def bundle(small_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("SHOPEE_CACHE_DIR", str(tmp_path / "cache"))
    dst = tmp_path / "b"
    shutil.copytree(small_bundle, dst)
    return dst


@pytest.fixture
def hashed(monkeypatch):
    """The files Bundle.open hashes (reader.sha256 wrapped)."""
    seen = []
    real = reader.sha256

    def counting(path):
        seen.append(os.path.basename(path))
        return real(path)
    monkeypatch.setattr(reader, "sha256", counting)
    return seen


def test_reopening_hashes_nothing_and_check_bundle_hashes_everything(bundle, hashed):
    Bundle.open(bundle)
    n_files = len(hashed)
    assert n_files > 5
    assert (bundle.parent / "cache" / "verified.json").is_file()  # outside the bundle
    hashed.clear()
    Bundle.open(bundle)
    assert hashed == []
    check_bundle(bundle)
    assert len(hashed) == n_files


def test_a_file_changed_after_it_was_verified_is_refused(bundle, hashed):
    Bundle.open(bundle)
    p = bundle / "models/phash/neighbors.npz"
    st = p.stat()
    data = bytearray(p.read_bytes())
    data[-1] ^= 0xFF
    p.write_bytes(bytes(data))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # same size and mtime: the ctime still moved
    hashed.clear()
    with pytest.raises(BundleError, match="checksum"):
        Bundle.open(bundle)
    assert hashed == ["neighbors.npz"]  # only the changed file was hashed again
    with pytest.raises(BundleError, match="checksum"):  # and it is not remembered as good
        Bundle.open(bundle)


def test_a_replaced_file_is_hashed_again(bundle, hashed):
    Bundle.open(bundle)
    p = bundle / "postings.parquet"
    copy = bundle.parent / "copy.parquet"
    shutil.copy2(p, copy)
    os.replace(copy, p)  # same bytes, new inode
    hashed.clear()
    Bundle.open(bundle)
    assert hashed == ["postings.parquet"]


def test_a_broken_cache_file_only_costs_time(bundle, hashed):
    Bundle.open(bundle)
    (bundle.parent / "cache" / "verified.json").write_text("{not json")
    hashed.clear()
    Bundle.open(bundle)
    assert len(hashed) > 5


def test_a_symlink_out_of_the_bundle_is_refused(bundle, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    thumbs = bundle / "thumbs"
    shutil.move(str(thumbs), outside / "thumbs")
    os.symlink(outside / "thumbs", thumbs)
    with pytest.raises(BundleError, match="outside the bundle"):
        Bundle.open(bundle, verify=False)

"""Tampered bundles are refused with a clear one-line reason."""

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from shopee_core.bundle import Bundle, BundleError, check_bundle
from shopee_core.bundle.writer import sha256


@pytest.fixture
def bundle(small_bundle, tmp_path):
    dst = tmp_path / "b"
    shutil.copytree(small_bundle, dst)
    return dst


def manifest(b):
    return json.loads((b / "manifest.json").read_text())


def rewrite(b, m):
    (b / "manifest.json").write_text(json.dumps(m))


def reseal(b, rel):
    """Update one file's checksum so a deeper check is what must catch the problem."""
    m = manifest(b)
    for model in m["models"]:
        for f in model["files"].values():
            if f["path"] == rel:
                f["sha256"] = sha256(b / rel)
    rewrite(b, m)


def test_good_bundle_passes(bundle):
    b = check_bundle(bundle)
    assert {m["id"] for m in b.models} == {"tfidf", "phash"}
    assert b.splits == ["valid", "test"]
    nb = b.neighbors("tfidf", "test")
    assert nb.n == len(b.split_rows("test"))


def test_cli_check_bundle(bundle):
    r = subprocess.run([sys.executable, "-m", "shopee_core", "check-bundle", str(bundle)], capture_output=True, text=True)
    assert r.returncode == 0 and "ok" in r.stdout
    (bundle / "postings.parquet").write_bytes(b"junk")
    r = subprocess.run([sys.executable, "-m", "shopee_core", "check-bundle", str(bundle)], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1


def test_changed_file(bundle):
    p = bundle / "models/phash/neighbors.npz"
    p.write_bytes(p.read_bytes()[:-1] + b"x")
    with pytest.raises(BundleError, match="checksum"):
        Bundle.open(bundle)


def test_missing_file(bundle):
    (bundle / "models/phash/embeddings.npy").unlink()
    with pytest.raises(BundleError, match="missing"):
        Bundle.open(bundle)


@pytest.mark.parametrize("name, phrase", [("models/phash/evil.pkl", "not an allowed data format"),
                                          ("models/phash/extra.npy", "not in the manifest")])
def test_unexpected_files(bundle, name, phrase):
    (bundle / name).write_bytes(b"\x80\x04\x95whatever")
    with pytest.raises(BundleError, match=phrase):
        Bundle.open(bundle)


def test_wrong_shape(bundle):
    rel = "models/phash/embeddings.npy"
    x = np.load(bundle / rel)
    np.save(bundle / rel, x[:-3])
    reseal(bundle, rel)
    Bundle.open(bundle)  # checksums fine now ...
    with pytest.raises(BundleError, match="rows"):
        check_bundle(bundle)  # ... but the shape is not


def test_nan_embeddings(bundle):
    rel = "models/phash/embeddings.npy"
    x = np.load(bundle / rel)
    x[2, 0] = np.nan
    np.save(bundle / rel, x)
    reseal(bundle, rel)
    with pytest.raises(BundleError, match="NaN"):
        check_bundle(bundle)


def test_unnormalised_embeddings(bundle):
    rel = "models/phash/embeddings.npy"
    x = np.load(bundle / rel)
    np.save(bundle / rel, (x.astype(np.float32) * 3).astype(x.dtype))
    reseal(bundle, rel)
    with pytest.raises(BundleError, match="L2-normalised"):
        check_bundle(bundle)


@pytest.mark.parametrize("rel", ["models/phash/embeddings.npy", "models/phash/neighbors.npz"])
def test_arrays_must_be_stored_as_the_manifest_says(bundle, rel):
    import json

    storage = json.loads((bundle / "manifest.json").read_text()).get("storage", "float16")
    other = np.float16 if storage == "float32" else np.float32
    if rel.endswith(".npy"):
        np.save(bundle / rel, np.load(bundle / rel).astype(other))
    else:
        z = dict(np.load(bundle / rel))
        np.savez(bundle / rel, **{k: v.astype(other) if k.endswith("_sim") else v for k, v in z.items()})
    reseal(bundle, rel)
    with pytest.raises(BundleError, match="storage"):
        check_bundle(bundle)


def test_pickled_object_array(bundle):
    rel = "models/phash/embeddings.npy"
    np.save(bundle / rel, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    reseal(bundle, rel)
    with pytest.raises(BundleError, match="unreadable"):
        check_bundle(bundle)


def test_neighbours_out_of_range(bundle):
    rel = "models/phash/neighbors.npz"
    z = dict(np.load(bundle / rel))
    z["test_idx"][0, 1] = 10**6
    np.savez(bundle / rel, **z)
    reseal(bundle, rel)
    with pytest.raises(BundleError, match="outside"):
        check_bundle(bundle)


@pytest.mark.parametrize("mutate, phrase", [
    (lambda m: m.pop("k"), "lacks field"),
    (lambda m: m["models"][0].pop("thresholds"), "lacks field"),
    (lambda m: m["models"][0]["files"]["embeddings"].update(path="../../etc/passwd"), "outside the bundle"),
    (lambda m: m["models"][0]["files"]["embeddings"].update(path="/etc/passwd"), "outside the bundle"),
    (lambda m: m.update(format_version=99), "not supported"),
    (lambda m: m["models"][0]["spec"].update(members=["ghost"]), "not in the bundle"),
])
def test_bad_manifest(bundle, mutate, phrase):
    m = manifest(bundle)
    mutate(m)
    rewrite(bundle, m)
    with pytest.raises(BundleError, match=phrase):
        Bundle.open(bundle)


def test_not_a_bundle(tmp_path):
    with pytest.raises(BundleError, match="not a bundle"):
        Bundle.open(tmp_path)
    (tmp_path / "manifest.json").write_text("{nope")
    with pytest.raises(BundleError, match="JSON"):
        Bundle.open(tmp_path)


def _tamper_rows(bundle, change):
    rel = "models/tfidf/rows.npz"
    z = dict(np.load(bundle / rel))
    change(z)
    np.savez(bundle / rel, **z)
    reseal(bundle, rel)


@pytest.mark.parametrize("change, phrase", [
    (lambda z: z.update({"test.min2.n_pred": z["test.min2.n_pred"] + 1}), "gives mean f1"),
    (lambda z: z.update({"test.min2.tp": z["test.min2.tp"][:-1]}), "must be"),
    (lambda z: z.update({"test.base.tp": z["test.base.n_pred"] + 1}), "counts out of range"),
    (lambda z: z.pop("valid.base.tp"), "lacks valid/base"),
])
def test_stored_row_counts_must_match_the_manifest(bundle, change, phrase):
    """rows.npz (per-row |X∩Y| and |Y| behind every stored number, what the dashboard's intervals read)
    is checked against the postings and the manifest's metrics."""
    check_bundle(bundle)
    _tamper_rows(bundle, change)
    with pytest.raises(BundleError, match=phrase):
        check_bundle(bundle)

"""Approximate candidate search (faiss IVF / HNSW) against the exact one, its measured recall, and the
refusals that come before any long work: an unknown index, a recall below --min-recall, a pool too big."""

import json

import numpy as np
import pytest

from shopee_core.errors import ShopeeError
from shopee_core.matching import Embeddings, Pool, fuse, knn, model_source, scores
from shopee_core.matching.decision import Decision
from shopee_core.matching.index import (
    IndexSpec,
    check_memory,
    exact_rows,
    knn_bytes,
    measure_recall,
    parse_index,
    suggested_nlist,
)


def clustered(n=3000, dims=32, groups=700, noise=0.5, seed=0):
    """Rows in groups (a product's postings), groups in families: structure an index can exploit."""
    rng = np.random.default_rng(seed)
    fam = rng.normal(size=(groups // 5 + 1, dims))
    centre = fam[np.arange(groups) // 5] + 0.8 * rng.normal(size=(groups, dims))
    labels = rng.integers(0, groups, n)
    return (centre[labels] + noise * rng.normal(size=(n, dims))).astype(np.float32), labels


def test_exact_search_recalls_itself_and_a_damaged_table_does_not():
    x, _ = clustered()
    emb = Embeddings.from_array(x)
    nb = knn(emb, 50)
    xd = emb.dense()
    assert measure_recall(xd, nb.idx) == 1.0
    damaged = nb.idx.copy()
    damaged[:, 25:] = damaged[::-1, 25:]  # half of every row's candidates from another row
    r = measure_recall(xd, damaged)
    assert 0.45 < r < 0.6


def test_ivf_probing_every_cell_is_the_exact_search():
    x, _ = clustered()
    emb = Embeddings.from_array(x)
    exact = knn(emb, 50)
    nlist = suggested_nlist(len(x))
    full = knn(emb, 50, index=IndexSpec("ivf", nlist=nlist, nprobe=nlist))
    np.testing.assert_allclose(full.sim, exact.sim, atol=1e-5)
    assert measure_recall(emb.dense(), full.idx) == 1.0


@pytest.mark.parametrize("index, floor", [("ivf:nprobe=32", 0.95), ("hnsw", 0.99)])
def test_approximate_indexes_find_nearly_every_exact_neighbour(index, floor):
    x, labels = clustered()
    emb = Embeddings.from_array(x)
    approx = knn(emb, 50, index=index)
    assert approx.is_self.any(axis=1).all() and (np.diff(approx.sim, axis=1) <= 0).all()
    r = measure_recall(emb.dense(), approx.idx)
    assert floor <= r <= 1.0
    # what a decision sees: the F1 at a threshold barely moves (the missed candidates are the far ones)
    exact_pool = Pool(labels, k=50, embeddings={"m": emb})
    approx_pool = Pool(labels, k=50, embeddings={"m": emb}, index=index)
    d = Decision.single(model_source("m"), 0.35)
    assert scores(approx_pool, d)["f1"] == pytest.approx(scores(exact_pool, d)["f1"], abs=0.01)
    assert set(approx_pool.recall) == {model_source("m")} and approx_pool.recall[model_source("m")] == r


def test_a_short_ivf_row_is_searched_exactly():
    """Rows whose probed cells hold fewer than k rows come back whole (exact), never padded with -1."""
    x, _ = clustered(n=600)
    nb = knn(Embeddings.from_array(x), 50, index="ivf:nlist=15,nprobe=1")
    assert (nb.idx >= 0).all() and nb.is_self.any(axis=1).all()


def test_fused_sets_search_blockwise_equal_to_the_stacked_copy():
    x, _ = clustered(dims=24)
    y, _ = clustered(dims=40, seed=1)
    f = fuse([Embeddings.from_array(x), Embeddings.from_array(y)], [0.3, 0.7])
    nb = knn(f, 20)
    idx, sim = exact_rows(f.dense(), np.arange(len(x)), 20)
    np.testing.assert_allclose(nb.sim, sim, atol=1e-5)


def test_pool_refuses_an_index_below_min_recall():
    x, labels = clustered()
    pool = Pool(labels, k=50, embeddings={"m": Embeddings.from_array(x)}, index="ivf:nprobe=1", min_recall=0.99)
    with pytest.raises(ShopeeError, match=r"recall@k 0\.\d+ .*below --min-recall 0\.99"):
        pool.neighbors("m")


@pytest.mark.parametrize("text, message", [
    ("annoy", "unknown index 'annoy'"), ("ivf:depth=3", "bad parameter 'depth=3'"),
    ("hnsw:ef=many", "ef must be an integer"), ("ivf:nprobe=0", "positive integer")])
def test_bad_index_specs_are_one_line_errors(text, message):
    with pytest.raises(ShopeeError, match=message):
        parse_index(text)


def test_index_specs_parse_and_resolve():
    assert parse_index("exact").exact and parse_index(None).exact
    spec = parse_index("ivf:nprobe=32,nlist=1024")
    assert (spec.kind, spec.nlist, spec.nprobe) == ("ivf", 1024, 32)
    assert spec.describe() == "ivf:nlist=1024,nprobe=32"
    used = parse_index("ivf").resolved(100_000, 50)
    assert used.nlist == suggested_nlist(100_000) == 1264 and used.nprobe >= 1
    assert parse_index("hnsw:ef=10").resolved(1000, 50).ef == 50  # never fewer than k


def test_memory_check_refuses_a_pool_too_big_for_free_memory():
    need = knn_bytes(1_000_000, 512, 50)
    assert need > 1_000_000 * 512 * 4
    check_memory(1_000_000, 512, 50, available=need + 1)
    with pytest.raises(ShopeeError, match=r"1,000,000 postings × 512 dimensions needs about .* GiB .* free"):
        check_memory(1_000_000, 512, 50, available=need // 2)


# ------------------------------------------------------------------ the command line
def write_pool(tmp_path, n=3000):
    import pandas as pd

    x, labels = clustered(n)
    pd.DataFrame({"posting_id": [f"p{i}" for i in range(n)], "label_group": labels}).to_csv(tmp_path / "p.csv",
                                                                                        index=False)
    np.save(tmp_path / "e.npy", x)
    return tmp_path / "p.csv", tmp_path / "e.npy"


def test_evaluate_records_the_index_and_its_recall(tmp_path, capsys):
    from shopee_core.cli import main

    csv, npy = write_pool(tmp_path)
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(npy), "--threshold", "0.35", "--index",
                 "hnsw", "--json", str(tmp_path / "h.json")]) == 0
    out = json.loads((tmp_path / "h.json").read_text())
    assert out["index"]["kind"] == "hnsw" and out["index"]["recall_at_k"] == 50
    assert out["index"]["min_recall"] == out["index"]["recall"]["all"]["e.npy"] >= 0.99
    assert out["index"]["params_used"]["all"]["m"] == 32
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(npy), "--threshold", "0.35",
                 "--json", str(tmp_path / "x.json")]) == 0
    exact = json.loads((tmp_path / "x.json").read_text())
    assert exact["index"] == {"kind": "exact", "params": {}}
    assert out["f1"] == pytest.approx(exact["f1"], abs=0.01)


@pytest.mark.parametrize("extra, message", [
    (["--index", "annoy"], "error: unknown index 'annoy'"),
    (["--index", "ivf:nprobe=1", "--min-recall", "0.999"], "below --min-recall 0.999"),
    (["--min-recall", "1.5"], "--min-recall must be in (0, 1]")])
def test_evaluate_refuses_in_one_line(tmp_path, extra, message):
    from tests.test_cli import run_cli

    csv, npy = write_pool(tmp_path)
    r = run_cli("evaluate", "--postings", csv, "--embeddings", npy, "--threshold", "0.35", "--json",
                tmp_path / "o.json", *extra)
    assert r.returncode == 1 and r.stderr.strip().startswith("error: ") and message in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "o.json").exists()


def test_evaluate_refuses_a_pool_too_big_for_free_memory(tmp_path, monkeypatch, capsys):
    import shopee_core.matching.index as index
    from shopee_core.cli import main

    csv, npy = write_pool(tmp_path, n=500)
    monkeypatch.setattr(index, "available_bytes", lambda: 1_000_000)
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(npy), "--threshold", "0.35", "--json",
                 str(tmp_path / "o.json")]) == 1
    err = capsys.readouterr().err
    assert "error: the pool of 500 postings × 32 dimensions needs about" in err and not (tmp_path / "o.json").exists()

"""import-model / remove-model on a small real bundle: round trips against `evaluate` and plain
Python sets, every bad input refused with one line and the bundle byte for byte unchanged."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shopee_core.analysis import decisions as D
from shopee_core.bundle import Bundle, check_bundle
from shopee_core.cli import main
from tests.analysis.bundles import FUSION, INB3, UNION, tiny_bundle
from tests.bundle.float16_flip import flip_rows


@pytest.fixture
def bundle_dir(small_bundle, tmp_path):
    """A private copy of the session's small bundle (TF-IDF + pHash) to change."""
    out = tmp_path / "b"
    shutil.copytree(small_bundle, out)
    return out


def fingerprint(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.parent.iterdir() if p.name.startswith(f".{folder.name}."))


def run(capsys, *args) -> tuple[int, str, str]:
    rc = main([str(a) for a in args])
    out = capsys.readouterr()
    return rc, out.out, out.err


def warned(caplog) -> list[str]:
    """The importer's warnings since the last call."""
    said = [r.getMessage() for r in caplog.records if r.name == "shopee_core.bundle.importer"
            and r.levelno == logging.WARNING]
    caplog.clear()
    return said


def noisy_embeddings(b: Bundle, seed: int = 0) -> np.ndarray:
    """Rows that know the groups a little: a random direction per group plus strong noise."""
    rng = np.random.default_rng(seed)
    labels = b.postings["label_group"].to_numpy()
    groups = {g: rng.normal(size=24) for g in np.unique(labels)}
    return np.stack([groups[g] + rng.normal(scale=0.9, size=24) for g in labels]).astype(np.float32)


def manifest_model(bundle_dir: Path, model_id: str) -> dict:
    m = json.loads((bundle_dir / "manifest.json").read_text())
    return next(x for x in m["models"] if x["id"] == model_id)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --------------------------------------------------------------------------- embeddings
def test_npy_with_ids_matches_evaluate_and_the_dashboard(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    x = noisy_embeddings(b)
    np.save(tmp_path / "mine.npy", x)
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    rc, out, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "mine", "--label", "my noisy model",
                       "--family", "text", "--embeddings", tmp_path / "mine.npy", "--ids", tmp_path / "ids.csv",
                       "--no-umap")
    assert rc == 0, err
    assert "imported mine" in out
    m = manifest_model(bundle_dir, "mine")
    assert m["source"] == "external" and m["label"] == "my noisy model" and m["family"] == "text"
    assert m["imported"]["dim"] == 24 and m["spec"]["dim"] == 24
    (f,) = m["imported"]["files"]
    assert f["name"] == "mine.npy" and f["sha256"] == sha(tmp_path / "mine.npy") and f["rows"] == len(x)
    assert f["ids"]["sha256"] == sha(tmp_path / "ids.csv")
    assert set(m["files"]) == {"neighbors", "neighbors_inb", "embeddings", "norms", "rows"}
    b = check_bundle(bundle_dir)

    # the CLI's evaluate on the same file and thresholds gives the manifest's test numbers
    b.postings[["posting_id", "label_group", "split"]].to_csv(tmp_path / "postings.csv", index=False)
    th = m["thresholds"]
    for variant, extra in (("min2", ["--min2", th["t2"]]), ("base", [])):
        rc, _, err = run(capsys, "evaluate", "--postings", tmp_path / "postings.csv", "--embeddings",
                         tmp_path / "mine.npy", "--threshold", th["t"], *extra, "--split", "test", "--k", b.k,
                         "--json", tmp_path / f"{variant}.json")
        assert rc == 0, err
        got = json.loads((tmp_path / f"{variant}.json").read_text())
        assert got["f1"] == pytest.approx(m["metrics"]["test"][variant]["f1"], abs=1e-6), variant
        assert got["recall"] == pytest.approx(m["metrics"]["test"][variant]["recall"], abs=1e-6), variant

    # and the dashboard recomputes every stored number from the files
    for split in ("valid", "test"):
        for variant, prf in m["metrics"][split].items():
            got = D.scores(b, "mine", split, min2=variant != "base", inb=int(variant == "inb"),
                           graph="tuned" if variant == "graph" else None)
            assert got["f1"] == pytest.approx(prf["f1"], abs=2e-6), (split, variant)
    # it fuses and unites like a built model
    assert "mine" in D.fusable_models(b)
    fused = D.custom_fusion(b, ["mine", "tfidf"])
    assert 0 < D.scores(b, fused, "test")["f1"] <= 1
    union = D.custom_union(b, [("mine",), ("tfidf",)])
    assert D.scores(b, union, "test")["recall"] >= D.scores(b, "mine", "test")["recall"] - 1e-9


def test_csv_with_posting_id_in_any_order_and_seed_style_csvs_give_the_same_model(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    x = noisy_embeddings(b, seed=1)
    ids = b.postings["posting_id"].to_numpy()
    np.save(tmp_path / "x.npy", x)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    order = np.random.default_rng(3).permutation(len(x))
    pd.DataFrame(x[order]).assign(posting_id=ids[order]).to_csv(tmp_path / "x.csv", index=False)
    pd.DataFrame(x).rename(columns=str).assign(posting_id=ids).to_parquet(tmp_path / "x.parquet")
    seed = []
    for s in ("valid", "test"):  # the seed's dumps: one CSV per split, a pandas index, no ids
        pd.DataFrame(x[b.split_rows(s)]).to_csv(tmp_path / f"m_{s}_embed.csv")
        seed += ["--embeddings", tmp_path / f"m_{s}_embed.csv", "--split", s]
    sources = {"npy": ["--embeddings", tmp_path / "x.npy", "--ids", tmp_path / "ids.txt"],
               "csv": ["--embeddings", tmp_path / "x.csv"], "parquet": ["--embeddings", tmp_path / "x.parquet"],
               "seed": seed}
    for name, args in sources.items():
        rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", name, "--label", name,
                         "--family", "image", "--no-umap", "--inb-iters", "0", *args)
        assert rc == 0, (name, err)
    models = {n: manifest_model(bundle_dir, n) for n in sources}
    ref = models["npy"]
    assert "inb" not in ref["metrics"]["test"] and ref["thresholds"]["inb_iters"] == 0
    for name, m in models.items():
        assert m["thresholds"] == ref["thresholds"], name
        assert m["metrics"] == ref["metrics"], name
    assert [f["split"] for f in models["seed"]["imported"]["files"]] == ["valid", "test"]
    b = check_bundle(bundle_dir)
    assert np.array_equal(np.asarray(b.embeddings("seed")), np.asarray(b.embeddings("npy")))


def test_an_existing_models_rows_reimported_score_exactly_as_that_model(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    np.save(tmp_path / "ph.npy", np.asarray(b.embeddings("phash"), dtype=np.float32))
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "ph", "--label", "pHash again",
                     "--family", "image", "--embeddings", tmp_path / "ph.npy", "--ids", tmp_path / "ids.csv",
                     "--no-umap")
    assert rc == 0, err
    mine, theirs = manifest_model(bundle_dir, "ph"), manifest_model(bundle_dir, "phash")
    assert mine["metrics"] == theirs["metrics"]
    assert mine["thresholds"]["t"] == theirs["thresholds"]["t"]


def test_sparse_npz_and_a_map(bundle_dir, tmp_path, capsys, monkeypatch):
    import scipy.sparse as sp

    import shopee_core.analysis.maps as maps
    from tests.tiny_bundle import _pca_2d

    monkeypatch.setattr(maps, "umap_2d", _pca_2d)  # the real UMAP is tested on its own
    b = Bundle.open(bundle_dir)
    sp.save_npz(tmp_path / "t.npz", sp.csr_matrix(b.embeddings("tfidf")) * 3.0)
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "tf", "--label", "TF-IDF from a notebook",
                     "--family", "text", "--embeddings", tmp_path / "t.npz", "--ids", tmp_path / "ids.csv")
    assert rc == 0, err
    m = manifest_model(bundle_dir, "tf")
    assert m["spec"]["embedding"] == "sparse" and "umap" in m["files"] and "norms" not in m["files"]
    b = check_bundle(bundle_dir)
    assert b.umap("tf").shape == (len(b.postings), 2)
    # the same rows (rescaled) as the bundle's TF-IDF: at the imported thresholds both score alike
    same = D.scores(b, "tfidf", "test", t=m["thresholds"]["t"], min2=False)
    assert same["f1"] == pytest.approx(m["metrics"]["test"]["base"]["f1"], abs=1e-6)


def test_rows_for_more_postings_than_the_bundle_need_the_flag(bundle_dir, small_bundle, tmp_path, capsys, caplog):
    catalog = pd.read_csv(small_bundle.parent / "cat" / "train.csv")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(len(catalog), 8)).astype(np.float32)  # every posting of train.csv, train split too
    pd.DataFrame(x).assign(posting_id=catalog["posting_id"]).to_csv(tmp_path / "all.csv", index=False)
    before = fingerprint(bundle_dir)
    args = ["import-model", "--bundle", bundle_dir, "--id", "all", "--label", "all rows", "--family", "image",
            "--no-umap", "--embeddings", tmp_path / "all.csv"]
    rc, _, err = run(capsys, *args)
    assert rc == 1 and "--ignore-extra-ids" in err and fingerprint(bundle_dir) == before
    caplog.clear()
    rc, _, err = run(capsys, *args, "--ignore-extra-ids")
    assert rc == 0, err
    assert [w for w in warned(caplog) if "not in the bundle ignored" in w]
    n_extra = len(catalog) - len(Bundle.open(bundle_dir).postings)
    assert manifest_model(bundle_dir, "all")["imported"]["files"][0]["ignored_rows"] == n_extra


# --------------------------------------------------------------------------- predictions
def plain_f1(csv: Path, postings: pd.DataFrame, split: str) -> float:
    """Row-wise F1 from the CSV with Python sets (self always counted as predicted)."""
    label = dict(zip(postings["posting_id"], postings["label_group"]))
    in_split = postings[postings["split"] == split]
    truth = {}
    for pid, g in zip(in_split["posting_id"], in_split["label_group"]):
        truth.setdefault(g, set()).add(pid)
    pred = {}
    for line in csv.read_text().splitlines()[1:]:
        pid, matches = line.split(",")
        pred[pid] = set(matches.split()) | {pid}
    scores = []
    for pid in in_split["posting_id"]:
        x, y = truth[label[pid]], pred[pid]
        scores.append(2 * len(x & y) / (len(x) + len(y)))
    return sum(scores) / len(scores)


def write_submission(b: Bundle, path: Path, drop_self: bool = False, seed: int = 0) -> None:
    """Sets made of each posting's true group with some members swapped for wrong ones, per split."""
    rng = np.random.default_rng(seed)
    lines = ["posting_id,matches"]
    for s in b.splits:
        post = b.postings.iloc[b.split_rows(s)]
        ids, labels = post["posting_id"].to_numpy(), post["label_group"].to_numpy()
        for pid, g in zip(ids, labels):
            members = [m for m in ids[labels == g] if rng.random() < 0.7 or m == pid]
            members += list(rng.choice(ids, size=int(rng.integers(0, 3)), replace=False))
            if drop_self:
                members = [m for m in members if m != pid]
            lines.append(f"{pid},{' '.join(members)}")
    path.write_text("\n".join(lines) + "\n")


def test_predictions_csv_scores_as_its_sets_say(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    write_submission(b, tmp_path / "sub.csv")
    rc, out, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "sub", "--label", "a notebook's sets",
                       "--family", "fusion", "--predictions", tmp_path / "sub.csv")
    assert rc == 0, err
    m = manifest_model(bundle_dir, "sub")
    assert m["predictions_only"] is True and m["source"] == "external"
    assert m["imported"]["files"][0]["sha256"] == sha(tmp_path / "sub.csv")
    assert set(m["files"]) == {"neighbors", "rows"} and set(m["metrics"]["test"]) == {"base"}
    for split in ("valid", "test"):
        assert m["metrics"][split]["base"]["f1"] == pytest.approx(plain_f1(tmp_path / "sub.csv", b.postings, split),
                                                                  abs=1e-6)
    b = check_bundle(bundle_dir)
    # the predicted sets come back exactly, and the fixed setting is what the pages use
    sets = {}
    for line in (tmp_path / "sub.csv").read_text().splitlines()[1:]:
        pid, matches = line.split(",")
        sets[pid] = set(matches.split()) | {pid}
    sub = pd.concat([D.submission(b, "sub", s) for s in b.splits])
    assert {p: set(x.split()) for p, x in zip(sub["posting_id"], sub["matches"])} == sets
    s = D.model_setting(b, "sub")
    assert s["fixed"] and not s["can_embed"] and not s["has_inb"]
    union = D.custom_union(b, [("sub",), ("tfidf",)])
    assert D.scores(b, union, "test")["recall"] >= m["metrics"]["test"]["base"]["recall"] - 1e-9


def test_predictions_without_self_get_it_added(bundle_dir, tmp_path, capsys, caplog):
    b = Bundle.open(bundle_dir)
    write_submission(b, tmp_path / "noself.csv", drop_self=True, seed=2)
    caplog.clear()
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "noself", "--label", "no self",
                     "--family", "text", "--predictions", tmp_path / "noself.csv")
    assert rc == 0, err
    assert [w for w in warned(caplog) if w.startswith(f"{len(b.postings):,} row(s) do not list the posting itself")]
    m = manifest_model(bundle_dir, "noself")
    assert m["imported"]["files"][0]["self_added"] == len(b.postings)
    assert m["metrics"]["test"]["base"]["f1"] == pytest.approx(plain_f1(tmp_path / "noself.csv", b.postings, "test"),
                                                               abs=1e-6)


def test_a_models_own_submission_scores_as_that_model(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    pd.concat([D.submission(b, "tfidf", s) for s in b.splits]).to_csv(tmp_path / "tfidf.csv", index=False)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "tfidf_sets", "--label", "TF-IDF sets",
                     "--family", "text", "--predictions", tmp_path / "tfidf.csv")
    assert rc == 0, err
    tfidf = manifest_model(bundle_dir, "tfidf")["metrics"]
    mine = manifest_model(bundle_dir, "tfidf_sets")["metrics"]
    for split in ("valid", "test"):
        assert mine[split]["base"] == tfidf[split]["min2"]


# --------------------------------------------------------------------------- refusals
def _bad_inputs(b: Bundle, d: Path) -> dict[str, list]:
    """name -> import-model arguments that must be refused (files written under ``d``)."""
    x = noisy_embeddings(b)
    ids = b.postings["posting_id"].to_numpy()
    pd.Series(ids, name="posting_id").to_csv(d / "ids.csv", index=False)
    emb = lambda name: ["--embeddings", d / name, "--ids", d / "ids.csv"]  # noqa: E731
    np.save(d / "ok.npy", x)
    np.save(d / "pickled.npy", np.array([{"rows": 1}] * len(x), dtype=object), allow_pickle=True)
    y = x.copy()
    y[5, 2] = np.nan
    np.save(d / "nan.npy", y)
    y = x.copy()
    y[4, :] = np.inf
    np.save(d / "inf.npy", y)
    y = x.copy()
    y[7] = 0
    np.save(d / "zero.npy", y)
    np.save(d / "short.npy", x[:-1])
    np.save(d / "ints.npy", (x * 100).astype(np.int64))
    np.save(d / "flat.npy", x[:, 0])
    (d / "dup.csv").write_text("posting_id\n" + "\n".join([ids[0], *ids[:-1]]) + "\n")
    (d / "unknown.csv").write_text("posting_id\n" + "\n".join(["train_nope", *ids[1:]]) + "\n")
    frame = pd.DataFrame(x).assign(posting_id=ids)
    frame.assign(title="kaos polos").to_csv(d / "text_col.csv", index=False)
    frame.iloc[1:].to_csv(d / "missing.csv", index=False)
    pd.concat([frame, frame.iloc[:1]]).to_csv(d / "dup_rows.csv", index=False)
    (d / "notes.txt").write_text("hello\n")
    pd.DataFrame(x[b.split_rows("valid")]).to_csv(d / "valid_embed.csv")
    write_submission(b, d / "sub.csv")
    sub = pd.read_csv(d / "sub.csv")
    bad = sub.copy()
    bad.loc[0, "matches"] += " train_nope"
    bad.to_csv(d / "sub_unknown.csv", index=False)
    test_id = b.postings["posting_id"].to_numpy()[b.split_rows("test")][0]
    valid_row = int(np.flatnonzero(sub["posting_id"].isin(b.postings["posting_id"].to_numpy()[b.split_rows("valid")]))[0])
    bad = sub.copy()
    bad.loc[valid_row, "matches"] += f" {test_id}"
    bad.to_csv(d / "sub_cross.csv", index=False)
    sub.iloc[1:].to_csv(d / "sub_missing.csv", index=False)
    pd.concat([sub, pd.DataFrame({"posting_id": ["train_nope"], "matches": ["train_nope"]})]).to_csv(
        d / "sub_extra_row.csv", index=False)
    pd.concat([sub, sub.iloc[:1]]).to_csv(d / "sub_dup.csv", index=False)
    sub.rename(columns={"matches": "match"}).to_csv(d / "sub_column.csv", index=False)
    return {
        "pickled": emb("pickled.npy"), "nan": emb("nan.npy"), "inf": emb("inf.npy"), "zero-row": emb("zero.npy"),
        "row-count": emb("short.npy"), "ints": emb("ints.npy"), "1-d": emb("flat.npy"),
        "duplicate-ids": ["--embeddings", d / "ok.npy", "--ids", d / "dup.csv"],
        "unknown-ids": ["--embeddings", d / "ok.npy", "--ids", d / "unknown.csv"],
        "non-numeric": ["--embeddings", d / "text_col.csv"],
        "missing-postings": ["--embeddings", d / "missing.csv"],
        "duplicate-rows": ["--embeddings", d / "dup_rows.csv"],
        "one-split-only": ["--embeddings", d / "valid_embed.csv", "--split", "valid"],
        "no-ids": ["--embeddings", d / "valid_embed.csv"],
        "unknown-split": ["--embeddings", d / "valid_embed.csv", "--split", "train"],
        "wrong-format": ["--embeddings", d / "notes.txt", "--ids", d / "ids.csv"],
        "no-file": ["--embeddings", d / "absent.npy", "--ids", d / "ids.csv"],
        "two-sources": [*emb("ok.npy"), "--predictions", d / "sub.csv"],
        "no-source": [],
        "predictions-unknown-match": ["--predictions", d / "sub_unknown.csv"],
        "predictions-across-splits": ["--predictions", d / "sub_cross.csv"],
        "predictions-missing": ["--predictions", d / "sub_missing.csv"],
        "predictions-unknown-row": ["--predictions", d / "sub_extra_row.csv"],
        "predictions-duplicate": ["--predictions", d / "sub_dup.csv"],
        "predictions-column": ["--predictions", d / "sub_column.csv"],
        "existing-id": ["--id", "tfidf", *emb("ok.npy")],
        "bad-id": ["--id", "../evil", *emb("ok.npy")],
        "inb-iters": [*emb("ok.npy"), "--inb-iters", "7"],
    }


def test_every_bad_input_is_one_line_and_leaves_the_bundle_unchanged(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    cases = _bad_inputs(b, tmp_path)
    before = fingerprint(bundle_dir)
    for name, args in cases.items():
        if "--id" not in args:
            args = ["--id", "new", *args]
        rc, out, err = run(capsys, "import-model", "--bundle", bundle_dir, "--label", "x", "--family", "image",
                           "--no-umap", *args)
        lines = [line for line in err.splitlines() if not line.startswith("warning:")]
        assert rc == 1, (name, out, err)
        assert len(lines) == 1 and lines[0].startswith("error: "), (name, err)
        assert "Traceback" not in err
        assert fingerprint(bundle_dir) == before, name
        assert leftovers(bundle_dir) == [], name
    assert "pickle" in run(capsys, "import-model", "--bundle", bundle_dir, "--id", "new", "--label", "x", "--family",
                           "image", *cases["pickled"])[2]


def test_a_crash_at_any_point_leaves_the_old_bundle_valid(bundle_dir, tmp_path, capsys, monkeypatch):
    import shopee_core.bundle.edit as edit
    import shopee_core.bundle.reader as reader
    import shopee_core.bundle.writer as writer

    b = Bundle.open(bundle_dir)
    write_submission(b, tmp_path / "sub.csv")
    before = fingerprint(bundle_dir)

    class Crash(Exception):
        pass

    def boom(*_, **__):
        raise Crash
    # killed while sealing the staged manifest, while verifying the staged copy, at the swap
    for module, name in ((writer, "atomic_write_json"), (reader, "check_bundle"), (edit, "swap_in")):
        with monkeypatch.context() as m:
            m.setattr(module, name, boom)
            with pytest.raises(Crash):
                main(["import-model", "--bundle", str(bundle_dir), "--id", "sub", "--label", "x", "--family", "text",
                      "--predictions", str(tmp_path / "sub.csv")])
        assert fingerprint(bundle_dir) == before, name
        assert leftovers(bundle_dir) == [], name
        check_bundle(bundle_dir)
    # a staging folder left by a killed process is cleared by the next edit
    stale = bundle_dir.parent / f".{bundle_dir.name}.edit"
    stale.mkdir()
    (stale / "junk.npy").write_bytes(b"x")
    check_bundle(bundle_dir)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "sub", "--label", "x", "--family",
                     "text", "--predictions", tmp_path / "sub.csv")
    assert rc == 0, err
    assert leftovers(bundle_dir) == []
    assert "sub" in {m["id"] for m in check_bundle(bundle_dir).models}


# --------------------------------------------------------------------------- replace, remove
def test_replace_needs_the_flag_and_leaves_no_stale_files(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    for seed in (0, 1):
        np.save(tmp_path / f"e{seed}.npy", noisy_embeddings(b, seed))
    base = ["import-model", "--bundle", bundle_dir, "--id", "mine", "--label", "mine", "--family", "text",
            "--no-umap", "--ids", tmp_path / "ids.csv"]
    assert run(capsys, *base, "--embeddings", tmp_path / "e0.npy")[0] == 0
    first = manifest_model(bundle_dir, "mine")
    before = fingerprint(bundle_dir)
    rc, _, err = run(capsys, *base, "--embeddings", tmp_path / "e1.npy")
    assert rc == 1 and "--replace" in err and fingerprint(bundle_dir) == before
    rc, _, err = run(capsys, *base, "--embeddings", tmp_path / "e1.npy", "--inb-iters", "0", "--replace")
    assert rc == 0, err
    second = manifest_model(bundle_dir, "mine")
    assert second["imported"]["files"][0]["sha256"] == sha(tmp_path / "e1.npy") != first["imported"]["files"][0]["sha256"]
    assert "neighbors_inb" not in second["files"] and not (bundle_dir / "models/mine/neighbors_inb.npz").exists()
    manifest = json.loads((bundle_dir / "manifest.json").read_text())
    assert [m["id"] for m in manifest["models"]] == [m["id"] for m in b.models] + ["mine"]
    assert [(e["command"], e["model"], e["replaced"]) for e in manifest["edits"]] == [
        ("import-model", "mine", False), ("import-model", "mine", True)]
    b = check_bundle(bundle_dir)
    assert D.scores(b, "mine", "test")["f1"] == pytest.approx(second["metrics"]["test"]["min2"]["f1"], abs=2e-6)


def test_remove_model(bundle_dir, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    write_submission(b, tmp_path / "sub.csv")
    assert run(capsys, "import-model", "--bundle", bundle_dir, "--id", "sub", "--label", "x", "--family", "text",
               "--predictions", tmp_path / "sub.csv")[0] == 0
    rc, out, err = run(capsys, "remove-model", "--bundle", bundle_dir, "--id", "sub")
    assert rc == 0, err
    assert not (bundle_dir / "models" / "sub").exists()
    assert [m["id"] for m in check_bundle(bundle_dir).models] == [m["id"] for m in b.models]
    before = fingerprint(bundle_dir)
    rc, _, err = run(capsys, "remove-model", "--bundle", bundle_dir, "--id", "sub")
    assert rc == 1 and err.startswith("error: ") and "no model 'sub'" in err and fingerprint(bundle_dir) == before


def test_models_others_are_made_of_cannot_be_removed_or_replaced(tmp_path_factory, tmp_path, capsys):
    bundle_dir = tmp_path / "tiny"
    shutil.copytree(tiny_bundle(tmp_path_factory), bundle_dir)
    before = fingerprint(bundle_dir)
    rc, _, err = run(capsys, "remove-model", "--bundle", bundle_dir, "--id", "tfidf")
    assert rc == 1 and all(m in err for m in (FUSION, UNION)), err
    rc, _, err = run(capsys, "remove-model", "--bundle", bundle_dir, "--id", FUSION)
    assert rc == 1 and INB3 in err
    b = Bundle.open(bundle_dir)
    np.save(tmp_path / "x.npy", noisy_embeddings(b))
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "phash", "--label", "x", "--family",
                     "image", "--embeddings", tmp_path / "x.npy", "--ids", tmp_path / "ids.csv", "--replace")
    assert rc == 1 and FUSION in err
    assert fingerprint(bundle_dir) == before
    for mid in (INB3, FUSION, UNION, "tfidf"):  # leaves last
        assert run(capsys, "remove-model", "--bundle", bundle_dir, "--id", mid)[0] == 0, mid
    assert [m["id"] for m in check_bundle(bundle_dir).models] == ["phash"]


def test_predict_refuses_an_imported_model(bundle_dir, small_bundle, tmp_path, capsys):
    b = Bundle.open(bundle_dir)
    write_submission(b, tmp_path / "sub.csv")
    assert run(capsys, "import-model", "--bundle", bundle_dir, "--id", "sub", "--label", "x", "--family", "text",
               "--predictions", tmp_path / "sub.csv")[0] == 0
    rc, _, err = run(capsys, "predict", "--data", small_bundle.parent / "cat", "--bundle", bundle_dir, "--model", "sub",
                     "--out", tmp_path / "out.csv")
    assert rc == 1 and "imported" in err and not (tmp_path / "out.csv").exists()


# --------------------------------------------------------------------------- a bundle of data alone
def test_a_bundle_can_start_without_models(small_bundle, tmp_path, capsys):
    out = tmp_path / "empty"
    rc, stdout, err = run(capsys, "build-bundle", "--profile", "smoke", "--data", small_bundle.parent / "cat",
                          "--out", out, "--models", "none")
    assert rc == 0, err
    b = check_bundle(out)
    assert b.models == [] and len(b.postings) == len(Bundle.open(small_bundle).postings)
    assert len(list((out / "thumbs").glob("*.jpg"))) == len(b.postings)
    write_submission(b, tmp_path / "sub.csv")
    assert run(capsys, "import-model", "--bundle", out, "--id", "sub", "--label", "x", "--family", "text",
               "--predictions", tmp_path / "sub.csv")[0] == 0
    assert [m["id"] for m in check_bundle(out).models] == ["sub"]
    assert run(capsys, "remove-model", "--bundle", out, "--id", "sub")[0] == 0
    assert check_bundle(out).models == []


def test_every_command_has_help(capsys):
    for cmd in ("import-model", "remove-model"):
        with pytest.raises(SystemExit) as exc:
            main([cmd, "--help"])
        assert exc.value.code == 0
        assert "--bundle" in capsys.readouterr().out


@pytest.mark.parametrize("lean", [False, True])
def test_import_tunes_on_float32_and_stores_the_bundles_dtype(small_bundle, small_bundle_f16, tmp_path, capsys, lean):
    """Issue 21, point 2: thresholds searched on float32 (T = 0.305 by hand, tests/bundle/float16_flip.py),
    the files written in the bundle's storage dtype."""
    src = small_bundle_f16 if lean else small_bundle
    bundle_dir = tmp_path / "b"
    shutil.copytree(src, bundle_dir)
    b = Bundle.open(bundle_dir)
    x, _ = flip_rows(b.postings["label_group"].to_numpy(), b.split_rows("valid"))
    np.save(tmp_path / "flip.npy", x)
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    rc, _, err = run(capsys, "import-model", "--bundle", bundle_dir, "--id", "flip", "--label", "flip", "--family",
                     "text", "--embeddings", tmp_path / "flip.npy", "--ids", tmp_path / "ids.csv", "--no-umap",
                     "--inb-iters", "0")
    assert rc == 0, err
    m = manifest_model(bundle_dir, "flip")
    assert (m["thresholds"]["t"], m["thresholds"]["t2"]) == (0.305, 0.305)
    b = check_bundle(bundle_dir)
    dtype = np.float16 if lean else np.float32
    assert b.embeddings("flip").dtype == dtype and np.load(b.file("flip", "neighbors"))["valid_sim"].dtype == dtype

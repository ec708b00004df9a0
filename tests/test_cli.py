import json
import logging
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from shopee_core.cli import build_parser, main

COMMANDS = ["demo-data", "split", "train", "embed", "evaluate", "build-bundle", "check-bundle", "predict", "models",
            "sweep", "add-sweep", "remove-sweep"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "shopee_core", *map(str, args)], capture_output=True, text=True)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    assert "usage:" in capsys.readouterr().out


def test_parser_knows_every_command():
    text = build_parser().format_help()
    assert all(c in text for c in COMMANDS)


@pytest.fixture
def library_logger():
    """The library's logger, put back as it was after the test."""
    logger = logging.getLogger("shopee_core")
    handlers, level = list(logger.handlers), logger.level
    yield logger
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_takes_quiet_and_verbose(command):
    args = {"demo-data": ["--out", "x"], "split": ["--data", "x"], "train": ["--model", "m", "--data", "x", "--out",
            "r"], "embed": ["--data", "x", "--out", "o"], "evaluate": ["--postings", "p", "--embeddings", "e",
            "--json", "j"], "build-bundle": ["--profile", "demo", "--data", "x", "--out", "o"],
            "check-bundle": ["b"], "predict": ["--data", "x", "--bundle", "b", "--model", "m", "--out", "o"],
            "models": [], "sweep": ["--model", "m", "--data", "x", "--out", "s"],
            "add-sweep": ["--bundle", "b", "--sweep", "s"], "remove-sweep": ["--bundle", "b", "--name", "n"]}[command]
    for flags, (quiet, verbose) in ((["-q"], (1, False)), (["--quiet", "-q"], (2, False)), (["-qq"], (2, False)),
                                    (["--verbose"], (0, True)), ([], (0, False))):
        parsed = build_parser().parse_args([command, *args, *flags])
        assert (parsed.quiet, parsed.verbose) == (quiet, verbose)
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, *args, "--quiet", "--verbose"])


def test_logging_is_set_up_once_at_the_level_asked(library_logger, capsys):
    from shopee_core.cli.common import setup_logging

    log = logging.getLogger("shopee_core.bundle.builder")
    for quiet, verbose, shown in ((False, False, ["[plan] x", "warning: w"]), (True, False, ["warning: w"]),
                                  (False, True, ["detail", "[plan] x", "warning: w"])):
        setup_logging(quiet, verbose)
        setup_logging(quiet, verbose)  # a second set-up replaces the first: no line twice
        log.debug("detail")
        log.info("[plan] x")
        log.warning("w")
        assert capsys.readouterr().err.splitlines() == shown, (quiet, verbose)


def test_split_is_written_once_and_reused(tiny_catalog, capsys):
    assert main(["split", "--data", str(tiny_catalog)]) == 0
    assert "written" in capsys.readouterr().out
    first = (tiny_catalog / "folds.csv").read_bytes()
    assert main(["split", "--data", str(tiny_catalog)]) == 0
    assert "reused" in capsys.readouterr().out
    assert (tiny_catalog / "folds.csv").read_bytes() == first


def test_embed_then_evaluate_tuned_on_valid(tiny_catalog, tmp_path, capsys):
    tfidf, phash = tmp_path / "tfidf.npz", tmp_path / "phash.npy"
    assert main(["embed", "--model", "tfidf", "--data", str(tiny_catalog), "--out", str(tfidf)]) == 0
    assert main(["embed", "--model", "phash", "--data", str(tiny_catalog), "--out", str(phash)]) == 0
    out = tmp_path / "res.json"
    csv = tiny_catalog / "train.csv"
    rc = main(["evaluate", "--postings", str(csv), "--embeddings", str(tfidf), "--tune-split", "valid",
               "--search-min2", "--split", "test", "--json", str(out)])
    assert rc == 0
    res = json.loads(out.read_text())
    assert set(res) >= {"f1", "precision", "recall", "n", "thresholds", "tuned_on"}
    folds = pd.read_csv(tiny_catalog / "folds.csv")
    assert res["n"] == (folds["split"] == "test").sum()
    assert 0 < res["f1"] <= 1 and res["thresholds"]["t2"][0] >= res["thresholds"]["t"][0]
    # a union of TF-IDF and pHash at fixed thresholds recalls at least as much as TF-IDF alone
    u = tmp_path / "u.json"
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(tfidf), "--embeddings", str(phash),
                 "--combine", "union", "--threshold", "0.5", "--threshold", "0.2", "--split", "test",
                 "--json", str(u)]) == 0
    t = tmp_path / "t.json"
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(tfidf), "--threshold", "0.5",
                 "--split", "test", "--json", str(t), "--predictions", str(tmp_path / "p.csv")]) == 0
    assert json.loads(u.read_text())["recall"] >= json.loads(t.read_text())["recall"]
    pred = pd.read_csv(tmp_path / "p.csv")
    assert list(pred.columns) == ["posting_id", "matches"]
    assert all(pid in m.split() for pid, m in zip(pred.posting_id, pred.matches))


def test_evaluate_against_search_threshold_files(tiny_catalog, tmp_path):
    main(["split", "--data", str(tiny_catalog)])
    frame = pd.read_csv(tiny_catalog / "train.csv")
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(frame.label_group.max() + 1, 8))
    x = (centers[frame.label_group] + rng.normal(size=(len(frame), 8)) * 0.3).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    frame[["posting_id", "label_group"]].to_csv(tmp_path / "pool.csv", index=False)
    out = tmp_path / "r.json"
    arg = f"{tmp_path / 'pool.csv'}:{tmp_path / 'x.npy'}"
    assert main(["evaluate", "--postings", str(tmp_path / "pool.csv"), "--embeddings", str(tmp_path / "x.npy"),
                 "--search-threshold", arg, "--json", str(out)]) == 0
    assert json.loads(out.read_text())["f1"] > 0.9


def bad(tmp_path, name, array):
    path = tmp_path / name
    np.save(path, array, allow_pickle=True)
    return path


@pytest.mark.parametrize("case", ["rows", "nan", "pickle", "missing", "no-threshold", "union-count", "no-split",
                                  "zero-rows"])
def test_evaluate_errors_are_one_line_and_leave_nothing(case, tiny_catalog, tmp_path):
    csv = tiny_catalog / "train.csv"
    n = len(pd.read_csv(csv))
    good = bad(tmp_path, "good.npy", np.eye(n, 8, dtype=np.float32) + 0.1)
    args = {
        "rows": ["--embeddings", bad(tmp_path, "r.npy", np.ones((n - 1, 4), np.float32)), "--threshold", "0.3"],
        "nan": ["--embeddings", bad(tmp_path, "n.npy", np.full((n, 4), np.nan, np.float32)), "--threshold", "0.3"],
        "pickle": ["--embeddings", bad(tmp_path, "p.npy", np.array([{"x": 1}] * n, dtype=object)), "--threshold", "0.3"],
        "missing": ["--embeddings", tmp_path / "nope.npy", "--threshold", "0.3"],
        "no-threshold": ["--embeddings", good],
        "union-count": ["--embeddings", good, "--embeddings", good, "--combine", "union", "--threshold", "0.3"],
        "no-split": ["--embeddings", good, "--threshold", "0.3", "--split", "test"],
        "zero-rows": ["--embeddings", bad(tmp_path, "z.npy", np.vstack([np.ones((n - 2, 4)), np.zeros((2, 4))])
                                      .astype(np.float32)), "--threshold", "0.3"],
    }[case]
    out = tmp_path / "out.json"
    r = run_cli("evaluate", "--postings", csv, *args, "--json", out)
    assert r.returncode == 1, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()
    if case == "zero-rows":
        assert f"first: {n - 2}, {n - 1}" in lines[0] and "all zero" in lines[0]


def test_bad_catalog_is_one_line_error(tmp_path):
    (tmp_path / "train.csv").write_text("posting_id,image\nx,y.jpg\n")
    r = run_cli("split", "--data", tmp_path)
    assert r.returncode == 1
    assert r.stderr.startswith("error: ") and "missing required column" in r.stderr
    assert not (tmp_path / "folds.csv").exists()  # nothing half-made is left behind


def test_models_json_lists_baselines():
    r = run_cli("models", "--json")
    assert r.returncode == 0
    models = {m["id"]: m for m in json.loads(r.stdout) if m["profile"] == "seed18"}
    assert models["tfidf"]["recipe"] == 7 and models["tfidf"]["profile"] == "seed18"
    assert models["tfidf"]["spec"]["params"]["max_features"] == 15000
    assert models["phash"]["family"] == "baseline"


def test_closed_stdout_ends_quietly():
    """`models --json | head` must not end in `error: BrokenPipeError`."""
    import os

    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before anything is written: every write fails with EPIPE
    try:
        r = subprocess.run([sys.executable, "-m", "shopee_core", "models", "--json"], stdout=write_end,
                           stderr=subprocess.PIPE, timeout=120)
    finally:
        os.close(write_end)
    assert r.stderr.decode() == "" and r.returncode == 141


def test_evaluate_explains_a_stale_folds_file_like_split(tiny_catalog, tmp_path):
    tfidf = tmp_path / "tfidf.npz"
    assert main(["embed", "--model", "tfidf", "--data", str(tiny_catalog), "--out", str(tfidf)]) == 0
    folds = pd.read_csv(tiny_catalog / "folds.csv")
    folds.assign(posting_id="other_" + folds["posting_id"]).to_csv(tiny_catalog / "folds.csv", index=False)
    r = run_cli("evaluate", "--postings", tiny_catalog / "train.csv", "--embeddings", tfidf, "--threshold", "0.5",
                "--split", "test", "--json", tmp_path / "r.json")
    s = run_cli("split", "--data", tiny_catalog)
    assert r.returncode == 1 and s.returncode == 1
    assert r.stderr.startswith("error: ") and len(r.stderr.strip().splitlines()) == 1
    for err in (r.stderr, s.stderr):  # the same check, the same words
        assert "folds.csv does not cover exactly the catalog's" in err and "catalog postings are not in it" in err
        assert "it was made for other data; delete" in err


def test_embed_split_output_evaluates_with_the_same_split(tiny_catalog, tmp_path):
    frame = pd.read_csv(tiny_catalog / "train.csv")
    groups = sorted(frame["label_group"].unique())
    fold = frame["label_group"].map({g: 1 if k < 3 else 0 if k < 9 else 2 for k, g in enumerate(groups)})
    pd.DataFrame({"posting_id": frame["posting_id"], "fold": fold,  # splits of different sizes
                  "split": fold.map({0: "test", 1: "valid", 2: "train"})}).to_csv(tiny_catalog / "folds.csv",
                                                                                 index=False)
    full, part = tmp_path / "phash.npy", tmp_path / "phash_test.npy"
    assert main(["embed", "--model", "phash", "--data", str(tiny_catalog), "--out", str(full)]) == 0
    assert main(["embed", "--model", "phash", "--data", str(tiny_catalog), "--split", "test", "--out", str(part)]) == 0
    csv = tiny_catalog / "train.csv"
    results = []
    for emb in (full, part):
        out = tmp_path / f"{emb.stem}.json"
        assert main(["evaluate", "--postings", str(csv), "--embeddings", str(emb), "--threshold", "0.2",
                     "--min2", "0.3", "--split", "test", "--json", str(out)]) == 0
        results.append(json.loads(out.read_text()))
    metric = lambda r: {k: r[k] for k in ("f1", "precision", "recall", "n", "split")}  # noqa: E731
    assert metric(results[0]) == metric(results[1])  # the sets are named after their files
    n_test = int((pd.read_csv(tiny_catalog / "folds.csv")["split"] == "test").sum())
    assert results[1]["n"] == n_test
    # another split's (or no split's) pool cannot use it, and says why in one line
    for extra in (["--split", "valid"], [], ["--tune-split", "valid", "--split", "test"]):
        r = run_cli("evaluate", "--postings", csv, "--embeddings", part, "--threshold", "0.2", *extra,
                    "--json", tmp_path / "x.json")
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith(f"error: {part}: {n_test} rows, but {csv} has")


def test_evaluate_on_every_posting_with_nested_pool_sizes(tiny_catalog, tmp_path, capsys):
    phash = tmp_path / "phash.npy"
    assert main(["embed", "--model", "phash", "--data", str(tiny_catalog), "--out", str(phash)]) == 0
    out = tmp_path / "all.json"
    csv = tiny_catalog / "train.csv"
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(phash), "--tune-split", "valid",
                 "--split", "all", "--pool-sizes", "20,60", "--json", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["split"] == "all" and res["n"] == len(pd.read_csv(csv))
    sizes = [r["postings"] for r in res["pool_sizes"]]
    assert sizes[0] >= 20 and sizes[1] >= 60 and sizes == sorted(sizes)
    assert all({"t", "f1_best", "f1_given", "may_miss"} <= set(r) for r in res["pool_sizes"])
    assert "best T" in capsys.readouterr().out
    r = run_cli("evaluate", "--postings", csv, "--embeddings", phash, "--threshold", "0.3", "--pool-sizes", "x",
                "--json", tmp_path / "bad.json")
    assert r.returncode == 1 and r.stderr.startswith("error: --pool-sizes")


def test_embed_refuses_all_zero_rows_and_writes_nothing(tiny_catalog, tmp_path, monkeypatch):
    import shopee_core.training.embed as E

    real = E.embed_untrained

    def zero_second_row(*a, **k):
        x = np.asarray(real(*a, **k), dtype=np.float32).copy()
        x[1] = 0
        return x
    monkeypatch.setattr(E, "embed_untrained", zero_second_row)
    out = tmp_path / "p.npy"
    assert main(["embed", "--model", "phash", "--data", str(tiny_catalog), "--out", str(out)]) == 1
    assert not out.exists()


def test_evaluate_tunes_on_float32(tmp_path):
    """Issue 21, point 2: `evaluate` searches T on float32 similarities (T = 0.305 by hand,
    tests/bundle/float16_flip.py; float16-rounded ones would give 0.300)."""
    import numpy as np
    import pandas as pd

    from tests.bundle.float16_flip import flip_rows

    labels = np.repeat(np.arange(6), 2)
    split = np.array(["valid"] * 6 + ["test"] * 6)
    x, _ = flip_rows(labels, np.arange(6))
    pd.DataFrame({"posting_id": [f"p{i}" for i in range(12)], "label_group": labels, "split": split}).to_csv(
        tmp_path / "p.csv", index=False)
    np.save(tmp_path / "x.npy", x)
    r = run_cli("evaluate", "--postings", tmp_path / "p.csv", "--embeddings", tmp_path / "x.npy", "--tune-split",
                "valid", "--search-min2", "--split", "test", "--k", "6", "--json", tmp_path / "out.json")
    assert r.returncode == 0, r.stderr
    (side,) = json.loads((tmp_path / "out.json").read_text())["thresholds"]["sides"]
    assert (side["t"], side["t2"]) == (0.305, 0.305)

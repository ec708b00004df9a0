"""evaluate --graph: the step tuned on the validation split and written in the JSON; bad steps refused."""

import json

import numpy as np
import pandas as pd
import pytest

from shopee_core.cli import main


@pytest.fixture
def clustered(tiny_catalog, tmp_path):
    """Embeddings of the tiny catalog whose groups sit close enough to chain."""
    main(["split", "--data", str(tiny_catalog)])
    frame = pd.read_csv(tiny_catalog / "train.csv")
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(frame.label_group.max() + 1, 8)) * 0.4
    x = (centers[frame.label_group] + rng.normal(size=(len(frame), 8)) * 0.3).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return tiny_catalog / "train.csv", tmp_path / "x.npy"


@pytest.mark.parametrize("step", ["mutual", "closure", "cluster", "cut-bridges", "closure:4"])
def test_evaluate_tunes_the_graph_step_on_valid_and_says_so(clustered, tmp_path, step):
    csv, x = clustered
    out = tmp_path / "g.json"
    assert main(["evaluate", "--postings", str(csv), "--embeddings", str(x), "--tune-split", "valid",
                 "--search-min2", "--split", "test", "--graph", step, "--json", str(out),
                 "--predictions", str(tmp_path / "p.csv")]) == 0
    res = json.loads(out.read_text())
    name = step.split(":")[0]
    assert res["graph"]["step"] == name and res["thresholds"]["graph"] == res["graph"]
    if name != "mutual":
        assert res["graph"]["param"] is not None  # searched when bare
    if step == "closure:4":
        assert res["graph"]["param"] == 4
        pred = pd.read_csv(tmp_path / "p.csv")
        assert max(len(m.split()) for m in pred.matches) <= 4  # every closure component <= MAX
    assert 0 < res["f1"] <= 1 and res["tuned_on"]["f1"] > 0


def test_evaluate_with_a_fixed_graph_step(clustered, tmp_path):
    csv, x = clustered
    plain, graph = tmp_path / "a.json", tmp_path / "b.json"
    base = ["evaluate", "--postings", str(csv), "--embeddings", str(x), "--threshold", "0.6", "--split", "test"]
    assert main(base + ["--json", str(plain)]) == 0
    assert main(base + ["--graph", "mutual", "--json", str(graph)]) == 0
    # mutual only removes pairs: precision up or equal, recall down or equal
    a, b = json.loads(plain.read_text()), json.loads(graph.read_text())
    assert b["recall"] <= a["recall"] + 1e-12 and b["graph"] == {"step": "mutual", "param": None}


@pytest.mark.parametrize("graph, message", [
    ("louvain", "unknown graph step"), ("closure:1", "cap MAX must be an integer >= 2"),
    ("cluster:0.5", "S must be >= 1"), ("cut-bridges:1.2", "in [-1, 1]"), ("cluster", "needs its S"),
])
def test_bad_graph_steps_are_one_line_errors_and_nothing_is_written(clustered, tmp_path, capsys, graph, message):
    csv, x = clustered
    out = tmp_path / "out.json"
    rc = main(["evaluate", "--postings", str(csv), "--embeddings", str(x), "--threshold", "0.5", "--graph", graph,
               "--json", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc != 0 and len(err) == 1 and err[0].startswith("error: ") and message in err[0]
    assert not out.exists()

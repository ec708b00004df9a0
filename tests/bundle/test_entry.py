"""A bundle's models as typed entries: what each kind of model is, where its files are, and that an entry
cannot change the manifest it came from."""

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

from shopee_core.bundle import Bundle, BundleError, ModelEntry
from tests.analysis.bundles import FUSION, INB3, UNION, tiny_bundle


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return Bundle.open(tiny_bundle(tmp_path_factory))


def test_every_kind_of_model_says_what_it_is(bundle):
    e = {x.id: x for x in bundle.entries}
    assert [x.id for x in bundle.entries] == [m["id"] for m in bundle.models]  # manifest order
    assert e["tfidf"].modality == "text" and e["phash"].modality == "image"
    assert e["tfidf"].has_table() and e["tfidf"].has_table("inb") and e["tfidf"].can_embed
    assert e["tfidf"].path("vectorizer") == bundle.root / "models/tfidf/vectorizer.json"
    assert e["tfidf"].path("vectorizer").is_file() and e["phash"].path("vectorizer") is None
    fusion, union, inb3 = e[FUSION], e[UNION], e[INB3]
    assert fusion.is_mean_fusion and fusion.members == ("tfidf", "phash") and fusion.combine == "mean"
    assert fusion.can_embed and fusion.path("embeddings") is None  # through its members' embeddings
    assert fusion.modality is None  # text and image
    assert union.is_union and not union.is_mean_fusion and not union.can_embed
    assert [s[0] for s in union.sides] == ["tfidf", "phash"] and union.t is None
    assert inb3.is_inb_only and inb3.of == FUSION and not inb3.is_mean_fusion and not inb3.can_embed
    assert not any(x.external or x.predictions_only for x in bundle.entries)
    m = bundle.model("tfidf")
    assert (e["tfidf"].t, e["tfidf"].t2, e["tfidf"].inb_iters) == (m["thresholds"]["t"], m["thresholds"]["t2"], 1)
    assert e["tfidf"].metrics["test"]["min2"]["f1"] == m["metrics"]["test"]["min2"]["f1"]


def test_an_unknown_model_is_a_readable_error(bundle):
    with pytest.raises(BundleError, match="has no model 'nope'"):
        bundle.entry("nope")


def test_an_entry_cannot_change_the_manifest(bundle):
    e = bundle.entry(FUSION)
    with pytest.raises(dataclasses.FrozenInstanceError):
        e.t = 0.1
    with pytest.raises(TypeError):
        e.spec["members"] = ["x"]
    e.spec["members"].append("x")  # a copy: the manifest keeps its own
    assert bundle.model(FUSION)["spec"]["members"] == ["tfidf", "phash"]


def test_a_vectorizer_listed_among_the_bundles_own_files_is_found(tmp_path):
    models = [{"id": "tf", "label": "tf", "family": "text", "recipe": 7, "kind": "tfidf", "spec": {},
               "thresholds": {"t": 0.5, "t2": None, "inb_t": None, "inb_t2": None, "inb_iters": 0},
               "metrics": {}, "files": {"neighbors": {"path": "models/tf/neighbors.npz", "sha256": "0"}},
               "query": True}]
    postings = pd.DataFrame(columns=["posting_id", "title", "label_group", "split", "image_phash", "thumb"])
    older = Bundle(Path(tmp_path), {"k": 3, "models": models, "files": {"models/tf/vectorizer.json": "0"}}, postings)
    assert older.entry("tf").path("vectorizer") == tmp_path / "models/tf/vectorizer.json"
    plain = Bundle(Path(tmp_path), {"k": 3, "models": models, "files": {}}, postings)
    assert plain.entry("tf").path("vectorizer") is None


def test_an_import_is_an_external_entry():
    m = {"id": "sub", "label": "sets", "family": "fusion", "recipe": None, "kind": "external", "source": "external",
         "predictions_only": True, "spec": {"source": "external"}, "imported": {"files": [{"name": "sub.csv"}]},
         "thresholds": {"t": 0.5, "t2": None}, "files": {"neighbors": {"path": "models/sub/neighbors.npz"}}}
    e = ModelEntry.from_manifest(m, Path("/b"))
    assert e.external and e.predictions_only and e.has_table() and not e.can_embed and e.modality is None
    assert e.table_path() == Path("/b/models/sub/neighbors.npz") and e.imported["files"][0]["name"] == "sub.csv"


def test_a_tuned_graph_step_is_read_and_an_older_entry_has_none():
    """Bundles built before graph steps carry no ``thresholds["graph"]``: their entries read None."""
    th = {"t": 0.4, "t2": 0.6, "graph": {"step": "cluster", "param": 2.85, "t": [0.55], "t2": [0.7]}}
    m = {"id": "tf", "kind": "tfidf", "family": "text", "thresholds": th, "files": {}}
    e = ModelEntry.from_manifest(m, Path("/b"))
    assert dict(e.graph)["step"] == "cluster" and e.graph["param"] == 2.85 and list(e.graph["t"]) == [0.55]
    th["graph"]["t"].append(0.1)  # a copy: the entry keeps what the manifest said
    assert list(e.graph["t"]) == [0.55]
    older = ModelEntry.from_manifest({**m, "thresholds": {"t": 0.4, "t2": 0.6}}, Path("/b"))
    assert older.graph is None

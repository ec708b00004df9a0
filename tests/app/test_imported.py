"""Imported models on every page (AppTest): a predictions-only model and an embedding model beside
built ones; and a bundle with no models at all."""

import shutil

import numpy as np
import pytest

from shopee_core.bundle import Bundle
from shopee_core.bundle.importer import import_model
from tests.analysis.bundles import metric, open_page, tiny_bundle
from tests.bundle.test_importer import noisy_embeddings, write_submission

PAGES = ["leaderboard", "query", "compare", "embedding", "thresholds", "failures"]
SUB, EMB = "my_sets", "my_vectors"


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    root = tmp_path_factory.mktemp("imported")
    out = root / "bundle"
    shutil.copytree(tiny_bundle(tmp_path_factory), out)
    b = Bundle.open(out)
    write_submission(b, root / "sub.csv")
    np.save(root / "x.npy", noisy_embeddings(b))
    b.postings[["posting_id"]].to_csv(root / "ids.csv", index=False)
    import_model(out, SUB, "sets from a notebook", "fusion", predictions=root / "sub.csv")
    import_model(out, EMB, "vectors from a notebook", "text", embeddings=[root / "x.npy"], ids=[root / "ids.csv"],
                 umap=False)
    return out


@pytest.fixture(scope="module")
def empty(tmp_path_factory):
    from shopee_core.bundle.builder import build

    root = tmp_path_factory.mktemp("nomodels")
    from tests.conftest import write_tiny_catalog

    write_tiny_catalog(root / "cat", n_groups=12)
    build("smoke", root / "cat", root / "bundle", only=[], umap=False)
    return root / "bundle"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_an_imported_predictions_only_model(imported, monkeypatch, page):
    at = open_page(f"app_pages/{page}.py", imported, monkeypatch, models=[SUB, EMB, "tfidf"])
    assert not at.exception


def test_leaderboard_shows_the_source(imported, monkeypatch):
    at = open_page("app_pages/leaderboard.py", imported, monkeypatch)
    frame = at.dataframe[0].value.set_index("name")
    names = {n.lstrip("★ ").removesuffix(" ⇪"): n for n in frame.index}
    assert frame.at[names[SUB], "source"] == "imported" and names[SUB].endswith("⇪")
    assert frame.at[names[EMB], "source"] == "imported"
    assert frame.at[names["tfidf"], "source"] == "built"
    assert frame.at[names[SUB], "t"] == "fixed"
    assert "imported predicted sets from sub.csv" in frame.at[names[SUB], "what"]


def test_thresholds_offer_nothing_to_move_for_fixed_sets(imported, monkeypatch):
    at = open_page("app_pages/thresholds.py", imported, monkeypatch, models=[SUB])
    assert any("predictions-only" in i.value for i in at.info)
    assert not at.slider and not [b for b in at.button if b.key in ("th-reset", "th-best")]
    want = Bundle.open(imported).model(SUB)["metrics"]["test"]["base"]["f1"]
    assert metric(at, "F1").value == f"{want:.4f}"
    at.segmented_control(key="th-mode").set_value("union").run()
    assert not at.exception
    at.multiselect(key="th-u-members").set_value([SUB, "tfidf"]).run()
    assert not at.exception
    assert any("fixed, no thresholds" in c.value for c in at.caption)
    assert len(at.slider) == 2  # tfidf's T and T2 only


def test_an_imported_embedding_model_gets_sliders_and_inb(imported, monkeypatch):
    at = open_page("app_pages/thresholds.py", imported, monkeypatch, models=[EMB])
    assert at.select_slider(key=f"th-m-{EMB}-iters").options == ["0", "1", "2", "3"]
    assert len(at.slider) == 2


def test_failures_and_embedding_say_what_a_fixed_model_lacks(imported, monkeypatch):
    at = open_page("app_pages/failures.py", imported, monkeypatch, models=[SUB])
    assert at.segmented_control(key=f"fb-variant-{SUB}-best").options == ["imported sets"]
    want = Bundle.open(imported).model(SUB)["metrics"]["test"]["base"]["f1"]
    assert metric(at, "Mean F1").value == f"{want:.4f}"
    at = open_page("app_pages/embedding.py", imported, monkeypatch, models=[SUB])
    assert any(f"No map for `{SUB}`" in c.value for c in at.caption)


@pytest.mark.parametrize("page", PAGES)
def test_a_bundle_without_models_says_so_on_every_page(empty, monkeypatch, page):
    at = open_page(f"app_pages/{page}.py", empty, monkeypatch)
    assert any("no models yet" in i.value and "import-model" in i.value for i in at.info)

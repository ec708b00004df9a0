"""A model replaced at the same bundle path (``import-model --replace``) while the app runs: Compare and
Embedding show the new model, never numbers or a map cached from the old one."""

import html
import json
import shutil

import numpy as np
import pytest

from dashboard.text import shown
from shopee_core.analysis import agreement as ag
from shopee_core.analysis import decisions, errors
from shopee_core.analysis import embedding_map as em
from shopee_core.analysis.maps import pca_2d
from shopee_core.bundle import Bundle
from shopee_core.bundle.importer import import_model
from tests.tiny_bundle import dash_bundle, open_app  # noqa: F401  (session fixture)

MINE = "mine"


def group_rows(b: Bundle) -> np.ndarray:
    """One direction per label group: every posting matches exactly its group (within k)."""
    labels = b.postings["label_group"].to_numpy()
    codes = np.unique(labels, return_inverse=True)[1].ravel()
    return np.eye(codes.max() + 1, dtype=np.float32)[codes]


def noisy_rows(b: Bundle, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(len(b.postings), 16)).astype(np.float32)


def put(root, rows: np.ndarray, tmp_path, replace: bool) -> None:
    """``import-model [--replace]`` of ``rows`` as model MINE (a PCA map: UMAP's JIT is tested elsewhere)."""
    b = Bundle.open(root)
    np.save(tmp_path / "rows.npy", rows)
    b.postings[["posting_id"]].to_csv(tmp_path / "ids.csv", index=False)
    import_model(root, MINE, "rows imported twice", "text", embeddings=[tmp_path / "rows.npy"],
                 ids=[tmp_path / "ids.csv"], replace=replace, umap=pca_2d)


def agreement(root, split: str) -> dict:
    b = Bundle.open(root)
    got = ag.pair_agreement(decisions.predictions(b, MINE, split), decisions.predictions(b, "tfidf", split),
                            b.labels(split))
    return {"Both right": f"{got.counts['both_right']:,}", "Only A right": f"{got.counts['only_a']:,}",
            "Only B right": f"{got.counts['only_b']:,}", "Both wrong": f"{got.counts['both_wrong']:,}"}


def error_legend(root, split: str) -> set[str]:
    b = Bundle.open(root)
    kinds = em.primary_error(errors.failure_table(b, MINE, split))
    return {f"{errors.ERROR_LABELS.get(k, k)} ({int((kinds == k).sum()):,})" for k in set(kinds.tolist())}


def shown_legend(at) -> set[str]:
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    return {html.unescape(shown(t["name"])) for t in fig["data"]}  # as Plotly shows a plot_text name


@pytest.fixture
def root(dash_bundle, tmp_path):  # noqa: F811
    out = tmp_path / "dash"
    shutil.copytree(dash_bundle, out)
    put(out, group_rows(Bundle.open(out)), tmp_path, replace=False)
    return out


def test_compare_shows_the_replacing_model(root, tmp_path, monkeypatch):
    at = open_app(root, monkeypatch, "app_pages/compare.py", rule="min2")
    at.multiselect(key="cmp-models").set_value([MINE, "tfidf"]).run()
    split = at.session_state["split"]
    before = agreement(root, split)
    assert {m.label: m.value for m in at.metric if m.label in before} == before
    put(root, noisy_rows(Bundle.open(root)), tmp_path, replace=True)
    after = agreement(root, split)
    assert after != before  # the replacement predicts other sets
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert {m.label: m.value for m in at.metric if m.label in after} == after


def test_embedding_shows_the_replacing_model(root, tmp_path, monkeypatch):
    at = open_app(root, monkeypatch, "app_pages/embedding.py", rule="min2")
    at.selectbox(key="emb-model").set_value(MINE).run()
    at.toggle(key="emb-hl").set_value(False).run()
    at.radio(key="emb-colour").set_value("error type").run()
    split = at.session_state["split"]
    before = error_legend(root, split)
    assert shown_legend(at) == before
    put(root, noisy_rows(Bundle.open(root)), tmp_path, replace=True)
    after = error_legend(root, split)
    assert after != before
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert shown_legend(at) == after

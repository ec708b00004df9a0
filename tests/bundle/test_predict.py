import shutil

import pandas as pd
import pytest

from shopee_core.cli import main


@pytest.fixture
def test_folder(tmp_path, tiny_catalog):
    """The tiny catalog laid out as Kaggle's test.csv + test_images/ (no labels)."""
    root = tmp_path / "kaggle_test"
    root.mkdir()
    frame = pd.read_csv(tiny_catalog / "train.csv", dtype=str)
    frame.drop(columns=["label_group"]).to_csv(root / "test.csv", index=False)
    shutil.copytree(tiny_catalog / "train_images", root / "test_images")
    return root, frame


@pytest.mark.parametrize("model", ["tfidf", "phash"])
def test_predict_writes_a_kaggle_submission(small_bundle, test_folder, tmp_path, model, capsys):
    root, frame = test_folder
    out = tmp_path / "submission.csv"
    assert main(["predict", "--data", str(root), "--bundle", str(small_bundle), "--model", model,
                 "--out", str(out), "--quiet"]) == 0
    sub = pd.read_csv(out, dtype=str)
    assert list(sub.columns) == ["posting_id", "matches"]
    assert list(sub.posting_id) == list(frame.posting_id)
    assert all(pid in m.split() for pid, m in zip(sub.posting_id, sub.matches))
    assert (sub.matches.str.split().str.len() > 1).any()


def test_predict_refuses_models_without_a_shipped_encoder(small_bundle, test_folder, tmp_path, capsys):
    import json

    root, _ = test_folder
    assert main(["predict", "--data", str(root), "--bundle", str(small_bundle), "--model", "nope",
                 "--out", str(tmp_path / "s.csv")]) == 1
    assert "no model 'nope'" in capsys.readouterr().err
    assert json.loads((small_bundle / "manifest.json").read_text())["profile"] == "smoke"

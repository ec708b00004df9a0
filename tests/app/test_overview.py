from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def test_app_starts_and_shows_seed_results():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "Shopee match explorer"
    shown = at.dataframe[0].value
    seed = pd.read_csv(ROOT / "precomputed" / "reference" / "seed_results.csv")
    assert len(shown) == len(seed) == 18
    assert at.metric[0].value == "sbert + nfnet metric-layer fusion"

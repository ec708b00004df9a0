"""Kaggle submission format: ``posting_id,matches`` (space-separated, self included)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def predictions_frame(posting_ids, pred: np.ndarray) -> pd.DataFrame:
    posting_ids = np.asarray(posting_ids, dtype=object)
    matches = [" ".join(posting_ids[row[row >= 0]]) for row in pred]
    return pd.DataFrame({"posting_id": posting_ids, "matches": matches})

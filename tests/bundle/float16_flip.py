"""Embedding rows whose tuned threshold moves when similarities are rounded to float16."""

from __future__ import annotations

import numpy as np

FLIP_COS = 0.69996  # distance 0.30004; float16 rounds the cosine to 0.70020 (distance 0.29980)


def flip_rows(labels, rows) -> tuple[np.ndarray, int]:
    """One axis per posting (every cosine 0: distance 1, never matched), except the first two
    members of the first group among ``rows`` with two or more there, at cosine ``FLIP_COS``.

    Worked out by hand for the full scan (T = 0.005, 0.010, ...): in float32 the pair joins from
    T = 0.305 on (0.30004 < 0.305, not < 0.300), so F1 first rises at T = 0.305 and T2 stays at T
    (every other candidate is at distance 1); on float16-rounded similarities it joins at T = 0.300.
    Returns the rows and the pair's group."""
    labels = np.asarray(labels)
    rows = np.asarray(rows)
    values, counts = np.unique(labels[rows], return_counts=True)
    group = values[np.flatnonzero(counts >= 2)[0]]
    a, b = rows[labels[rows] == group][:2]
    x = np.eye(len(labels) + 1, dtype=np.float32)[: len(labels)]
    x[b] = 0.0
    x[b, a] = FLIP_COS
    x[b, len(labels)] = np.sqrt(1.0 - FLIP_COS ** 2)
    return x, int(group)

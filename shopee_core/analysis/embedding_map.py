"""Data behind the embedding-space page: map points, colours, error types, selections.

Pure functions (no Streamlit); the page only draws what these return.
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd

PRIMARY_ERRORS = ("orphan", "over_merged", "unit_conflict", "shared_photo_variant", "label_noise", "missed")
ERROR_ORDER = ("correct", *PRIMARY_ERRORS, "extra matches")
ERROR_COLOURS = {
    "correct": "#9ccc9c", "orphan": "#7b1fa2", "over_merged": "#c62828", "unit_conflict": "#ef6c00",
    "shared_photo_variant": "#00897b", "label_noise": "#6d4c41", "missed": "#1565c0", "extra matches": "#f9a825",
}
SPLIT_COLOURS = {"valid": "#1f77b4", "test": "#ee4d2d", "train": "#7f7f7f"}


# 48 distinguishable colours (plotly's Dark24 + Light24); groups get one by hash
GROUP_PALETTE = (
    "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#222A2A", "#B68100", "#750D86", "#EB663B", "#511CFB",
    "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE", "#862A16", "#A777F1", "#620042", "#1616A7",
    "#DA60CA", "#6C4516", "#0D2A63", "#AF0038", "#FD3216", "#00FE35", "#6A76FC", "#FED4C4", "#FE00CE", "#0DF9FF",
    "#F6F926", "#FF9616", "#479B55", "#EEA6FB", "#DC587D", "#D626FF", "#6E899C", "#00B5F7", "#B68E00", "#C9FBE5",
    "#FF0092", "#22FFA7", "#E3EE9E", "#86CE00", "#BC7196", "#7E7DCD", "#FC6955", "#E48F72",
)


def hashed_index(values, n: int = len(GROUP_PALETTE)) -> np.ndarray:
    """A stable colour index in [0, n) per value (crc32): equal labels, equal colours, in any bundle."""
    uniq, inverse = np.unique(np.asarray(values).astype(str), return_inverse=True)
    codes = np.array([zlib.crc32(u.encode()) % n for u in uniq], dtype=np.int32)
    return codes[inverse.ravel()]


def primary_error(table: pd.DataFrame) -> np.ndarray:
    """One error type per row of a failure table (``errors.failure_table``), in ``row`` order.

    ``correct`` for F1 = 1; else the first flagged of orphan, over-merged, unit conflict,
    shared-photo variant, label noise, missed; else ``extra matches`` (false positives of no special kind).
    """
    table = table.sort_values("row")
    out = np.full(len(table), "extra matches", dtype=object)
    assigned = np.zeros(len(table), dtype=bool)
    for kind in PRIMARY_ERRORS:
        if kind in table:
            flag = table[kind].to_numpy(dtype=bool) & ~assigned
            out[flag] = kind
            assigned |= flag
    out[table["f1"].to_numpy() >= 1.0 - 1e-12] = "correct"
    return out


def map_frame(bundle, model_id: str, splits) -> pd.DataFrame:
    """Points of ``splits`` (candidate pools) on the model's stored 2-D map: posting, split (the pool),
    posting_split (the posting's own split; differs in the ``all`` pool), row (pool-local), x, y, ..."""
    xy = bundle.umap(model_id)
    if xy is None:
        raise ValueError(f"model {model_id!r} has no map in this bundle")
    parts = []
    post = bundle.postings
    for split in splits:
        rows = bundle.split_rows(split)
        parts.append(pd.DataFrame({
            "posting": rows, "split": split, "posting_split": post["split"].to_numpy()[rows],
            "row": np.arange(len(rows)),
            "x": np.asarray(xy[rows, 0], dtype=np.float32), "y": np.asarray(xy[rows, 1], dtype=np.float32),
            "posting_id": post["posting_id"].to_numpy()[rows], "title": post["title"].to_numpy()[rows],
            "label_group": post["label_group"].to_numpy()[rows],
        }))
    return pd.concat(parts, ignore_index=True)


def top_groups(labels, n: int = 10) -> list:
    """The ``n`` largest label groups (ties by label), largest first."""
    s = pd.Series(np.asarray(labels)).value_counts(sort=False)
    s = s.sort_index().sort_values(ascending=False, kind="stable")
    return s.index[:n].tolist()


def selected_rows(event) -> list[int]:
    """Posting rows picked by a box/lasso selection of ``st.plotly_chart(on_select=...)``.

    Reads each selected point's ``customdata`` (the page puts the posting row there, as
    a scalar or as the first element of a list). Accepts the Streamlit event object, a
    plain dict, or None. Duplicates (a point drawn in several traces) are dropped; order
    of first selection is kept.
    """
    if not event:
        return []
    selection = _get(event, "selection")
    if not selection:
        return []
    points = _get(selection, "points") or []
    out, seen = [], set()
    for p in points:
        cd = _get(p, "customdata")
        if isinstance(cd, (list, tuple)):
            cd = cd[0] if cd else None
        if cd is None:
            continue
        try:
            row = int(cd)
        except (TypeError, ValueError):
            continue
        if row not in seen:
            seen.add(row)
            out.append(row)
    return out


def _get(obj, key):
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    try:
        return obj[key]
    except (KeyError, TypeError, IndexError):
        return getattr(obj, key, None)

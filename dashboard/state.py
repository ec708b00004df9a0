"""Cross-page state in one place: the bundle, the split, the truth, the selected models and posting,
the Leaderboard's A vs B pair and the Thresholds page's live decision.

Every key is initialised here from the URL query parameters (so views are
shareable) and written back when it changes. Pages read and write through
``get``/``set``; nothing else touches ``st.session_state`` for these keys.
"""

from __future__ import annotations

import streamlit as st

KEYS = {  # key -> default; lists are comma-separated in the URL
    "bundle": "demo",
    "split": "test",
    "models": [],
    "posting": "",
    "truth": "labelled",  # or "fixed": every page scores against the review file's fixes
    "ab": [],        # the Leaderboard's A vs B pair: "model:variant" twice
    "decision": "",  # the Thresholds page's live decision (dashboard.live)
}


def _from_params(key: str, default):
    raw = st.query_params.get(key)
    if raw is None:
        return default
    if isinstance(default, list):
        return [v for v in raw.split(",") if v]
    return raw


def init() -> None:
    """Call once per run, from app.py, before any page renders."""
    for key, default in KEYS.items():
        if key not in st.session_state:
            st.session_state[key] = _from_params(key, default)


def get(key: str):
    return st.session_state.get(key, KEYS[key])


def set(key: str, value) -> None:  # noqa: A001 - mirrors get
    st.session_state[key] = value
    sync_params()


def sync_params() -> None:
    for key, default in KEYS.items():
        value = st.session_state.get(key, default)
        text = ",".join(value) if isinstance(value, list) else str(value)
        if text and text != (",".join(default) if isinstance(default, list) else default):
            st.query_params[key] = text
        elif key in st.query_params:
            del st.query_params[key]


def open_posting(posting_id: str) -> None:
    """Select a posting anywhere and jump to Query by example."""
    set("posting", posting_id)
    st.switch_page("app_pages/query.py")

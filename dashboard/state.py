"""Cross-page state in one place: the bundle, the split, the truth, the decision rule every page
uses, the selected models and posting, the Leaderboard's A vs B pair, the Thresholds page's live
decision, and every page's own selections.

Every key of ``KEYS`` is initialised here from the URL query parameters (so views are
shareable and survive a reload) and written back to the URL on every run. Pages read and
write through ``get``/``set``; nothing else touches ``st.session_state`` for these keys.

A page's own widgets (sliders, filters, views) go through :func:`kept`: Streamlit deletes a
widget's state when a run does not draw it (any page switch), so the durable value lives in a
plain session key and re-seeds the widget each time its page is drawn again.
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
    "rule": "best",  # a key of shopee_core.analysis.leaderboard.RULES: the one decision (sidebar) every page uses
}
KEEP = "_kept:"  # prefix of the durable copies of page widgets' values
DEFAULT_ARGS = ("value", "index", "default")


def _from_params(key: str, default):
    raw = st.query_params.get(key)
    if raw is None:
        return default
    if isinstance(default, list):
        return [v for v in raw.split(",") if v]
    return raw


def init() -> None:
    """Call once per run, from app.py, before any page renders (it also puts the state back
    into the URL, which a page switch empties)."""
    for key, default in KEYS.items():
        if key not in st.session_state:
            st.session_state[key] = _from_params(key, default)
    sync_params()


def kept(widget, label: str, options=None, *, key: str, **kwargs):
    """Draw ``widget(label[, options], key=key, **kwargs)`` with its value kept across page
    switches: re-seeded from its durable copy when Streamlit dropped the widget's state, the
    page's own default (``value``/``index``/``default``) used only the first time. A kept value
    the widget can no longer take (another bundle's options) is dropped for the default."""
    restore(key, options)
    if key in st.session_state:  # kept, or set by the page (a pasted link): the page's default would clash
        kwargs = {k: v for k, v in kwargs.items() if k not in DEFAULT_ARGS}
    args = (label,) if options is None else (label, options)
    return remember(key, widget(*args, key=key, **kwargs))


def restore(key: str, options=None) -> None:
    """Give a widget back the value the user left it at, when a page switch made Streamlit drop its
    state (and the value still fits ``options``, when given). For a page that seeds its widgets
    itself; :func:`kept` does this and :func:`remember` around one widget."""
    durable = KEEP + key
    if key not in st.session_state and durable in st.session_state:
        value = st.session_state[durable]
        if options is None or _fits(value, list(options)):
            st.session_state[key] = value


def remember(key: str, value):
    """Keep a widget's value past a page switch (Streamlit drops the widget's own state)."""
    st.session_state[KEEP + key] = value
    return value


def forget(key: str) -> None:
    """Drop a kept widget value (the page resets that widget to its default)."""
    st.session_state.pop(KEEP + key, None)
    st.session_state.pop(key, None)


def _fits(value, options: list) -> bool:
    if value is None:
        return True
    if isinstance(value, list | tuple):
        return all(v in options for v in value)
    return value in options


def get(key: str):
    return st.session_state.get(key, KEYS[key])


def rule() -> str:
    """The decision chosen in the sidebar (a key of ``leaderboard.RULES``; a bad URL value reads "best")."""
    from shopee_core.analysis.leaderboard import RULES

    value = get("rule")
    return value if value in RULES else KEYS["rule"]


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


def open_pair(model_id: str, posting_id: str, other_id: str, image_model: str | None, text_model: str | None) -> None:
    """Open the pair (posting, other) of a fusion in the Thresholds page's decision plane: the model
    first in the shared selection, the page on *A bundle model* and *Decision plane*, the plane's
    axes on the fusion's members, the pair marked there."""
    set("models", [model_id] + [m for m in get("models") if m != model_id])
    set("posting", posting_id)
    for key, value in (("th-mode", "model"), ("th-view", "plane"), ("th-plane-img", image_model),
                       ("th-plane-txt", text_model)):
        st.session_state.pop(key, None)
        if value is not None:
            st.session_state[KEEP + key] = value
    st.session_state["plane-pair"] = (posting_id, other_id)
    st.switch_page("app_pages/thresholds.py")


def open_posting(posting_id: str) -> None:
    """Select a posting anywhere and jump to Query by example."""
    set("posting", posting_id)
    st.switch_page("app_pages/query.py")

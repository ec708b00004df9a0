"""Text that fits at 1280 px: what Streamlit cuts with an ellipsis (metric labels and values, chosen
options, model chips, segmented buttons) wraps instead, so the part that tells siblings apart —
often the end of a model id — is never the part that is cut.

One style block, sent by app.py on every run (a style-only ``st.html`` takes no room on the page).
"""

from __future__ import annotations

import streamlit as st

CSS = """
[data-testid="stMetricLabel"], [data-testid="stMetricLabel"] *,
[data-testid="stMetricValue"], [data-testid="stMetricValue"] *,
[data-testid="stMetricDelta"], [data-testid="stMetricDelta"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere;
}
[data-baseweb="select"] div, [data-baseweb="tag"], [data-baseweb="tag"] span {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
  overflow-wrap: anywhere; max-width: none !important; height: auto !important;
}
[data-testid="stMultiSelect"] div {
  flex-wrap: wrap !important; overflow: visible !important; mask-image: none !important;
  -webkit-mask-image: none !important; max-height: none !important;
}
[data-testid="stButtonGroup"], [data-testid="stButtonGroup"] div {
  flex-wrap: wrap !important; overflow: visible !important;
}
[data-testid="stMain"] [data-testid^="stBaseButton-segmented_control"] *,
[data-testid="stMain"] [data-testid^="stBaseButton-pills"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
[data-testid="stWidgetLabel"], [data-testid="stWidgetLabel"] * {
  white-space: normal !important; overflow: visible !important; text-overflow: clip !important;
}
"""


def fit_text() -> None:
    st.html(f"<style>{CSS}</style>")

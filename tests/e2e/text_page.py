"""A Streamlit page for tests/e2e/test_text_e2e.py: every hostile title of the corpus in every
context the dashboard renders text in, each through its helper (dashboard/text.py).

Run by the test as ``streamlit run tests/e2e/text_page.py``; each case sits in a keyed container
(``st-key-<context>-<i>``) the test finds. ``raw-rtl`` shows one title *without* the helper, so
the test proves its bidi measurement would catch a leak.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from dashboard.gallery import card_html, pair_html  # noqa: E402
from dashboard.text import code, md, plain, plot_text  # noqa: E402
from dashboard.text import short as _short  # noqa: E402
from shopee_core.data.demo.hostile import hostile_titles  # noqa: E402
from shopee_core.data.text import display_title  # noqa: E402

TITLES = [display_title(t) for t in hostile_titles()]
RTL = next(i for i, t in enumerate(TITLES) if "\u202e" in t)

st.title("Text contexts")
for i, t in enumerate(TITLES):
    with st.container(key=f"heading-{i}"):
        st.markdown(f"#### {md(t)}")
    with st.container(key=f"caption-{i}"):
        st.caption(f"before · {md(t)} · after")
    with st.container(key=f"code-{i}"):
        st.markdown(f"id {code(t)} · after")
    with st.container(key=f"metric-{i}"):
        st.metric(md(t), md(t), help=md(t))
    with st.container(key=f"radio-{i}"):
        st.radio(md(t), [0], format_func=lambda _, t=t: md(t), key=f"r{i}")
    with st.container(key=f"select-{i}"):
        st.selectbox("s", [0], format_func=lambda _, t=t: f"{plain(t)} · train_123", key=f"s{i}")
    with st.container(key=f"alert-{i}"):
        st.warning(f"{md(t)}: after")
    with st.container(key=f"card-{i}"):
        st.markdown(card_html("", _short(t, 60), [], "correct", tooltip=f"{t}\ntrain_1 · group 7"),
                    unsafe_allow_html=True)
        st.markdown(pair_html(["", ""], [t, t], f"{t} · note", True), unsafe_allow_html=True)
with st.container(key="plot"):
    fig = go.Figure(go.Scatter(x=list(range(len(TITLES))), y=[1] * len(TITLES), mode="markers",
                               hovertext=[plot_text(t) for t in TITLES], hovertemplate="%{hovertext}<extra></extra>",
                               name=plot_text(TITLES[0])))
    fig.update_layout(title=plot_text(TITLES[4]), height=300, hovermode="closest")
    st.plotly_chart(fig, key="plot-chart")
with st.container(key="raw-rtl"):
    st.caption(f"before · {TITLES[RTL]} · after")  # no helper: the control case

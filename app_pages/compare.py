"""Compare models: the same query side by side, pair-level agreement, per-group winners, F1 differences."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import state
from dashboard.gallery import LEGEND, gallery, model_matches, model_picker, pair_gallery, posting_card, posting_picker
from dashboard.text import md, plot_text
from dashboard.widgets import bundle_and_split, chosen, chosen_f1
from shopee_core.analysis import agreement as ag
from shopee_core.analysis import decisions
from shopee_core.analysis import query as q
from shopee_core.errors import ShopeeError

bundle, split = bundle_and_split()  # stops the page with a readable message when there is none

st.title("Compare models")
st.caption("Where models agree and disagree: side by side on one query, over every pair of postings in the "
           "split, per label group and per posting.")
models = model_picker(bundle, key="cmp-models", min_count=2,
                      help="Two or more models, compared on the same split; by default the best and the runner-up "
                           "under the sidebar's decision (validation F1)")
if len(models) < 2:
    st.info("Choose at least two models.")
    st.stop()
st.markdown("  \n".join(f"**{md(m)}** · {md(chosen_f1(bundle, m, split))} (within {md(split)})" for m in models))


# made once per bundle object (its own cache): a model replaced at the same path is a new bundle object
def _preds(split: str, mid: str) -> np.ndarray:
    c = chosen(bundle, mid)  # the sidebar's decision: the cache key carries what it resolves to
    return bundle.cached(("compare", "preds", split, mid, c.variant),
                         lambda: decisions.predictions(bundle, mid, split, **c.setting))


def _agreement(split: str, a: str, b: str) -> ag.Agreement:
    def make():
        with st.spinner("Comparing predicted pairs…"):
            return ag.pair_agreement(_preds(split, a), _preds(split, b), bundle.labels(split), n_examples=12)
    return bundle.cached(("compare", "agreement", split, a, b, chosen(bundle, a).variant, chosen(bundle, b).variant),
                         make)


def _winners(split: str, mids: tuple) -> pd.DataFrame:
    return bundle.cached(("compare", "winners", split, mids, tuple(chosen(bundle, m).variant for m in mids)),
                         lambda: ag.group_winners({m: _preds(split, m) for m in mids}, bundle.labels(split)))


try:
    preds = {m: _preds(split, m) for m in models}
except ShopeeError as exc:
    st.error(md(exc))
    st.stop()
labels = bundle.labels(split)

tab_query, tab_pairs, tab_groups = st.tabs(["Same query, side by side", "Pair agreement", "Groups and rows"])

with tab_query:
    row = posting_picker(bundle, split, key="cmp")
    grow = int(bundle.split_rows(split)[row])
    group_size = int((labels == labels[row]).sum())
    posting_card(bundle, grow, split)
    st.caption(LEGEND)
    cols = st.columns(len(models), gap="small")
    per_col = 2 if len(models) >= 3 else 3
    for col, mid in zip(cols, models):
        with col, st.container(border=True):
            matches = model_matches(bundle, mid, split, row, preds[mid][row], extra=2)
            s = q.row_summary(matches, group_size)
            st.markdown(f"**{md(mid)}**")
            st.caption(f"F1 **{s['f1']:.3f}** · {s['tp'] - 1:,} found · {s['wrong']:,} wrong · "
                       f"{s['missed']:,} missed")
            gallery(bundle, matches, key=f"cmp-{mid}", columns=per_col, title_chars=40, limit=18)

with tab_pairs:
    c_a, c_b = st.columns(2)
    with c_a:
        a = state.kept(st.selectbox, "Model A", models, index=0, key="cmp-a")
    with c_b:
        b = state.kept(st.selectbox, "Model B", [m for m in models if m != a], index=0, key="cmp-b")
    agr = _agreement(split, a, b)
    mat = agr.matrix()
    share = mat / max(agr.total, 1)
    left, right = st.columns([3, 2], gap="large")
    with left:
        text = [[f"{mat[r, c]:,}<br>{share[r, c]:.1%}" for c in range(2)] for r in range(2)]
        fig = go.Figure(go.Heatmap(
            z=share, x=[f"B right ({plot_text(b)})", f"B wrong ({plot_text(b)})"],
            y=[f"A right ({plot_text(a)})", f"A wrong ({plot_text(a)})"],
            text=text, texttemplate="%{text}", textfont={"size": 16}, colorscale="Blues", showscale=False,
            hovertemplate="%{y} · %{x}<br>%{text}<extra></extra>"))
        fig.update_yaxes(autorange="reversed")
        fig.update_layout(height=300, margin=dict(l=10, r=10, t=30, b=10),
                          title=f"Ordered pairs predicted by A or B or truly matching ({agr.total:,})")
        st.plotly_chart(fig, width="stretch", key="cmp-heat")
    with right:
        m1, m2 = st.columns(2)
        m1.metric("Both right", f"{agr.counts['both_right']:,}", help="true pairs both models found")
        m2.metric("Both wrong", f"{agr.counts['both_wrong']:,}",
                  help="true pairs both missed + false pairs both predicted")
        m1.metric("Only A right", f"{agr.counts['only_a']:,}", help="A found it and B missed it, or B predicted a "
                                                                     "false pair A did not")
        m2.metric("Only B right", f"{agr.counts['only_b']:,}", help="the mirror image")
        st.caption("A pair (i, j) is right for a model when it predicted j for i exactly when they share a group.")
    cell = state.kept(st.radio, "Examples from cell", list(ag.CELLS), horizontal=True, key="cmp-cell",
                    format_func=lambda c: f"{ag.CELL_LABELS[c]} ({agr.counts[c]:,})")
    ex = agr.examples[cell]
    captions = []
    for i, j in ex:
        same = labels[i] == labels[j]
        in_a = j in set(preds[a][i].tolist())
        in_b = j in set(preds[b][i].tolist())
        captions.append(f"{'same group' if same else 'different groups'} · A {'predicts' if in_a else 'does not'}"
                        f" · B {'predicts' if in_b else 'does not'}")
    st.caption(f"{len(ex)} random examples of {agr.counts[cell]:,} (left: the query posting i, right: j)")
    pair_gallery(bundle, ex, split, key=f"cmp-pairs-{cell}", captions=captions, columns=4)
    if len(models) > 2:
        st.markdown("**Every pair of chosen models**")
        st.dataframe(ag.pairwise_agreement({m: preds[m] for m in models}, labels), hide_index=True,
                     width="stretch")

with tab_groups:
    winners = _winners(split, tuple(models))
    counts = ag.winner_counts(winners, models)
    left, right = st.columns([2, 3], gap="large")
    with left:
        fig = go.Figure(go.Bar(x=counts.values, y=[plot_text(i) for i in counts.index], orientation="h",
                               marker_color=["#ee4d2d"] * len(models) + ["#b0b0b0"],
                               text=[f"{v:,}" for v in counts.values], textposition="auto"))
        fig.update_layout(height=80 + 40 * len(counts), margin=dict(l=10, r=10, t=30, b=10),
                          title=f"Groups won (of {len(winners):,}; mean row F1 per group)",
                          yaxis=dict(autorange="reversed"))
        st.plotly_chart(fig, width="stretch", key="cmp-winners")
    with right:
        st.markdown("**Groups with the clearest winner**")
        st.dataframe(winners.head(200), hide_index=True, width="stretch", height=320,
                     column_config={m: st.column_config.ProgressColumn(m, min_value=0.0, max_value=1.0,
                                                                       format="%.3f") for m in models})
    c_a, c_b = st.columns(2)
    with c_a:
        ha = state.kept(st.selectbox, "Histogram: model A", models, index=0, key="cmp-ha")
    with c_b:
        hb = state.kept(st.selectbox, "minus model B", [m for m in models if m != ha], index=0, key="cmp-hb")
    diff = ag.f1_difference(preds[ha], preds[hb], labels)
    better, worse = int((diff > 1e-9).sum()), int((diff < -1e-9).sum())
    fig = go.Figure(go.Histogram(x=diff, xbins=dict(start=-1.0, end=1.0001, size=0.05), marker_color="#ee4d2d"))
    fig.update_layout(height=320, margin=dict(l=10, r=10, t=40, b=10), bargap=0.05,
                      title=f"Per-posting F1({plot_text(ha)}) − F1({plot_text(hb)}): {plot_text(ha)} better on "
                            f"{better:,}, {plot_text(hb)} better on {worse:,}, equal on {len(diff) - better - worse:,}",
                      xaxis_title="F1 difference", yaxis_title="postings", yaxis_type="log")
    st.plotly_chart(fig, width="stretch", key="cmp-hist")

"""Training: how each trained model trained (loss, LR, valid F1 by epoch, the kept epoch) and the
margin sweeps drawn as the study drew them, its own values beside ours."""

import plotly.graph_objects as go
import streamlit as st

from dashboard import state
from dashboard.charts import LIGHT
from dashboard.data import current_bundle
from dashboard.text import code, md, plain, plot_text
from dashboard.widgets import csv_download, short
from shopee_core.analysis import sweeps as S
from shopee_core.analysis import training as T
from shopee_core.bundle import BundleError

st.title("Training")
bundle = current_bundle()
if bundle is None:
    st.stop()
PALETTE = ["#ee4d2d", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#5d4037", "#455a64",
           "#827717"]


def layout(fig, title, ytitle, height=320, log=False):
    fig.update_layout(template=LIGHT, height=height, margin=dict(l=10, r=10, t=36, b=10),
                      title=dict(text=title, font=dict(size=14)), xaxis_title="epoch",
                      yaxis=dict(title=ytitle, type="log" if log else "linear"),
                      legend=dict(orientation="h", y=-0.22))
    return fig


# ------------------------------------------------------------------ curves
st.subheader("Training curves")
trained = T.trained_models(bundle)
if not trained:
    st.info("No model of this bundle ships a training history (bundles built before histories were recorded, or "
            "with no trained model). `build-bundle` adds one for every model it trains.", icon=":material/info:")
else:
    picked = state.kept(st.multiselect, "Models", trained, default=trained[: min(3, len(trained))], key="train-models",
                            format_func=lambda m: f"{plain(m)} — {plain(short(bundle.entry(m).label, 60))}",
                            help="Overlay several models' curves")
    try:
        frame = T.curves(bundle, picked)
    except BundleError as exc:
        st.error(md(exc))
        st.stop()
    if frame.empty:
        st.caption("Choose one or more models.")
    else:
        colour = {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(picked)}
        loss, lr, f1 = go.Figure(), go.Figure(), go.Figure()
        for mid, g in frame.groupby("model", sort=False):
            c, name = colour[mid], plot_text(mid)
            kept = g[g["kept"]]
            loss.add_scatter(x=g["epoch"], y=g["loss"], name=name, mode="lines+markers", line=dict(color=c))
            for col in [x for x in g.columns if x.startswith("lr:") and g[x].notna().any()]:
                group = col.split(":", 1)[1]
                lr.add_scatter(x=g["epoch"], y=g[col], name=f"{name} · {plot_text(group)}", mode="lines+markers",
                               line=dict(color=c, dash="dot" if group == "head" else "solid"))
            f1.add_scatter(x=g["epoch"], y=g["valid_f1"], name=f"{name} · at the selection T", mode="lines+markers",
                           line=dict(color=c))
            f1.add_scatter(x=g["epoch"], y=g["best_f1"], name=f"{name} · best of a full scan", mode="lines",
                           line=dict(color=c, dash="dash"), customdata=g["best_threshold"],
                           hovertemplate="epoch %{x}: F1 %{y:.4f} at T=%{customdata:.3f}<extra></extra>")
            if len(kept):
                f1.add_scatter(x=kept["epoch"], y=kept["valid_f1"], mode="markers", name=f"{name} · kept epoch",
                               marker=dict(symbol="star", size=16, color=c, line=dict(color="black", width=1)))
                loss.add_scatter(x=kept["epoch"], y=kept["loss"], mode="markers", showlegend=False,
                                 marker=dict(symbol="star", size=14, color=c, line=dict(color="black", width=1)),
                                 hovertemplate="kept epoch %{x}<extra></extra>")
        c1, c2 = st.columns(2)
        c1.plotly_chart(layout(loss, "Training loss (★ the kept epoch)", "loss"), key="train-loss",
                        config={"displayModeBar": False}, theme=None)
        c2.plotly_chart(layout(lr, "Learning rate of each parameter group", "LR", log=True), key="train-lr",
                        config={"displayModeBar": False}, theme=None)
        st.plotly_chart(layout(f1, "Validation F1 by epoch (★ the checkpoint kept)", "mean F1", height=360),
                        key="train-f1", config={"displayModeBar": False}, theme=None)
        st.dataframe(T.kept_summary(frame), hide_index=True, key="train-kept")
        csv_download(frame, f"training_curves_{bundle.name}.csv", "Curves as CSV", "train-csv")

# ------------------------------------------------------------------ sweeps
st.subheader("Margin sweeps")
if not bundle.sweep_names:
    st.info("This bundle ships no sweep. Run one with `python -m shopee_core sweep --model ID --profile P --data DIR "
            "--out SWEEP --grid margin=0.5,0.6,0.7,0.8,0.9` and add it with "
            f"{code(f'python -m shopee_core add-sweep --bundle {bundle.root} --sweep SWEEP')}.", icon=":material/info:")
    st.stop()
names = state.kept(st.multiselect, "Sweeps", bundle.sweep_names, default=bundle.sweep_names, key="train-sweeps",
                   format_func=plain)
c_metric, c_variant, c_split = st.columns(3, vertical_alignment="bottom")
with c_metric:
    metric = state.kept(st.segmented_control, "Measure", list(S.METRICS), default="f1", key="train-metric",
                        format_func={"f1": "F1", "recall": "Recall", "precision": "Precision"}.get) or "f1"
with c_variant:
    ruled = state.rule() if state.rule() in S.VARIANTS else "base"  # starts on the sidebar's decision
    variant = state.kept(st.segmented_control, "Decision", list(S.VARIANTS), default=ruled,
                         key=f"train-variant-{state.rule()}",
                         format_func={"base": "Plain T", "min2": "Min2", "inb": "INB"}.get) or ruled
with c_split:
    split = state.kept(st.segmented_control, "Split", list(S.SPLITS), default="test", key="train-split",
                       format_func=md) or "test"
try:
    docs = [bundle.sweep(n) for n in names]
    seed = bundle.seed_sweeps
    if seed is None:
        seed = S.read_seed_sweeps()  # older bundles: the study's tables as this checkout ships them
except Exception as exc:  # a refused sweep or reference file: one readable line
    st.error(md(exc))
    st.stop()
ours = S.long_form(docs, split=split, variant=variant)
fig_frame = S.figure_frame(ours, seed, metric=metric, variant=variant, split=split)
st.caption("Solid: this bundle's sweeps (thresholds re-tuned on valid for every configuration). Dashed: the study's "
           "own values for the same backbone and loss (test split, plain threshold; drawn only with the test split). "
           "Demo stand-ins say which backbone they stand for.")
fig = go.Figure()
lines = list(dict.fromkeys(fig_frame["line"]))
for i, line in enumerate(lines):
    c = PALETTE[i % len(PALETTE)]
    for source, dash, opacity in (("ours", "solid", 1.0), ("study", "dash", 0.55)):
        g = fig_frame[(fig_frame["line"] == line) & (fig_frame["source"] == source)]
        if len(g):
            shown = plot_text(line)  # plotly reads tags in names: a bundle's text is shown literally
            fig.add_scatter(x=g["margin"], y=g["value"], name=f"{shown} ({'ours' if source == 'ours' else 'study'})",
                            mode="lines+markers", opacity=opacity, line=dict(color=c, dash=dash),
                            hovertemplate=f"{shown}<br>m=%{{x}}: %{{y:.4f}}<extra>{source}</extra>")
label = {"f1": "F1", "recall": "recall", "precision": "precision"}[metric]
fig.update_layout(template=LIGHT, height=460, margin=dict(l=10, r=10, t=36, b=10),
                  title=dict(text=f"{plot_text(split)} {label} against the margin ({ {'base': 'plain T', 'min2': 'Min2', 'inb': 'INB'}[variant] })",
                             font=dict(size=14)),
                  xaxis=dict(title="margin m", dtick=0.1), yaxis_title=f"mean {label}",
                  legend=dict(orientation="h", y=-0.2))
st.plotly_chart(fig, key="train-sweep-fig", config={"displayModeBar": False}, theme=None)
csv_download(fig_frame, f"sweep_figure_{bundle.name}_{split}_{variant}_{metric}.csv", "Figure data as CSV",
             "train-sweep-csv")
st.markdown("##### Best margin per backbone and loss (this bundle)")
st.dataframe(S.best_margins(ours, metric), hide_index=True, key="train-best")
with st.expander("Every configuration"):
    table = S.results_frame({"results": [r for d in docs for r in d["results"]]})
    st.dataframe(table, hide_index=True, key="train-all")
    csv_download(table, f"sweeps_{bundle.name}.csv", "All configurations as CSV", "train-all-csv")

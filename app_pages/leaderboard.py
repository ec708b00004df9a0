"""Leaderboard: every model of the bundle, its F1/P/R per variant, the seed's numbers beside it."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import intervals, state
from dashboard.charts import LIGHT
from dashboard.gallery import model_picker
from dashboard.text import code, md, plot_text
from dashboard.widgets import (
    FAMILY_COLOURS,
    bundle_and_split,
    csv_download,
    explain_variants,
    pool_caption,
    selected_rows,
    short,
)
from shopee_core.analysis import decisions as D
from shopee_core.analysis import leaderboard as lb

bundle, split = bundle_and_split()
ds = bundle.manifest.get("dataset", {})

st.title("Leaderboard")
source = {"demo": "synthetic demo catalog", "kaggle": "Kaggle data"}.get(ds.get("source"), ds.get("source", "?"))
st.caption(f"Bundle **{md(bundle.name)}** · {md(source)} · profile {code(bundle.manifest.get('profile', '?'))} · "
           f"{len(bundle.entries)} models · k = {bundle.k:,} candidates per posting")

variant = state.rule()  # the one decision, chosen in the sidebar
kaggle = ds.get("source") == "kaggle"  # the seed's numbers are Kaggle's: a delta to them means nothing elsewhere
c_sort, c_family, c_ci = st.columns([2, 3, 1.4], vertical_alignment="bottom")
with c_sort:
    sorts = ["F1", "Precision", "Recall", "Validation F1", "Seed recipe"] + (["Δ vs seed"] if kaggle else [])
    sort_by = state.kept(st.selectbox, "Sort by", sorts, key="lb-sort")
with c_family:
    families = [f for f in ("fusion", "image", "text", "baseline") if any(e.family == f for e in bundle.entries)]
    shown = state.kept(st.pills, "Families", families, selection_mode="multi", default=families,
                       key="lb-families") or families
with c_ci:
    with_ci = state.kept(st.toggle, "Intervals", value=True, key="lb-ci",
                         help="95 % intervals (whiskers, ± and the gap to the best) from 1,000 resamples of whole "
                              "label groups")

st.info(pool_caption(bundle, split) + f" Decision: **{md(lb.RULES[variant])}** (sidebar) — "
        f"{md(lb.RULE_HELP[variant])}; the Decision column says what each model is on.", icon=":material/info:")
with st.expander("What the decisions are: plain threshold, Min2, INB, graph step", icon=":material/help:"):
    explain_variants()

frame = lb.leaderboard(bundle, split, variant)
frame = frame[frame["family"].isin(shown)]
key = {"F1": "f1", "Precision": "precision", "Recall": "recall", "Δ vs seed": "seed_delta",
       "Validation F1": "valid_f1", "Seed recipe": "recipe"}[sort_by]
frame = frame.sort_values(key, ascending=key == "recipe", na_position="last").reset_index(drop=True)

if frame.empty or frame["f1"].isna().all():
    st.warning("No model of the shown families has numbers for this split and decision.")
    st.stop()
if with_ci:
    frame = intervals.leaderboard_intervals(bundle, split, frame)

# ------------------------------------------------------------------ headline
# the best is chosen on valid (as every page's default model): choosing on the reported split would flatter it
order = [m for m in lb.ranked(bundle, variant) if m in set(frame["id"])]
best = frame.set_index("id", drop=False).loc[order[0]] if order else frame.loc[frame["f1"].idxmax()]
floor = lb.self_only(bundle, split)
singles = frame[~frame["kind"].eq("combo")].assign(modality=lambda f: [D.modality(bundle, m) for m in f["id"]])
metric_cols = st.columns(4)
metric_cols[0].metric(f"Best on valid: {md(best['id'])}", f"{best['f1']:.4f}",
                      delta=None if pd.isna(best["seed_delta"]) or not kaggle else f"{best['seed_delta']:+.4f} vs seed",
                      help=f"{md(best['label'])}  \n{md(D.chosen(bundle, best['id'], variant).f1_text(best['f1']))} "
                           f"(within {md(split)}; the best validation F1 under this decision)",
                      border=True)
st.caption(f"★ **{md(best['id'])}** · {md(D.chosen(bundle, best['id'], variant).f1_text(best['f1']))} — the best "
           "validation F1 under the sidebar's decision; it and the runner-up are the other pages' default models.")
for col, fam in zip(metric_cols[1:3], ("image", "text")):
    sub = singles[singles["modality"] == fam].dropna(subset=["f1"])
    if len(sub):
        top = sub.loc[sub["f1"].idxmax()]
        col.metric(f"Best single {md(fam)} model: {md(top['id'])}", f"{top['f1']:.4f}", border=True,
                   help=md(top["label"]))
    else:
        col.metric(f"Best single {md(fam)} model", "—", border=True)
metric_cols[3].metric("Floor: every posting alone", f"{floor['f1']:.4f}", border=True,
                      help="F1 if each posting is predicted to match only itself; any model must beat it.")

# ------------------------------------------------------------------ chart
chart = frame.dropna(subset=["f1"]).iloc[::-1]
chart = chart.assign(id=[lb.shown_name(bundle.entry(m)) for m in chart["id"]])
fig = go.Figure(layout=dict(template=LIGHT))
for fam in chart["family"].unique():
    sub = chart[chart["family"] == fam]
    fig.add_bar(y=sub["id"], x=sub["f1"], orientation="h", name=plot_text(fam), marker_color=FAMILY_COLOURS.get(fam, "#999"),
                text=intervals.bar_text(sub), textposition="inside", insidetextanchor="start",  # the whisker sits at the end
                error_x=intervals.whiskers(sub),
                textfont=dict(color="white"),
                customdata=np.stack([[plot_text(v) for v in sub["label"]], sub["variant"].fillna("—"),
                                     sub["precision"], sub["recall"]], axis=1),
                hovertemplate="<b>%{y}</b><br>%{customdata[0]}<br>F1 %{x:.4f} · P %{customdata[2]:.3f} · "
                              "R %{customdata[3]:.3f}<br>decision: %{customdata[1]}<extra></extra>")
seed = chart.dropna(subset=["seed_f1"])
if len(seed):
    fig.add_scatter(y=seed["id"], x=seed["seed_f1"], mode="markers", name="seed report",
                    marker=dict(symbol="diamond", size=10, color="black", line=dict(color="white", width=1)),
                    hovertemplate="<b>%{y}</b><br>seed report F1 %{x:.4f}<extra></extra>")
fig.update_layout(barmode="overlay", height=max(260, 28 * len(chart) + 90), margin=dict(l=10, r=40, t=30, b=10),
                  xaxis=dict(title=f"F1 within the {plot_text(split)} split", range=[0, 1.05]),
                  yaxis=dict(categoryorder="array", categoryarray=list(chart["id"]), automargin=True),
                  legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), template=LIGHT)
st.plotly_chart(fig, key="lb-chart", config={"displayModeBar": False}, theme=None)
if with_ci:
    st.caption(intervals.caption(frame))

# ------------------------------------------------------------------ table
best_id = str(best["id"])
table = frame.assign(
    name=[("★ " if m == best_id else "") + lb.shown_name(bundle.entry(m)) + (" ⇪" if src == "imported" else "")
          for m, src in zip(frame["id"], frame["source"])],
    plays=[bundle.entry(m).spec.get("stand_in_for") or "" for m in frame["id"]],
    what=[f"{short(lbl, 60)} — {w}" if w and w != lbl else short(lbl, 80) for lbl, w in zip(frame["label"],
                                                                                          frame["what"])],
    recipe=frame["recipe"].map(lambda r: "" if r is None or pd.isna(r) else f"#{int(r)}"),
    decision=frame["variant"].map(lambda v: lb.VARIANT_LABELS.get(v, "—") if isinstance(v, str) else "—"),
)
columns = ["name", "plays", "f1"] + (["f1_pm", "f1_ci", "vs_best"] if with_ci else []) + [
    "precision", "recall", "decision", "valid_f1", "seed_f1", "seed_delta", "f1_base", "f1_min2", "f1_inb", "f1_graph",
    "t", "t2", "inb_t", "inb_t2", "graph", "family", "source", "recipe", "training", "what"]
pct = dict(min_value=0.0, max_value=1.0, format="%.4f")
config = {
    "name": st.column_config.TextColumn("Model", pinned=True, width="medium",
                                        help="A demo stand-in is named by what it is, with the seed model it plays"),
    "plays": st.column_config.TextColumn("Plays (seed)", width="small",
                                         help="The seed recipe's backbone a demo stand-in plays"),
    "family": st.column_config.TextColumn("Family", width="small"),
    "source": st.column_config.TextColumn("Source", width="small",
                                          help="built by build-bundle, or imported (made elsewhere, import-model)"),
    "recipe": st.column_config.TextColumn("Seed #", width="small", help="The seed report's model number (1-18)"),
    "training": st.column_config.TextColumn("Training", width="medium"),
    "what": st.column_config.TextColumn("What it is", width="large"),
    "decision": st.column_config.TextColumn("Decision", width="medium",
                                            help="The decision rule these F1/P/R come from"),
    "f1": st.column_config.ProgressColumn("F1", help=f"Mean row-wise F1 within the {md(split)} split", width="medium",
                                          **pct),
    "precision": st.column_config.TextColumn("Precision"),
    "recall": st.column_config.TextColumn("Recall"),
    "valid_f1": st.column_config.TextColumn("Valid F1", help="Same decision on the validation split (where it was "
                                                             "tuned)"),
    "f1_base": st.column_config.TextColumn("F1 plain"),
    "f1_min2": st.column_config.TextColumn("F1 Min2"),
    "f1_inb": st.column_config.TextColumn("F1 INB"),
    "f1_graph": st.column_config.TextColumn("F1 graph", help="Min2 decision + the graph step tuned on valid (mutual, "
                                                             "closure, cluster or cut-bridges; see the Group studio)"),
    "graph": st.column_config.TextColumn("Graph step", help="The step and its parameter, tuned on valid (— : none "
                                                            "beat the plain decision there, or none was tried)"),
    "seed_f1": st.column_config.TextColumn("Seed F1", help="The seed report's test F1 for this recipe and decision "
                                                           "(— : not a seed recipe, or no such seed number)"),
    "seed_delta": st.column_config.TextColumn("Δ vs seed"),
    **intervals.COLUMN_CONFIG,
    "t": st.column_config.TextColumn("T", help="Distance threshold (cosine distance), tuned on valid; "
                                               "unions list one per side"),
    "t2": st.column_config.TextColumn("T2", help="Min2 threshold"),
    "inb_t": st.column_config.TextColumn("T′ INB"),
    "inb_t2": st.column_config.TextColumn("T2′ INB"),
}
# Streamlit shows a missing number as "None"; these columns show numbers as text and a dash for none
DASHED = {"precision": "{:.4f}", "recall": "{:.4f}", "valid_f1": "{:.4f}", "f1_base": "{:.4f}", "f1_min2": "{:.4f}",
          "f1_inb": "{:.4f}", "f1_graph": "{:.4f}", "seed_f1": "{:.4f}", "seed_delta": "{:+.4f}", "inb_t": "{:.3f}",
          "inb_t2": "{:.3f}", "graph": "{}"}
shown = table.assign(**{c: [lb.dashed(v, fmt) for v in table[c]] for c, fmt in DASHED.items()})
if with_ci:
    shown = intervals.table_columns(shown)
st.markdown("##### All models")
if table["seed_f1"].isna().all():  # no seed recipe in this bundle (or no reference): nothing to compare
    columns = [c for c in columns if c not in ("seed_f1", "seed_delta")]
elif not kaggle:  # the seed's F1 is Kaggle's: shown for reference, never as a difference to other data
    columns.remove("seed_delta")
if not any(table["plays"]):
    columns.remove("plays")
for c in ("f1_base", "f1_min2", "f1_inb", "f1_graph", "inb_t", "inb_t2", "graph"):
    if table[c].isna().all():
        columns.remove(c)
st.caption("★ best validation F1 under this decision (the other pages' default) · \"vs best\": against the top F1 "
           "in this view · ⇪ imported (made elsewhere). Click the row checkboxes to pick models for the other "
           "pages.")
event = st.dataframe(shown[columns], column_config=config, hide_index=True, key="lb-table", on_select="rerun",
                     selection_mode="multi-row", height=min(35 * (len(table) + 1) + 3, 740))


picked = [str(table["id"].iat[r]) for r in selected_rows(event) if 0 <= r < len(table)]
if picked and picked != st.session_state.get("lb-last-pick"):  # a new table selection (not a stale one)
    st.session_state["lb-last-pick"] = picked
    state.set("models", picked)

c_pick, c_dl = st.columns([4, 1], vertical_alignment="bottom")
with c_pick:
    model_picker(bundle, key="lb-models", label="Selected models — Query by example, Compare, Thresholds and "
                                                "Failures start from these")
with c_dl:
    # plain values: the model's id (no ★ or ⇪ marks), the numbers as numbers, the intervals' bounds
    numbers = [c for c in columns if c in table and c != "name"] + (
        [c for c in ("f1_lo", "f1_hi", "gap", "gap_lo", "gap_hi", "p_best_better", "tied") if c in table])
    export = table.assign(best=table["id"].eq(best_id), name=table["id"])[["name", "best"] + numbers]
    csv_download(export, f"leaderboard_{bundle.name}_{split}_{variant}.csv", "Table as CSV", "lb-csv")

intervals.ab_panel(bundle, split, frame, variant)

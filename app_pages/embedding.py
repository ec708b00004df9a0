"""Embedding space: each model's precomputed 2-D map, coloured by group / correctness / error / split."""

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import state
from dashboard.charts import LIGHT
from dashboard.gallery import gallery, posting_picker
from dashboard.text import code, md, plot_text
from dashboard.widgets import bundle_and_split, chosen, chosen_f1, model_select
from shopee_core.analysis import decisions, errors
from shopee_core.analysis import embedding_map as em
from shopee_core.data.text import display_title
from shopee_core.errors import ShopeeError

bundle, split = bundle_and_split()  # stops the page with a readable message when there is none

st.title("Embedding space")
st.caption("Each model's 2-D map of the split (UMAP, precomputed in the bundle). Neighbours on the map are "
           "roughly neighbours in the embedding; box- or lasso-select points to see them.")
mapped = [e.id for e in bundle.entries if e.path("umap") is not None]
fixed = [e.id for e in bundle.entries if e.predictions_only]
if fixed:
    st.caption("No map for " + ", ".join(code(m) for m in fixed) + ": imported predictions only, no embeddings.")
if not mapped:
    st.warning("This bundle has no 2-D maps (build or import a model with UMAP on).")
    st.stop()

c_model, c_colour = st.columns([3, 2])
with c_model:
    mid = model_select(bundle, key="emb-model", allowed=mapped,
                       help="Models with a stored 2-D map (unions and INB-only entries have none)")
with c_colour:
    colour_by = state.kept(st.radio, "Colour by", ["label group", "correctness", "error type", "split"],
                           horizontal=True, key="emb-colour")
c_hl, c_size = st.columns([3, 2])
with c_hl:
    highlight = state.kept(st.toggle, "Highlight a posting's group and its predicted matches", value=True,
                           key="emb-hl")
with c_size:
    n_points = len(bundle.split_rows(split))
    point_size = state.kept(st.slider, "Point size", min_value=2, max_value=12,
                            value=9 if n_points < 2000 else 6 if n_points < 10000 else 4, key="emb-size")
st.caption(f"**{md(mid)}** · {md(chosen_f1(bundle, mid, split))} (within {md(split)}) — correctness, error types and the "
           "highlighted matches use this decision.")


# beyond this many points the map sends no per-point hover text (the titles would be most of the page's
# bytes: ~7 MB at 70,000 postings); hovering names the posting's row, a selection lists titles and photos
HOVER_TEXT_LIMIT = 12_000


def _frame(mid: str, splits: tuple, split: str, colour_by: str) -> pd.DataFrame:
    """Made once per bundle object (its own cache): a model replaced at the same path is a new bundle object."""
    c = chosen(bundle, mid)

    def make():
        with st.spinner("Preparing the map…"):
            frame = em.map_frame(bundle, mid, splits)
            if len(frame) > HOVER_TEXT_LIMIT:  # numbers only: the frame is copied out of the cache on every run
                frame = frame.drop(columns=["title", "posting_id"])
            if colour_by == "label group":  # a stable colour per group; rows sorted by it: one slice per colour
                frame["colour"] = em.hashed_index(frame["label_group"]).astype(np.int8)
                frame = frame.sort_values("colour", kind="stable", ignore_index=True)
            if colour_by == "correctness":
                r = decisions.row_arrays(bundle, mid, split, **c.setting)
                frame["f1"] = r["f1"].astype(np.float32)
                frame["n_pred"] = r["n_pred"]
                frame["n_true"] = r["n_true"]
            elif colour_by == "error type":
                table = errors.failure_table(bundle, mid, split, c.setting)
                frame["error"] = em.primary_error(table)
            return frame
    return bundle.cached(("embedding", "frame", mid, splits, split, colour_by, c.variant), make).copy()


splits = (tuple(s for s in ("valid", "test") if s in bundle.splits) if colour_by == "split" and split != "all"
          else (split,))  # the 'all' pool already holds every split
try:
    frame = _frame(mid, splits, split, colour_by)
except ShopeeError as exc:
    st.error(md(exc))
    st.stop()

texts = len(frame) <= HOVER_TEXT_LIMIT
hover = "%{hovertext}<extra></extra>" if texts else "posting row %{customdata}<extra></extra>"
hover_f1 = ("%{hovertext}<br>F1 %{marker.color:.2f}<extra></extra>" if texts
            else "posting row %{customdata}<br>F1 %{marker.color:.2f}<extra></extra>")


def _custom(df: pd.DataFrame) -> dict:
    """Per point: the posting row as numeric customdata (sent as a compact typed array; selections
    read it) and, up to HOVER_TEXT_LIMIT points, the hover text (decoded title, group, id)."""
    out = {"customdata": df["posting"].to_numpy(np.int32)}
    if "title" in df:
        out["hovertext"] = np.array(
            [f"{plot_text(display_title(t)[:70])}<br>group {plot_text(g)} · {plot_text(p)}"
             for t, g, p in zip(df["title"], df["label_group"], df["posting_id"])], dtype=object)
    return out


def _marked(df: pd.DataFrame) -> dict:
    """A few marked points (a posting, its group, its matches): always with their titles on hover."""
    post = bundle.postings
    rows = df["posting"].to_numpy()
    text = [f"{plot_text(display_title(t)[:70])}<br>group {plot_text(g)} · {plot_text(p)}"
            for t, g, p in zip(post["title"].to_numpy()[rows], post["label_group"].to_numpy()[rows],
                               post["posting_id"].to_numpy()[rows])]
    return {"customdata": rows.astype(np.int32), "hovertext": np.asarray(text, dtype=object),
            "hovertemplate": "%{hovertext}<extra></extra>"}


fig = go.Figure(layout=dict(template=LIGHT))  # the small template: plotly's default is deep-copied per figure
# dim the cloud while a group is outlined, so the outlined points stand out
marker = dict(size=point_size, opacity=0.35 if highlight else 0.8, line=dict(width=0))
if colour_by == "label group":
    # one trace per palette colour, each of one flat colour: plotly maps no per-point colour (at 70,000
    # points that mapping was a third of the browser's drawing time)
    ends = np.searchsorted(frame["colour"].to_numpy(), np.arange(len(em.GROUP_PALETTE) + 1))
    for i, colour in enumerate(em.GROUP_PALETTE):
        part = frame.iloc[ends[i]:ends[i + 1]]
        if len(part):
            fig.add_trace(go.Scattergl(x=part["x"].to_numpy(), y=part["y"].to_numpy(), mode="markers",
                                       name="postings", showlegend=False, **_custom(part), hovertemplate=hover,
                                       marker=dict(**marker, color=colour)))
    caption = ("Colour: a hash of the label group — members of one group share a colour; "
               "pick a posting below to outline its group.")
elif colour_by == "correctness":
    fig.add_trace(go.Scattergl(x=frame["x"], y=frame["y"], mode="markers", name="postings", **_custom(frame),
                               hovertemplate=hover_f1,
                               marker=dict(**marker, color=frame["f1"], colorscale="RdYlGn", cmin=0, cmax=1,
                                           colorbar=dict(title="row F1", thickness=12))))
    caption = (f"Colour: each posting's F1 under {md(mid)}, {md(chosen(bundle, mid).text)} "
               f"({md(decisions.decision(bundle, mid, **chosen(bundle, mid).setting).describe())}).")
elif colour_by == "error type":
    for kind in em.ERROR_ORDER:
        part = frame[frame["error"] == kind]
        if len(part):
            fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", **_custom(part),
                                       name=f"{plot_text(errors.ERROR_LABELS.get(kind, kind))} ({len(part):,})",
                                       hovertemplate=hover,
                                       marker=dict(**marker, color=em.ERROR_COLOURS[kind])))
    caption = (f"Colour: each posting's main error type, {md(chosen(bundle, mid).text)} (see the Failure browser for "
               "all flags).")
else:
    by = "posting_split" if split == "all" else "split"
    for s in [x for x in ("train", "valid", "test") if x in set(frame[by])]:
        part = frame[frame[by] == s]
        fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name=f"{plot_text(s)} ({len(part):,})",
                                   **_custom(part), hovertemplate=hover,
                                   marker=dict(**marker, color=em.SPLIT_COLOURS.get(s, "#555"))))
    caption = "Colour: split. The map was fitted on the shown splits together; retrieval stays within one split."

hl_row = None
if highlight:
    hl_row = posting_picker(bundle, split, key="emb")
    local = frame[frame["split"] == split]
    labels = bundle.labels(split)
    try:
        pred = decisions.predictions(bundle, mid, split, **chosen(bundle, mid).setting)[hl_row]
    except ShopeeError:
        pred = np.array([hl_row])
    pred = set(int(p) for p in pred if p >= 0 and p != hl_row)
    group = set(np.flatnonzero(labels == labels[hl_row]).tolist()) - {hl_row}
    sel = local.set_index("row")
    found = sorted(pred & group)
    wrong = sorted(pred - group)
    missed = sorted(group - pred)
    for rows, name, colour, symbol in ((found, "found (same group)", "#2e7d32", "circle-open"),
                                       (missed, "missed (same group)", "#ef6c00", "circle-open"),
                                       (wrong, "wrong (other group)", "#c62828", "x")):
        if rows:
            part = sel.loc[rows].reset_index()
            fig.add_trace(go.Scattergl(x=part["x"], y=part["y"], mode="markers", name=f"{name}: {len(rows)}",
                                       **_marked(part),
                                       marker=dict(size=point_size + 10, color=colour, symbol=symbol,
                                                   line=dict(width=3, color=colour))))
    q = sel.loc[[hl_row]].reset_index()
    fig.add_trace(go.Scattergl(x=q["x"], y=q["y"], mode="markers", name="query", **_marked(q),
                               marker=dict(size=point_size + 14, color="#ee4d2d", symbol="star",
                                           line=dict(width=1.5, color="black"))))

fig.update_layout(template=LIGHT, height=640, margin=dict(l=0, r=0, t=10, b=0), dragmode="select",
                  plot_bgcolor="white",
                  legend=dict(orientation="h", yanchor="top", y=-0.01, x=0),
                  xaxis=dict(showticklabels=False, showgrid=False, zeroline=False, title=None),
                  yaxis=dict(showticklabels=False, showgrid=False, zeroline=False, title=None))
st.caption(caption + f" {len(frame):,} postings.")
left, right = st.columns([3, 1], gap="medium")
with left:
    event = st.plotly_chart(fig, width="stretch", on_select="rerun", selection_mode=("box", "lasso"),
                            key=f"emb-chart-{mid}-{colour_by}", config={"displaylogo": False})
with right:
    picked = em.selected_rows(event)
    st.markdown(f"**Selection** ({len(picked)})")
    if not picked:
        st.caption("Drag a box or lasso around points to see their thumbnails and titles here.")
    else:
        items = pd.DataFrame({"posting": picked})
        post = bundle.postings
        groups = post["label_group"].to_numpy()[picked]
        st.caption(f"{len(set(groups.tolist()))} groups among {len(picked)} postings")
        gallery(bundle, items, key="emb-sel", columns=3, title_chars=28, limit=12)
        st.dataframe(pd.DataFrame({"posting_id": post["posting_id"].to_numpy()[picked],
                                   "title": [display_title(t) for t in post["title"].to_numpy()[picked]],
                                   "group": groups}),
                     hide_index=True, width="stretch", height=240)

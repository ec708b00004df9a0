"""Group studio: predicted and true groups as graphs, worst F1 lost first; a what-if edge cut or detach."""

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.gallery import gallery
from dashboard.text import md, plain, plot_text
from dashboard.widgets import (
    bundle_and_split,
    metric_row,
    model_select,
    pool_caption,
    readable_error,
    selected_rows,
    short,
)
from shopee_core import matching as M
from shopee_core.analysis import decisions as D
from shopee_core.analysis import groups as GR
from shopee_core.data.text import display_title
from shopee_core.errors import ShopeeError

bundle, split = bundle_and_split()
st.title("Group studio")
st.caption(pool_caption(bundle, split, "A predicted group is a component of the predicted graph (an edge wherever "
                                       "one posting predicts the other); errors come in group shapes."))

TABLE_ROWS = 500
VARIANTS = {"min2": "Min2", "base": "plain T", "inb": "INB", "fixed": "imported sets"}  # the sidebar's words
GRAPH_LABELS = {"none": "No graph step", "tuned": "Tuned on valid", "mutual": "mutual", "closure": "closure",
                "cluster": "cluster", "cut-bridges": "cut-bridges"}
PARAMS = {  # step -> (label, min, max, step, default, help)
    "closure": ("MAX (largest group)", 2, 100, 1, 51, "Union-find over predicted pairs, strongest first; a merge "
                "that would make a group larger than MAX is skipped"),
    "cluster": ("S (target mean group size)", 1.0, 10.0, 0.05, 2.6, "Average linkage over the predicted pairs "
                "(unlinked pairs count 0) until the pool's mean group size reaches S"),
    "cut-bridges": ("τ (cut bridges below this similarity)", -1.0, 1.0, 0.005, 0.5, "A bridge is an edge whose "
                    "removal splits its group; every bridge weaker than τ is cut"),
}


def variants_of(s: dict) -> list[str]:
    if s["kind"] == "inb_only":
        return ["inb"]
    if s["fixed"]:
        return ["fixed"]
    return ["min2", "base"] + (["inb"] if s["has_inb"] else [])


def base_setting(s: dict, variant: str) -> dict:
    if s["kind"] == "inb_only" or s["fixed"]:
        return {}
    if variant == "inb" and s["has_inb"]:
        return {"inb": 1}
    return {"min2": variant != "base"}


def search_param(mid: str, setting: dict, step: str, key: str) -> None:
    """Button callback: the step's best parameter on valid at the current thresholds."""
    try:
        d = D.decision(bundle, mid, **setting)
        p, _ = M.search_graph_param(D.pool(bundle, "valid"), d, step)
        st.session_state[key] = p
    except ShopeeError as exc:
        st.session_state["gs-error"] = f"Cannot tune on valid: {exc}"


if st.session_state.get("gs-error"):
    st.error(md(st.session_state.pop("gs-error")), icon=":material/error:")
usable = D.usable_models(bundle)
c_model, c_variant, c_graph, c_param = st.columns([3, 2, 2, 2], vertical_alignment="bottom")
with c_model:
    mid = model_select(bundle, "gs-model", allowed=usable)
if mid is None:
    st.stop()
s = D.model_setting(bundle, mid)
with c_variant:
    options = variants_of(s)
    ruled = D.chosen(bundle, mid, state.rule()).variant  # the sidebar's decision (its graph step: Min2 + tuned)
    ruled = "min2" if ruled == "graph" else ruled
    default = ruled if ruled in options else options[0]
    variant = state.kept(st.segmented_control, "Decision", options, format_func=VARIANTS.get, default=default,
                         key=f"gs-variant-{mid}-{state.rule()}", required=True,
                         help="Starts on the sidebar's decision; another choice is this page's own") or default
setting = base_setting(s, variant)
graph_options = ["none"] if s["fixed"] else (["none"] + (["tuned"] if s["graph"] and variant == "min2" else [])
                                             + list(M.GRAPH_STEPS))
with c_graph:
    choice = state.kept(st.selectbox, "Graph step", graph_options, key=f"gs-graph-{mid}-{variant}",
                        index=graph_options.index("tuned" if "tuned" in graph_options else "none"),
                        format_func=GRAPH_LABELS.get, disabled=len(graph_options) == 1,
                        help="Group-level post-processing after the thresholds (see the help of each parameter)."
                             + (" Imported predicted sets have no similarities: no graph step." if s["fixed"]
                                else ""))
graph = None
with c_param:
    if choice == "tuned":
        rec = s["graph"]
        st.caption(f"**{md(rec['step'])}**" + ("" if rec.get("param") is None else f" {rec['param']:g}")
                   + " · tuned on valid with its own T")
        graph = "tuned"
    elif choice in PARAMS:
        label, lo, hi, step_, default, help_ = PARAMS[choice]
        pkey = f"gs-param-{choice}"
        if pkey not in st.session_state:
            st.session_state[pkey] = default
        value = st.number_input(label, lo, hi, step=step_, key=pkey, help=help_)
        st.button("Best on valid", key="gs-best", icon=":material/auto_fix_high:", width="stretch",
                  on_click=search_param, args=(mid, dict(setting), choice, pkey),
                  help="Search the parameter on the validation split at the current thresholds")
        graph = M.GraphStep(choice, value)
    elif choice == "mutual":
        graph = M.GraphStep("mutual")
if graph is not None:
    setting["graph"] = graph

try:
    with st.spinner("Building the groups…"):
        g, decision = GR.groups(bundle, mid, split, setting)
except ShopeeError as exc:
    readable_error(exc)
    st.stop()

# ------------------------------------------------------------------ summary
pred_table = GR.group_table(bundle, mid, split, setting, "predicted")
true_table = GR.group_table(bundle, mid, split, setting, "true")
shapes = pred_table["shape"].value_counts()
metric_row({"f1": float(g.f1.mean()), "precision": np.nan, "recall": np.nan}, keys=("f1",), extra=[
    ("Predicted groups / true groups", f"{len(pred_table):,} / {len(true_table):,}",
     "Components of the predicted graph vs label groups in this pool"),
    ("Merged / split / mixed", " / ".join(f"{int(shapes.get(k, 0)):,}" for k in ("merged", "split", "mixed")),
     "\n".join(f"- **{k}**: {GR.SHAPE_HELP[k]}" for k in GR.SHAPES)),
    ("Largest predicted group", f"{int(pred_table['size'].max()):,}", "Members of the largest component"),
])
st.caption(f"**Decision:** {md(decision.describe())}")

kind = state.kept(st.segmented_control, "Groups", ["predicted", "true"], key="gs-kind", required=True,
                  default="predicted",
                  format_func={"predicted": "Predicted groups", "true": "True groups"}.get) or "predicted"
frame = pred_table if kind == "predicted" else true_table
top = int(frame["size"].max())
f1c, f2c = st.columns([2, 3], vertical_alignment="bottom")
with f1c:
    lo, hi = st.slider("Size", 1, max(top, 2), (1, max(top, 2)), key=f"gs-size-{kind}") if top > 1 else (1, 1)
with f2c:
    wanted = state.kept(st.pills, "Error shape (none chosen: every shape)", list(GR.SHAPES), selection_mode="multi",
                        key="gs-shapes", format_func=lambda x: f"{x} · {int((frame['shape'] == x).sum()):,}",
                      help="\n".join(f"- **{k}**: {GR.SHAPE_HELP[k]}" for k in GR.SHAPES)) or []
filtered = GR.filter_table(frame, (lo, hi), wanted).reset_index(drop=True)
view = filtered.head(TABLE_ROWS).assign(example=lambda f: [short(display_title(t), 90) for t in f["example"]],
                                        group=lambda f: f["group"].astype(str))
config = {
    "group": st.column_config.TextColumn("Group", pinned=True, help="Predicted: the component's number; true: the "
                                                                    "label_group"),
    "size": st.column_config.NumberColumn("Size"),
    "density": st.column_config.NumberColumn("Density", format="%.2f", help="Predicted edges / possible edges"),
    "weakest": st.column_config.NumberColumn("Weakest link", format="%.3f",
                                             help="The lowest similarity that holds the group together (smallest "
                                                  "edge of its maximum spanning tree; for a true group over every "
                                                  "candidate pair; empty: the tables do not connect it)"),
    "bridges": st.column_config.NumberColumn("Bridges", help="Predicted edges whose removal splits the group"),
    "purity": st.column_config.NumberColumn("Purity", help="True groups a predicted group spans (for a true group: "
                                                           "the most any of its predicted groups spans)"),
    "fragmentation": st.column_config.NumberColumn("Fragments", help="Predicted groups a true group is split into "
                                                                     "(for a predicted group: the most of any of "
                                                                     "its true groups)"),
    "f1_lost": st.column_config.ProgressColumn("F1 lost", format="%.4f", min_value=0.0,
                                               max_value=max(float(frame["f1_lost"].max()), 1e-9),
                                               help="Σ over its members of 1 − F1, divided by the pool size: its "
                                                    "share of the gap to F1 = 1"),
    "mean_f1": st.column_config.NumberColumn("Mean F1", format="%.3f"),
    "shape": st.column_config.TextColumn("Shape"),
    "example": st.column_config.TextColumn("Example title", width="large"),
}
columns = list(config)
st.markdown(f"##### {len(filtered):,} {md(kind)} groups, most F1 lost first — select one to draw it")
if len(filtered) > TABLE_ROWS:
    st.caption(f"Showing the {TABLE_ROWS:,} that lose most of {len(filtered):,} (narrow the filters).")
event = st.dataframe(view[columns], column_config=config, hide_index=True, key=f"gs-table-{kind}",
                     on_select="rerun", selection_mode="single-row", height=min(35 * (len(view) + 1) + 3, 380))
if filtered.empty:
    st.info("No group matches these filters.")
    st.stop()

codes = view["code"].tolist()
picked = [r for r in selected_rows(event) if 0 <= r < len(view)]
pick_key = f"gs-group-{kind}"
if picked and codes[picked[0]] != st.session_state.get(f"{pick_key}-last"):  # a new click in the table
    st.session_state[f"{pick_key}-last"] = codes[picked[0]]
    st.session_state[pick_key] = codes[picked[0]]
if st.session_state.get(pick_key) not in codes:
    st.session_state[pick_key] = codes[0]


@st.fragment
def one_group(bundle, mid: str, split: str, setting: dict, kind: str, view: pd.DataFrame, g, pick_key: str) -> None:
    """The chosen group: its drawing, what-if and thumbnails. A fragment: choosing another group, a
    what-if cut or detach reruns only this part, not the decision, the summary and the group table
    above it (a full rerun re-sends the table, which made a group switch take ~0.7 s in a browser)."""
    codes = view["code"].tolist()
    info = view.set_index("code")
    # every option's label in one pass over plain columns (a pandas lookup per option of 500 cost ~70 ms a rerun)
    names = dict(zip(codes, [f"F1 lost {lost:.4f} · size {int(size)} · {shape} · {example}"
                             for lost, size, shape, example in zip(view["f1_lost"].to_numpy(), view["size"].to_numpy(),
                                                                   view["shape"].to_numpy(),
                                                                   view["example"].to_numpy())]))
    code = st.selectbox("Group", codes, key=pick_key, format_func=lambda c: plain(names[c]))

    # ------------------------------------------------------------------ one group
    rec = info.loc[code]
    try:
        nodes, edges = GR.group_view(bundle, mid, split, setting, kind, int(code))
    except ShopeeError as exc:
        readable_error(exc)
        return
    rows = bundle.split_rows(split)
    ids = bundle.postings["posting_id"].to_numpy()[rows]
    titles = bundle.postings["title"].to_numpy()[rows]
    groups_raw = bundle.postings["label_group"].to_numpy()[rows]
    node_text = [f"<b>{plot_text(short(display_title(titles[r]), 80))}</b><br>{plot_text(ids[r])} · true group "
                 f"{plot_text(groups_raw[r])} · predicted group {int(g.comp[r])} · F1 {g.f1[r]:.3f}"
                 + ("" if m else "<br>(outside this group)") for r, m in nodes[["row", "member"]].to_numpy()]
    img_m, txt_m = edges.attrs.get("image_model"), edges.attrs.get("text_model")

    def edge_label(e) -> str:
        status = ("predicted" if e.predicted else "cut by the graph step" if e.before else "below the threshold")
        sims = " · ".join(f"{name} {v:.3f} ({plot_text(m)})" for name, v, m in
                          (("image", e.s_image, img_m), ("text", e.s_text, txt_m)) if m is not None and np.isfinite(v))
        return (f"{plot_text(ids[e.i])} ↔ {plot_text(ids[e.j])}<br>similarity {e.sim:.3f} · {status}"
                f" · {'same group' if e.same else 'other groups'}{' · bridge' if e.bridge else ''}"
                + (f"<br>{sims}" if sims else "") + (f"<br>{plot_text(e.conflict)}" if e.conflict else ""))

    edge_text = [edge_label(e) for e in edges.itertuples()]
    st.divider()
    head = (f"#### {md(kind.title())} group {md(rec['group'])}: {int(rec['size'])} postings · "
            f"{md(rec['shape'])} · F1 lost {rec['f1_lost']:.4f}")
    st.markdown(head)
    st.caption(f"Density {rec['density']:.2f} · weakest link {rec['weakest']:.3f} · "
               f"{int(rec['bridges'])} bridge(s) · spans {int(rec['purity'])} true group(s) · split into up to "
               f"{int(rec['fragmentation'])}. "
               + ("Open circles: the members' true mates outside it (what it missed)." if kind == "predicted" else
                  "Open circles: the other members of its predicted groups (what it was merged with).")
               + (f" Drawing {GR.MAX_NODES} of its {int(rec['size']):,} members: the breadth-first neighbourhood of "
                  "its first member." if int(rec["size"]) > GR.MAX_NODES else
                  f" Drawing the first {GR.MAX_NODES} postings." if len(nodes) >= GR.MAX_NODES else ""))
    c_graph_, c_what = st.columns([3, 2], gap="large")
    with c_graph_:
        st.plotly_chart(charts.group_graph(nodes, edges, node_text, edge_text), key="gs-graph",
                        config={"displayModeBar": False}, theme=None)
        st.caption("Edges: green = same true group (TP), red = other groups (FP); solid = predicted, dashed = below "
                   "the threshold, dotted = cut by the graph step; thicker = more similar. Hover a node or an edge's "
                   "middle.")

    # ------------------------------------------------------------------ what if
    with c_what:
        st.markdown("**What if…** (re-scores only the touched rows)")
        ctx = (bundle.name, split, mid, str(setting))
        if st.session_state.get("gs-edits-ctx") != ctx:
            st.session_state["gs-edits-ctx"] = ctx
            st.session_state["gs-edits"] = []
        edits = st.session_state["gs-edits"]
        cut_options = [int(k) for k in np.flatnonzero(edges["predicted"].to_numpy())] if len(edges) else []
        if cut_options:
            e_i, e_j, e_sim, e_same, e_bridge = (edges[c].to_numpy() for c in ("i", "j", "sim", "same", "bridge"))
            # short enough to fit a narrow column at 1280 px; the two postings are named under it
            edge_names = {k: f"{'TP' if e_same[k] else 'FP'} · sim {e_sim[k]:.3f}{' · bridge' if e_bridge[k] else ''}"
                          for k in cut_options}
            e_idx = st.selectbox("Edge", cut_options, key="gs-edge", format_func=lambda k: plain(edge_names[k]))
            st.caption(f"{md(ids[e_i[e_idx]])} ↔ {md(ids[e_j[e_idx]])}")
            if st.button("Cut this edge", key="gs-cut", icon=":material/content_cut:", width="stretch"):
                edits.append(("cut", int(edges["i"].iat[e_idx]), int(edges["j"].iat[e_idx])))
        else:
            st.caption("No predicted edge in this drawing to cut.")
        member_rows = [int(r) for r in nodes.loc[nodes["member"], "row"]]
        m_row = st.selectbox("Member", member_rows, key="gs-member", format_func=lambda r: plain(ids[r]))
        st.caption(md(short(display_title(titles[m_row]), 120)))
        if st.button("Detach this member", key="gs-detach", icon=":material/person_remove:", width="stretch"):
            edits.append(("detach", int(m_row)))
        if edits:
            result = GR.what_if(g, edits)
            metric_row({"f1": result["f1_after"], "precision": np.nan, "recall": np.nan},
                       {"f1": result["f1_before"], "precision": np.nan, "recall": np.nan}, keys=("f1",),
                       extra=[("Rows re-scored", f"{result['touched']:,}", "Only these rows' F1 changed")])
            st.caption("Edits: " + "; ".join(f"cut {md(ids[e[1]])} ↔ {md(ids[e[2]])}" if e[0] == "cut"
                                             else f"detach {md(ids[e[1]])}" for e in edits))
            if st.button("Reset what-if", key="gs-reset", icon=":material/restart_alt:"):
                st.session_state["gs-edits"] = []
                st.rerun()
        else:
            st.caption("Cut an edge or detach a member to see the pool's F1 change.")

    # ------------------------------------------------------------------ thumbnails
    own = nodes[nodes["member"]]
    labels_own = g.labels[own["row"].to_numpy()]
    if kind == "predicted":
        major = np.bincount(labels_own).argmax() if len(labels_own) else -1
        marks = np.where(nodes["member"], np.where(g.labels[nodes["row"]] == major, "correct", "wrong"), "missed")
    else:
        frag = g.comp[own["row"].to_numpy()]
        main = np.bincount(frag).argmax() if len(frag) else -1
        marks = np.where(nodes["member"], np.where(g.comp[nodes["row"]] == main, "correct", "missed"), "wrong")
    items = pd.DataFrame({"posting": rows[nodes["row"].to_numpy()], "mark": marks})
    st.markdown("**Postings** — " + ("✔ the group's main true group, ✘ other true groups, ⚠ true mates it "
                                      "missed"
                                      if kind == "predicted" else
                                      "✔ its largest fragment, ⚠ members split off, ✘ other groups merged with "
                                      "it"))
    gallery(bundle, items, key="gs-gallery", columns=8, limit=32)


one_group(bundle, mid, split, setting, kind, view, g, pick_key)

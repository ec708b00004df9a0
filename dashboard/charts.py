"""Plotly figures of the Thresholds page (pure functions of core results; no Streamlit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.text import plot_text

OUTCOME_STYLE = {  # drawn in this order: the common TN first, the errors on top
    "TN": dict(color="rgba(150,150,150,0.35)", size=4, name="TN — not predicted, other group"),
    "TP": dict(color="rgba(46,125,50,0.65)", size=5, name="TP — predicted, same group"),
    "FN": dict(color="rgba(239,108,0,0.9)", size=6, name="FN — same group, not predicted"),
    "FP": dict(color="rgba(198,40,40,0.9)", size=6, name="FP — predicted, other group"),
}
BRAND = "#ee4d2d"
_AXIS = dict(gridcolor="#ebebeb", linecolor="#d0d0d0", zerolinecolor="#d0d0d0", ticks="", automargin=True)
# a small template: "plotly_white" is a deep copy of a large template on every figure (~25 ms),
# too slow for a chart redrawn on every slider move
LIGHT = go.layout.Template(layout=dict(paper_bgcolor="white", plot_bgcolor="white", xaxis=_AXIS, yaxis=_AXIS,
                                       colorway=["#ee4d2d", "#1565c0", "#2e7d32", "#ef6c00", "#6a1b9a"],
                                       hoverlabel=dict(font=dict(size=12))))
FONT = '"Source Sans", "Source Sans Pro", sans-serif'


def _layout(fig: go.Figure, height: int = 380, **kw) -> go.Figure:
    fig.update_layout(template=LIGHT, height=height, margin=dict(l=10, r=10, t=36, b=10),
                      font=dict(family=FONT),
                      title=dict(font=dict(size=14), x=0, xanchor="left", y=0.98, yanchor="top"),
                      legend=dict(orientation="h", y=-0.18, yanchor="top", x=0), hovermode="x unified")
    if "title" in kw:
        kw["title_text"] = kw.pop("title")
    fig.update_layout(**kw)
    return fig


def threshold_curves(curve: pd.DataFrame, t: float, f1: float, tuned_t: float | None = None,
                     title: str = "F1, precision and recall vs T", band: tuple | None = None) -> go.Figure:
    """``band``: (lo, hi) of T where the threshold search lands on 95 % of resamples of valid."""
    fig = go.Figure(layout=dict(template=LIGHT))
    if band is not None and None not in band:
        lo, hi = band
        pad = 0.0025 if hi - lo < 0.005 else 0.0  # a sharp optimum still shows as a visible sliver
        fig.add_vrect(x0=lo - pad, x1=hi + pad, fillcolor=BRAND, opacity=0.13, line_width=0, layer="below",
                      annotation_text="T on 95 % of valid resamples", annotation_position="top left",
                      annotation_font=dict(size=11, color="#8a2a18"))
    fig.add_scatter(x=curve["t"], y=curve["f1"], name="F1", line=dict(color=BRAND, width=3))
    fig.add_scatter(x=curve["t"], y=curve["precision"], name="precision", line=dict(color="#1565c0", dash="dash"))
    fig.add_scatter(x=curve["t"], y=curve["recall"], name="recall", line=dict(color="#2e7d32", dash="dot"))
    if tuned_t is not None:
        fig.add_vline(x=tuned_t, line=dict(color="#9e9e9e", dash="dot", width=1),
                      annotation_text="tuned", annotation_position="bottom right")
    fig.add_vline(x=t, line=dict(color=BRAND, width=1.5))
    fig.add_scatter(x=[t], y=[f1], mode="markers+text", name="now", text=[f"F1 {f1:.4f}"],
                    textposition="top right", marker=dict(color=BRAND, size=12, line=dict(color="white", width=2)),
                    showlegend=False, hoverinfo="skip")
    return _layout(fig, title=title, xaxis_title="T (cosine distance)", yaxis=dict(range=[0, 1.05], title="mean"))


def min2_curve(curve: pd.DataFrame, t2: float | None, f1: float, t: float) -> go.Figure:
    fig = go.Figure(layout=dict(template=LIGHT))
    fig.add_scatter(x=curve["t2"], y=curve["f1"], name="F1", line=dict(color=BRAND, width=3))
    fig.add_scatter(x=curve["t2"], y=curve["precision"], name="precision", line=dict(color="#1565c0", dash="dash"))
    fig.add_scatter(x=curve["t2"], y=curve["recall"], name="recall", line=dict(color="#2e7d32", dash="dot"))
    if t2 is not None:
        fig.add_vline(x=t2, line=dict(color=BRAND, width=1.5))
        fig.add_scatter(x=[t2], y=[f1], mode="markers", marker=dict(color=BRAND, size=12,
                                                                    line=dict(color="white", width=2)),
                        showlegend=False, hoverinfo="skip")
    return _layout(fig, title=f"Min2: F1 vs T2 at T = {t:.3f}", xaxis_title="T2 (cosine distance)",
                   yaxis=dict(range=[0, 1.05], title="mean"))


def size_histogram(h: pd.DataFrame, cap: int = 40) -> go.Figure:
    """Postings per set size: predicted sets vs true groups (sizes above ``cap`` pooled)."""
    h = h.copy()
    if len(h) > cap:
        tail = h[h["size"] >= cap][["predicted", "true"]].sum()
        h = pd.concat([h[h["size"] < cap], pd.DataFrame({"size": [cap], **{k: [tail[k]] for k in tail.index}})])
    labels = [str(s) if s < cap or len(h) < cap else f"≥{cap}" for s in h["size"]]
    fig = go.Figure(layout=dict(template=LIGHT))
    fig.add_bar(x=labels, y=h["true"], name="true group size |X|", marker_color="#9e9e9e")
    fig.add_bar(x=labels, y=h["predicted"], name="predicted set size |Y|", marker_color=BRAND)
    return _layout(fig, title="Set sizes per posting: predicted vs true", barmode="group",
                   xaxis=dict(title="size (self included)", type="category"), yaxis_title="postings")


def _density_trace(fig: go.Figure, density: dict) -> None:
    """Every pair as a cell count (log colour), each cell's TP/FP/FN/TN in its hover."""
    counts = density["counts"]  # (outcome, y, x)
    total = counts.sum(axis=0)
    edges = np.asarray(density["edges"])
    mid = (edges[:-1] + edges[1:]) / 2
    z = np.where(total > 0, np.log10(np.maximum(total, 1)), np.nan)
    custom = np.moveaxis(counts, 0, -1)  # (y, x, outcome)
    fig.add_heatmap(x=mid, y=mid, z=z, customdata=custom, colorscale="Greys", zmin=0, showscale=True,
                    colorbar=dict(title="pairs", thickness=10, tickvals=list(range(0, 8)),
                                  ticktext=[f"{10 ** v:,}" for v in range(0, 8)], len=0.6, y=0.7),
                    hovertemplate="image %{x:.2f} · text %{y:.2f}<br>TP %{customdata[0]:,} · FP %{customdata[1]:,}"
                                  " · FN %{customdata[2]:,} · TN %{customdata[3]:,}<extra>cell</extra>",
                    name="all pairs (density)", opacity=0.85)


def decision_plane(frame: pd.DataFrame, info: dict) -> go.Figure:
    """Pairs in the (image sim, text sim) plane by outcome, with the decision boundary; with
    ``info["density"]`` a density grid of every pair with the sampled errors on top."""
    fig = go.Figure(layout=dict(template=LIGHT))
    if info.get("density"):
        _density_trace(fig, info["density"])
    for outcome, style in OUTCOME_STYLE.items():
        sub = frame[frame["outcome"] == outcome].dropna(subset=["s_image", "s_text"])
        if sub.empty:
            continue
        n = info["counts"].get(outcome, len(sub)) + (info["counts"].get("FN outside tables", 0) if outcome == "FN"
                                                      else 0)
        fig.add_scattergl(
            x=sub["s_image"], y=sub["s_text"], mode="markers", name=f"{style['name']} ({n:,})",
            marker=dict(color=style["color"], size=style["size"]),
            # numeric customdata only: an object array is deep-copied element by element (slow at 20k points)
            customdata=np.stack([sub["i"].to_numpy(np.int64), sub["j"].to_numpy(np.int64)], axis=1),
            hovertemplate="image %{x:.3f} · text %{y:.3f}<br>rows %{customdata[0]} → %{customdata[1]}"
                          f"<extra>{plot_text(outcome)}</extra>")
    b = info.get("boundary") or {}
    lo = float(np.nanmin(frame[["s_image", "s_text"]].to_numpy())) if frame[["s_image", "s_text"]].notna().any().any() \
        else 0.0
    if info.get("density"):
        lo = min(lo, info["density"]["lo"])
    lo = min(lo, 0.0) - 0.02
    hi = 1.02
    line = dict(color="black", width=2, dash="dash")
    if b.get("kind") == "line":
        w, c = b["w"], b["c"]
        if w >= 1 - 1e-9:
            fig.add_vline(x=c, line=line)
        elif w <= 1e-9:
            fig.add_hline(y=c, line=line)
        else:
            xs = np.array([lo, hi])
            fig.add_scatter(x=xs, y=(c - w * xs) / (1 - w), mode="lines", line=line, hoverinfo="skip",
                            name=f"boundary {w:.2f}·s_img + {1 - w:.2f}·s_txt = {c:.3f}")
    elif b.get("kind") == "axes":
        if b.get("image") is not None:
            fig.add_vline(x=b["image"], line=line, annotation_text=f"image: s > {b['image']:.3f}",
                          annotation_position="bottom right")
        if b.get("text") is not None:
            fig.add_hline(y=b["text"], line=line, annotation_text=f"text: s > {b['text']:.3f}",
                          annotation_position="top left")
    fig.update_layout(template=LIGHT, height=600, margin=dict(l=10, r=10, t=30, b=10),
                      font=dict(family=FONT), legend=dict(orientation="h", y=-0.12, yanchor="top", x=0),
                      dragmode="select",
                      xaxis=dict(title=f"image similarity — {plot_text(info['image_model'])}", range=[lo, hi]),
                      yaxis=dict(title=f"text similarity — {plot_text(info['text_model'])}", range=[lo, hi]))
    return fig


def size_ticks(sizes) -> tuple[list[int], list[str]]:
    """Log-axis ticks a reader can read: the sizes shown, as 500 / 1k / 2.5k / 34k (Plotly's own log
    ticks read "2 3 4 … 9 1000")."""
    vals = sorted({int(v) for v in sizes})
    def fmt(v: int) -> str:
        if v < 1000:
            return f"{v}"
        return f"{v / 1000:.1f}k".replace(".0k", "k") if v < 10_000 else f"{v / 1000:.0f}k"
    return vals, [fmt(v) for v in vals]


def pool_size(band: pd.DataFrame, given_t: float, ext: dict | None = None) -> go.Figure:
    """Best T (left) and F1 (right) vs pool size: the mean over random draws with its min-max band,
    and, when ``ext`` is given, the extrapolation to its target (dotted, with its spread)."""
    from plotly.subplots import make_subplots

    fig = make_subplots(rows=1, cols=2, horizontal_spacing=0.12,
                        subplot_titles=("best T (searched in each pool)", "F1 vs pool size"))
    x = band["postings"]

    def with_band(col: str, name: str, colour: str, fill: str, c: int, dash: str | None = None) -> None:
        if col not in band:
            return
        if f"{col}_lo" in band and (band[f"{col}_hi"] > band[f"{col}_lo"]).any():
            fig.add_scatter(x=list(x) + list(x[::-1]), y=list(band[f"{col}_hi"]) + list(band[f"{col}_lo"][::-1]),
                            fill="toself", fillcolor=fill, line=dict(width=0), hoverinfo="skip",
                            name=f"{name}: range over draws", showlegend=False, row=1, col=c)
        fig.add_scatter(x=x, y=band[col], mode="lines+markers", name=name, line=dict(color=colour, width=3,
                                                                                    dash=dash), row=1, col=c)
        if ext and col in ext:
            e = ext[col]
            fig.add_scatter(x=[x.iloc[-1], ext["target"]], y=[band[col].iloc[-1], e["mean"]], mode="lines+markers",
                            name=f"{name} — extrapolation", line=dict(color=colour, dash="dot", width=2),
                            marker=dict(symbol=["circle", "diamond-open"], size=[6, 11]),
                            error_y=dict(type="data", symmetric=False, array=[0, e["hi"] - e["mean"]],
                                         arrayminus=[0, e["mean"] - e["lo"]], color=colour),
                            row=1, col=c)

    with_band("t", "best T", BRAND, "rgba(238,77,45,0.15)", 1)
    if "t2" in band and band["t2"].notna().any():
        with_band("t2", "best T2", "#6a1b9a", "rgba(106,27,154,0.12)", 1, dash="dash")
    fig.add_hline(y=given_t, line=dict(color="#9e9e9e", dash="dash", width=1), row=1, col=1,
                  annotation_text=f"now T = {given_t:.3f}", annotation_position="bottom left")
    with_band("f1_best", "F1 at each pool's best thresholds", "#2e7d32", "rgba(46,125,50,0.15)", 2)
    if "f1_given" in band:
        fig.add_scatter(x=x, y=band["f1_given"], mode="lines+markers", name="F1 at the current thresholds",
                        line=dict(color="#1565c0", dash="dash"), row=1, col=2)
    vals, text = size_ticks(list(x) + ([ext["target"]] if ext else []))
    fig.update_xaxes(type="log", title_text="postings in the pool (whole groups)", gridcolor="#ebebeb",
                     tickvals=vals, ticktext=[plot_text(t) for t in text])
    fig.update_yaxes(gridcolor="#ebebeb")
    # the legend well below the axis titles (at the default offset it covers the left one)
    return _layout(fig, height=470, hovermode="x unified", legend=dict(orientation="h", y=-0.32, yanchor="top", x=0),
                   margin=dict(l=10, r=10, t=36, b=10))


def slice_forest(frame: pd.DataFrame, a: str, b: str) -> go.Figure:
    """Paired F1 difference A − B per slice with its 95 % interval (a dot and whiskers each)."""
    f = frame.iloc[::-1]
    colour = np.where(f["significant"], np.where(f["diff"] > 0, "#2e7d32", "#c62828"), "#757575")
    fig = go.Figure(layout=dict(template=LIGHT))
    fig.add_scatter(x=f["diff"], y=f["slice"], mode="markers", marker=dict(color=colour, size=9),
                    error_x=dict(type="data", symmetric=False, array=(f["hi"] - f["diff"]).to_numpy(),
                                 arrayminus=(f["diff"] - f["lo"]).to_numpy(), color="#9e9e9e", thickness=1.5, width=4),
                    customdata=np.stack([f["rows"], f["f1_a"], f["f1_b"], f["lo"], f["hi"], f["p_better"]], axis=1),
                    hovertemplate="<b>%{y}</b> (%{customdata[0]} postings)<br>F1 A %{customdata[1]:.4f} · "
                                  "B %{customdata[2]:.4f}<br>A − B %{x:+.4f} [%{customdata[3]:+.4f}, "
                                  "%{customdata[4]:+.4f}]<br>P(A > B) %{customdata[5]:.2f}<extra></extra>",
                    showlegend=False)
    fig.add_vline(x=0, line=dict(color="#424242", width=1))
    return _layout(fig, height=max(240, 30 * len(f) + 80), title=f"F1 difference per slice: {a} − {b}",
                   xaxis_title="mean F1 difference A − B (95 % interval, same resamples)", hovermode="closest",
                   yaxis=dict(automargin=True, type="category"))


GROUP_PALETTE = ["#1565c0", "#ef6c00", "#6a1b9a", "#00838f", "#ad1457", "#558b2f", "#4e342e", "#283593",
                 "#f9a825", "#37474f"]
EDGE_STYLE = {  # (predicted in the end, predicted before the graph step, same true group) -> look
    "tp": dict(color="rgba(46,125,50,0.85)", dash="solid", name="TP link — predicted, same group"),
    "fp": dict(color="rgba(198,40,40,0.9)", dash="solid", name="FP link — predicted, other group"),
    "cut_tp": dict(color="rgba(46,125,50,0.6)", dash="dot", name="cut by the graph step, same group"),
    "cut_fp": dict(color="rgba(198,40,40,0.6)", dash="dot", name="cut by the graph step, other group"),
    "missed": dict(color="rgba(120,120,120,0.7)", dash="dash", name="below the threshold, same group"),
}


def edge_class(predicted: bool, before: bool, same: bool) -> str:
    if predicted:
        return "tp" if same else "fp"
    if before:
        return "cut_tp" if same else "cut_fp"
    return "missed"


def group_graph(nodes: pd.DataFrame, edges: pd.DataFrame, node_text: list[str], edge_text: list[str],
                title: str = "") -> go.Figure:
    """A group as a graph: nodes coloured by true group (members filled, context postings open),
    edges coloured TP/FP, solid when predicted, dashed below the threshold, dotted where the graph
    step cut them, width by similarity (three bands); hover a node or an edge's midpoint for
    details. ``node_text`` / ``edge_text``: hover texts, their untrusted parts already through plot_text."""
    fig = go.Figure()
    classes = [edge_class(p, b, s) for p, b, s in edges[["predicted", "before", "same"]].to_numpy()] if len(edges) \
        else []
    sims = edges["sim"].to_numpy() if len(edges) else np.zeros(0)
    lo, hi = (float(sims.min()), float(sims.max())) if len(sims) else (0.0, 1.0)
    band = np.digitize(sims, np.linspace(lo, hi, 4)[1:-1]) if hi > lo else np.ones(len(sims), dtype=int)
    classes = np.asarray(classes, dtype=object)
    for cls, style in EDGE_STYLE.items():
        for b_idx, width in enumerate((1.2, 2.6, 4.2)):
            sel = np.flatnonzero((classes == cls) & (band == b_idx))
            if not len(sel):
                continue
            xs = np.full(3 * len(sel), np.nan)
            ys = np.full(3 * len(sel), np.nan)
            xs[0::3], xs[1::3] = edges["x0"].to_numpy()[sel], edges["x1"].to_numpy()[sel]
            ys[0::3], ys[1::3] = edges["y0"].to_numpy()[sel], edges["y1"].to_numpy()[sel]
            first = not any(t.name == style["name"] for t in fig.data)
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", name=style["name"],
                                     legendgroup=cls, showlegend=first,
                                     line=dict(color=style["color"], width=width, dash=style["dash"])))
    if len(edges):
        fig.add_trace(go.Scatter(x=(edges["x0"] + edges["x1"]) / 2, y=(edges["y0"] + edges["y1"]) / 2,
                                 mode="markers", marker=dict(size=9, color="rgba(0,0,0,0)"), hovertext=edge_text,
                                 hoverinfo="text", showlegend=False, name="edges"))
    labels = nodes["label"].to_numpy()
    order = {lab: k for k, lab in enumerate(dict.fromkeys(labels.tolist()))}
    colours = [GROUP_PALETTE[order[lab] % len(GROUP_PALETTE)] for lab in labels]
    member = nodes["member"].to_numpy()
    for flag, symbol, name in ((True, "circle", "members (colour: true group)"),
                               (False, "circle-open", "context: true mates / group mates outside it")):
        sel = np.flatnonzero(member == flag)
        if not len(sel):
            continue
        fig.add_trace(go.Scatter(x=nodes["x"].to_numpy()[sel], y=nodes["y"].to_numpy()[sel], mode="markers",
                                 marker=dict(size=15 if flag else 12, symbol=symbol, color=[colours[k] for k in sel],
                                             line=dict(width=2 if not flag else 1, color=[colours[k] for k in sel])),
                                 hovertext=[node_text[k] for k in sel], hoverinfo="text", name=name))
    _layout(fig, height=460, title=title, hovermode="closest")
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False, scaleanchor="x")
    return fig

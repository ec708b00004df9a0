"""Data overview: the catalog before any model — split sizes, group sizes, titles, tokens, shared images."""

import plotly.graph_objects as go
import streamlit as st

from dashboard import state
from dashboard.charts import LIGHT
from dashboard.data import POOL_LABELS, current_bundle
from dashboard.gallery import gallery
from dashboard.text import code, md, plot_text
from dashboard.widgets import csv_download
from shopee_core.analysis import data_overview as D

st.title("Data overview")
bundle = current_bundle()
if bundle is None:
    st.stop()
pool = state.get("split") if state.get("split") in bundle.splits else bundle.splits[0]
if not bundle.has_labels:
    st.error(f"Bundle {code(bundle.name)} has postings without `label_group`: the group views need labels.")
    st.stop()
st.caption(f"Bundle **{md(bundle.name)}** · pool **{md(POOL_LABELS.get(pool, pool))}** (the sidebar's split) · "
           f"{len(bundle.split_rows(pool)):,} postings. Titles are shown as written.")


@st.cache_resource(max_entries=16, show_spinner=False)  # read-only tables: no copy per rerun
def _tables(_b, root: str, key: int, pool: str) -> dict:
    """``key``: the identity of the open Bundle object (a new one after an edit of the bundle)."""
    b = _b
    frame = D.pool_frame(b, pool)
    shared = D.shared_images(frame)
    tokens = D.token_counts(frame, top=40)
    titles = D.repeated_titles(frame)
    lengths = D.title_lengths(frame)
    groups = {g: frame[frame["label_group"] == g] for g in D.largest_groups(frame, 3)["label_group"]}
    return {"distinct_titles": int(frame["title_key"].nunique()), "length_counts": D.length_counts(lengths),
            "groups": groups, "frame": frame, "splits": D.split_sizes(b), "sizes": D.group_size_counts(b, b.splits),
            "largest": D.largest_groups(frame, 3), "titles": titles, "title_hist": D.repeat_histogram(titles),
            "lengths": lengths, "tokens": tokens, "shared": shared,
            "shared_hist": {k: D.repeat_histogram(v) for k, v in shared.items()},
            "shared_summary": {k: D.sharing_summary(v, len(frame)) for k, v in shared.items()}}


@st.cache_data(max_entries=8, show_spinner=False)
def _cloud(root: str, key: int, pool: str) -> bytes | None:
    return D.word_cloud_png(_tables(bundle, root, key, pool)["tokens"])


T = _tables(bundle, str(bundle.root), id(bundle), pool)
frame = T["frame"]
name = f"{bundle.name}_{pool}"


def bar(x, y, title, xtitle, ytitle, log=False, colour="#ee4d2d", height=300, **kw):
    fig = go.Figure(go.Bar(x=x, y=y, marker_color=colour, **kw), layout=dict(template=LIGHT))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=36, b=10), title=dict(text=title, font=dict(size=14)),
                      xaxis_title=xtitle, yaxis=dict(title=ytitle, type="log" if log else "linear"))
    return fig


# ------------------------------------------------------------------ splits and groups
st.subheader("Splits and groups")
splits = T["splits"]
cols = st.columns(3)
for col, r in zip(cols, splits.itertuples()):
    held = f"{r.bundle_postings:,} in the bundle, {r.bundle_groups:,} groups"
    known = r.catalog_postings is not None and r.catalog_postings == r.catalog_postings  # not None / NaN
    col.metric(md(r.split), f"{int(r.catalog_postings):,}" if known else "—", help=held, border=True)
    col.caption(held)
csv_download(splits, f"splits_{bundle.name}.csv", "Split sizes as CSV", "data-splits-csv")

sizes = T["sizes"]
fig = go.Figure(layout=dict(template=LIGHT))
for i, p in enumerate(bundle.splits):
    s = sizes[sizes["pool"] == p]
    fig.add_bar(x=s["size"], y=s["groups"], name=plot_text(POOL_LABELS.get(p, p)),
                marker_color=["#ee4d2d", "#1565c0", "#2e7d32", "#6a1b9a"][i % 4])
top = int(sizes["size"].max()) if len(sizes) else 2
fig.add_vline(x=D.CAP, line=dict(color="#555", dash="dash"), annotation_text="51: the study's largest group "
              "(k = 50 candidates cannot hold it)", annotation_position="top left")
fig.update_layout(barmode="group", height=340, margin=dict(l=10, r=10, t=36, b=10),
                  title=dict(text="Groups by size, per pool (log scale)", font=dict(size=14)),
                  xaxis=dict(title="group size (postings)", range=[1.3, max(top, D.CAP) + 1.5]),
                  yaxis=dict(title="groups", type="log"), legend=dict(orientation="h", y=-0.2))
st.plotly_chart(fig, key="data-sizes", config={"displayModeBar": False}, theme=None)
csv_download(sizes, f"group_sizes_{bundle.name}.csv", "Group sizes as CSV", "data-sizes-csv")

st.markdown("##### The largest groups in this pool")
for g in T["largest"].itertuples():
    members = T["groups"][g.label_group]
    st.caption(f"group {md(g.label_group)} · {g.size:,} postings")
    gallery(bundle, members.assign(posting=members["row"]).head(12), key=f"data-group-{g.label_group}", columns=6,
            limit=12)

# ------------------------------------------------------------------ titles
st.subheader("Titles")
titles = T["titles"]
summary = titles.groupby("kind")["postings"].agg(["size", "sum"]) if len(titles) else None
c1, c2, c3 = st.columns(3)
c1.metric("Distinct titles", f"{T['distinct_titles']:,}", border=True,
          help="After lower-casing and collapsing spaces")
for col, kind in ((c2, D.SAME), (c3, D.ACROSS)):
    n = 0 if summary is None or kind not in summary.index else int(summary.loc[kind, "size"])
    p = 0 if summary is None or kind not in summary.index else int(summary.loc[kind, "sum"])
    col.metric(f"Repeated titles, {kind}", f"{n:,}", help=f"{p:,} postings carry them", border=True)
hist = T["title_hist"]
fig = go.Figure(layout=dict(template=LIGHT))
for kind, colour in ((D.SAME, "#2e7d32"), (D.ACROSS, "#c62828")):
    h = hist[hist["kind"] == kind]
    fig.add_bar(x=h["postings"], y=h["values"], name=kind, marker_color=colour)
fig.update_layout(barmode="group", height=300, margin=dict(l=10, r=10, t=36, b=10),
                  title=dict(text="Titles shared by n postings", font=dict(size=14)),
                  xaxis_title="postings sharing the title", yaxis=dict(title="titles", type="log"),
                  legend=dict(orientation="h", y=-0.25))
st.plotly_chart(fig, key="data-titles", config={"displayModeBar": False}, theme=None)
csv_download(titles, f"repeated_titles_{name}.csv", "Repeated titles as CSV", "data-titles-csv")
for kind in (D.SAME, D.ACROSS):
    sub = titles[titles["kind"] == kind].head(2)
    st.markdown(f"##### Most repeated titles, {kind}")
    if sub.empty:
        st.caption("none in this pool")
    for r in sub.itertuples():
        st.text(f"{r.postings} postings, {r.groups} group(s): {r.title}")
        members = D.rows_with(frame, "title_key", r.title)
        gallery(bundle, members.assign(posting=members["row"]).head(6), key=f"data-title-{kind}-{r.Index}",
                columns=6, limit=6)

lengths, lc = T["lengths"], T["length_counts"]
c1, c2 = st.columns(2)
for col, unit, colour in ((c1, "characters", "#1565c0"), (c2, "words", "#6a1b9a")):
    u = lc[lc["unit"] == unit]
    col.plotly_chart(bar(u["length"], u["postings"], f"Title length ({unit})", unit, "postings", colour=colour,
                         height=280), key=f"data-len-{unit}", config={"displayModeBar": False}, theme=None)
csv_download(lc, f"title_length_counts_{name}.csv", "Title lengths as CSV", "data-len-csv",
             help="postings per title length; per posting: the next button")
csv_download(lengths, f"title_lengths_{name}.csv", "Each posting's title length as CSV", "data-len-each-csv")

tokens = T["tokens"]
st.markdown("##### Most frequent tokens")
st.caption("TF-IDF's tokenizer (words of 2+ letters or digits, lower-cased), English stop words left out.")
shown = tokens.head(30).iloc[::-1]
fig = go.Figure(go.Bar(x=shown["count"], y=shown["token"], orientation="h", marker_color="#ee4d2d"),
                layout=dict(template=LIGHT))
fig.update_layout(height=max(300, 18 * len(shown) + 60), margin=dict(l=10, r=10, t=10, b=10),
                  xaxis_title="occurrences", yaxis=dict(type="category", automargin=True))
st.plotly_chart(fig, key="data-tokens", config={"displayModeBar": False}, theme=None)
csv_download(tokens, f"tokens_{name}.csv", "Token counts as CSV", "data-tokens-csv")
if state.kept(st.toggle, "Word cloud", key="data-cloud", help="Drawn by the wordcloud package from the counts above"):
    png = _cloud(str(bundle.root), id(bundle), pool)
    if png is None:
        st.caption("The wordcloud package is not installed.")
    else:
        st.image(png, caption="Token frequencies as a word cloud")

# ------------------------------------------------------------------ shared images
st.subheader("Postings sharing an image")
labels = {"image_phash": "the same pHash", "image": "the same image file"}
if "image" not in T["shared"]:
    st.caption("This bundle does not list image file names (built before they were shipped): pHash only.")
for key, shared in T["shared"].items():
    summ = T["shared_summary"][key]
    c = st.columns(2)
    for col, r in zip(c, summ.itertuples()):
        col.metric(md(f"{labels[key][0].upper() + labels[key][1:]}, {r.kind}"), f"{r.postings:,} postings",
                   help=f"{r.values:,} distinct values; {r.share:.1%} of the pool", border=True)
    csv_download(shared, f"shared_{key}_{name}.csv", f"Postings with {labels[key]}, as CSV", f"data-{key}-csv")
across = T["shared"]["image_phash"]
across = across[across["kind"] == D.ACROSS].head(2)
if len(across):
    st.markdown("##### The same pHash across groups")
    for r in across.itertuples():
        members = frame[frame["image_phash"].astype(str) == str(r.image_phash)]
        st.text(f"pHash {r.image_phash}: {r.postings} postings in {r.groups} groups")
        gallery(bundle, members.assign(posting=members["row"]).head(6), key=f"data-phash-{r.Index}", columns=6,
                limit=6)

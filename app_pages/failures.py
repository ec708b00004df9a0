"""Failure browser: postings ranked by F1 (worst first), filtered by error type, opened as truth vs prediction."""

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.gallery import LEGEND, gallery
from dashboard.text import code, md, plain
from dashboard.widgets import (
    bundle_and_split,
    chosen,
    csv_download,
    model_select,
    pool_caption,
    readable_error,
    selected_rows,
    short,
)
from shopee_core.analysis import decisions as D
from shopee_core.analysis import errors as E
from shopee_core.analysis import query as Q
from shopee_core.errors import ShopeeError

bundle, split = bundle_and_split()
st.title("Failure browser")
st.caption(pool_caption(bundle, split))

TABLE_ROWS = 1000  # rows sent to the browser (a Kaggle pool has 6,850; the export has them all)
VARIANTS = {"min2": "Min2", "base": "plain T", "inb": "INB", "graph": "graph step",  # the sidebar's words
            "fixed": "imported sets"}
ICONS = {"orphan": ":material/person_off:", "over_merged": ":material/merge:", "wrong_members": ":material/close:",
         "missed": ":material/search_off:", "unit_conflict": ":material/straighten:",
         "shared_photo_variant": ":material/photo_library:", "label_noise": ":material/label_off:"}
SHORT = {"orphan": "orphan", "over_merged": "over-merged", "wrong_members": "wrong members", "missed": "missed",
         "unit_conflict": "unit conflict", "shared_photo_variant": "shared photo, different variant",
         "label_noise": "label noise"}
FLAG_HELP = "\n".join(f"- **{SHORT[t]}**: {E.ERROR_HELP[t]}" for t in E.ERROR_TYPES)


def setting_for(model_id: str, variant: str) -> dict:
    s = D.model_setting(bundle, model_id)
    if s["kind"] == "inb_only" or s["fixed"]:
        return {}
    if variant == "inb" and s["has_inb"]:
        return {"inb": 1}
    if variant == "graph" and s["graph"]:
        return {"graph": "tuned"}
    return {"min2": variant != "base"}


def variants_of(model_id: str) -> list[str]:
    s = D.model_setting(bundle, model_id)
    if s["kind"] == "inb_only":
        return ["inb"]
    if s["fixed"]:
        return ["fixed"]
    return ["min2", "base"] + (["inb"] if s["has_inb"] else []) + (["graph"] if s["graph"] else [])


usable = D.usable_models(bundle)

c_model, c_variant = st.columns([3, 2], vertical_alignment="bottom")
with c_model:
    mid = model_select(bundle, "fb-model", allowed=usable)
if mid is None:
    st.stop()
picked = chosen(bundle, mid)  # the sidebar's decision for this model; the control below overrides it here only
with c_variant:
    options = variants_of(mid)
    default = picked.variant if picked.variant in options else options[0]
    variant = state.kept(st.segmented_control, "Decision on this page", options, format_func=VARIANTS.get,
                         default=default, key=f"fb-variant-{mid}-{state.rule()}", required=True,
                         help="Starts on the sidebar's decision; another choice here is an override of this page "
                              "only") or default
setting = picked.setting if variant == picked.variant else setting_for(mid, variant)
if variant != picked.variant:
    st.warning(f"Override on this page: **{VARIANTS[variant]}** — the sidebar's decision gives {md(mid)} "
               f"{md(picked.text)}.", icon=":material/tune:")


def error_words(frame: pd.DataFrame) -> list[str]:
    return [", ".join(SHORT[t] for t in e) for e in frame["errors"]]


try:
    with st.spinner("Scoring every posting and classifying its errors…"):
        table = E.failure_table(bundle, mid, split, setting)
except ShopeeError as exc:
    readable_error(exc)
    st.stop()

# titles as shown, decoded once per split (Q.shown_titles); the error words only for the rows sent
table = table.assign(title=Q.shown_titles(bundle, split)[table["row"].to_numpy()])
counts = E.summary(table)
n = len(table)
failing = int((table["f1"] < 1).sum())
cols = st.columns(4)
rule_text = picked.text if variant == picked.variant else f"{VARIANTS[variant]} (override of this page)"
cols[0].metric("Mean F1", f"{table['f1'].mean():.4f}", border=True,
               help=md(D.decision(bundle, mid, **setting).describe()))
st.caption(f"**{md(mid)}** · F1 {table['f1'].mean():.4f} · {md(rule_text)} (within {md(split)})")
cols[1].metric("Postings with F1 < 1", f"{failing:,} of {n:,}", border=True)
cols[2].metric("Orphans", f"{counts['orphan']:,}", border=True, help=E.ERROR_LABELS["orphan"])
cols[3].metric("Unit conflicts / shared-photo variants / label noise",
               f"{counts['unit_conflict']:,} / {counts['shared_photo_variant']:,} / {counts['label_noise']:,}",
               border=True, help="Postings with at least one false positive of that kind:\n"
               + "\n".join(f"- **{SHORT[t]}**: {E.ERROR_HELP[t]}"
                            for t in ("unit_conflict", "shared_photo_variant", "label_noise")))

types = state.kept(st.pills, "Error types (none chosen: every posting with F1 < 1)", list(E.ERROR_TYPES),
                   selection_mode="multi", key="fb-types",
                   format_func=lambda t: f"{ICONS[t]} {SHORT[t]} · {counts[t]:,}",
                 help=FLAG_HELP) or []
f2c, f3c = st.columns([1, 2], vertical_alignment="bottom")
with f2c:
    need_all = state.kept(st.toggle, "All selected types", key="fb-all", help="Off: rows with any selected type")
with f3c:
    query = state.kept(st.text_input, "Title contains", key="fb-search", placeholder="e.g. 100ml")

filtered = E.filter_table(table, types, "all" if need_all else "any")
if query:
    filtered = filtered[filtered["title"].str.contains(query, case=False, regex=False, na=False)]
filtered = filtered.reset_index(drop=True)

columns = ["posting_id", "title", "f1", "precision", "recall", "n_pred", "n_true", "fp", "fn", "errors_text"]
pct = dict(min_value=0.0, max_value=1.0, format="%.3f")
config = {
    "posting_id": st.column_config.TextColumn("Posting", pinned=True),
    "title": st.column_config.TextColumn("Title", width="large"),
    "f1": st.column_config.ProgressColumn("F1", **pct),
    "precision": st.column_config.NumberColumn("P", format="%.3f"),
    "recall": st.column_config.NumberColumn("R", format="%.3f"),
    "n_pred": st.column_config.NumberColumn("|Y|", help="Predicted set size (self included)"),
    "n_true": st.column_config.NumberColumn("|X|", help="True group size in this split"),
    "fp": st.column_config.NumberColumn("FP", help="Predicted members of other groups"),
    "fn": st.column_config.NumberColumn("FN", help="True members not predicted"),
    "errors_text": st.column_config.TextColumn("Error types", width="medium"),
}
head, dl = st.columns([4, 1], vertical_alignment="bottom")
head.markdown(f"##### {len(filtered):,} posting{'' if len(filtered) == 1 else 's'}, worst F1 first — select one to "
              "open it")
with dl:
    def export() -> pd.DataFrame:  # built on click only
        return filtered.drop(columns=["errors"]).assign(errors=error_words(filtered), model=mid, decision=variant,
                                                        split=split)
    csv_download(export, f"failures_{bundle.name}_{split}_{mid}.csv", "Export CSV", "fb-csv",
                 help="The filtered list with every column")
if len(filtered) > TABLE_ROWS:
    st.caption(f"Showing the {TABLE_ROWS:,} worst of {len(filtered):,} (filter to narrow them down; the CSV export has "
               "every row).")
shown = filtered.head(TABLE_ROWS)
event = st.dataframe(shown.assign(errors_text=error_words(shown))[columns], column_config=config, hide_index=True,
                     key=f"fb-table-{mid}-{variant}", on_select="rerun", selection_mode="single-row",
                     height=min(35 * (min(len(filtered), TABLE_ROWS) + 1) + 3, 400))


if filtered.empty:
    st.info("No posting matches these filters.")
    st.stop()

picked_rows = [r for r in selected_rows(event) if 0 <= r < len(filtered)]
pick = filtered["posting_id"].iat[picked_rows[0]] if picked_rows else None
if pick is not None and pick != st.session_state.get("fb-last-pick"):  # a new click in the table
    st.session_state["fb-last-pick"] = pick
    state.set("posting", pick)
wanted = state.get("posting")
current = wanted if wanted is not None and (filtered["posting_id"] == wanted).any() else filtered["posting_id"].iat[0]
# the picker offers the rows the table shows (sending 7,000 options costs the browser a second), plus the current one
ids = list(dict.fromkeys(shown["posting_id"].tolist() + [current]))
# the key carries the decision: the labels show F1s, and a widget kept under one key keeps its old labels
inspect_key = f"fb-inspect-{mid}-{variant}"
if st.session_state.get(inspect_key) not in ids or st.session_state.get("fb-inspect-synced") != current:
    st.session_state[inspect_key] = current
offered = pd.concat([shown, filtered[filtered["posting_id"] == current]])
titles = dict(zip(offered["posting_id"], offered["title"]))
f1s = dict(zip(offered["posting_id"], offered["f1"]))
inspected = st.selectbox("Inspect", ids, key=inspect_key,
                         format_func=lambda p: f"F1 {f1s[p]:.3f} · {plain(p)} · {plain(short(titles[p], 80))}")
st.session_state["fb-inspect-synced"] = inspected
if inspected != current:  # the user picked another posting here: share it with the other pages
    state.set("posting", inspected)
chosen_posting = inspected

# ------------------------------------------------------------------ one failure
rec = filtered[filtered["posting_id"] == chosen_posting].iloc[0]
row = int(rec["row"])
st.divider()
t1, t2 = st.columns([4, 1], vertical_alignment="center")
with t1:
    badges = " ".join(f":orange-badge[{ICONS[t]} {SHORT[t]}]" for t in rec["errors"])
    st.markdown(f"#### {md(rec['title'])}\n{code(chosen_posting)} · group {md(rec['label_group'])} · "
                f"**F1 {rec['f1']:.3f}** (P {rec['precision']:.2f}, R {rec['recall']:.2f}) · |Y| {rec['n_pred']:,} "
                f"vs |X| {rec['n_true']:,} · FP {rec['fp']:,} · FN {rec['fn']:,}  \n{badges}")
with t2:
    if st.button("Query by example", key="fb-open", help="Open this posting in Query by example",
                 icon=":material/image_search:", width="stretch"):
        state.open_posting(chosen_posting)

detail = E.row_detail(bundle, mid, split, row, setting)
items = detail.assign(via=detail["reason"], show_via=detail["reason"] != "")
truth = items[items["in_truth"]]
pred = items[items["predicted"]]
st.caption(LEGEND)
c_truth, c_pred = st.columns(2, gap="large")
with c_truth:
    st.markdown(f"**True group** — {len(truth)} postings, {int((truth['mark'] == 'missed').sum())} missed")
    gallery(bundle, truth[["posting", "mark"]], key="fb-truth", columns=4, limit=24)
with c_pred:
    st.markdown(f"**Predicted by {md(mid)}** — {len(pred)} postings, {int((pred['mark'] == 'wrong').sum())} wrong")
    gallery(bundle, pred[["posting", "mark", "via", "show_via"]], key="fb-pred", columns=4, limit=24)

others = [m for m in usable if m != mid]
if others:
    also = state.kept(st.multiselect, "Compare with other models on this posting", others, key="fb-also",
                      default=[m for m in state.get("models") if m in others][:2],
                      help="Each on the sidebar's decision")
    for other in also:
        try:
            s = chosen(bundle, other).setting
            d = E.row_detail(bundle, other, split, row, s)
            f1 = D.scores(bundle, other, split, rows=True, **s)["rows"]["f1"][row]
        except ShopeeError as exc:
            readable_error(exc)
            continue
        p = d[d["predicted"]].assign(via=d["reason"], show_via=d["reason"] != "")
        missed = int((d["mark"] == "missed").sum())
        st.markdown(f"**{md(other)}** — F1 {f1:.3f} on this posting ({md(chosen(bundle, other).text)}) · {len(p)} "
                    f"predicted, {int((p['mark'] == 'wrong').sum())} wrong, {missed} missed")
        gallery(bundle, pd.concat([p, d[d["mark"] == "missed"]])[["posting", "mark", "via", "show_via"]]
                .fillna({"via": "", "show_via": False}), key=f"fb-also-{other}", columns=8, limit=16)

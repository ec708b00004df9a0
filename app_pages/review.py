"""Review suspects: label-noise suspects one at a time, the two sides next to each other, verdict keys y/n/s/u."""

import shlex

import pandas as pd
import streamlit as st

from dashboard.data import review_file, reviews_path, truth_view
from dashboard.gallery import card_html, gallery, thumb_data_uri
from dashboard.text import code, md
from dashboard.widgets import bundle_and_split, csv_download
from shopee_core.analysis import noise
from shopee_core.analysis.reviews import VERDICTS, Suspect
from shopee_core.data.text import display_title
from shopee_core.errors import ShopeeError

# Streamlit has no key bindings: this script (constant text, no posting data in it) listens for y/n/s/u on the
# page and clicks the button of that verdict; it runs in the page itself (st.html is not iframed), once per tab
KEYS_JS = """<script>
(function () {
  if (window.__shopeeReviewKeys) { return; }
  window.__shopeeReviewKeys = true;
  var buttons = {y: "rv-y", n: "rv-n", s: "rv-s", u: "rv-u"};
  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) { return; }
    var t = e.target, tag = ((t && t.tagName) || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || (t && t.isContentEditable)) { return; }
    var key = buttons[(e.key || "").toLowerCase()];
    if (!key) { return; }
    var found = document.querySelectorAll(".st-key-" + key + " button");
    for (var i = 0; i < found.length; i++) {  // the visible, enabled one (a rerun may leave a stale copy)
      if (!found[i].disabled && found[i].offsetParent !== null) {
        e.preventDefault();
        found[i].click();
        return;
      }
    }
  });
})();
</script>"""

bundle, split = bundle_and_split()
base = bundle.labelled  # suspects and verdicts are about the labels the bundle ships

st.title("Review suspects")
st.caption("Postings the models place with another group, and group pairs they match across as strongly as within: "
           "the most likely label noise first. Say **y** same product (the fix applies), **n** different products "
           "(the labels stand), **s** skip, **u** undo. Verdicts go to a review file beside the bundle; the sidebar's "
           "*Truth: with my fixes* re-scores every page with them.")

try:
    rf = review_file(base)
    records = rf.records()
except ShopeeError as exc:
    st.error(f"Review file refused (nothing is written to it until it is fixed or another one is named with "
             f"`-- --reviews FILE`): {md(exc)}", icon=":material/error:")
    st.stop()
try:
    # read from the bundle when it ships them (built since the finder's results are shipped); otherwise found once
    # per server and bundle: about a minute and gigabytes for a 70,000-posting pool on 2 cores (memory_tour.py)
    bar = []

    def finder_step(pool: str, done: int, total: int, what: str) -> None:
        if not bar:
            bar.append(st.progress(0.0))
        bar[0].progress(done / total, text=f"Finding suspects in the {md(pool)} pool from every model's evidence "
                                           f"(once per server): {md(what)}, step {done} of {total}")
    with st.spinner("Finding suspects from every model's evidence…"):
        suspects = noise.bundle_suspects(base, split, evidence=False, steps=finder_step)
    for b in bar:
        b.empty()
except ShopeeError as exc:
    st.error(md(exc), icon=":material/error:")
    st.stop()

live = rf.live(records)
c_kind, c_blind, c_file = st.columns([3, 2, 5], vertical_alignment="bottom")
with c_kind:
    kinds = st.segmented_control("Suspects", ["posting", "group_pair"], selection_mode="multi",
                                 default=["posting", "group_pair"], key="rv-kinds",
                                 format_func={"posting": "Postings", "group_pair": "Group pairs"}.get) or []
with c_blind:
    blind = st.toggle("Blind mode", key="rv-blind", help="Hide the score, the evidence and every model's similarity: "
                                                         "judge from the photos and titles alone.")
with c_file:
    st.caption(f"Review file: {code(reviews_path(base))}" + ("" if noise.finder_shipped(base, split) else
               f" · suspects found by this server (the bundle ships none for its models and this finder): "
               f"{code(f'python -m shopee_core suspects --bundle {shlex.quote(str(base.root))} --store')} ships them"))

shown = suspects[suspects["kind"].isin(kinds)].reset_index(drop=True)
verdict_of = [live.get(Suspect(r.kind, r.posting_id, int(r.label_group), int(r.other_label_group)).key)
              for r in shown.itertuples(index=False)]
status = pd.Series([None if v is None else v["verdict"] for v in verdict_of], dtype=object)
done = int(status.isin(["y", "n"]).sum())
skipped = int((status == "s").sum())
counts = status.value_counts()
st.progress(done / len(shown) if len(shown) else 1.0,
            text=f"Reviewed {done} of {len(shown)} · {int(counts.get('y', 0))} same · {int(counts.get('n', 0))} "
                 f"different · {skipped} skipped (they come back last)")

queue = [i for i in range(len(shown)) if status[i] is None] + [i for i in range(len(shown)) if status[i] == "s"]
mine = st.session_state.setdefault("rv-mine", [])  # this tab's verdict ids, newest last: u takes back its own


def record(r, verdict: str) -> None:
    try:
        rec = rf.add(Suspect(r.kind, r.posting_id, int(r.label_group), int(r.other_label_group)), verdict,
                     split=r.split, score=float(r.score))
        mine.append(rec["id"])
    except ShopeeError as exc:
        st.session_state["rv-error"] = str(exc)


def undo() -> None:
    try:
        while mine:
            if rf.undo(mine.pop()) is not None:
                return
        if rf.undo() is None:
            st.session_state["rv-error"] = "Nothing to undo."
    except ShopeeError as exc:
        st.session_state["rv-error"] = str(exc)


if st.session_state.get("rv-error"):
    st.warning(md(st.session_state.pop("rv-error")), icon=":material/warning:")

st.html(KEYS_JS, unsafe_allow_javascript=True)
current = shown.iloc[queue[0]] if queue else None
b_y, b_n, b_s, b_u = st.columns(4)
b_y.button("Same product (y)", key="rv-y", on_click=record, args=(current, "y"), disabled=current is None,
           width="stretch", type="primary", help="The fix applies: move the posting to group B / merge the groups")
b_n.button("Different (n)", key="rv-n", on_click=record, args=(current, "n"), disabled=current is None,
           width="stretch", help="The labels stand")
b_s.button("Skip (s)", key="rv-s", on_click=record, args=(current, "s"), disabled=current is None,
           width="stretch", help="Decide later: skipped suspects come back after the others")
b_u.button("Undo (u)", key="rv-u", on_click=undo, width="stretch", help="Take back the last verdict")

if current is None:
    st.success("Every suspect in this view has a verdict." if len(shown) else "No suspects in this view.",
               icon=":material/task_alt:")
else:
    r = current
    rows = base.split_rows(r.split)
    post = base.postings
    labels = post["label_group"].to_numpy()
    b_members = rows[labels[rows] == r.other_label_group]
    left, right = st.columns(2, gap="large")
    if r.kind == "posting":
        x = int(rows[int(r.row)])
        a_members = rows[(labels[rows] == r.label_group) & (rows != x)]
        with left:
            st.subheader("The posting")
            st.markdown(card_html(thumb_data_uri(base, x), "", [], "query", size=200),
                        unsafe_allow_html=True)
            st.text(display_title(post["title"].iat[x]))
            st.text(f"{post['posting_id'].iat[x]} · labelled group {r.label_group} "
                    f"({len(a_members) + 1} postings in {r.split})")
            st.caption("The rest of its group:")
            gallery(base, pd.DataFrame({"posting": a_members}), key="rv-a", columns=4, open_button=False,
                    empty="It is alone in its group.", limit=8)
        with right:
            st.subheader("Group B: does it show this product?")
            st.text(f"group {r.other_label_group} · {len(b_members)} postings")
            gallery(base, pd.DataFrame({"posting": b_members}), key="rv-b", columns=4, open_button=False, limit=12)
    else:
        a_members = rows[labels[rows] == r.label_group]
        for col, name, group, members in ((left, "Group A", r.label_group, a_members),
                                          (right, "Group B", r.other_label_group, b_members)):
            with col:
                st.subheader(name)
                st.text(f"group {group} · {len(members)} postings")
                gallery(base, pd.DataFrame({"posting": members}), key=f"rv-{name[-1]}", columns=4,
                        open_button=False, limit=12)
    what = ("the posting shows group B's product: move it to B" if r.kind == "posting"
            else "groups A and B are one product: merge them")
    st.markdown(f"**Suggested fix:** {what}.")
    if not blind:
        st.metric("Score (log-odds for the fix)", f"{r.score:.2f}",
                  help="Posting: how much likelier the models find it one product with B than with its own group "
                       "(image and text log-odds added). Group pair: log-odds that a posting of A and one of B are "
                       "one product. A stated quantity or variant that conflicts lowers it.")
        try:
            table, said = noise.suspect_evidence(base, r)
        except ShopeeError as exc:
            st.caption(f"Evidence and per-model similarities unavailable: {md(exc)}")
        else:
            st.text(said)
            st.dataframe(table, hide_index=True, width="stretch", column_config={
                "sim_across": st.column_config.NumberColumn("highest similarity across", format="%.3f",
                                                            help="empty: beyond the model's top k"),
                "p_across": st.column_config.NumberColumn("calibrated probability", format="%.3f"),
                "sim_own_group": st.column_config.NumberColumn("highest similarity to its own group", format="%.3f"),
                "weight": st.column_config.NumberColumn("weight (valid F1)", format="%.3f")})

with st.expander(f"Verdicts ({len(live)})", icon=":material/history:"):
    table = rf.verdicts()
    if table.empty:
        st.caption("No verdict yet.")
    else:
        table["verdict"] = table["verdict"].map(VERDICTS)
        st.dataframe(table.iloc[::-1], hide_index=True, width="stretch")
    try:
        _, fixes, _ = truth_view(base)
    except ShopeeError as exc:
        st.error(md(exc))
    else:
        st.caption(f"{len(fixes)} postings change group under your fixes. "
                   f"{code(f'python -m shopee_core relabel --data DIR --reviews {reviews_path(base)} --out DIR2')} "
                   f"writes a catalog with them for the next training run.")
        csv_download(fixes, "label_fixes.csv", "label_fixes.csv", "rv-fixes",
                     help="posting_id, old_label_group, new_label_group, reason")

"""Query by example: a posting of the split (or an upload) and what each model matches to it."""

import base64
import io

import streamlit as st

from dashboard import state
from dashboard.gallery import LEGEND, card_html, gallery, model_matches, model_picker, posting_card, posting_picker
from dashboard.text import code, md
from dashboard.widgets import bundle_and_split, chosen, chosen_f1
from shopee_core.analysis import decisions
from shopee_core.analysis import query as q
from shopee_core.errors import ShopeeError

bundle, split = bundle_and_split()  # stops the page with a readable message when there is none

st.title("Query by example")
st.caption("What each model matches to one posting, marked against its true group — or what it finds for a "
           "photo you upload or a title you type. Retrieval stays within the chosen split.")
mode = state.kept(st.radio, "Query", ["A posting of the split", "Upload a photo / type a title"], horizontal=True,
                  key="query-mode", label_visibility="collapsed")
n_cols = 6


def model_header(mid: str, summary: dict | None, setting: str, split_f1: bool = True) -> None:
    if split_f1:
        st.markdown(f"**{md(mid)}** · {md(chosen_f1(bundle, mid, split))} (within {md(split)})  \n{md(bundle.entry(mid).label)}")
    else:
        st.markdown(f"**{md(mid)}** — {md(bundle.entry(mid).label)}")
    if summary is not None:
        st.caption(f"this posting: F1 **{summary['f1']:.3f}** · precision {summary['precision']:.2f} · "
                   f"recall {summary['recall']:.2f} · {summary['tp'] - 1:,} found · {summary['wrong']:,} wrong · "
                   f"{summary['missed']:,} missed · {setting}")
    else:
        st.caption(setting)


def setting_text(mid: str, tuned_base: bool = False) -> str:
    """The model's decision as Markdown (its description is plain text naming models)."""
    if decisions.is_predictions_only(bundle, mid):
        return "imported predicted sets (fixed)"
    try:
        if tuned_base:  # an upload is matched at the tuned thresholds of the stored space (no INB for it)
            return md(decisions.decision(bundle, mid).describe())
        return md(decisions.decision(bundle, mid, **chosen(bundle, mid).setting).describe())
    except ShopeeError as exc:
        return md(exc)


if mode == "A posting of the split":
    row = posting_picker(bundle, split, key="q")
    grow = int(bundle.split_rows(split)[row])
    labels = bundle.labels(split)
    group_size = int((labels == labels[row]).sum())
    posting_card(bundle, grow, split)

    c_models, c_extra = st.columns([5, 1], vertical_alignment="bottom")
    with c_models:
        models = model_picker(bundle, key="q-models", min_count=2,
                              help="The shared selection, topped up with the best and the runner-up under the "
                                   "sidebar's decision (validation F1)")
    with c_extra:
        extra = state.kept(st.number_input, "Near misses", min_value=0, max_value=20, value=3, key="q-extra",
                           help="Also show the nearest candidates of other groups that were not predicted")
    st.caption(LEGEND + " · T−d: distance to the threshold (positive = inside)")
    if not models:
        st.info("Choose at least one model.")
    for mid in models:
        with st.container(border=True):
            try:
                pred = decisions.predictions(bundle, mid, split, **chosen(bundle, mid).setting)
                matches = model_matches(bundle, mid, split, row, pred[row], extra=int(extra))
            except ShopeeError as exc:
                model_header(mid, None, setting_text(mid))
                st.warning(f"{md(mid)}: {md(exc)}")
                continue
            model_header(mid, q.row_summary(matches, group_size), setting_text(mid))
            gallery(bundle, matches.assign(show_via=len(q.sides(bundle, mid)) > 1), key=f"q-{mid}",
                    columns=n_cols, empty="Only the posting itself is predicted and its group has no other member.")
else:
    ids = q.queryable(bundle)
    missing = q.unqueryable_reasons(bundle)
    if not ids:
        st.warning("This bundle ships no query encoder (no model with `query: true`)."
                   + "".join(f"  \n{code(m)}: {md(why)}" for m, why in missing.items()))
        st.stop()
    c_img, c_title = st.columns([1, 1])
    with c_img:
        upload = st.file_uploader("Product photo", type=["jpg", "jpeg", "png", "webp", "bmp", "gif"],
                                  key="q-upload", help="At most 10 MB and 25 million pixels")
    with c_title:
        title = state.kept(st.text_input, "Title", key="q-title", placeholder="e.g. kaos polos cotton combed 30s")
        top = state.kept(st.slider, "Matches per model", min_value=4, max_value=36, value=12, step=4, key="q-top")
    image = None
    if upload is not None:
        try:
            image = q.read_upload(upload.getvalue(), upload.name)
        except ShopeeError as exc:
            st.error(md(exc))
    given = ({"title"} if title.strip() else set()) | ({"image"} if image is not None else set())
    if image is not None or title.strip():
        left, right = st.columns([1, 5], gap="medium")
        if image is not None:
            buf = io.BytesIO()
            thumb = image.image.copy()
            thumb.thumbnail((160, 160))
            thumb.save(buf, format="JPEG", quality=85)
            uri = "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
            with left:
                st.markdown(card_html(uri, "", [], "query", size=160), unsafe_allow_html=True)
        with right:
            st.markdown(f"#### {md(title.strip()) or '(no title)'}")
            if image is not None:
                st.caption(f"{md(image.name)} · {image.size[0]:d}×{image.size[1]:d} px · pHash {code(image.phash)}")
            st.caption(f"Searching the **{md(split)}** split ({len(bundle.split_rows(split))} postings).")
    usable = [m for m in ids if q.needs(bundle, m) <= given] if given else ids
    models = model_picker(bundle, key="q-up-models", label="Models with a query encoder", allowed=ids,
                          default=usable[:3],
                          help="Models whose encoder ships with the bundle (TF-IDF, pHash, zero-shot MiniLM / e5 / "
                               "EfficientNet-Lite) and fusions or unions made only of them")
    if missing:
        st.caption("Not offered: " + "; ".join(f"{code(m)} — {md(why)}" for m, why in missing.items()))
    if not given:
        st.info("Upload a product photo and/or type a title to search the split.")
        st.stop()
    st.caption(":blue[**● predicted**] at the model's tuned thresholds · grey: not predicted · "
               "T−d: distance to the threshold (positive = inside)")
    for mid in models:
        need = q.needs(bundle, mid)
        with st.container(border=True):
            model_header(mid, None, setting_text(mid, tuned_base=True), split_f1=False)
            if not need <= given:
                st.caption(f"needs {md(' and '.join(sorted(need - given)))}: add it above to query this model")
                continue
            try:
                with st.spinner(f"embedding with {md(mid)}…"):
                    matches = q.upload_matches(bundle, mid, split, title=title or None, image=image, top=int(top))
            except ShopeeError as exc:
                st.warning(f"{md(mid)}: {md(exc)}")
                continue
            n_pred = int(matches["predicted"].sum())
            st.caption(f"{n_pred:,} predicted among the {len(bundle.split_rows(split))} postings of {md(split)}")
            gallery(bundle, matches, key=f"qu-{mid}", columns=n_cols)

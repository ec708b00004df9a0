"""Small rendering helpers the Leaderboard, Thresholds and Failure pages share.

Pages stay thin: they lay out widgets and call ``shopee_core.analysis``; the
repeated bits (bundle + split resolution, metric rows with deltas, a single-model
picker bound to the shared ``models`` state, the pool caption, CSV downloads) live here.
"""

from __future__ import annotations

import streamlit as st

from dashboard import state
from dashboard.data import current_bundle
from dashboard.text import code, md, plain, short
from shopee_core.analysis import decisions as D
from shopee_core.analysis import leaderboard as lb
from shopee_core.errors import ShopeeError

FAMILY_COLOURS = {"image": "#1f77b4", "text": "#2ca02c", "fusion": "#ee4d2d", "baseline": "#7f7f7f"}
METRIC_HELP = {
    "f1": "Mean over postings of 2|X∩Y| / (|X|+|Y|), X = true group, Y = predicted set (self included) — "
          "the Kaggle metric.",
    "precision": "Mean over postings of |X∩Y| / |Y|.",
    "recall": "Mean over postings of |X∩Y| / |X|.",
}

NO_MODELS = ("This bundle has no models yet: import one with {command} (or `--predictions submission.csv`); see "
             "the README, \"Bring your own model\".")
IMPORT_COMMAND = ("python -m shopee_core import-model --bundle {root} --id ID --label TEXT --family text "
                  "--embeddings FILE.npy --ids IDS.csv")
FIXED = ("{mid} is an imported predictions-only model: its predicted sets are fixed (no embeddings, so no "
         "thresholds, Min2, INB or map for it).")


def bundle_and_split():
    """The current bundle and split, or stop the page with a readable message."""
    bundle = current_bundle()
    if bundle is None:
        st.stop()
    split = state.get("split")
    if split not in bundle.splits:
        split = bundle.splits[0]
    if not bundle.has_labels:
        st.error(f"Bundle {code(bundle.name)} has postings without `label_group`: scores need labels.")
        st.stop()
    if not bundle.entries:
        st.info(NO_MODELS.format(command=code(IMPORT_COMMAND.format(root=bundle.root))), icon=":material/info:")
        st.stop()
    return bundle, split


def pool_caption(bundle, split: str, extra: str = "") -> str:
    p = lb.pool(bundle, split)
    if split == "all":
        text = (f"F1 within **all labelled postings** as one candidate pool — {p['postings']:,} postings, "
                f"{p['groups']:,} groups (train + valid + test, as big as Kaggle's test set); thresholds were tuned "
                "on **valid**. Trained models saw the train postings, which flatters their scores here.")
        return text + (" " + md(extra) if extra else "")
    text = (f"F1 within the **{md(split)}** split — {p['postings']:,} postings, {p['groups']:,} groups: each posting "
            f"is matched only against postings of this split (the candidate pool); thresholds were tuned on "
            f"**valid**.")
    return text + (" " + md(extra) if extra else "")


def metric_row(current: dict, reference: dict | None = None, *, keys=("f1", "precision", "recall"),
               extra: list[tuple[str, str, str | None]] | None = None, border: bool = True) -> None:
    """st.metric per score with the delta against ``reference`` (4 decimals); ``extra``: more
    (label, value, help) metrics, as plain text."""
    names = {"f1": "F1", "precision": "Precision", "recall": "Recall"}
    cols = st.columns(len(keys) + len(extra or []))
    for col, k in zip(cols, keys):
        if reference is None:
            col.metric(md(names.get(k, k)), f"{current[k]:.4f}", help=METRIC_HELP.get(k), border=border)
            continue
        d = current[k] - reference[k]
        flat = abs(d) < 5e-5
        # a difference to the tuned setting, not an uncertainty: say so rather than "±"
        col.metric(md(names.get(k, k)), f"{current[k]:.4f}", delta="= tuned" if flat else f"{d:+.4f} Δ vs tuned",
                   delta_color="off" if flat else "normal", delta_arrow="off" if flat else "auto",
                   help=METRIC_HELP.get(k), border=border)
    for col, (label, value, help_) in zip(cols[len(keys):], extra or []):
        col.metric(md(label), md(value), help=md(help_) if help_ else None, border=border)


def model_options(bundle, allowed=None) -> list[str]:
    return [e.id for e in bundle.entries if allowed is None or e.id in allowed]


def best_model(bundle, allowed=None) -> str | None:
    """The model with the best validation F1 under the sidebar's decision among ``allowed``."""
    return next((m for m in lb.ranked(bundle, state.rule()) if allowed is None or m in allowed), None)


def chosen(bundle, model_id: str) -> D.Chosen:
    """The sidebar's decision as it applies to ``model_id`` (the one resolution every page uses)."""
    return D.chosen(bundle, model_id, state.rule())


def chosen_f1(bundle, model_id: str, split: str) -> str:
    """ "F1 0.8757 · INB, tuned on valid": the model's F1 within ``split`` under the sidebar's decision."""
    c = chosen(bundle, model_id)
    try:
        f1 = bundle.cached(("chosen_f1", split, model_id, c.variant),
                           lambda: D.scores(bundle, model_id, split, **c.setting)["f1"])
    except ShopeeError as exc:
        return f"F1 n/a ({exc})"
    return c.f1_text(f1)


def model_select(bundle, key: str, label: str = "Model", allowed=None, help: str | None = None) -> str | None:
    """One model, bound to the shared ``models`` state (the first selected model that fits,
    else the best on validation); choosing one puts it first in the shared selection."""
    ids = model_options(bundle, allowed)
    if not ids:
        st.warning("This bundle has no model this view can use.")
        return None
    chosen = next((m for m in state.get("models") if m in ids), None) or best_model(bundle, ids) or ids[0]
    synced = f"{key}-synced"
    if st.session_state.get(key) not in ids or st.session_state.get(synced) != chosen:
        st.session_state[key] = chosen
    # the id alone: a chosen option cannot wrap, and at 1280 px "id — label" is cut in a narrow column
    value = st.selectbox(label, ids, key=key, help=(help + "  \n" if help else "") + md(short(bundle.entry(
        chosen).label, 200)), format_func=plain)
    if value != chosen:
        state.set("models", [value] + [m for m in state.get("models") if m != value])
    st.session_state[synced] = value
    return value


def csv_download(frame, file_name: str, label: str, key: str, help: str | None = None) -> None:
    """A CSV download for people, made on click (not on every rerun: 7,000 rows cost ~0.1 s to format);
    ``frame`` a DataFrame or a function that builds one (then built on click too). Text cells that a
    spreadsheet would run as a formula are neutralised (shopee_core.io.formula_safe)."""
    from shopee_core.io import people_csv

    st.download_button(label, lambda: people_csv(frame() if callable(frame) else frame).encode("utf-8"),
                       file_name=file_name,
                       mime="text/csv", key=key, icon=":material/download:", help=help, on_click="ignore")


def explain_variants() -> None:
    st.markdown(
        "- **Plain threshold** — predict every candidate (top-k by cosine similarity, k = the bundle's k, self "
        "included) with cosine distance d = 1 − cos below **T**.\n"
        "- **Min2** (\"at least two\") — every true group has ≥ 2 members, so a posting predicted alone is always "
        "wrong: when only itself passes T, add its nearest other candidate if that one is within a looser **T2**.\n"
        "- **INB** (neighbourhood blending) — replace each embedding by the similarity-weighted sum of itself and "
        "its accepted neighbours, re-normalise, search again and match with new thresholds **T′, T2′**. "
        "`…_inb3` entries iterate it three times on the best fusion, as the competition's 1st place did.\n"
        "- **Graph step** — after all of the above, the predicted sets as a graph: keep only *mutual* pairs, "
        "*closure* into components of at most MAX members, *cluster* by average linkage to a mean group size S, or "
        "*cut bridges* weaker than τ; the step and its parameter are tuned on validation (Group studio, Thresholds "
        "page).\n"
        "- **Best on validation** — for each model the variant with the best validation F1, reported on the "
        "chosen split (choosing on the split you report would flatter it).")


def readable_error(exc: Exception) -> None:
    st.error(md(str(exc) or type(exc).__name__), icon=":material/error:")


def selected_rows(event) -> list[int]:
    """Row positions picked in an ``st.dataframe(on_select=...)`` (a plain function: AppTest cannot
    click rows, so pages route selections through here and tests call it directly)."""
    if event is None:
        return []
    sel = event.get("selection", {}) if isinstance(event, dict) else getattr(event, "selection", None)
    rows = sel.get("rows", []) if isinstance(sel, dict) else getattr(sel, "rows", []) or []
    return [int(r) for r in rows]

"""Intervals in the dashboard: the Leaderboard's whiskers and "tied with the best", its A vs B panel,
and the Thresholds page's live interval and threshold-stability band.

Thin: the statistics and the bundle side are ``shopee_core.stats`` and
``shopee_core.analysis.intervals``; these functions lay out widgets and format numbers.
Untrusted text (model labels) is never rendered as Markdown here: ids are shown in code
spans or plain widgets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from dashboard import charts, state
from dashboard.text import code, md, plot_text
from shopee_core import matching as M
from shopee_core import stats
from shopee_core.analysis import decisions as D
from shopee_core.analysis import intervals as I
from shopee_core.errors import ShopeeError

RESAMPLES = stats.DEFAULT_RESAMPLES
STABILITY_RESAMPLES = 200
VARIANT_NAMES = {"best": "Best on valid", "base": "Plain T", "min2": "Min2", "inb": "INB"}
TIES = ("P(A > B): the share of the 1,000 resamples in which A's mean F1 is larger (ties — equal means — count "
        "as not larger). A difference is real (significant) when its 95 % interval excludes 0.")


# --------------------------------------------------------------------------- leaderboard
def leaderboard_intervals(bundle, split: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (the leaderboard rows with numbers) with the interval columns of
    :func:`shopee_core.analysis.intervals.leaderboard` merged in by model id."""
    shown = frame.dropna(subset=["f1"])
    keep = ["id", "f1_lo", "f1_hi", "precision_lo", "precision_hi", "recall_lo", "recall_hi", "gap", "gap_lo",
            "gap_hi", "p_best_better", "tied"]
    try:
        iv = I.leaderboard(bundle, split, list(zip(shown["id"], shown["variant"])), resamples=RESAMPLES)
    except ShopeeError as exc:  # e.g. a pool of one label group: the numbers stand, without intervals
        st.caption(f"No intervals: {md(exc)}")
        return frame.assign(**{c: np.nan for c in keep[1:]})
    out = frame.merge(iv[keep], on="id", how="left")
    out.attrs.update(iv.attrs)
    return out


def whiskers(sub: pd.DataFrame) -> dict | None:
    """Plotly ``error_x`` of the bars: the 95 % interval around each F1."""
    if "f1_lo" not in sub or sub["f1_lo"].isna().all():
        return None
    return dict(type="data", symmetric=False, array=(sub["f1_hi"] - sub["f1"]).to_numpy(),
                arrayminus=(sub["f1"] - sub["f1_lo"]).to_numpy(), color="#424242", thickness=1.4, width=3)


def bar_text(sub: pd.DataFrame) -> list[str]:
    """Each bar's F1, with "≈ best" on the models tied with the best."""
    tied = sub["tied"] if "tied" in sub else pd.Series(False, index=sub.index)
    best = sub.get("gap", pd.Series(np.nan, index=sub.index))
    return [plot_text(f"{v:.3f}" + (" ≈ best" if t is True and g > 0 else "")) for v, t, g in zip(sub["f1"], tied, best)]


def table_columns(table: pd.DataFrame) -> pd.DataFrame:
    """Text columns of the intervals for the leaderboard table: ``± F1``, ``F1 95 %`` and ``vs best``."""
    def pm(lo, hi):
        return "—" if pd.isna(lo) else f"± {(hi - lo) / 2:.4f}"

    def rng(lo, hi):
        return "—" if pd.isna(lo) else f"{lo:.4f}–{hi:.4f}"

    def vs_best(gap, lo, hi, p, tied):
        if pd.isna(gap):
            return "—"
        if gap <= 0:
            return "best"
        what = "tied" if tied is True else "worse"
        return f"{what}: {-gap:+.4f} [{-hi:+.4f}, {-lo:+.4f}] · P(best ahead) {p:.2f}"
    return table.assign(
        f1_pm=[pm(lo, hi) for lo, hi in zip(table["f1_lo"], table["f1_hi"])],
        f1_ci=[rng(lo, hi) for lo, hi in zip(table["f1_lo"], table["f1_hi"])],
        vs_best=[vs_best(*x) for x in zip(table["gap"], table["gap_lo"], table["gap_hi"], table["p_best_better"],
                                          table["tied"])])


COLUMN_CONFIG = {
    "f1_pm": st.column_config.TextColumn("± F1", help="Half the width of the 95 % interval of F1 (1,000 resamples of "
                                                      "whole label groups of the pool)"),
    "f1_ci": st.column_config.TextColumn("F1 95 %", help="Percentile interval of mean F1 over 1,000 resamples of the "
                                                         "pool's label groups (rows of a group share one truth set, so "
                                                         "groups, not postings, are resampled)"),
    "vs_best": st.column_config.TextColumn("vs best", width="medium",
                                           help="Gap to the best F1 in this view with its paired 95 % interval (the "
                                                "same resamples for both). 'tied': the interval includes 0, so the "
                                                "data cannot tell this model from the best."),
}


def caption(frame: pd.DataFrame) -> str:
    a = frame.attrs
    if "resamples" not in a:
        return "No intervals for this pool."
    tied = frame[frame["tied"].eq(True) & (frame["gap"] > 0)]["id"].tolist()
    best = a.get("best", "?")
    text = (f"Whiskers: 95 % intervals from {a.get('resamples', RESAMPLES):,} resamples of the pool's "
            f"{a.get('groups', 0):,} label groups (seed {int(a.get('seed', 0))}). ≈ best: tied with {code(best)} — the paired "
            f"interval of the gap includes 0 (each model against the best, no correction for the many comparisons).")
    if tied:
        text += " Tied with the best: " + ", ".join(code(m) for m in tied) + "."
    else:
        text += " No other model is tied with the best."
    return text


# --------------------------------------------------------------------------- A vs B
def parse_entry(text: str, ids: list[str]) -> tuple[str, str] | None:
    """``"model"`` or ``"model:variant"`` from the URL (None when it names nothing of this bundle)."""
    mid, _, variant = str(text).partition(":")
    variant = variant or "best"
    if mid not in ids or variant not in VARIANT_NAMES:
        return None
    return mid, variant


def _entry_picker(bundle, ids: list[str], side: str, default: tuple[str, str]) -> tuple[str, str]:
    key_m, key_v = f"lb-ab-{side}", f"lb-ab-{side}-variant"
    if st.session_state.get(key_m) not in ids:
        st.session_state[key_m] = default[0]
    c1, c2 = st.columns([3, 2])
    mid = c1.selectbox(f"Model {side.upper()}", ids, key=key_m)
    variants = [v for v in VARIANT_NAMES if I.resolve(bundle, mid, v) is not None]
    if st.session_state.get(key_v) not in variants:
        st.session_state[key_v] = default[1] if default[1] in variants and default[0] == mid else variants[0]
    variant = c2.selectbox(f"Decision {side.upper()}", variants, key=key_v, format_func=VARIANT_NAMES.get)
    return mid, variant


# beyond this many postings in the shown pool, the extras that cost seconds wait for a click: A-vs-B's
# slices (reading every title for quantities and error types: ~3 s of the Leaderboard's first visit at
# 70,000) and the threshold-stability band (200 threshold searches, ~1.6 s of every re-weighting step)
LAZY_ABOVE = 20_000


def costly_extra(bundle, split: str, label: str, key: str, help: str) -> bool:
    """A toggle for a costly extra: on by default for a pool up to LAZY_ABOVE postings, off beyond."""
    big = len(bundle.split_rows(split)) > LAZY_ABOVE
    return state.kept(st.toggle, label, value=not big, key=key,
                      help=help + (" (seconds at this pool's size: off until asked)" if big else ""))


def ab_panel(bundle, split: str, frame: pd.DataFrame, view_variant: str) -> None:
    """A against B on the split: the paired difference with its interval, P(A > B), and the slices of the
    pool where the two differ most, each with its own paired interval. The pair is kept in the URL."""
    st.markdown("##### A vs B")
    ranked = frame.dropna(subset=["f1"]).sort_values("f1", ascending=False)
    ids = [e.id for e in bundle.entries if any(I.resolve(bundle, e.id, v) for v in VARIANT_NAMES)]
    if len(ids) < 2 or len(ranked) < 1:
        st.info("A vs B needs two models with numbers in this split.")
        return
    shared = [parse_entry(x, ids) for x in state.get("ab")[:2]]
    top = list(ranked["id"][:2]) + [m for m in ids if m not in set(ranked["id"][:2])]
    defaults = [shared[i] if i < len(shared) and shared[i] else (top[i], view_variant) for i in range(2)]
    ca, cb = st.columns(2, gap="large")
    with ca:
        a = _entry_picker(bundle, ids, "a", defaults[0])
    with cb:
        b = _entry_picker(bundle, ids, "b", defaults[1])
    wanted = [f"{a[0]}:{a[1]}", f"{b[0]}:{b[1]}"]
    if wanted != state.get("ab") and (state.get("ab") or (a, b) != tuple(defaults)):
        state.set("ab", wanted)  # in the URL once chosen (or opened from a link): a pasted link reopens it
    ra, rb = I.resolve(bundle, *a), I.resolve(bundle, *b)
    with_slices = costly_extra(bundle, split, "Slices where A and B differ", "lb-ab-slices-on",
                         "Group sizes, shared photos, stated quantities and error types, each with its own "
                         "interval; every title of the pool is read for them")
    try:
        with st.spinner("Comparing A and B on the same resamples…"):
            res = I.compare(bundle, split, (a[0], ra), (b[0], rb), resamples=RESAMPLES, with_slices=with_slices)
    except ShopeeError as exc:
        st.error(md(exc), icon=":material/error:")
        return
    o = res["overall"]
    lo, hi = o["ci"]["f1"]
    verdict = "a real difference" if o["significant"] else "within noise"
    cols = st.columns(4)
    cols[0].metric("F1 A − B", f"{o['difference']['f1']:+.4f}", border=True,
                   help=f"A: {md(o['a'])} {o['mean_a']['f1']:.4f} · B: {md(o['b'])} {o['mean_b']['f1']:.4f}")
    cols[1].metric("95 % interval", f"[{lo:+.4f}, {hi:+.4f}]", border=True,
                   help=f"Percentile interval of the paired difference over {o['resamples']:,} resamples of the "
                        f"{o['groups']:,} label groups (the same draws for A and B)")
    cols[2].metric("P(A > B)", f"{o['p_better']:.3f}", border=True, help=TIES)
    cols[3].metric("Verdict", verdict, border=True, help=TIES)
    dp, dr = o["difference"]["precision"], o["difference"]["recall"]
    (plo, phi), (rlo, rhi) = o["ci"]["precision"], o["ci"]["recall"]
    st.caption(f"Precision A − B {dp:+.4f} [{plo:+.4f}, {phi:+.4f}] · recall A − B {dr:+.4f} [{rlo:+.4f}, {rhi:+.4f}]. "
               + TIES)
    sl = res["slices"]
    if sl.empty:
        return
    st.plotly_chart(charts.slice_forest(sl, plot_text(a[0]), plot_text(b[0])), key="lb-ab-forest", config={"displayModeBar": False},
                    theme=None)
    shown = sl.assign(
        diff=[f"{d:+.4f}" for d in sl["diff"]],
        interval=["—" if pd.isna(x) else f"[{x:+.4f}, {y:+.4f}]" for x, y in zip(sl["lo"], sl["hi"])],
        p_better=["—" if pd.isna(p) else f"{p:.2f}" for p in sl["p_better"]],
        f1_a=[f"{x:.4f}" for x in sl["f1_a"]], f1_b=[f"{x:.4f}" for x in sl["f1_b"]],
        significant=["real" if s else "within noise" for s in sl["significant"]])
    st.dataframe(shown[["slice", "rows", "f1_a", "f1_b", "diff", "interval", "p_better", "significant"]],
                 hide_index=True, key="lb-ab-slices", column_config={
                     "slice": st.column_config.TextColumn("Slice", width="large"),
                     "rows": st.column_config.NumberColumn("Postings"),
                     "f1_a": st.column_config.TextColumn("F1 A"), "f1_b": st.column_config.TextColumn("F1 B"),
                     "diff": st.column_config.TextColumn("A − B"),
                     "interval": st.column_config.TextColumn("95 % interval"),
                     "p_better": st.column_config.TextColumn("P(A > B)"),
                     "significant": st.column_config.TextColumn("Difference")})
    st.caption("Slices, largest difference first: true group size, postings whose photo (identical pHash) another "
               "group of the pool shares, titles with or without a stated quantity, and the failure taxonomy's error "
               "types on the postings where A or B makes them. Each interval resamples whole label groups and "
               "counts only the slice's postings; small slices give wide intervals.")


# --------------------------------------------------------------------------- thresholds
def live_interval(bundle, split: str, decision, reference, rows: dict, ref_label: str) -> None:
    """Under the scores: the live decision's 95 % interval and its paired difference to the reference
    (recomputed on every move: one matrix product on cached resamples)."""
    try:
        ci = I.decision_interval(bundle, split, decision, rows, resamples=RESAMPLES)
        p = I.decision_paired(bundle, split, decision, reference, rows, resamples=RESAMPLES)
    except ShopeeError as exc:
        st.caption(f"No interval: {md(exc)}")
        return
    lo, hi = p["ci"]["f1"]
    same = abs(p["difference"]["f1"]) < 5e-5 and abs(lo) < 5e-5 and abs(hi) < 5e-5
    against = ("the same F1 as " + ref_label if same else
               f"Δ F1 {p['difference']['f1']:+.4f} [{lo:+.4f}, {hi:+.4f}], P(now > it) {p['p_better']:.2f} — "
               + ("a real difference" if p["significant"] else "within noise"))
    st.caption(f"**95 % interval** ({ci['resamples']:,} resamples of the {ci['groups']:,} label groups): "
               f"F1 {ci['f1'][0]:.4f}–{ci['f1'][1]:.4f} · precision {ci['precision'][0]:.4f}–{ci['precision'][1]:.4f}"
               f" · recall {ci['recall'][0]:.4f}–{ci['recall'][1]:.4f}. Against the reference: {against}.")


def _search_of(bundle, decision) -> str:
    name = decision.name if isinstance(decision.name, str) else ""
    try:
        own = bundle.model(name)["thresholds"].get("search") if name else None
    except ShopeeError:
        own = None
    return own if own in M.SEARCHES else "full"


def stability(bundle, split: str, decision) -> dict | None:
    """Threshold stability of the decision (200 resamples of valid, scored on ``split``), cached per
    decision shape: a threshold move does not recompute it. None where there is nothing to re-search."""
    if "valid" not in bundle.splits:
        return None
    search = _search_of(bundle, decision)
    min2 = any(s.t2 is not None for s in decision.sides)
    valid = D.pool(bundle, "valid")
    key = ("stability", tuple(valid.canonical(s) for s in decision.sources), min2, search, split,
           STABILITY_RESAMPLES)
    return valid.cached(key, lambda: M.threshold_stability(valid, decision, D.pool(bundle, split),
                                                           resamples=STABILITY_RESAMPLES, search=search, min2=min2))


def stability_caption(st_: dict, side: int, split: str) -> str:
    s = st_["sides"][side]
    t = s["t"]
    text = (f"**Threshold stability**: re-running the threshold search ({md(st_['search'][side])}) on "
            f"{st_['resamples']:,} resamples of the valid split's label groups puts T in "
            f"{t['interval'][0]:.3f}–{t['interval'][1]:.3f} (median {t['median']:.3f}, shaded)")
    if s["t2"] is not None:
        text += f", T2 in {s['t2']['interval'][0]:.3f}–{s['t2']['interval'][1]:.3f}"
    f = st_["f1"]["interval"]
    width = t["interval"][1] - t["interval"][0]
    shape = "a sharp optimum" if width <= 0.02 else "a plateau: the tuned T is one of many about as good"
    return (text + f"; on {md(split)} those thresholds give F1 {f[0]:.4f}–{f[1]:.4f}: {shape}. Fusion weights and INB "
            "blend thresholds are held.")

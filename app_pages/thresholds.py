"""Thresholds & decisions: move T / Min2 T2, fuse or unite models, iterate INB — F1 re-scored live."""

import numpy as np
import streamlit as st

from dashboard import charts, intervals, live, state
from dashboard.gallery import pair_gallery
from dashboard.text import code, md, plot_text
from dashboard.widgets import FIXED, bundle_and_split, chosen, metric_row, model_select, pool_caption, readable_error
from shopee_core import matching as M
from shopee_core.analysis import decisions as D
from shopee_core.analysis import plane as P
from shopee_core.analysis import query as Q
from shopee_core.errors import ShopeeError
from shopee_core.matching import describe_source

bundle, split = bundle_and_split()
st.title("Thresholds & decisions")
st.caption(pool_caption(bundle, split, "Every move re-scores every posting of the split."))

MODES = {"model": "A bundle model", "fusion": "Custom mean fusion", "union": "Custom union"}
STEP = 0.005


def _seed(key: str, default) -> None:
    """Start a widget at ``default``, and keep following the bundle's value until the user moves it:
    after an import replaced the model (or a swap landed mid-page and the page was drawn again), an
    untouched slider shows the new version's tuned value, not the old one's."""
    seeds = st.session_state.setdefault("th-seeds", {})
    state.restore(key)  # back on this page: the value the user left
    if key not in st.session_state or (st.session_state[key] == seeds.get(key) and default != seeds[key]):
        st.session_state[key] = default
        seeds[key] = default


def slider(label: str, key: str, default, help: str | None = None, disabled: bool = False) -> float:
    """A threshold slider whose first value is ``default`` (then the user's)."""
    _seed(key, float(np.clip(round(float(default) / STEP) * STEP, 0.0, 1.0)))
    return state.remember(key, float(st.slider(label, 0.0, 1.0, step=STEP, format="%.3f", key=key, help=help,
                                      disabled=disabled)))


def toggle(label: str, key: str, default: bool, help: str | None = None) -> bool:
    _seed(key, bool(default))
    return state.remember(key, bool(st.toggle(label, key=key, help=help)))


def reset(scope: str) -> None:
    for k in [k for k in st.session_state if isinstance(k, str) and k.startswith(scope + "-")]:
        state.forget(k)


def apply(scope: str, d: D.Decision, n_sides: int) -> None:
    """Write a decision's thresholds into the sliders of ``scope`` (button callback)."""
    for i, s in enumerate(d.sides[:n_sides]):
        suffix = "" if n_sides == 1 else f"-{i}"
        st.session_state[f"{scope}-t{suffix}"] = round(s.t / STEP) * STEP
        if s.t2 is not None:
            st.session_state[f"{scope}-t2{suffix}"] = round(s.t2 / STEP) * STEP
    st.session_state[f"{scope}-min2"] = any(s.t2 is not None for s in d.sides)


def best_on_valid(scope: str, d: D.Decision, n_sides: int, union: str = "per_side") -> None:
    try:
        apply(scope, D.tuned(bundle, d, "valid", union=union), n_sides)
    except ShopeeError as exc:  # e.g. a bundle without a validation split
        st.session_state["th-error"] = f"Cannot tune on valid: {exc}"


def truth_note(bundle, decision, split: str) -> None:
    """Under the fixed truth: how much of this decision's error was label noise, and whether the T
    searched on valid moves with the fixes ("Best on valid" then searches on the fixed truth)."""
    from shopee_core.analysis.reviews import truth_effect

    try:
        e = truth_effect(bundle, decision, split)
    except ShopeeError as exc:
        st.caption(f"Effect of your fixes unavailable: {md(exc)}")
        return
    a, b = e["tuned_labelled"].sides[0], e["tuned_fixed"].sides[0]
    st.info(f"**Your fixes:** F1 of this setting {e['f1_labelled']:.4f} as labelled → {e['f1_fixed']:.4f} with "
            f"your fixes: {e['noise_share']:.1%} of its remaining error was label noise. T searched on valid: "
            f"{a.t:.3f} as labelled → {b.t:.3f} with your fixes"
            + (f" (T2 {a.t2:.3f} → {b.t2:.3f})" if a.t2 is not None and b.t2 is not None else "")
            + f"; re-tuned F1 here {e['f1_fixed_retuned']:.4f}.", icon=":material/fact_check:")


def fusion_search(key: str, weights, members: list[str]) -> str:
    """Which kNN a re-weighted fusion uses: the candidate union (live, the default) or, after the
    button, an exact search of the fused embeddings for exactly these weights. Says which."""
    wanted = (tuple(members), tuple(round(float(x), 6) for x in weights))
    if st.session_state.pop(f"{key}-restore", False):  # a shared link asked for the exact search
        st.session_state[key] = wanted
    exact = st.session_state.get(key) == wanted
    st.button("Exact search", key=f"{key}-btn", icon=":material/manage_search:", disabled=exact,
              on_click=lambda: st.session_state.__setitem__(key, wanted),
              help="kNN of the fused embeddings over the whole pool for these weights (seconds at Kaggle "
                   "scale); moving a weight returns to the live candidate scoring")
    if exact:
        st.caption("Shown: **exact search** — the fused embeddings' own top-k over the whole pool, for these weights.")
        return "exact"
    st.caption("Shown: **candidate scoring** (live) — every pair in the members' own top-k candidate lists, "
               "scored with the new weights from the embeddings: exact for those pairs; a pair in no member's "
               "list is missed. **Exact search** runs the full kNN of these weights.")
    return "candidates"


def pick_members(candidates: list[str], key: str, label: str, limit: int) -> list[str]:
    """A multiselect of models, first filled from the models chosen elsewhere (or an image + text
    pair); stops the page with a line while fewer than two are chosen."""
    picked = [m for m in state.get("models") if m in candidates][:limit]
    if len(picked) < 2:
        img, txt = P.default_plane_models(bundle, candidates[0])
        picked = [m for m in dict.fromkeys([img, txt] + candidates) if m in candidates][:2]
    if key not in st.session_state:
        state.restore(key, candidates)
        if not st.session_state.get(key):  # nothing kept, or nothing chosen when the page was left
            st.session_state[key] = picked
    members = state.remember(key, st.multiselect(label, candidates, key=key))
    if len(members) < 2:
        st.info("Choose at least two models.")
        st.stop()
    return members


GRAPH_PARAMS = {  # step -> (label, min, max, step, default)
    "closure": ("MAX (largest group)", 2, 100, 1, 51),
    "cluster": ("S (target mean group size)", 1.0, 10.0, 0.05, 2.6),
    "cut-bridges": ("τ (cut bridges below)", -1.0, 1.0, 0.005, 0.5),
}


def graph_picker(scope: str, recorded: dict | None = None, start: bool = False):
    """The graph step after the thresholds (None: none). ``recorded``: the step the bundle tuned
    on valid for this model, offered with its parameter; ``start``: begin on it (the sidebar's
    decision is the graph step)."""
    options = ["none", *M.GRAPH_STEPS]
    key = f"{scope}-graph"
    tuned = "" if not recorded else f" (tuned on valid: {md(recorded['step'])}" + (
        "" if recorded.get("param") is None else f" {recorded['param']:g}") + ")"
    step = state.kept(st.selectbox, "Graph step" + tuned, options, key=key,
                      index=options.index(recorded["step"] if start and recorded else "none"),
                      format_func=lambda x: "none" if x == "none" else x,
                      help="Group-level post-processing after the thresholds: keep mutual pairs, close groups "
                           "up to MAX members, average linkage to a mean group size S, or cut bridges weaker "
                           "than τ (Group studio draws the groups). Curves and the pool-size view show the "
                           "decision before this step.")
    if step == "none":
        return None
    if step == "mutual":
        return M.GraphStep("mutual")
    label, lo, hi, inc, default = GRAPH_PARAMS[step]
    pkey = f"{scope}-graph-{step}"
    state.restore(pkey)
    if pkey not in st.session_state:
        st.session_state[pkey] = (recorded["param"] if recorded and recorded["step"] == step
                                  and recorded.get("param") is not None else default)
    return M.GraphStep(step, state.remember(pkey, st.number_input(label, lo, hi, step=inc, key=pkey)))


def graph_thresholds(s: dict, picked, n_sides: int) -> list[tuple] | None:
    """The thresholds the bundle tuned together with the graph step (one (T, T2) per side), when the
    sidebar's decision is the graph step; None otherwise: the page then starts on the plain tuned T."""
    rec = s.get("graph")
    if picked.variant != "graph" or not rec or len(rec.get("t") or []) != n_sides:
        return None
    return list(zip(rec["t"], rec.get("t2") or [None] * n_sides))


def side_sliders(scope: str, suffix: str, t, t2, min2: bool, what: str = "", after_inb: bool = False):
    prime = "′" if after_inb else ""
    T = slider(f"T{prime} {what}".strip(), f"{scope}-t{suffix}", t,
               help="Predict candidates with cosine distance d < T (self is always predicted)")
    T2 = slider(f"Min2 T2{prime} {what}".strip(), f"{scope}-t2{suffix}", t if t2 is None else t2,
                disabled=not min2, help="A posting predicted alone gets its nearest candidate if d < T2 "
                                        "(no effect when T2 <= T)")
    return T, (T2 if min2 else None)


def restore_from_url() -> None:
    """Once per session: the live decision a pasted link names (``decision=`` in the URL) into the widgets."""
    if st.session_state.get("th-url-restored"):
        return
    st.session_state["th-url-restored"] = True
    setting = live.decode(state.get("decision"))
    if setting is None:
        return
    kind, members = "table", ()
    if setting.mode == "model":
        try:
            s = D.model_setting(bundle, setting.model)
        except ShopeeError:
            return
        kind, members = ("fixed" if s["fixed"] else s["kind"]), s["members"]
        state.set("models", [setting.model] + [m for m in state.get("models") if m != setting.model])
    for key, value in live.widget_values(setting, kind, members).items():
        st.session_state[key] = value


restore_from_url()
if st.session_state.get("th-error"):
    st.error(md(st.session_state.pop("th-error")), icon=":material/error:")
if st.session_state.get("th-rule") != state.rule():
    # the sidebar's decision changed (not on the first visit: a pasted link's widgets stay): the bundle
    # model's controls start on the new one again
    if "th-rule" in st.session_state:
        reset("th-m")
    st.session_state["th-rule"] = state.rule()
mode = state.kept(st.segmented_control, "Decision", list(MODES), format_func=MODES.get, default="model",
                  key="th-mode", required=True) or "model"
summary = st.container()  # the scores, full width above the controls, filled once the decision is known
left, right = st.columns([1, 2.3], gap="large")

decision = reference = shared = None
ref_label = ""
scope = ""
n_sides = 1
fixed = False  # an imported predictions-only model: nothing to move
graph_tunable = False  # the model's stored graph step applies (its plain tables, as tuned)
try:
    with left:
        # ------------------------------------------------------------ a bundle model
        if mode == "model":
            usable = D.usable_models(bundle)
            mid = model_select(bundle, "th-model", allowed=usable)
            if mid is None:
                st.stop()
            s = D.model_setting(bundle, mid)
            picked = chosen(bundle, mid)  # the sidebar's decision: where every control starts
            if s["kind"] == "union":
                scope = live.model_scope(mid, "union")
                n_sides = len(s["sides"])
                st.caption("Union: each side predicts with its own thresholds; the final set is the union.")
                inb = s["has_inb"] and toggle("After INB", f"{scope}-inb", False,
                                              help="Each side on its own INB table (blended with its own T, T2, "
                                                   "T′ and T2′ re-searched on its own), as the seed's union runs")
                scope = f"{scope}-inb" if inb else scope
                sides_now = s["inb_sides"] if inb else s["sides"]
                graph_tunable = not inb  # the graph step was tuned on the plain sides
                on_graph = graph_thresholds(s, picked, len(sides_now)) if graph_tunable else None
                if on_graph:  # the graph step was tuned with thresholds of its own: start there
                    sides_now = [{**x, "t": t, "t2": t2} for x, (t, t2) in zip(sides_now, on_graph)]
                min2 = toggle("Min2 on every side", f"{scope}-min2", picked.variant != "base"
                              and any(x["t2"] is not None for x in sides_now))
                overrides = []
                for i, side in enumerate(sides_now):
                    st.markdown(f"**{md(side['model'])}**" + (" after INB" if inb else ""))
                    overrides.append(side_sliders(scope, f"-{i}", side["t"], side["t2"], min2,
                                                  f"· {md(side['model'])}", after_inb=inb))
                decision = D.decision(bundle, mid, sides=overrides, min2=min2, inb=int(inb))
                reference = D.decision(bundle, mid, inb=int(inb))
                shared = live.Live("model", mid, t=tuple(t for t, _ in overrides),
                                   t2=tuple(t2 for _, t2 in overrides), min2=min2, iters=int(inb))
            elif s["kind"] == "inb_only":
                scope = live.model_scope(mid, "inb_only")
                st.caption(f"This entry stores only its INB table ({s['inb_iters']:,} iterations): T′ and T2′ "
                           "match on the blended embeddings.")
                min2 = toggle("Min2", f"{scope}-min2", s["inb_t2"] is not None)
                T, T2 = side_sliders(scope, "", s["inb_t"], s["inb_t2"], min2, after_inb=True)
                decision = D.decision(bundle, mid, t=T, t2=T2, min2=min2)
                reference = D.decision(bundle, mid)
                shared = live.Live("model", mid, t=(T,), t2=(T2,), min2=min2)
            elif s["fixed"]:
                fixed = True
                scope = live.model_scope(mid, "fixed")
                shared = live.Live("model", mid)
                st.info(FIXED.format(mid=code(mid)) + " Unite it with other models under *Custom union*.",
                        icon=":material/lock:")
                decision = reference = D.decision(bundle, mid)
            else:
                options = [0] + ([1] if s["has_inb"] or s["can_embed"] else []) + ([2, 3] if s["can_embed"] else [])
                iters = 0
                if len(options) > 1:
                    iters = state.kept(st.select_slider, "INB iterations", options,
                                       value=1 if picked.variant == "inb" else 0, key=f"th-m-{mid}-iters",
                                       help="0: plain table. 1: the stored INB table. 2-3: blended live "
                                            "from the embeddings (takes a moment the first time). Starts on the "
                                            "sidebar's decision.")
                scope = live.model_scope(mid, "table", iters)
                weights = None
                knn = "candidates"
                if s["combine"] == "mean" and s["can_embed"] and len(s["members"]) >= 2:
                    if toggle("Re-weight the members", f"th-m-{mid}-reweight", False,
                              help="Mean fusion with your weights, re-scored within the split"):
                        D.prefetch_candidates(bundle, [split, "valid"], s["members"])  # valid: weaker-member check
                        w = [state.kept(st.slider, f"weight · {md(m)}", min_value=0.0, max_value=1.0,
                                        value=1.0 / len(s["members"]), step=0.05, key=f"th-m-{mid}-w-{m}")
                             for m in s["members"]]
                        if sum(w) <= 0:
                            st.warning("All weights are 0: using equal weights.")
                        else:
                            weights = w
                            knn = fusion_search(f"th-m-{mid}-exact", w, s["members"])
                            if iters:
                                st.caption("With INB on, every re-weighting blends the new rows and searches the "
                                           "whole pool again (seconds at 10,000 postings, minutes at 70,000): set "
                                           "*INB iterations* to 0 for a live re-weighting.")
                blend = None
                if iters and s["can_embed"]:
                    with st.expander("INB blends with neighbours chosen at…"):
                        bt = slider("T (blend)", f"{scope}-bt", s["t"])
                        bt2 = slider("T2 (blend)", f"{scope}-bt2", s["t"] if s["t2"] is None else s["t2"])
                        if abs(bt - s["t"]) > 1e-9 or (s["t2"] is not None and abs(bt2 - s["t2"]) > 1e-9):
                            blend = (bt, bt2)
                tuned_t, tuned_t2 = (s["inb_t"], s["inb_t2"]) if iters else (s["t"], s["t2"])
                graph_tunable = not iters and weights is None and blend is None
                on_graph = graph_thresholds(s, picked, 1) if graph_tunable else None
                if on_graph:  # the graph step was tuned with thresholds of its own: start there
                    tuned_t, tuned_t2 = on_graph[0]
                min2 = toggle("Min2", f"{scope}-min2", tuned_t2 is not None and picked.variant != "base")
                T, T2 = side_sliders(scope, "", tuned_t, tuned_t2, min2, after_inb=bool(iters))
                with st.spinner("Building the decision's neighbour table…"):
                    decision = D.decision(bundle, mid, t=T, t2=T2, min2=min2, inb=iters, weights=weights,
                                          blend=blend, knn=knn)
                reference = D.decision(bundle, mid, inb=1 if iters and s["has_inb"] else 0)
                shared = live.Live("model", mid, t=(T,), t2=(T2,), min2=min2, iters=iters,
                                   weights=None if weights is None else tuple(weights), exact=knn == "exact"
                                   and weights is not None, blend=blend)
            ref_label = f"the bundle's tuned setting of {md(mid)}"
        # ------------------------------------------------------------ custom mean fusion
        elif mode == "fusion":
            fusable = D.fusable_models(bundle)
            if len(fusable) < 2:
                st.warning("This bundle has fewer than two models with embeddings: nothing to fuse.")
                st.stop()
            members = pick_members(fusable, "th-f-members", "Models to fuse (mean of cosine similarities)", 3)
            w = [state.kept(st.slider, f"weight · {md(m)}", min_value=0.0, max_value=1.0,
                            value=round(1.0 / len(members), 2), step=0.05, key=f"th-f-w-{m}") for m in members]
            if sum(w) <= 0:
                st.warning("All weights are 0: using equal weights.")
                w = [1.0] * len(members)
            calibrate = toggle("Calibrate (standardise each model's similarities on valid)", "th-f-calibrate", False,
                               help="Divides each weight by the spread of that model's candidate similarities on the "
                                    "validation split, so a model whose cosines bunch near 1 counts as much as a widely "
                                    "spread one (the seed's recipe is the plain equal mean)")
            if calibrate:
                w = M.calibrated_weights(D.pool(bundle, "valid"), members, w)
                st.caption("Calibrated weights: " + ", ".join(f"{md(m)} {x:.2f}" for m, x in zip(members, w)))
            D.prefetch_candidates(bundle, ["valid", split], members)
            knn = fusion_search("th-f-exact", w, members)
            given = tuple(st.session_state[f"th-f-w-{m}"] for m in members)
            iters = state.kept(st.select_slider, "INB iterations", [0, 1, 2, 3], value=0, key="th-f-iters")
            scope = live.fusion_scope(members, iters, calibrate)
            with st.spinner("Fusing, scoring and tuning on valid…"):
                tuned = D.custom_fusion(bundle, members, w, inb=iters, knn=knn)
            ts = tuned.sides[0]
            min2 = toggle("Min2", f"{scope}-min2", ts.t2 is not None)
            T, T2 = side_sliders(scope, "", ts.t, ts.t2, min2, after_inb=bool(iters))
            decision = tuned.with_thresholds(T, T2, min2=min2)
            reference = tuned
            shared = live.Live("fusion", members=tuple(members), t=(T,), t2=(T2,), min2=min2, iters=iters,
                               weights=given, calibrate=calibrate, exact=knn == "exact")
            ref_label = "the thresholds tuned on valid for this fusion"
        # ------------------------------------------------------------ custom union
        else:
            candidates = [m for m in D.table_models(bundle) if not D.is_union(bundle, m)]
            candidates += [e.id for e in bundle.entries if e.is_inb_only]
            if len(candidates) < 2:
                st.warning("This bundle has fewer than two neighbour tables: nothing to unite.")
                st.stop()
            members = pick_members(candidates, "th-u-members", "Models to unite (union of predicted sets)", 2)
            scope = live.union_scope(members)
            n_sides = len(members)
            tuned = D.custom_union(bundle, [(m,) for m in members])
            min2 = toggle("Min2 on every side", f"{scope}-min2", any(x.t2 is not None for x in tuned.sides))
            sides = []
            for i, (m, side) in enumerate(zip(members, tuned.sides)):
                st.markdown(f"**{md(m)}**")
                if D.is_predictions_only(bundle, m):
                    st.caption("imported predicted sets: fixed, no thresholds")
                    sides.append((m, side.t, None))
                    continue
                sides.append((m, *side_sliders(scope, f"-{i}", side.t, side.t2, min2, f"· {md(m)}")))
            decision = D.custom_union(bundle, sides)
            reference = tuned
            shared = live.Live("union", members=tuple(members), t=tuple(x[1] for x in sides),
                               t2=tuple(x[2] for x in sides), min2=min2)
            ref_label = "each model at its own tuned thresholds"

        if not fixed:
            graph = graph_picker(scope, s.get("graph") if mode == "model" else None,
                                 start=mode == "model" and picked.variant == "graph")
            if graph is not None:
                decision = decision.with_graph(graph)
                rec = s.get("graph") if graph_tunable else None
                if rec and M.GraphStep.from_dict(rec) == graph:
                    # the tuned step at its tuned parameter: measured against the setting the bundle tuned
                    # for it (its own thresholds), not the plain decision with the step bolted on
                    reference = D.decision(bundle, mid, graph="tuned")
            b1 = b2 = st  # one under the other: side by side, "Best on valid" is cut at 1280 px
            b1.button("Reset", key="th-reset", on_click=reset, args=(scope,), icon=":material/restart_alt:",
                      width="stretch", help="Back to the bundle's (or the fusion's) tuned thresholds")
            b2.button("Best on valid", key="th-best", on_click=best_on_valid, args=(scope, decision, n_sides),
                      icon=":material/auto_fix_high:", width="stretch",
                      help="Full scan of T (then T2) on the validation split for the current decision"
                           + (", each union side for its own F1 (the seed's way)" if decision.is_union else ""))
            if decision.is_union:
                st.button("Best on valid, sides together", key="th-best-joint", on_click=best_on_valid,
                          args=(scope, decision, n_sides, "joint"), icon=":material/join:", width="stretch",
                          help="From each side's own optimum, move the sides' thresholds together for the "
                               "union's F1 on valid (coordinate ascent; never below the per-side result there)")
except ShopeeError as exc:
    readable_error(exc)
    st.stop()
if shared is not None and shared.encode() != state.get("decision"):
    state.set("decision", shared.encode())  # the live decision in the URL: a pasted link reopens it

# ---------------------------------------------------------------- results
with summary:
    try:
        cur = D.scores(bundle, decision, split, rows=True)
        ref = D.scores(bundle, reference, split)
    except ShopeeError as exc:
        readable_error(exc)
        st.stop()
    rows = cur["rows"]
    orphans = int(((rows["n_pred"] == 1) & (rows["n_true"] > 1)).sum())
    metric_row(cur, ref, extra=[
        ("Set size |Y| / |X|", f"{rows['n_pred'].mean():.2f} / {rows['n_true'].mean():.2f}",
         "Mean predicted set size vs mean true group size (self included)"),
        ("Orphans", f"{orphans:,}", "Postings predicted alone (always wrong: every group has >= 2 members)"),
    ])
    if mode == "model":  # beside the F1: whether it is the sidebar's decision or this page's move away from it
        ruled = D.decision(bundle, mid, **picked.setting)
        at_rule = len(ruled.sides) == len(decision.sides) and all(
            a.source == b.source and abs(a.t - b.t) < 1e-6 and (a.t2 is None) == (b.t2 is None)
            and (a.t2 is None or abs(a.t2 - b.t2) < 1e-6) for a, b in zip(ruled.sides, decision.sides))
        st.caption(f"**{md(mid)}** · F1 {cur['f1']:.4f} · "
                   + (md(picked.text) if at_rule else "moved on this page (the sidebar's decision: "
                      f"{md(picked.f1_text(D.scores(bundle, mid, split, **picked.setting)['f1']))})")
                   + f" (within {md(split)})")
    st.caption(f"**Now:** {md(decision.describe())}  \n**Δ against** {ref_label}: {md(reference.describe())} "
               f"→ F1 {ref['f1']:.4f}")
    intervals.live_interval(bundle, split, decision, reference, rows, ref_label)
    try:
        weak = D.weaker_than_a_member(bundle, decision)
    except ShopeeError:
        weak = None
    if weak:
        st.warning(f"On valid this fusion scores F1 {weak['fusion_f1']:.4f}, below its member **{md(weak['member'])}** "
                   f"alone ({weak['member_f1']:.4f}): an equal mean is dominated by the member whose similarities "
                   "spread widest. Try calibrated or re-weighted members (Custom mean fusion).",
                   icon=":material/warning:")
    if bundle.truth and not fixed:
        truth_note(bundle, decision, split)

with right:

    VIEWS = {"curves": "Curves", "sizes": "Group sizes", "plane": "Decision plane", "pool": "Pool size"}
    view = state.kept(st.segmented_control, "View", list(VIEWS), format_func=VIEWS.get, default="curves",
                      key="th-view", required=True) or "curves"
    if view == "curves" and fixed:
        st.info("No threshold curves: the imported sets are the same at every threshold. See *Group sizes*.")
    elif view == "curves":
        side = 0
        if decision.is_union:
            names = [describe_source(s.source) for s in decision.sides]
            side = state.kept(st.radio, "Curve of side", list(range(len(names))), format_func=lambda i: md(names[i]),
                              horizontal=True, key="th-curve-side")
        curve = D.curves(bundle, decision, split, side=side)
        st_side = decision.sides[side]
        tuned_t = reference.sides[side].t if side < len(reference.sides) else None
        stab = None
        if intervals.costly_extra(bundle, split, "Threshold stability band", "th-stability-on",
                            "The tuned T of 200 resamples of the valid split, shaded on the curve; re-run for "
                            "every new decision shape (a re-weighting step is one)"):
            try:
                with st.spinner("Re-running the threshold search on resamples of valid…"):
                    stab = intervals.stability(bundle, split, decision)
            except ShopeeError:
                stab = None
        c1, c2 = st.columns(2)
        with c1:
            st.plotly_chart(charts.threshold_curves(curve, st_side.t, cur["f1"], tuned_t,
                                                    title="F1, precision, recall vs T"
                                                    + (f" — {plot_text(names[side])}" if decision.is_union else ""),
                                                    band=None if stab is None else
                                                    tuple(stab["sides"][side]["t"]["interval"])),
                            key="th-curve", config={"displayModeBar": False}, theme=None)
        with c2:
            if st_side.t2 is not None:
                m2 = D.min2_curve(bundle, decision, split, side=side)
                st.plotly_chart(charts.min2_curve(m2, st_side.t2, cur["f1"], st_side.t), key="th-min2",
                                config={"displayModeBar": False}, theme=None)
            else:
                st.info("Min2 is off: turn it on to see F1 against T2.")
        st.caption("Curves: the other thresholds held where they are now (Min2 at the current T2). "
                   "Thresholds tuned on valid often need to be stricter on a bigger pool (denser neighbourhoods).")
        if stab is not None:
            st.caption(intervals.stability_caption(stab, side, split))
    elif view == "sizes":
        h = D.group_size_histogram(bundle, decision, split)
        st.plotly_chart(charts.size_histogram(h), key="th-sizes", config={"displayModeBar": False}, theme=None)
        big = int((rows["n_pred"] > rows["n_true"].max()).sum())
        st.caption(f"{orphans:,} postings predicted alone · {big:,} predicted sets larger than the largest true "
                   f"group ({int(rows['n_true'].max())}). Matching the predicted size distribution to the true one "
                   "gained the 18th place +0.020.")
    elif view == "pool":
        n_pool = len(rows["f1"])
        c_target, c_draws = st.columns(2)
        with c_target:
            target = state.kept(st.number_input, "Target pool size (postings)", min_value=2, max_value=1_000_000,
                                value=2 * n_pool, step=1000, key="th-pool-target",
                                help="How big the pool you will predict in is — e.g. twice your validation pool, "
                                     "or Kaggle's test set (about 70,000 postings hidden, 34,250 public)")
        with c_draws:
            n_draws = state.kept(st.slider, "Random draws per size", min_value=2, max_value=8, value=4,
                                 key="th-pool-draws", help="Each draw orders the groups anew: the band is how much "
                                                           "the result depends on which groups a pool holds")
        try:
            with st.spinner("Tuning the decision in nested pools, draw by draw…"):
                draws = D.pool_size_draws(bundle, decision, split, draws=int(n_draws))
        except ShopeeError as exc:
            readable_error(exc)
        else:
            band = M.pool_size_band(draws)
            ext = M.extrapolate(draws, int(target)) if int(target) != n_pool else None
            st.plotly_chart(charts.pool_size(band, decision.sides[0].t, ext), key="th-pool",
                            config={"displayModeBar": False}, theme=None)
            if ext and "t" in ext:
                word = "Extrapolated" if int(target) > n_pool else "Interpolated"
                f1 = ext.get("f1_best")
                st.info(f"**{word} to {int(target):,} postings** (from {n_pool:,} here): best T ≈ "
                        f"**{ext['t']['mean']:.3f}** (range {ext['t']['lo']:.3f}–{ext['t']['hi']:.3f} over "
                        f"{int(n_draws)} draws)"
                        + (f", T2 ≈ {ext['t2']['mean']:.3f}" if "t2" in ext else "")
                        + (f"; F1 at those ≈ **{f1['mean']:.3f}** ({f1['lo']:.3f}–{f1['hi']:.3f})" if f1 else "")
                        + ". A straight line in log(pool size) through each draw's three biggest pools, carried "
                          "on: an extrapolation, not a measurement — the further the target, the less to trust it."
                        + (" Some lines ran past 0 or 1 and were held there: the trend cannot go on that far."
                           if any(ext[c]["clipped"] for c in ("t", "t2", "f1_best") if c in ext) else ""),
                        icon=":material/trending_down:")
            bigger = "" if "all" in bundle.splits or split == "all" else (
                " This bundle ships no *all* pool (every labelled posting at once): the largest pool here is the "
                f"{md(split)} split; a bundle built with `--pool-all` reaches 34,250 on the Kaggle data.")
            st.caption(f"Nested pools of whole label groups drawn from the {md(split)} pool (each holds the smaller ones), "
                       f"{int(n_draws)} random draws per size; in each, the decision's thresholds are searched again "
                       "(full scan) and it is scored at those and at the current ones. Bigger pools hold more near "
                       "neighbours from other groups, so the best T is usually stricter." + bigger)
            worst = float(draws["may_miss"].max())
            if worst > 0.01:
                st.caption(f"The tables were cut from the {md(split)} pool's own top-{bundle.k:,}: in up to {worst:.0%} of a "
                           "sub-pool's rows the best threshold reaches past the stored candidates, so the sub-pool's "
                           "own top-k might hold a match the table lacks (F1 there is a lower bound).")
            # six narrow columns (ranges as text): eight numeric ones were cut at 1280 px
            shown = band.assign(
                t_range=[f"{a:.3f}–{b:.3f}" for a, b in zip(band["t_lo"], band["t_hi"])],
                f1_range=[f"{a:.3f}–{b:.3f}" for a, b in zip(band["f1_best_lo"], band["f1_best_hi"])],
            )[["postings", "t", "t_range", "f1_best", "f1_range", "f1_given"]]
            num = dict(postings=st.column_config.NumberColumn("postings", format="%d", width="small"),
                       t=st.column_config.NumberColumn("best T", format="%.3f", width="small",
                                                       help="mean over the draws"),
                       t_range=st.column_config.TextColumn("T range", width="small", help="min–max over the draws"),
                       f1_best=st.column_config.NumberColumn("F1 best", format="%.3f", width="small"),
                       f1_range=st.column_config.TextColumn("F1 range", width="small"),
                       f1_given=st.column_config.NumberColumn("F1 now", format="%.3f", width="small",
                                                              help="F1 at the current thresholds"))
            st.dataframe(shown, hide_index=True, width="stretch", column_config=num)
    else:
        img_default, txt_default = P.default_plane_models(bundle, decision)
        tables = [m for m in D.table_models(bundle) if not D.is_predictions_only(bundle, m)] or D.table_models(bundle)
        images = [m for m in tables if D.modality(bundle, m) == "image"] or tables
        texts = [m for m in tables if D.modality(bundle, m) == "text"] or tables
        a1, a2 = st.columns(2)
        with a1:
            img = state.kept(st.selectbox, "x: image model", images,
                             index=images.index(img_default) if img_default in images else 0, key="th-plane-img")
        with a2:
            txt = state.kept(st.selectbox, "y: text model", texts,
                             index=texts.index(txt_default) if txt_default in texts else 0, key="th-plane-txt")
        if img == txt:
            st.warning("Choose two different models.")
        else:
            try:
                with st.spinner("Collecting candidate pairs…"):
                    frame, info = P.plane(bundle, decision, split, img, txt)
            except ShopeeError as exc:
                readable_error(exc)
            except MemoryError:
                st.error(f"The decision plane of this pool ({len(rows['f1']):,} postings) does not fit in this "
                         "server's free memory; choose a smaller pool or close other views.", icon=":material/error:")
            else:
                c = info["counts"]
                fig = charts.decision_plane(frame, info)
                pair = st.session_state.get("plane-pair")
                ids = list(bundle.postings["posting_id"].to_numpy()[bundle.split_rows(split)])
                if pair and pair[0] in ids and pair[1] in ids:  # opened from a fusion's tile: mark that pair
                    pi, pj = ids.index(pair[0]), ids.index(pair[1])
                    sx = float(Q.pair_similarity(bundle, img, split, pi, [pj])[0])
                    sy = float(Q.pair_similarity(bundle, txt, split, pi, [pj])[0])
                    predicted = pj in set(D.predictions(bundle, decision, split)[pi].tolist())
                    labels = bundle.labels(split)
                    same = labels[pi] == labels[pj]
                    outcome = {(True, True): "TP", (True, False): "FP", (False, True): "FN"}.get((predicted, same),
                                                                                                 "TN")
                    fig.add_scatter(x=[sx], y=[sy], mode="markers", name=f"the pair you opened ({outcome})",
                                    marker=dict(symbol="star", size=20, color="#ffd600",
                                                line=dict(color="black", width=1.5)),
                                    hovertemplate=f"{plot_text(pair[0])} → {plot_text(pair[1])}<br>img %{{x:.3f}} · txt %{{y:.3f}}"
                                                  f"<br>{outcome}<extra></extra>")
                    st.caption(f"★ The pair opened from a tile: {code(pair[0])} → {code(pair[1])} — {outcome} · image "
                               f"similarity {sx:.3f} · text similarity {sy:.3f}.")
                event = st.plotly_chart(fig, key="th-plane", on_select="rerun",
                                        theme=None,
                                        selection_mode=("box", "lasso", "points"),
                                        config={"displayModeBar": True, "displaylogo": False})
                note = {"line": "dashed line: the fusion's boundary w·s_img + (1−w)·s_txt = 1 − T",
                        "axes": "dashed lines: each side's threshold s > 1 − T (a union predicts right of or above)",
                        None: "no straight boundary: the decision uses other tables than these two axes"}
                st.caption(f"Directed candidate pairs i → j of the two models' tables and the decision's, labelled at "
                           f"the current setting: TP {c['TP']:,} · FP {c['FP']:,} · FN {c['FN']:,} "
                           f"(+ {c['FN outside tables']:,} true pairs in no table) · TN {c['TN']:,}. "
                           + (f"Too many to draw one by one: the grey grid is every pair's density (log colour; hover a "
                              f"cell for its TP/FP/FN/TN), with {info['shown']:,} of the "
                              f"{c['FP'] + c['FN'] + c['FN outside tables']:,} errors drawn on top (sampled per "
                              f"outcome). " if info["mode"] == "density" else
                              f"Showing {info['shown']:,} of {info['n_pairs']:,}"
                              f"{' (sampled per outcome, errors kept)' if info['sampled'] else ''}. ")
                           + f"{note[info['boundary'].get('kind')]}; Min2 additions are not drawn.")
                picked = P.select_pairs(frame, event.get("selection") if hasattr(event, "get") else None)
                if len(picked):
                    st.markdown(f"**{len(picked):,} selected pairs** (first 12)")
                    pair_gallery(bundle, picked[["i", "j"]].to_numpy()[:12], split, key="th-pairs",
                                 captions=[f"{o} · img {a:.2f} · txt {b:.2f}" for o, a, b in
                                           picked[["outcome", "s_image", "s_text"]].to_numpy()[:12]])
                else:
                    st.caption("Select points (box or lasso) to see the pairs' thumbnails.")

    name = decision.name.replace(" ", "_") or "decision"
    st.download_button("Download these predictions (Kaggle submission CSV)",
                       data=lambda: D.submission(bundle, decision, split).to_csv(index=False),
                       file_name=f"submission_{bundle.name}_{split}_{name}.csv", mime="text/csv",
                       on_click="ignore", icon=":material/download:", key="th-download",
                       help=f"posting_id,matches for the {md(split)} split (space-separated, self included)")

"""Streamlit entry: a frame only — page config, shared state, sidebar bundle picker, navigation.

Run: streamlit run app.py [-- --bundle PATH]. Streamlit finds the ``st.App`` below, imports this file
as a module (``__name__ == "app"``) and serves it as an ASGI app whose start-up hook imports the pages'
libraries and opens (and verifies) the bundle before the server answers (dashboard/warm.py), so the
first visitor waits for a script run only. Every session then runs this same file as its script
(``__name__ == "__main__"``): the frame below. One file, so the warmed server and the app cannot drift.

Pages live in app_pages/ (not pages/: Streamlit would also auto-register a pages/ folder, and a deep link
on a fresh server would then run a page without this frame); logic lives in shopee_core.
"""

from pathlib import Path

import streamlit as st

if __name__ != "__main__":  # imported by `streamlit run app.py` (or uvicorn): the server, warmed at start
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def _warmed(_app):
        from dashboard.warm import warm_up

        warm_up()
        yield

    app = st.App(__file__, lifespan=_warmed)

else:  # a session's script run: the frame
    from dashboard import timing

    _t0, _ended = timing.start(), None
    try:
        from dashboard import state
        from dashboard.data import (
            POOL_LABELS,
            TRUTH_LABELS,
            TRUTHS,
            available_bundles,
            bundle_pools,
            default_bundle_name,
            truth_in_use,
        )
        from dashboard.fit import fit_text
        from dashboard.text import md, plain
        from dashboard.words import glossary
        from shopee_core.analysis.leaderboard import RULE_HELP, RULES
        from shopee_core.bundle.format import BundleChanged

        # the icon ships as a file: a ":material/...:" page icon makes the browser fetch its SVG from
        # fonts.gstatic.com, and the app must make no request outside 127.0.0.1 (icons elsewhere come from
        # Streamlit's bundled font)
        st.set_page_config(page_title="Shopee match explorer",
                           page_icon=str(Path(__file__).parent / "dashboard" / "favicon.png"), layout="wide")
        state.init()
        fit_text()
        if "bundle" not in st.query_params and not st.session_state.get("_bundle_default_applied"):
            # a bundle named on the command line (or in $SHOPEE_BUNDLE) is the one to show first
            st.session_state["_bundle_default_applied"] = True
            if default_bundle_name():
                state.set("bundle", default_bundle_name())

        with st.sidebar:
            bundles = available_bundles()
            if bundles:
                names = list(bundles)
                current = state.get("bundle")
                choice = st.selectbox("Bundle", names, index=names.index(current) if current in names else 0,
                                      format_func=plain,
                                      help="Every bundle under precomputed/ (and one given with -- --bundle PATH)")
                if choice != current:
                    state.set("bundle", choice)
            pools = bundle_pools(state.get("bundle"))
            split = st.radio("Split (candidate pool)", pools,
                             index=pools.index(state.get("split")) if state.get("split") in pools else 0,
                             horizontal=True, format_func=lambda s: md(POOL_LABELS.get(s, s)),
                             help="Retrieval is within one pool; thresholds were tuned on valid. 'all labelled' (when "
                                  "the bundle ships it): every labelled posting in one pool, as big as Kaggle's test set.")
            if split != state.get("split"):
                state.set("split", split)
            truth = st.radio("Truth", TRUTHS,
                             index=TRUTHS.index(state.get("truth")) if state.get("truth") in TRUTHS else 0,
                             horizontal=True, format_func=TRUTH_LABELS.get, key="truth-radio",
                             help="The labels every page scores against: as the bundle ships them, or with the fixes "
                                  "you accepted in Review suspects (a posting moved to the group it shows, two groups "
                                  "merged).")
            if truth != state.get("truth"):
                state.set("truth", truth)
            rules = list(RULES)
            # the shared value drives the widget (a URL, a test or a page may set it); a user's choice reaches
            # the shared value through the callback, which runs before this script
            st.session_state["sidebar-decision"] = state.rule()
            st.selectbox("Decision (every page)", rules, format_func=RULES.get, key="sidebar-decision",
                         on_change=lambda: state.set("rule", st.session_state["sidebar-decision"]),
                         help="How every page turns similarities into predicted sets, each model at its thresholds "
                              "tuned on valid: " + "; ".join(f"**{RULES[r]}**: {RULE_HELP[r]}" for r in rules)
                              + ". A model without the chosen one (a union has no INB) falls back to its best on "
                                "valid, and every F1 says which it is on.")
            with st.popover("Glossary", icon=":material/menu_book:", width="stretch"):
                glossary()

        truth_text = truth_in_use()
        if truth_text:  # above every page: which truth its scores are against
            st.info(f"Truth: **{md(truth_text)}** — every score on this page is against your reviewed fixes, not the "
                    f"labels the bundle ships.", icon=":material/fact_check:")

        pages = [
            st.Page("app_pages/leaderboard.py", title="Leaderboard", icon=":material/leaderboard:", default=True),
            st.Page("app_pages/query.py", title="Query by example", icon=":material/image_search:"),
            st.Page("app_pages/compare.py", title="Compare models", icon=":material/compare:"),
            st.Page("app_pages/embedding.py", title="Embedding space", icon=":material/scatter_plot:"),
            st.Page("app_pages/thresholds.py", title="Thresholds & decisions", icon=":material/tune:"),
            st.Page("app_pages/failures.py", title="Failure browser", icon=":material/report:"),
            st.Page("app_pages/groups.py", title="Group studio", icon=":material/hub:"),
            st.Page("app_pages/data.py", title="Data overview", icon=":material/dataset:"),
            st.Page("app_pages/training.py", title="Training", icon=":material/monitoring:"),
            st.Page("app_pages/review.py", title="Review suspects", icon=":material/fact_check:"),
        ]
        try:
            st.navigation(pages).run()
        except BundleChanged:
            # an import or removal swapped in a new version while this page read the old one: the page
            # is drawn again from the new version, never from a mix of the two
            st.rerun()
    except BaseException as exc:  # st.rerun / st.stop end a run by raising; every end is timed
        _ended = exc
        raise
    finally:
        # the heap's free chunks back to the OS once the server grew 64 MB since the last time (one read of
        # /proc otherwise): at 70,000 postings a tour of the pages left ~560 MB of them resident
        from shopee_core.speed import release_free_memory

        release_free_memory()
        timing.record(_t0, timing.status_of(_ended))

"""Warm-up before the first visitor: import what every page imports and open the bundle.

``serve.py`` runs this in its startup hook, so the first page on a fresh server costs a
script run, not a script run plus ~2 s of imports and the bundle's open (checksums included:
a bundle that fails verification is refused here too, and again, readably, on the page).
"""

from __future__ import annotations

import time


def warm_up(log=print) -> float:
    import logging

    # cache_resource called outside a script run warns that there is no ScriptRunContext: expected here
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    t = time.perf_counter()
    import pandas  # noqa: F401  (the heaviest import of every page)
    import plotly.graph_objects as go

    from dashboard import charts, gallery, state, widgets  # noqa: F401
    from dashboard.data import available_bundles, cli_bundle, load_bundle
    from shopee_core.analysis import (  # noqa: F401
        data_overview,
        decisions,
        embedding_map,
        errors,
        leaderboard,
        noise,
        plane,
        query,
        reviews,
        sweeps,
        training,
    )
    from shopee_core.bundle import BundleError

    go.Figure(go.Bar(x=[1], y=[1]), layout=dict(template=charts.LIGHT)).to_dict()  # plotly's validators load lazily
    target = cli_bundle() or next(iter(available_bundles().values()), None)
    if target is not None:
        try:
            load_bundle(str(target))
        except BundleError as exc:
            log(f"warm-up: bundle {target} refused ({exc}); the page will say so")
    seconds = time.perf_counter() - t
    log(f"warm-up: imports and bundle {target} ready in {seconds:.1f} s")
    return seconds

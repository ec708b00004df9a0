"""Warm-up before the first visitor: import what every page imports and open the bundle.

``streamlit run app.py`` runs this in the ASGI app's start-up hook (app.py), so the first page on a
fresh server costs a script run, not a script run plus ~2 s of imports and the bundle's open
(checksums included: a bundle that fails verification is refused here too, and again, readably, on
the page). ``SHOPEE_WARM_UP=0`` skips it (the benchmark's naive baseline).
"""

from __future__ import annotations

import os
import time


def warm_up(log=print) -> float:
    import logging

    if os.environ.get("SHOPEE_WARM_UP", "1") == "0":
        log("warm-up: skipped (SHOPEE_WARM_UP=0)")
        return 0.0

    # cache_resource called outside a script run warns that there is no ScriptRunContext: expected here
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    t = time.perf_counter()
    import pandas  # noqa: F401  (the heaviest import of every page)
    import plotly.graph_objects as go

    from dashboard import charts, gallery, intervals, live, state, text, widgets  # noqa: F401
    from dashboard.data import available_bundles, cli_bundle, load_bundle
    from shopee_core.analysis import (  # noqa: F401
        data_overview,
        decisions,
        embedding_map,
        errors,
        groups,
        leaderboard,
        noise,
        plane,
        query,
        reviews,
        sweeps,
        training,
    )
    from shopee_core.errors import ShopeeError

    go.Figure(go.Bar(x=[1], y=[1]), layout=dict(template=charts.LIGHT)).to_dict()  # plotly's validators load lazily
    target = cli_bundle() or next(iter(available_bundles().values()), None)
    if target is not None:
        try:
            load_bundle(str(target))
        except ShopeeError as exc:
            log(f"warm-up: bundle {target} refused ({exc}); the page will say so")
    seconds = time.perf_counter() - t
    log(f"warm-up: imports and bundle {target} ready in {seconds:.1f} s")
    return seconds

#!/usr/bin/env python
"""Where the dashboard server's memory goes: every page visited once in one process, then the caches.

Runs the app in Streamlit's AppTest (no browser) on a bundle and pool, visits every page from the
sidebar's list, and prints after each the process's own resident memory (anonymous pages) and the
bundle files it has mapped (embeddings read in place: shared, reclaimable). Then what a garbage
collection and one ``malloc_trim`` give back (the trim the app's frame does once the process grew
64 MB, ``shopee_core.speed.release_free_memory``; forced here), and what the bounded caches hold:
the bundle's own cache and the pools' shared cache by kind of entry, and each pool's re-weighting slot.

    python scripts/memory_tour.py BUNDLE [--pool test|valid|all] [--no-frame-trim]

``--no-frame-trim``: the frame does not trim during the tour, so the last trim shows what the
frame's trims keep from staying resident.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAGES = ("leaderboard", "query", "compare", "embedding", "thresholds", "failures", "groups", "data",
         "training", "review")
MB = 2**20


def memory() -> str:
    fields = {}
    with open("/proc/self/status") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("RssAnon", "RssFile", "VmHWM"):
                fields[key] = int(value.split()[0]) * 1024
    return (f"own {fields.get('RssAnon', 0) / MB:,.0f} MB, mapped files {fields.get('RssFile', 0) / MB:,.0f} MB, "
            f"peak {fields.get('VmHWM', 0) / MB:,.0f} MB")


def by_kind(cache, prefixed: bool = False) -> tuple[int, dict]:
    """Bytes by the first word of each key (``prefixed``: the pools' shared cache, whose keys are the
    pool's prefix followed by the pool's own key)."""
    from shopee_core.cache import sizeof

    kinds = collections.Counter()
    with cache._lock:
        items = list(cache._data.items())
    for key, value in items:
        if prefixed and isinstance(key, tuple) and key:
            key = key[-1]
        kinds[str(key[0]) if isinstance(key, tuple) and key else str(key)] += sizeof(value)
    return cache.used, dict(kinds.most_common(8))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("bundle")
    ap.add_argument("--pool", default="test", help="candidate pool shown (default test)")
    ap.add_argument("--no-frame-trim", action="store_true", help="no malloc_trim at the end of each run during "
                                                                     "the tour (the last trim shows what they save)")
    args = ap.parse_args(argv)
    os.environ["SHOPEE_BUNDLE"] = str(Path(args.bundle).resolve())
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from streamlit.testing.v1 import AppTest

    from shopee_core import speed
    from shopee_core.bundle import Bundle
    from shopee_core.matching.pool import Pool
    from shopee_core.speed import release_free_memory

    if args.no_frame_trim:
        speed._release["libc"] = False  # release_free_memory() in the frame does nothing
    print(f"start: {memory()}")
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=900)
    at.query_params["split"] = args.pool
    t = time.perf_counter()
    at.run()
    print(f"{'frame':<12} {time.perf_counter() - t:6.2f} s  {memory()}")
    for page in PAGES:
        t = time.perf_counter()
        at.switch_page(f"app_pages/{page}.py").run()
        errors = [e.value for e in at.exception][:1]
        print(f"{page:<12} {time.perf_counter() - t:6.2f} s  {memory()}{'  error: ' + str(errors[0]) if errors else ''}")
    gc.collect()
    print(f"after gc: {memory()}")
    speed._release["libc"], speed._release["at"] = None, 0  # here whatever there is, whatever the frame did
    t = time.perf_counter()
    released = release_free_memory(0)
    print(f"malloc_trim gave back {'nothing (no glibc)' if released is None else f'{released / MB:,.0f} MB'} in "
          f"{(time.perf_counter() - t) * 1000:.0f} ms: {memory()}")
    for b in [o for o in gc.get_objects() if isinstance(o, Bundle)]:
        used, kinds = by_kind(b._cache)
        print(f"bundle cache ({b.truth or 'as labelled'}): {used / MB:,.0f} MB: "
              + ", ".join(f"{k} {v / MB:,.0f}" for k, v in kinds.items()))
    seen = set()
    for p in [o for o in gc.get_objects() if isinstance(o, Pool)]:
        if id(p._cache) not in seen:
            seen.add(id(p._cache))
            used, kinds = by_kind(p._cache, prefixed=True)
            print(f"pools' shared cache: {used / MB:,.0f} MB (may hold {p._cache.limit / MB:,.0f} MB now: the "
                  f"re-weighting slots count against it): " + ", ".join(f"{k} {v / MB:,.0f}" for k, v in kinds.items()))
        slot = sum(v for v in by_kind(p._weighing)[1].values())
        print(f"pool {getattr(p, 'name', '?')}: re-weighting slot {slot / MB:,.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

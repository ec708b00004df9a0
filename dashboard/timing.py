"""The server's own time per script run, for the load benchmark (``scripts/bench_load.py``).

With ``SHOPEE_RUN_LOG=FILE`` in the server's environment every script run of every session appends
one line, ``<unix time> <session> <seconds> <done|rerun|stop|error> <cpu seconds>``, to FILE (one
small O_APPEND write, so concurrent sessions never interleave a line). Without it this costs one dict
lookup. The wall seconds include the time a run waits for a CPU while other processes (a load test's
browsers) hold both cores; the CPU seconds are the run's own thread's, what the run itself costs
(work a library hands to its own threads is not in it).
"""

from __future__ import annotations

import os
import time

ENV = "SHOPEE_RUN_LOG"


def start() -> tuple[float, float]:
    return time.perf_counter(), time.thread_time()


def record(t0: tuple[float, float], status: str = "done") -> None:
    path = os.environ.get(ENV)
    if not path:
        return
    seconds = time.perf_counter() - t0[0]
    cpu = time.thread_time() - t0[1]
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        session = ctx.session_id if ctx is not None else "-"
    except Exception:  # noqa: BLE001 - the record is informational
        session = "-"
    line = f"{time.time():.3f} {session} {seconds:.4f} {status} {cpu:.4f}\n".encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.writev(fd, [line])  # one append of the whole line (not named write: that reads as st.write)
    finally:
        os.close(fd)


def status_of(exc: BaseException | None) -> str:
    """How a script run ended: done, rerun (a newer widget event cut it short), stop, or error."""
    if exc is None:
        return "done"
    name = type(exc).__name__
    return "rerun" if "Rerun" in name else "stop" if "Stop" in name else "error"

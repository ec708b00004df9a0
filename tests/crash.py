"""Running the real CLI with a fault at a named step (:mod:`shopee_core.faults`), and what to compare after.

``cli(args, kill="edit:staged")`` runs ``python -m shopee_core ARGS`` in a subprocess that
SIGKILLs itself at that step (``enospc=`` raises a full-disk error there instead, ``pause=``
stops it there until SIGCONT; ``wait_stopped(pid)`` waits for that). ``snapshot(folder)`` is every file's sha256 (hidden ones
too), ``leftovers(folder)`` the hidden ``.NAME.*`` entries beside it that a run may leave.
``steps_of(main_args)`` runs the CLI in this process with the trace armed and returns the
named steps it reached, so a test can check its list of steps is complete.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from shopee_core import faults

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
KILLED = -signal.SIGKILL


def cli(args, kill: str | None = None, enospc: str | None = None, pause: str | None = None, trace=None,
        wait: bool = True, timeout: float = 300):
    """The command's CompletedProcess (text stdout/stderr), or its Popen when ``wait`` is False."""
    env = dict(ENV)
    for var, value in ((faults.ENV_KILL, kill), (faults.ENV_ENOSPC, enospc), (faults.ENV_PAUSE, pause),
                       (faults.ENV_TRACE, trace and str(trace))):
        if value:
            env[var] = value
    cmd = [sys.executable, "-m", "shopee_core", *map(str, args)]
    if not wait:
        return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def wait_stopped(pid: int, timeout: float = 300) -> None:
    """Until the process has stopped itself at its ``pause`` step (state T in /proc)."""
    deadline = time.monotonic() + timeout
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "T":
        assert time.monotonic() < deadline, f"process {pid} never reached its pause"
        time.sleep(0.02)


def snapshot(folder) -> dict[str, str]:
    folder = Path(folder)
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def leftovers(folder, keep=(".build",)) -> list[str]:
    """Hidden entries ``.NAME.*`` beside ``folder`` (its lock, staging and set-aside copies), but
    not those ending in ``keep`` (a build's cache is kept on purpose: a later build reuses it)."""
    folder = Path(folder)
    return sorted(p.name for p in folder.parent.iterdir()
                  if p.name.startswith(f".{folder.name}.") and not p.name.endswith(tuple(keep)))


def temp_files(folder) -> list[str]:
    return sorted(p.name for p in Path(folder).rglob(".*.tmp"))


def traced(trace: Path) -> list[str]:
    """The distinct steps a traced run reached, in order."""
    return list(dict.fromkeys(trace.read_text().split())) if trace.exists() else []


def steps_of(argv, trace: Path) -> tuple[int, list[str]]:
    """Run ``main(argv)`` here with every step traced: (exit code, distinct step names in order)."""
    from shopee_core.cli import main

    trace.unlink(missing_ok=True)
    faults.configure(trace=str(trace))
    try:
        rc = main([str(a) for a in argv])
    finally:
        faults.configure()
    return rc, traced(trace)


def one_error_line(stderr: str) -> str:
    """The single ``error:`` line of a failed command, checked to be its last line and its only
    error (a build logs its steps before it)."""
    lines = [line for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert len(errors) == 1 and lines[-1] == errors[0] and "Traceback" not in stderr, stderr
    return errors[0]

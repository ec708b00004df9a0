"""Named fault points: a crash or a full disk at a real step of a command, on request.

The reliability tests must show that a command killed at *any* step leaves the previous
state intact, and that a write failing with ENOSPC is one ``error:`` line. Timing a
``kill -9`` from outside hits a random step; these hooks hit a chosen one. Each real step
of ``train``, ``embed``, ``build-bundle``, ``import-model`` and ``remove-model`` calls
:func:`step` with its name (``edit:staged``, ``checkpoint:state``, ``write:manifest.json``
for every atomic write of that file name, ...), and the environment says what happens there:

- ``SHOPEE_FAULT_AT=NAME[#N]``: the process kills itself with SIGKILL (no clean-up, no
  ``finally``, no atexit) the N-th time (default the first) it reaches ``NAME``;
- ``SHOPEE_FAULT_ENOSPC=NAME[#N]``: ``OSError(ENOSPC)`` is raised there instead, as a write
  to a full disk raises it;
- ``SHOPEE_FAULT_PAUSE=NAME[#N]``: the process stops itself there (SIGSTOP) until it is sent
  SIGCONT, so a test can start a second command while the first is at a known step;
- ``SHOPEE_FAULT_TRACE=FILE``: every step reached is appended to ``FILE`` (one name a line),
  so a test can check that its list of a command's steps is complete.

Why the environment: the tests run the real CLI in a subprocess. The variables are read
once at import; unset (always, outside the tests), :func:`step` is one boolean test, so the
hooks may sit in loops such as the per-thumbnail write. :func:`configure` arms them in the
current process (in-process tests).
"""

from __future__ import annotations

import errno
import os
import signal

ENV_KILL, ENV_ENOSPC, ENV_PAUSE, ENV_TRACE = ("SHOPEE_FAULT_AT", "SHOPEE_FAULT_ENOSPC", "SHOPEE_FAULT_PAUSE",
                                             "SHOPEE_FAULT_TRACE")


def _parse(spec: str | None) -> tuple[str, int] | None:
    if not spec:
        return None
    name, _, nth = spec.partition("#")
    return name, int(nth) if nth else 1


_kill = _enospc = _pause = None
_trace: str | None = None
_counts: dict[str, int] = {}
ARMED = False


def configure(kill: str | None = None, enospc: str | None = None, pause: str | None = None,
              trace: str | None = None) -> None:
    """Arm the hooks in this process (``NAME`` or ``NAME#N`` as in the variables); all None disarms."""
    global _kill, _enospc, _pause, _trace, ARMED
    _kill, _enospc, _pause, _trace = _parse(kill), _parse(enospc), _parse(pause), trace or None
    _counts.clear()
    ARMED = bool(_kill or _enospc or _pause or _trace)


configure(os.environ.get(ENV_KILL), os.environ.get(ENV_ENOSPC), os.environ.get(ENV_PAUSE), os.environ.get(ENV_TRACE))


def step(name: str) -> None:
    """Mark that the command reached step ``name``; a no-op unless a fault is armed."""
    if not ARMED:
        return
    _counts[name] = n = _counts.get(name, 0) + 1
    if _trace:
        with open(_trace, "a", encoding="utf-8") as fh:
            fh.write(name + "\n")
    if _enospc and _enospc == (name, n):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC) + f" (simulated at step {name})")
    if _pause and _pause == (name, n):
        os.kill(os.getpid(), signal.SIGSTOP)
    if _kill and _kill == (name, n):
        os.kill(os.getpid(), signal.SIGKILL)

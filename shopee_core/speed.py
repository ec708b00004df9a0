"""glibc malloc, both ways: a CPU speed switch for convolutional networks, and giving a long-lived
server's freed memory back (:func:`release_free_memory`).

glibc's malloc returns big freed blocks to the OS (``mmap``/trim) and page-faults
them back on the next batch; for CNN activations this makes inference 2-5x slower
on CPU. :func:`enable_cpu_speed` keeps freed memory in the process instead:
``mallopt(M_MMAP_MAX, 0)`` and ``mallopt(M_TRIM_THRESHOLD, 1 GiB)``. The same effect
from the environment, before Python starts:
``GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736``.
Combine with ``model.to(memory_format=torch.channels_last)``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform
import threading

M_TRIM_THRESHOLD = -1
M_MMAP_MAX = -4
TRIM_THRESHOLD_BYTES = 1 << 30  # 1 GiB

_applied = False
RELEASE_AFTER_BYTES = 64 << 20  # trim once the process's own memory grew this much since the last trim
_release = {"lock": threading.Lock(), "at": 0, "libc": None}


def enable_cpu_speed() -> bool:
    """Apply the malloc settings once per process; True when they are in force (glibc), False elsewhere."""
    global _applied
    if _applied:
        return True
    libc = _libc()
    if not libc:
        return False
    try:
        mallopt = libc.mallopt
    except AttributeError:
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = mallopt(M_MMAP_MAX, 0) == 1
    ok = mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1 and ok
    _applied = ok
    return ok


def _libc():
    """glibc, loaded once (False elsewhere): its mallopt and malloc_trim."""
    if _release["libc"] is None:
        ok = platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"
        try:
            lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6") if ok else False
            if lib:
                lib.malloc_trim.argtypes = [ctypes.c_size_t]
                lib.malloc_trim.restype = ctypes.c_int
        except (OSError, AttributeError):
            lib = False
        _release["libc"] = lib
    return _release["libc"]


def own_bytes() -> int | None:
    """The process's resident memory less its file-backed pages (``/proc/self/statm``: resident -
    shared), i.e. what it holds of its own; None where there is no /proc."""
    try:
        with open("/proc/self/statm") as f:
            fields = f.read().split()
        return (int(fields[1]) - int(fields[2])) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


def release_free_memory(after_bytes: int = RELEASE_AFTER_BYTES) -> int | None:
    """Hand the heap's free pages back to the OS (``malloc_trim``) once the process's own memory has
    grown ``after_bytes`` since the last time (0: now, whatever it did since); bytes released, or
    None when it did not run.

    Why: numpy temporaries below glibc's (self-raising, up to 32 MB) mmap threshold come from the
    heap, and the free chunks they leave between live ones stay resident. In a one-off AppTest probe
    of the dashboard at 70,000 postings that was ~560 MB of a 2.7 GB server after a tour of the pages,
    given back by one 18 ms call (``scripts/memory_tour.py`` is the repeatable tour). Cheap when there is nothing to do (one read of /proc); thread-safe (sessions are threads)."""
    lib = _libc()
    if not lib:
        return None
    with _release["lock"]:
        before = own_bytes()
        if before is None or (after_bytes > 0 and before - _release["at"] < after_bytes):
            if before is not None and before < _release["at"]:
                _release["at"] = before  # memory went down on its own: measure growth from here
            return None
        lib.malloc_trim(0)
        after = own_bytes() or before
        _release["at"] = after
        return max(0, before - after)

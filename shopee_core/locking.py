"""An exclusive lock that names its holder: one writer at a time for a bundle, a build, a file.

Several people (or several shells of one person) may change the same thing at once: three
``import-model`` runs on one bundle each read the manifest, stage their model and swap;
without a lock spanning read -> stage -> verify -> swap the last swap wins and the other
models are silently gone. :func:`exclusive` is that lock, reusable for anything that is
read, changed and written back (a bundle, its ``.NAME.build`` cache, a review file):

- ``flock(2)`` on a small lock file (``.NAME.lock`` beside the target). The kernel drops it
  when its holder dies, SIGKILL included, so a lock left by a dead process is simply free:
  it is taken over with a note, never waited on.
- The holder writes ``{"pid", "what", "since"}`` into the file, so a second writer can say
  whom it waits for (``--no-wait``: :class:`LockBusy`, ``another edit of B is running (pid N)``).
- The file is removed at release. A waiter whose freshly won lock belongs to a file that
  was removed meanwhile retries on the new one (checked by inode), so the removal never
  lets two holders in.
- Re-entrant within a thread (an edit that calls another edit helper takes it once);
  other threads of the process wait like other processes (flock conflicts between open
  files, not only between processes).
- A child made by ``fork`` (DataLoader workers of a build) closes its copies at once:
  it could otherwise keep the lock alive after its parent was killed.

Advisory only: it serialises the writers that take it; readers never take it (a bundle's
readers rely on its atomic swap, :mod:`shopee_core.bundle.reader`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .errors import ShopeeError

logger = logging.getLogger(__name__)


class LockBusy(ShopeeError):
    """Another process (or thread) holds the lock and the caller asked not to wait."""


@dataclass
class Holder:
    """Who holds (or last held) a lock, as its lock file says."""

    pid: int | None
    what: str = "edit"
    since: float | None = None

    @property
    def alive(self) -> bool:
        return self.pid is not None and pid_alive(self.pid)

    def describe(self) -> str:
        if self.pid is None:
            return "pid unknown"
        return f"pid {self.pid}" if self.alive else f"pid {self.pid}, gone; a process it started holds the lock"


def pid_alive(pid: int) -> bool:
    """Whether a process of this id exists (a zombie counts as gone: it holds no lock)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def read_holder(lock_file) -> Holder | None:
    """The holder recorded in ``lock_file`` (None when there is no such file or it says nothing)."""
    try:
        data = json.loads(Path(lock_file).read_text(encoding="utf-8"))
        return Holder(int(data["pid"]), str(data.get("what", "edit")), data.get("since"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError):
        return Holder(None)


class _Held:
    def __init__(self, fd: int, thread: int):
        self.fd, self.thread, self.depth = fd, thread, 1


_HELD: dict[str, _Held] = {}
_HELD_LOCK = threading.Lock()


def _forget_in_child() -> None:
    for held in _HELD.values():
        try:
            os.close(held.fd)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


def holds(lock_file) -> bool:
    """Whether the calling thread holds the lock of ``lock_file``."""
    held = _HELD.get(os.path.abspath(lock_file))
    return held is not None and held.thread == threading.get_ident()


def _try_flock(fd: int, block: bool) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if block else fcntl.LOCK_NB))
        return True
    except BlockingIOError:
        return False


def _same_file(fd: int, path: str) -> bool:
    try:
        a, b = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _acquire(path: str, name: str, what: str, wait: bool) -> tuple[int, Holder | None]:
    """The locked fd of ``path`` and the holder it had before (dead, or None when it was new)."""
    noted = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            before = read_holder(path)
            got = _try_flock(fd, block=False)
            if not got:
                holder = read_holder(path) or Holder(None)
                if holder.pid is None:  # caught between the holder's truncate and write
                    time.sleep(0.05)
                    holder = read_holder(path) or Holder(None)
                if not wait:
                    raise LockBusy(f"another {holder.what} of {name} is running ({holder.describe()})")
                if not noted:
                    logger.warning(f"note: waiting for another {holder.what} of {name} ({holder.describe()}) to "
                                   f"finish; --no-wait refuses instead")
                    noted = True
                got = _try_flock(fd, block=True)
            if got and _same_file(fd, path):
                return fd, before
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # won the lock of a file its last holder removed: retry on the current one


@contextlib.contextmanager
def exclusive(lock_file, name: str | None = None, what: str = "edit", wait: bool = True) -> Iterator[None]:
    """Hold the exclusive lock of ``lock_file`` for the block.

    ``name``: the thing locked, as messages say it (default the lock file's name); ``what``:
    the kind of work (``edit``, ``build``), recorded for whoever waits; ``wait``: False raises
    :class:`LockBusy` at once instead of waiting for the holder to finish.
    """
    path = os.path.abspath(lock_file)
    name = name or os.path.basename(path)
    me = threading.get_ident()
    with _HELD_LOCK:
        held = _HELD.get(path)
        if held is not None and held.thread == me:
            held.depth += 1
            reentered = True
        else:
            reentered = False
    if reentered:
        try:
            yield
        finally:
            with _HELD_LOCK:
                held.depth -= 1
        return
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd, before = _acquire(path, name, what, wait)
    if before is not None and before.pid is not None and before.pid != os.getpid() and not before.alive:
        logger.warning(f"note: took over the lock of {name} left by pid {before.pid}, which is no longer running")
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps({"pid": os.getpid(), "what": what, "since": round(time.time(), 3)}).encode(), 0)
    except BaseException:
        os.close(fd)
        raise
    with _HELD_LOCK:
        _HELD[path] = _Held(fd, me)
    try:
        yield
    finally:
        with _HELD_LOCK:
            _HELD.pop(path, None)
        try:
            if _same_file(fd, path):
                os.unlink(path)  # while still holding it: a waiter on this file then retries
        except OSError:
            pass
        os.close(fd)

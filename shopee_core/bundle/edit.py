"""Changing a bundle in place without ever leaving it half changed.

A bundle is only valid when every file matches its manifest and no file is unlisted, so
neither "add the files, then write the manifest" nor "rewrite a model's files" can be
interrupted safely inside the bundle folder. An edit therefore works on a staging copy
beside it (``.NAME.edit``): every kept file hard-linked (copied where links fail; files
are only ever replaced by rename, never rewritten, so a link never changes the original),
new files written, the manifest re-sealed, the copy verified with ``check_bundle``, and
then the copy and the bundle swapped in one ``renameat2(RENAME_EXCHANGE)``. A crash before
the swap leaves the old bundle untouched (plus a stale hidden staging folder, removed by
the next edit); after it, the new one. Where the kernel or file system cannot exchange,
the builder's two renames are used (old aside, new in): the old bundle then survives as
``.NAME.old`` for the instant between them (a crash there is repaired by the next edit or
build, which puts ``.NAME.old`` back when ``NAME`` is missing).

Every writer of a bundle holds :func:`bundle_lock` (the exclusive lock of
:mod:`shopee_core.locking` on ``.NAME.lock`` beside it) from reading the manifest to the swap,
so an edit always stages from the state the previous one left: concurrent imports all land.
A build holds it from planning to the swap, so a second build into the same ``--out`` (or
an edit during a build) never mixes its files with the first's.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import logging
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from .. import faults
from ..locking import exclusive, holds
from . import reader
from .format import MANIFEST

logger = logging.getLogger(__name__)

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False where this system cannot (then nothing moved)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, f"cannot swap {b} with {a}: {os.strerror(err)}")


def swap_in(new: Path, out: Path) -> None:
    """Put the finished folder ``new`` at ``out`` (replacing what is there) and remove the old one."""
    new, out = Path(new), Path(out)
    old = out.parent / f".{out.name}.old"
    if old.exists():
        shutil.rmtree(old)
    if out.exists() and _exchange(new, out):
        faults.step("swap:exchanged")
        shutil.rmtree(new)  # now holds the old bundle
        return
    if out.exists():
        out.rename(old)
        faults.step("swap:aside")
    new.rename(out)
    if old.exists():
        shutil.rmtree(old)


def lock_file(root) -> Path:
    root = Path(root).resolve()
    return root.parent / f".{root.name}.lock"


@contextlib.contextmanager
def bundle_lock(root, what: str = "edit", wait: bool = True) -> Iterator[Path]:
    """Hold the bundle's exclusive lock (re-entrant within a thread); yields the resolved path.

    ``what``: ``edit`` or ``build``, named to whoever waits; ``wait`` False: refuse at once
    (:class:`~shopee_core.locking.LockBusy`) while another holds it. Under the lock, what a
    killed writer left is repaired first: a bundle set aside by a two-rename swap is put
    back, stale staging folders removed."""
    path = Path(root).resolve()
    if holds(lock_file(path)):  # an edit that read the bundle under the lock, now staging
        yield path
        return
    with exclusive(lock_file(path), name=str(root), what=what, wait=wait):
        faults.step(f"{what}:locked")
        _repair(path)
        yield path


def _repair(root: Path) -> None:
    old = root.parent / f".{root.name}.old"
    if old.is_dir() and not root.exists() and (old / MANIFEST).is_file():
        old.rename(root)  # killed between the two renames of swap_in: the old bundle is whole
        logger.warning(f"note: restored {root.name} from {old.name}, left by an interrupted swap")
    for suffix in ("old", "edit", "new", "shaped"):  # staging of edits and builds killed mid-way
        stale = root.parent / f".{root.name}.{suffix}"
        if stale.exists():  # ours by name, and we hold the lock
            shutil.rmtree(stale)


def _link_or_copy(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


@contextlib.contextmanager
def staged(root, drop=()) -> Iterator[Path]:
    """A staging copy of the bundle at ``root`` without the manifest and the files in ``drop``
    (paths relative to the bundle). The caller writes its new files there and seals the
    manifest; on a clean exit the copy is verified and swapped in, on an error it is removed
    and the bundle is left exactly as it was. It holds :func:`bundle_lock`; an edit takes the
    lock itself *before* reading the bundle, so what it stages from is what it read."""
    drop = {Path(d).as_posix() for d in drop}
    with bundle_lock(root) as root:  # already held by an edit that read the bundle under it
        stage = root.parent / f".{root.name}.edit"
        if stage.exists():  # left by an edit that crashed; ours by name, and we hold the lock
            shutil.rmtree(stage)
        stage.mkdir()
        try:
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root).as_posix()
                if path.is_file() and rel != MANIFEST and rel not in drop:
                    _link_or_copy(path, stage / rel)
            faults.step("edit:staged")
            yield stage
            if not (stage / MANIFEST).is_file():
                raise RuntimeError("a bundle edit must seal the staged manifest")
            faults.step("edit:sealed")
            reader.check_bundle(stage)
            faults.step("edit:verified")
            swap_in(stage, root)
        finally:
            if stage.exists():
                shutil.rmtree(stage)

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
``.NAME.old`` for the instant between them.

Edits of bundles in one folder are serialised by an advisory lock on that folder.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

from . import reader
from .format import MANIFEST

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
        shutil.rmtree(new)  # now holds the old bundle
        return
    if out.exists():
        out.rename(old)
    new.rename(out)
    if old.exists():
        shutil.rmtree(old)


@contextlib.contextmanager
def _folder_lock(folder: Path) -> Iterator[None]:
    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


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
    and the bundle is left exactly as it was."""
    root = Path(root).resolve()
    drop = {Path(d).as_posix() for d in drop}
    stage = root.parent / f".{root.name}.edit"
    with _folder_lock(root.parent):
        if stage.exists():  # left by an edit that crashed; ours by name, and we hold the lock
            shutil.rmtree(stage)
        stage.mkdir()
        try:
            for path in sorted(root.rglob("*")):
                rel = path.relative_to(root).as_posix()
                if path.is_file() and rel != MANIFEST and rel not in drop:
                    _link_or_copy(path, stage / rel)
            yield stage
            if not (stage / MANIFEST).is_file():
                raise RuntimeError("a bundle edit must seal the staged manifest")
            reader.check_bundle(stage)
            swap_in(stage, root)
        finally:
            if stage.exists():
                shutil.rmtree(stage)

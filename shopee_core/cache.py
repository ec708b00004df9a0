"""The one in-memory cache of the library: bounded, thread-safe, single-flight.

A :class:`Cache` belongs to the object whose lifetime its values share — a bundle
(its arrays, a page's predictions, thumbnails), a candidate pool (tables, scorers,
curves), a process (query encoders) — so a value can never outlive what it was made
from: a bundle replaced on disk is a new bundle object with an empty cache. Dashboard
sessions run in threads, so two of them asking for the same expensive value (a kNN
table, a transformer encoder) must not both build it: the second waits for the first.
:func:`memoize` is the same bounded, locked LRU for cheap pure functions.
"""

from __future__ import annotations

import mmap
import threading
from collections.abc import Callable, Hashable

import cachetools
import numpy as np
import scipy.sparse as sp
from cachetools import LRUCache

from .speed import release_free_memory

SMALL = 256  # what an object that does not say its size is counted as


def _bases(array):
    """An array, then what it views, then what that views... (a view of a file mapping ends in its mmap)."""
    base = array
    while base is not None:
        yield base
        base = getattr(base, "base", None)


def mapped(array: np.ndarray) -> bool:
    """Whether an array reads a file in place (``np.load(mmap_mode=...)``, or any view of such an
    array): its pages are the OS's to keep or drop, not memory this process holds."""
    return any(isinstance(base, (np.memmap, mmap.mmap)) for base in _bases(array))


def release(array) -> None:
    """Give back this process's resident pages of an array read in place (``madvise(MADV_DONTNEED)``
    on its file mapping), after a pass that read all of it. The pages stay in the OS's page cache: a
    later read maps them again without touching the disk. Without it a re-weighting's one read of
    five members' embeddings left 342 MB (34,253 postings) counted in the server's resident memory
    for the rest of its life. Anything not read in place: nothing to do."""
    for base in _bases(array):
        if isinstance(base, mmap.mmap):
            try:
                base.madvise(mmap.MADV_DONTNEED)
            except (AttributeError, OSError, ValueError):  # no madvise here, or the map is closed
                pass
            return


def sizeof(value) -> int:
    """Approximate bytes held by a cached value: arrays, sparse matrices, frames, anything with an
    ``nbytes`` attribute, and containers of those. An array read in place from a file counts as
    small: a bundle's embeddings (335 MB at 34,253 postings) filled two thirds of the pools' 512 MB
    budget and pushed out tables that do hold memory."""
    if isinstance(value, np.ndarray):
        return SMALL if mapped(value) else int(value.nbytes)
    if sp.issparse(value):
        return int(value.data.nbytes + value.indices.nbytes + value.indptr.nbytes)
    if isinstance(value, (str, bytes)):
        return len(value) + 64
    if isinstance(value, dict):
        return sum(sizeof(v) for v in value.values()) + 64
    if isinstance(value, (tuple, list)):
        return sum(sizeof(v) for v in value) + 64
    memory = getattr(value, "memory_usage", None)  # a pandas frame or series
    if callable(memory):
        return int(np.sum(memory(index=True)))
    size = getattr(value, "nbytes", None)
    return int(size) if isinstance(size, (int, np.integer)) else SMALL


def one(_value) -> int:
    """Count entries instead of bytes (``Cache(8, size=one)``: at most eight values)."""
    return 1


class Cache:
    """At most ``capacity`` (bytes by default, or whatever ``size`` counts) of values, least recently
    used first out. :meth:`get` makes a missing value once: a thread asking for a key another thread
    is making waits for it; if that maker fails, the waiter makes it itself. A value larger than the
    whole capacity (or :attr:`limit`) is returned and not kept.

    :meth:`reserve` counts memory its owners hold outside the cache against the capacity, down to
    ``floor`` (half the capacity unless given): what a budget is for is the memory of what was
    computed, wherever it is kept."""

    def __init__(self, capacity: int, size: Callable[[object], int] = sizeof, floor: int | None = None):
        self._data = LRUCache(maxsize=capacity, getsizeof=size)
        self._lock = threading.RLock()
        self._making: dict[Hashable, threading.Event] = {}
        self._capacity = capacity
        self._floor = capacity // 2 if floor is None else min(floor, capacity)
        self._reserved: dict[Hashable, int] = {}

    @property
    def limit(self) -> int:
        """The capacity less the reservations, never below the floor."""
        with self._lock:
            return max(self._floor, self._capacity - sum(self._reserved.values()))

    def reserve(self, owner: Hashable, amount: int) -> None:
        """``owner`` now holds ``amount`` outside the cache (0: nothing any more); least recently
        used values go until the rest fits the new :attr:`limit`."""
        with self._lock:
            if amount > 0:
                self._reserved[owner] = int(amount)
            else:
                self._reserved.pop(owner, None)
            pushed_out = self._fit()
        if pushed_out:
            # their memory back to the OS now, before the owner fills what it reserved: a table of a few
            # MB comes from glibc's heap, and freeing it leaves the pages resident until a trim
            release_free_memory(0)

    def _fit(self, room: int = 0) -> int:
        """Push out least recently used values until the rest fits the limit less ``room``; how many went."""
        limit, gone = self.limit - room, 0
        while len(self._data) and self._data.currsize > limit:
            self._data.popitem()
            gone += 1
        return gone

    def _make_room(self, expect: int) -> None:
        """Before a value of about ``expect`` is made: push out now what keeping it would push out once
        made, and give their memory back to the OS, so they are not held beside it while it is made (at
        70,000 postings the decision plane's pair table, ~200 MB, was built while the tables it was to
        replace were still held). Nothing goes for a value the cache would not keep."""
        with self._lock:
            gone = self._fit(expect) if 0 < expect <= self.limit else 0
        if gone:
            release_free_memory(0)

    def get(self, key: Hashable, make: Callable[[], object], expect: int = 0):
        """The cached value of ``key``, made by ``make()`` if missing. ``expect``: about what the value will
        count for (bytes), when its maker knows: room is made for it first (:meth:`_make_room`); least
        recently used first, so a maker asks for its own inputs before, not inside, ``make``."""
        while True:
            with self._lock:
                try:
                    return self._data[key]
                except KeyError:
                    pass
                busy = self._making.get(key)
                if busy is None:
                    done = self._making[key] = threading.Event()
                    break
            busy.wait()
        try:
            if expect:
                self._make_room(expect)
            value = make()
            with self._lock:
                # larger than what the cache may hold now: returned, not kept (nor anything pushed out for it)
                if self._data.getsizeof(value) <= self.limit:
                    self._data[key] = value
                    self._fit()
            return value
        finally:
            with self._lock:
                self._making.pop(key, None)
            done.set()

    def holds(self, key: Hashable) -> bool:
        """Whether ``key`` is cached or being made by some thread right now."""
        with self._lock:
            return key in self._data or key in self._making

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def clear_where(self, drop: Callable[[Hashable], bool]) -> None:
        """Forget the keys ``drop`` picks (one owner's share of a cache several owners use)."""
        with self._lock:
            for key in [k for k in self._data if drop(k)]:
                del self._data[key]

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    @property
    def used(self) -> int:
        """What the cached values count for now (bytes, or entries)."""
        with self._lock:
            return int(self._data.currsize)


def memoize(capacity: int):
    """Results of a pure function of hashable arguments (a title's parsed quantities, a font of one
    size), at most ``capacity`` of them, least recently used out, behind a lock. The process owns
    them: they depend on the arguments alone. No single flight: for a function of microseconds a
    second thread computing the same value costs less than waiting for the first."""
    def wrap(fn):
        return cachetools.cached(LRUCache(maxsize=capacity), lock=threading.Lock())(fn)
    return wrap

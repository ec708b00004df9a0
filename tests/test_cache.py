"""The one cache: bounded by bytes (or entries), least recently used out, and single-flight across threads."""

import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopee_core.cache import SMALL, Cache, one, release, sizeof


def test_sizes_of_what_is_cached(tmp_path):
    a = np.zeros(1000, dtype=np.float32)
    assert sizeof(a) == 4000
    m = sp.csr_matrix(np.eye(10, dtype=np.float32))
    assert sizeof(m) == m.data.nbytes + m.indices.nbytes + m.indptr.nbytes
    assert sizeof((a, a)) == 8064 and sizeof({"x": a}) == 4064
    frame = pd.DataFrame({"x": np.zeros(100)})
    assert sizeof(frame) == int(frame.memory_usage(index=True).sum())
    np.save(tmp_path / "a.npy", np.zeros(10_000))
    mapped = np.load(tmp_path / "a.npy", mmap_mode="r")
    assert sizeof(mapped) == SMALL  # the OS holds a mapped file's pages
    assert sizeof(np.asarray(mapped)[:5000]) == SMALL  # so do views of it (how a bundle's rows are used)
    assert sizeof(np.array(mapped[:5000])) == 40_000  # a copy is this process's memory

    from shopee_core.matching.embeddings import Embeddings

    rows = np.tile(np.eye(8, dtype=np.float32), (13, 1))
    np.save(tmp_path / "e.npy", rows)
    on_disk = Embeddings.from_unit_rows(np.load(tmp_path / "e.npy", mmap_mode="r"))
    assert sizeof(on_disk) == SMALL and sizeof(Embeddings.from_unit_rows(rows)) == rows.nbytes
    assert sizeof(object()) == SMALL


def _resident_kb(path) -> int:
    """This process's resident kB of the mappings of ``path`` (Linux's /proc/self/smaps)."""
    total, inside = 0, False
    for line in open("/proc/self/smaps"):
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
            inside = line.rstrip().endswith(str(path))
        elif inside and head[0] == "Rss:":
            total += int(head[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="needs Linux's /proc/self/smaps")
def test_released_pages_leave_this_process_and_the_values_stay(tmp_path):
    path = tmp_path / "rows.npy"
    np.save(path, np.arange(4 << 20, dtype=np.float32).reshape(-1, 256))  # 16 MB
    rows = np.load(path, mmap_mode="r")
    view = rows[::2]  # a view of the map: released through its base
    assert float(view.sum()) > 0 and _resident_kb(path) > 12_000  # read in full: resident
    release(view)
    assert _resident_kb(path) < 1_000
    assert np.array_equal(rows[-1], np.arange((4 << 20) - 256, 4 << 20, dtype=np.float32))  # read back as before
    release(np.zeros(3))  # not read in place: nothing to do


def test_bounded_least_recently_used_out():
    c = Cache(10_000)
    for k in "abc":
        c.get(k, lambda: np.zeros(1000, dtype=np.float32))  # 4,000 bytes each
    assert not c.holds("a") and c.holds("b") and c.holds("c") and c.used == 8000
    c.get("b", lambda: pytest.fail("b is cached"))
    c.get("d", lambda: np.zeros(1000, dtype=np.float32))
    assert c.holds("b") and not c.holds("c")  # c was the least recently used
    big = c.get("big", lambda: np.zeros(10_000, dtype=np.float32))
    assert big.shape == (10_000,) and not c.holds("big")  # larger than the whole cache: returned, not kept
    counted = Cache(2, size=one)
    for k in range(3):
        counted.get(k, lambda: "x")
    assert len(counted) == 2 and not counted.holds(0)



def test_memory_held_outside_counts_against_the_budget_down_to_its_floor():
    """A re-weighting slot (380 MB at 70,000 postings) is kept outside the pools' bounded cache so that
    a step's own tables cannot push it out; reserving it makes the cache hold that much less, least
    recently used first out, but never less than its floor."""
    c = Cache(100, size=lambda v: v, floor=40)
    for key in "abcd":
        c.get(key, lambda: 20)
    c.get("a", lambda: pytest.fail("a is cached"))  # a used again: b is the least recently used now
    assert c.limit == 100 and c.used == 80
    c.reserve("slot", 50)
    assert c.limit == 50 and c.used == 40 and not c.holds("b") and not c.holds("c") and c.holds("a")
    c.reserve("other slot", 30)
    assert c.limit == 40  # the floor
    c.get("e", lambda: 20)
    assert c.used == 40 and not c.holds("d")  # d was the least recently used
    c.reserve("slot", 0)
    c.reserve("other slot", 0)
    assert c.limit == 100
    c.get("f", lambda: 30)
    assert c.used == 70  # room again; nothing given back comes back by itself
    c.reserve("slot", 60)
    assert c.limit == 40 and c.used == 30 and c.holds("f")
    assert c.get("g", lambda: 45) == 45 and not c.holds("g") and c.holds("f")  # over the limit: not kept, nothing out
    assert Cache(100).limit == 100 and Cache(100, floor=500).limit == 100
    half = Cache(100)
    half.reserve("x", 1000)
    assert half.limit == 50  # half the capacity unless a floor is given


def test_what_a_reservation_pushes_out_goes_back_to_the_os_at_once(monkeypatch):
    """A table of a few MB lives on glibc's heap: pushed out for a re-weighting slot, its pages stayed
    resident beside the new slot until the next trim (the browser benchmark's re-weighting peak at
    70,000 postings, 2,019-2,047 MB before, 1,689-1,690 after)."""
    import shopee_core.cache as C

    trims = []
    monkeypatch.setattr(C, "release_free_memory", lambda after: trims.append(after))
    c = Cache(100, size=lambda v: v)
    c.get("a", lambda: 30)
    c.get("b", lambda: 30)
    c.reserve("slot", 30)  # 70 left: both fit, nothing pushed out, no trim
    assert trims == [] and c.used == 60
    c.reserve("slot", 50)
    assert trims == [0] and c.used == 30

def test_room_for_a_value_of_known_size_is_made_before_it_is_made(monkeypatch):
    """The decision plane's pair table (~200 MB at 70,000 postings) was built while the tables its keeping
    was to push out were still held: the server's peak was both. With ``expect`` what would go once it is
    kept goes first (given back to the OS), least recently used first; the cache ends the same."""
    import shopee_core.cache as C

    trims = []
    monkeypatch.setattr(C, "release_free_memory", lambda after: trims.append(after))
    c = Cache(100, size=lambda v: v)
    for key in "abc":
        c.get(key, lambda: 30)
    c.get("a", lambda: pytest.fail("a is cached"))  # b is the least recently used now
    seen = {}

    def make():
        seen.update(used=c.used, b=c.holds("b"), a=c.holds("a"), c=c.holds("c"))
        return 45

    assert c.get("big", make, expect=50) == 45
    assert seen == {"used": 30, "b": False, "a": True, "c": False} and trims == [0]
    assert c.used == 75 and c.holds("big") and c.holds("a")  # what keeping it alone pushes out: the same
    c.get("huge", lambda: seen.update(huge=c.used) or 120, expect=120)  # never kept: nothing goes for it
    assert seen["huge"] == 75 and not c.holds("huge") and trims == [0]
    c.get("small", lambda: seen.update(small=c.used) or 10, expect=10)  # fits as it is: nothing goes
    assert seen["small"] == 75 and trims == [0] and c.used == 85


def test_two_threads_asking_at_once_make_it_once():
    c = Cache(1 << 20)
    made, started = [], threading.Event()

    def make():
        started.set()
        time.sleep(0.3)
        made.append(1)
        return "value"

    got = []
    first = threading.Thread(target=lambda: got.append(c.get("k", make)))
    first.start()
    started.wait()
    assert c.holds("k")  # being made counts as held: a prefetch is not started twice
    second = threading.Thread(target=lambda: got.append(c.get("k", make)))
    second.start()
    first.join()
    second.join()
    assert made == [1] and got == ["value", "value"]


def test_a_failed_maker_lets_the_waiter_make_it():
    c = Cache(1 << 20)
    started, release = threading.Event(), threading.Event()

    def fail():
        started.set()
        release.wait()
        raise RuntimeError("no")

    errors = []

    def first():
        try:
            c.get("k", fail)
        except RuntimeError as exc:
            errors.append(str(exc))

    t = threading.Thread(target=first)
    t.start()
    started.wait()
    got = []
    waiter = threading.Thread(target=lambda: got.append(c.get("k", lambda: "made by the waiter")))
    waiter.start()
    time.sleep(0.1)
    release.set()
    t.join()
    waiter.join()
    assert errors == ["no"] and got == ["made by the waiter"] and c.holds("k")
    c.clear()
    assert not c.holds("k") and len(c) == 0


def test_memoize_is_bounded():
    from shopee_core.cache import memoize

    calls = []

    @memoize(2)
    def double(x):
        calls.append(x)
        return 2 * x

    assert [double(1), double(1), double(2), double(3), double(1)] == [2, 2, 4, 6, 2]
    assert calls == [1, 2, 3, 1]  # 1 was the least recently used when 3 came

"""The one cache: bounded by bytes (or entries), least recently used out, and single-flight across threads."""

import threading
import time

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from shopee_core.cache import SMALL, Cache, one, sizeof


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

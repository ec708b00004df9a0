"""glibc malloc: the dashboard server gives the heap's free chunks back (shopee_core.speed)."""

import platform

import numpy as np
import pytest

from shopee_core import speed

glibc = pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc",
                           reason="malloc_trim is glibc's")


def _fragmented_heap(mb: int = 200):
    """Arrays of 100 KB (below glibc's mmap threshold: they come from the heap), every tenth kept,
    so the freed ones are holes between live chunks that free() alone does not give back."""
    arrays = [np.ones(12_500) for _ in range(mb * 10)]
    return arrays[::10]


@glibc
def test_free_heap_chunks_go_back_and_a_small_growth_waits():
    kept = _fragmented_heap()
    before = speed.own_bytes()
    released = speed.release_free_memory(0)
    after = speed.own_bytes()
    assert released is not None and released > 100 * 2**20, released   # ~180 MB of holes
    assert after < before - 100 * 2**20
    assert speed.release_free_memory() is None  # nothing grew since: no trim, one read of /proc
    assert speed.release_free_memory(0) is not None  # 0: a trim now, whatever happened since
    kept2 = _fragmented_heap(20)                 # ~20 MB more: below the 64 MB that starts a trim
    assert speed.release_free_memory() is None
    assert len(kept) == 200 * 10 // 10 and len(kept2) == 20


def test_without_glibc_it_says_so(monkeypatch):
    monkeypatch.setitem(speed._release, "libc", False)
    assert speed.release_free_memory(0) is None

"""Candidate search indexes: the exact one, and faiss indexes that do not compare every pair.

The exact search (``IndexFlatIP``, or blocked products) costs N² · d: 34,250 postings take
seconds, a million hours. An approximate index answers the same top-k question in about
N · (a fraction of N) · d, and may miss a true neighbour: how often is its **recall@k**
against the exact search, measured on a sample of query rows (:func:`measure_recall`) and
recorded wherever its tables are used (a bundle's manifest, ``evaluate``'s JSON).

- ``ivf``: k-means cells (``nlist``, default ≈ 4·√N), each row searched in its ``nprobe``
  nearest cells (``IndexIVFFlat``, inner product on unit rows = cosine);
- ``hnsw``: a navigable small-world graph (``IndexHNSWFlat``, ``m`` links a node, search
  breadth ``ef``).

Defaults were chosen by measurement (``scripts/bench_million.py``: the smallest setting whose
recall@50 on a 100,000-posting pool is >= 0.99), and every use measures recall again on its
own data: a ``min_recall`` below that is refused (:func:`check_recall`). A spec is written
``ivf``, ``ivf:nprobe=32,nlist=1024`` or ``hnsw:ef=256``.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, replace

import numpy as np

from ..errors import ShopeeError
from . import sources  # a module, not its names: sources -> inb -> knn -> index import in a cycle

INDEX_KINDS = ("exact", "ivf", "hnsw")
PARAMS = {"ivf": ("nlist", "nprobe"), "hnsw": ("m", "ef", "ef_construction"), "exact": ()}
DEFAULT_NPROBE = 24
DEFAULT_HNSW_M = 32
DEFAULT_EF = 128
DEFAULT_EF_CONSTRUCTION = 80
RECALL_SAMPLE = 2000
# below this many rows an approximate index saves nothing worth its recall loss: it still runs when
# asked (tests, small pools), but never chosen automatically
SMALL_POOL = 20_000


@dataclass(frozen=True)
class IndexSpec:
    """Which candidate search makes a kNN table, with its parameters (None: chosen from N)."""

    kind: str = "exact"
    nlist: int | None = None
    nprobe: int | None = None
    m: int | None = None
    ef: int | None = None
    ef_construction: int | None = None

    def __post_init__(self):
        if self.kind not in INDEX_KINDS:
            raise ShopeeError(f"unknown index {self.kind!r}; choose one of: {', '.join(INDEX_KINDS)}")
        for name in ("nlist", "nprobe", "m", "ef", "ef_construction"):
            v = getattr(self, name)
            if v is not None and (not isinstance(v, (int, np.integer)) or v < 1):
                raise ShopeeError(f"index parameter {name} must be a positive integer, got {v!r}")

    @property
    def exact(self) -> bool:
        return self.kind == "exact"

    def resolved(self, n: int, k: int) -> IndexSpec:
        """The parameters used for a pool of ``n`` rows and top-``k`` (defaults filled in)."""
        if self.kind == "ivf":
            nlist = self.nlist or suggested_nlist(n)
            nlist = max(1, min(int(nlist), n))
            return replace(self, nlist=nlist, nprobe=min(nlist, self.nprobe or DEFAULT_NPROBE))
        if self.kind == "hnsw":
            return replace(self, m=self.m or DEFAULT_HNSW_M, ef=max(self.ef or DEFAULT_EF, k),
                           ef_construction=self.ef_construction or DEFAULT_EF_CONSTRUCTION)
        return self

    def describe(self) -> str:
        params = [f"{p}={getattr(self, p)}" for p in PARAMS[self.kind] if getattr(self, p) is not None]
        return self.kind + (":" + ",".join(params) if params else "")

    def as_dict(self) -> dict:
        """The parameters that are set (the kind apart)."""
        return {k: v for k, v in asdict(self).items() if v is not None and k != "kind"}


EXACT = IndexSpec()


def suggested_nlist(n: int) -> int:
    """≈ 4·√N cells, each with at least ~39 training rows (faiss's own floor)."""
    return max(1, min(int(4 * math.sqrt(n)), n // 39 or 1))


def parse_index(text) -> IndexSpec:
    """``exact``, ``ivf``, ``ivf:nprobe=32,nlist=1024``, ``hnsw:ef=256,m=32`` (or an IndexSpec)."""
    if isinstance(text, IndexSpec):
        return text
    if text is None:
        return EXACT
    kind, _, rest = str(text).strip().partition(":")
    kind = kind.strip().lower()
    if kind not in INDEX_KINDS:
        raise ShopeeError(f"unknown index {kind!r}; choose one of: {', '.join(INDEX_KINDS)}")
    params = {}
    for item in filter(None, (x.strip() for x in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or key not in PARAMS[kind]:
            allowed = ", ".join(PARAMS[kind]) or "none"
            raise ShopeeError(f"index {kind}: bad parameter {item!r} (parameters: {allowed})")
        try:
            params[key] = int(value)
        except ValueError:
            raise ShopeeError(f"index {kind}: {key} must be an integer, got {value!r}") from None
    return IndexSpec(kind, **params)


# --------------------------------------------------------------------------- search
def ann_search(x: np.ndarray, k: int, spec: IndexSpec, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(idx, sim) of every row's top-``k`` by inner product in an approximate index; a row the
    index returns short (an IVF row whose probed cells hold fewer than k rows) is searched exactly."""
    import faiss

    n, d = x.shape
    spec = spec.resolved(n, k)
    if spec.kind == "ivf":
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, spec.nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        train = x if n <= 64 * spec.nlist else x[np.sort(rng.choice(n, 64 * spec.nlist, replace=False))]
        index.cp.seed = seed
        index.train(np.ascontiguousarray(train))
        index.add(x)
        index.nprobe = spec.nprobe
    elif spec.kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, spec.m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = spec.ef_construction
        index.add(x)
        index.hnsw.efSearch = spec.ef
    else:
        raise ShopeeError(f"ann_search needs an approximate index, got {spec.kind!r}")
    sim, idx = index.search(x, k)
    short = np.flatnonzero((idx < 0).any(axis=1))
    if len(short):
        e_idx, e_sim = exact_rows(x, short, k)
        idx[short], sim[short] = e_idx, e_sim
    return idx.astype(np.int32), sim.astype(np.float32)


def exact_rows(x: np.ndarray, rows: np.ndarray, k: int, chunk_bytes: int = 64 * 2**20):
    """Exact top-``k`` (idx, sim) of some query rows against all rows, in blocks of queries."""
    n = x.shape[0]
    rows = np.asarray(rows, dtype=np.int64)
    idx = np.empty((len(rows), k), dtype=np.int64)
    sim = np.empty((len(rows), k), dtype=np.float32)
    step = max(1, chunk_bytes // (4 * n))
    for start in range(0, len(rows), step):
        q = rows[start:start + step]
        s = x[q] @ x.T
        part = np.argpartition(-s, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(q), 1))
        ps = np.take_along_axis(s, part, axis=1)
        order = np.argsort(-ps, axis=1, kind="stable")
        idx[start:start + step] = np.take_along_axis(part, order, axis=1)
        sim[start:start + step] = np.take_along_axis(ps, order, axis=1)
    return idx, sim


def measure_recall(x: np.ndarray, idx: np.ndarray, k: int | None = None, sample: int = RECALL_SAMPLE,
                   seed: int = 0, chunk: int = 256) -> float:
    """recall@k of a table ``idx`` (N, >= k) against the exact search, on ``sample`` query rows (all
    when N is smaller): the share of the exact top-k each row's table holds. A table entry at least
    as similar as the k-th exact neighbour counts as found (an equal-similarity tie is as good a
    neighbour), so an exact table scores 1 whatever order it broke ties in."""
    n = x.shape[0]
    k = idx.shape[1] if k is None else min(k, idx.shape[1])
    rows = np.arange(n) if n <= sample else np.sort(np.random.default_rng(seed).choice(n, sample, replace=False))
    _, e_sim = exact_rows(x, rows, k)
    kth = e_sim[:, -1]
    found = 0
    for start in range(0, len(rows), chunk):
        r = rows[start:start + chunk]
        got = np.asarray(idx[r, :k], dtype=np.int64)
        s = np.einsum("rkd,rd->rk", x[got], x[r], dtype=np.float32)
        found += int(np.minimum((s >= kth[start:start + chunk, None] - 1e-5).sum(axis=1), k).sum())
    return found / (len(rows) * k)


def check_recall(recall: float, min_recall: float | None, spec: IndexSpec, what: str) -> None:
    """A one-line error when an approximate index's measured recall is below the user's floor."""
    if min_recall is not None and recall < min_recall:
        raise ShopeeError(f"{what}: index {spec.describe()} has recall@k {recall:.4f} against the exact search, "
                          f"below --min-recall {min_recall:g} (raise nprobe/ef, or use --index exact)")


def index_record(spec: IndexSpec, pools, k: int) -> dict:
    """What a JSON or a bundle's manifest says about its candidate search: the index, its parameters
    (as given, and as used per pool) and every computed table's measured recall@k against the exact
    search (approximate indexes only; ``min_recall``: the lowest)."""
    out = {"kind": spec.kind, "params": spec.as_dict()}
    if not spec.exact:
        recall = {p.name: {sources.describe_source(src): round(float(r), 6) for src, r in p.recall.items()}
                  for p in pools if p.recall}
        out.update(recall_at_k=int(k), measured_on=f"{RECALL_SAMPLE:,} sampled query rows per table (all rows of "
                                                    f"a smaller pool)", recall=recall,
                   params_used={p.name: p.index_params for p in pools if p.recall},
                   min_recall=min((r for v in recall.values() for r in v.values()), default=None))
    return out


# --------------------------------------------------------------------------- memory
def available_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is no such file)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def knn_bytes(n: int, dims: int, k: int, spec: IndexSpec = EXACT, sparse: bool = False) -> int:
    """Peak memory a kNN of ``n`` rows of ``dims`` columns needs beyond its input: the index's copy
    of the rows (exact dense: faiss's flat copy; sparse: a block of dense similarity rows), the
    search's answer and the finished table (int64 + float32 sorted copies)."""
    table = n * k * (8 + 4) * 3
    if sparse:
        return table + 64 * 2**20
    rows = n * dims * 4
    if spec.kind == "hnsw":
        rows += n * (spec.m or DEFAULT_HNSW_M) * 2 * 4
    return rows + table


def check_memory(n: int, dims: int, k: int, spec: IndexSpec = EXACT, *, resident: int = 0, what: str = "pool",
                 available: int | None = None) -> None:
    """A one-line error, before the work starts, when a pool's kNN cannot fit in free memory.
    ``resident``: bytes the caller still has to load (embedding rows read lazily)."""
    free = available_bytes() if available is None else available
    if free is None:
        return
    need = knn_bytes(n, dims, k, spec) + resident
    if need > free:
        raise ShopeeError(f"{what} of {n:,} postings × {dims:,} dimensions needs about {need / 2**30:.1f} GiB for its "
                          f"rows and kNN; {free / 2**30:.1f} GiB is free (use a smaller pool, or another machine)")


def threads() -> int:
    """faiss's thread count (OpenMP), for the record beside a timing."""
    try:
        import faiss

        return int(faiss.omp_get_max_threads())
    except Exception:  # noqa: BLE001 - informational only
        return os.cpu_count() or 1

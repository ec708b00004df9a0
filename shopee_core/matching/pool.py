"""A candidate pool: everything a decision needs inside one split, resolved per source.

Retrieval and scoring happen inside one pool (a split, or a whole test file). A
:class:`Pool` holds the pool's labels (None for unlabelled data) and, by model id,
the models' embeddings and any stored neighbour tables, given as values or as
zero-argument loaders so a bundle reads only what a page asks for. Every derived
object (a fused set, a kNN table, an INB stage, a scorer, a merged union table) is
computed once per source and kept in the pool's own bounded cache
(:class:`~shopee_core.cache.Cache`, sized in bytes), so a threshold move never
recomputes a table.

The CLI builds a pool from embedding files, the bundle builder from freshly made
embeddings, the dashboard from a bundle (overriding :meth:`Pool.canonical` so an
equal-weight fusion the bundle stores is read, not recomputed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import scipy.sparse as sp

from ..cache import Cache, one, sizeof
from ..errors import DecisionError
from ..metrics import check_labels
from . import inb as inb_mod
from .embeddings import Embeddings, fuse
from .index import check_recall, measure_recall, parse_index
from .knn import DEFAULT_K, Neighbors, knn
from .scoring import Scorer
from .sources import check_source, describe_source, model_source
from .sources import inb_source as inb_mod_source
from .union import PairTable

DEFAULT_CACHE_BYTES = 384 * 2**20


class Candidates:
    """Each row's candidates, flat: row ``r``'s are ``cand[offsets[r]:offsets[r + 1]]``, pool indices in
    increasing order. A re-weighting slot holds every member's similarity for each of them; padded to the
    widest row (240 at 70,000 postings, 178 on average) a quarter of those similarities was padding (~100 MB
    of the slot). Read-only. Indexing a slice of rows gives that block padded to the widest row (``shape``),
    -1 in padding, as :func:`best_k` reads a table."""

    __slots__ = ("offsets", "cand", "width")

    def __init__(self, offsets: np.ndarray, cand: np.ndarray):
        self.offsets = np.asarray(offsets, dtype=np.int64)
        self.cand = np.asarray(cand, dtype=np.int32)
        counts = np.diff(self.offsets)
        self.width = max(int(counts.max(initial=1)), 1)
        for a in (self.offsets, self.cand):
            a.flags.writeable = False

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.offsets) - 1, self.width

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.cand.nbytes)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def counts(self) -> np.ndarray:
        return np.diff(self.offsets)

    def span(self, rows: slice) -> slice:
        """The flat positions of a block of rows."""
        a, b, _ = rows.indices(len(self))
        return slice(int(self.offsets[a]), int(self.offsets[max(a, b)]))

    def mask(self, rows: slice) -> np.ndarray:
        """(b, width) bool: which places of the padded block hold a candidate (each row's first ones)."""
        a, b, _ = rows.indices(len(self))
        counts = np.diff(self.offsets[a:max(a, b) + 1])
        return np.arange(self.width) < counts[:, None]

    def scatter(self, rows: slice, flat: np.ndarray, fill) -> np.ndarray:
        """The block's flat values (one per candidate) placed as the padded block, ``fill`` in padding."""
        mask = self.mask(rows)
        out = np.full(mask.shape, fill, dtype=flat.dtype)
        out[mask] = flat
        return out

    def __getitem__(self, rows: slice) -> np.ndarray:
        return self.scatter(rows, self.cand[self.span(rows)], -1)

    def padded(self) -> np.ndarray:
        return self[0:len(self)]


def merged_candidates(tables) -> Candidates:
    """Each row's candidates in any of ``tables``, once each, in increasing order. Only indices: a union
    table (:class:`PairTable`) also holds every table's distances, S times the memory."""
    cat = np.concatenate([t.idx for t in tables], axis=1)
    cat.sort(axis=1)
    keep = np.ones(cat.shape, dtype=bool)
    keep[:, 1:] = cat[:, 1:] != cat[:, :-1]
    keep &= cat >= 0  # a table's own padding is no candidate
    counts = keep.sum(axis=1)
    offsets = np.zeros(len(cat) + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return Candidates(offsets, cat[keep])  # row-major: each row's kept indices, still increasing


BEST_K_CELLS = 2**20  # candidates keyed at once by best_k (8 MB of int64 keys)
GATHER_CELLS = 2**20  # candidates gathered at once into a re-weighting slot (a 4 MB padded block)


def best_k(idx: np.ndarray, sim, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` most similar candidates, most similar first, ties by pool index (as
    :func:`knn`): ``idx`` (N, W) int32 (-1 padding, whose ``sim`` must be -inf) or :class:`Candidates`
    (padded a block at a time), ``sim`` (N, W) float32,
    overwritten (its bits become the keys), or a function of a slice of rows giving that block's
    similarities (a new array: a re-weighting's fused similarities made a block at a time, never all
    rows at once). Each candidate is one int64 key — the similarity's bits
    made order-preserving and inverted, then the pool index — so one partition and one sort of
    plain integers replace an argpartition, a lexsort and four gathers (about half the time at 70,000
    x 240 candidates in a one-off timing), and a tie at the k-th place goes to the smaller index, not
    to whichever the partition met first. A block of rows at a time (``BEST_K_CELLS``): the keys of a
    70,000 x 240 re-weighting were 134 MB, the peak of each step."""
    n, w = idx.shape
    out_idx = np.empty((n, min(k, w)), dtype=np.int32)
    out_sim = np.empty((n, min(k, w)), dtype=np.float32)
    step = max(1, BEST_K_CELLS // max(1, w))
    for a in range(0, n, step):
        rows = slice(a, a + step)
        _best_k_block(idx[rows], sim(rows) if callable(sim) else sim[rows], k, out_idx[rows], out_sim[rows])
    return out_idx, out_sim


def _best_k_block(idx, sim, k, out_idx, out_sim) -> None:
    sim += np.float32(0.0)  # -0.0 -> +0.0: equal similarities get equal keys
    bits = sim.view(np.int32)
    bits ^= (bits >> 31) & np.int32(0x7FFFFFFF)  # a larger float is a larger integer
    np.invert(bits, out=bits)  # most similar first
    key = bits.astype(np.int64)
    key <<= 32
    key |= idx.view(np.uint32)  # cast a buffer at a time: no (N, W) int64 copies of idx (-1 -> 2**32 - 1)
    if k < key.shape[1]:
        key.partition(k - 1, axis=1)  # in place: np.partition's copy was another (N, W) int64
        key = key[:, :k]
    key = np.sort(key, axis=1)
    out_idx[...] = (key & 0xFFFFFFFF).astype(np.uint32).view(np.int32)
    hi = (key >> 32).astype(np.int32)
    np.invert(hi, out=hi)
    hi ^= (hi >> 31) & np.int32(0x7FFFFFFF)
    out_sim[...] = hi.view(np.float32)


def _readonly(value):
    if isinstance(value, np.ndarray):
        value.flags.writeable = False
    elif isinstance(value, Embeddings):
        for b in value.blocks:
            (b.data if sp.issparse(b) else b).flags.writeable = False
    return value


def _readonly_all(values: tuple) -> tuple:
    return tuple(_readonly(v) for v in values)


class Pool:
    """One candidate pool. ``embeddings``: model id -> :class:`Embeddings` (or a loader);
    ``tables``: (model id, "base" | "inb") -> :class:`Neighbors` (or a loader);
    ``fusions``: model id -> (members, weights) for a model that is a mean fusion of
    others and has no embeddings of its own. Computed tables hold float32 similarities:
    thresholds are searched on them whatever precision a bundle then stores (float16
    rounding before an early-stopping scan moves tuned thresholds on small pools).
    ``fixed``: model ids whose tables are imported predicted sets (no similarities), refused
    by graph steps."""

    def __init__(self, labels=None, *, k: int = DEFAULT_K, embeddings: Mapping | None = None,
                 tables: Mapping | None = None, fusions: Mapping | None = None, name: str = "pool",
                 n: int | None = None, cache_bytes: int = DEFAULT_CACHE_BYTES, index=None,
                 min_recall: float | None = None, shared_cache: Cache | None = None, fixed=()):
        self.name, self.k = name, int(k)
        self.fixed_models = frozenset(fixed)
        if self.k < 1:
            raise DecisionError(f"k must be >= 1, got {k}")
        # the candidate search of every table this pool computes (stored tables are as stored); an
        # approximate one records its recall@k per source, measured against the exact search
        self.index = parse_index(index)
        self.min_recall = min_recall
        self.recall: dict = {}
        self.index_params: dict = self.index.as_dict()
        self._emb = dict(embeddings or {})
        self._tables = dict(tables or {})
        self._fusions = dict(fusions or {})
        self._n = n
        self._labels = None
        if labels is not None:
            self._labels = np.asarray(labels)
            if self._n is not None:
                check_labels(self._labels, self._n)
            self._labels.flags.writeable = False
        # a cache given by the caller is shared with other pools (the dashboard's pools of one bundle
        # then hold at most its capacity together, not each): this pool's keys carry its id
        self._cache = shared_cache if shared_cache is not None else Cache(cache_bytes)
        self._prefix = (id(self),) if shared_cache is not None else ()
        # the candidate similarities of the member set being re-weighted, kept outside the bounded cache:
        # at 70,000 postings five members' are ~380 MB, and a re-weighting step's own tables pushed them
        # out of a 512 MB cache, so every step gathered them again (28 s instead of a weighted sum).
        # They count against that cache's budget all the same, down to its floor (:meth:`Cache.reserve`)
        self._weighing = Cache(1, size=one)
        self._slot_bytes = 0

    # ------------------------------------------------------------------ basics
    def __repr__(self) -> str:
        return f"Pool({self.name!r}, k={self.k}, models={sorted(set(self._emb) | {m for m, _ in self._tables})})"

    @property
    def labels(self) -> np.ndarray:
        if self._labels is None:
            raise DecisionError(f"{self.name}: postings lack label_group; scores need labels")
        return self._labels

    @property
    def has_labels(self) -> bool:
        return self._labels is not None

    def cached(self, key, make: Callable, expect: int = 0):
        """``make()`` once per key, read-only (:class:`~shopee_core.cache.Cache`: a key another
        thread is making — a page and a prefetch, or two browser sessions — is waited for);
        ``expect``: about the value's bytes, when known before it is made (room is made for it first)."""
        return self._cache.get(self._prefix + (key,) if self._prefix else key, lambda: _readonly(make()), expect)

    def prime(self, source, table: Neighbors) -> None:
        """Put a table computed elsewhere (e.g. a joint search of several sources) in the cache."""
        self.cached(("nb", self.canonical(source)), lambda: table)

    def holds(self, key) -> bool:
        """Whether ``key`` is cached or being made by some thread right now."""
        return self._cache.holds(self._prefix + (key,) if self._prefix else key) or self._weighing.holds(key)

    def clear(self) -> None:
        if self._prefix:
            self._cache.clear_where(lambda key: isinstance(key, tuple) and key[:1] == self._prefix)
        else:
            self._cache.clear()
        self._weighing.clear()
        self._slot_held()

    def forget(self, drop: Callable) -> None:
        """Forget this pool's cached values whose key (as given to :meth:`cached`) ``drop`` picks
        (a benchmark's cold start of one kind of work); other pools' shares stay."""
        if self._prefix:
            self._cache.clear_where(lambda key: isinstance(key, tuple) and key[:1] == self._prefix
                                    and len(key) > 1 and drop(key[1]))
        else:
            self._cache.clear_where(drop)
        self._weighing.clear_where(drop)
        self._slot_held()

    def _slot_held(self, value=None) -> None:
        """Count the re-weighting slot's memory against the pool's cache (its least recently used
        values go first); ``value``: the slot's content now (None: as before, or nothing once cleared)."""
        if value is not None:
            self._slot_bytes = sizeof(value)
        if not len(self._weighing):
            self._slot_bytes = 0
        self._cache.reserve(("slot", id(self)), self._slot_bytes)

    def _load(self, store: dict, key):
        value = store[key]
        if callable(value) and not isinstance(value, (Embeddings, Neighbors)):
            value = value()
        return value

    # ------------------------------------------------------------------ what the pool holds
    def has_embeddings(self, model_id: str) -> bool:
        if model_id in self._emb:
            return True
        members = self._fusions.get(model_id)
        return bool(members) and all(self.has_embeddings(m) for m in members[0])

    def has_table(self, model_id: str, variant: str = "base") -> bool:
        return (model_id, variant) in self._tables

    def canonical(self, source: tuple) -> tuple:
        """The cheapest source that gives the same table (a stored one where it exists)."""
        check_source(source)
        if source[0] == "inb":
            return source[:1] + (self.canonical(source[1]),) + source[2:]
        return source

    # ------------------------------------------------------------------ resolution
    def embeddings(self, source) -> Embeddings:
        """Embeddings of a source (a model id is its base source); read-only."""
        if isinstance(source, str):
            source = model_source(source)
        check_source(source)
        return self.cached(("emb", source), lambda: self._make_embeddings(source))

    def _make_embeddings(self, source) -> Embeddings:
        kind = source[0]
        if kind == "model":
            mid, variant = source[1], source[2]
            if variant != "base":
                raise DecisionError(f"{mid}: INB embeddings are not stored; use a live INB source")
            if mid in self._emb:
                return self._load(self._emb, mid)
            if mid in self._fusions:
                members, weights = self._fusions[mid]
                if all(self.has_embeddings(m) for m in members):
                    return fuse([self.embeddings(m) for m in members], weights)
            raise DecisionError(f"{mid} has no embeddings in {self.name} (only its neighbour tables, or nothing)")
        if kind == "fusion":
            return fuse([self.embeddings(m) for m, _ in source[1]], [w for _, w in source[1]])
        return self._blended(source)

    def neighbors(self, source) -> Neighbors:
        """The neighbour table of a source (stored or computed, cached)."""
        if isinstance(source, str):
            source = model_source(source)
        source = self.canonical(source)
        kind = source[0]
        if kind == "model":
            key = (source[1], source[2])
            if key in self._tables:
                return self.cached(("nb", source), lambda: self._load(self._tables, key))
            if source[2] == "base":
                return self.cached(("nb", source), lambda: self._knn(source, self.embeddings(source)))
            raise DecisionError(f"{source[1]} has no INB table in {self.name}")
        if kind == "fusion":
            if source[2] == "candidates":
                return self.cached(("nb", source), lambda: self._candidate_fusion(source))
            return self.cached(("nb", source), lambda: self._knn(source, self.embeddings(source)))
        return self.cached(("nb", source), lambda: self._knn(source, self.embeddings(source)))

    def _knn(self, source, emb: Embeddings) -> Neighbors:
        """A computed table, with the pool's index; an approximate one's recall measured and checked."""
        nb = knn(emb, self.k, index=None if not emb.is_dense else self.index)
        if emb.is_dense and not self.index.exact:
            r = measure_recall(emb.dense(), nb.idx, min(self.k, nb.k))
            self.recall[source] = r
            self.index_params = self.index.resolved(len(emb), self.k).as_dict()
            check_recall(r, self.min_recall, self.index, f"{self.name}: {describe_source(source)}")
        emb.release_pages()  # a full scan read every row in place: give its pages back
        return nb

    def _blended(self, source) -> Embeddings:
        """The rows after an INB source's last blend: its previous stage's rows blended with that
        stage's table. Rows and table are cached per stage as their own entries, so a table is
        searched once per pool even when the blended rows are too big for the cache."""
        _, base, iters, t, t2, vectors = source
        prev = base if iters == 1 else inb_mod_source(base, iters - 1, t, t2, vectors)
        return inb_mod.blend(self.embeddings(prev), self.neighbors(prev), t, t2, vectors if iters == 1 else "normalised")

    def candidate_sims(self, members) -> tuple[Candidates, np.ndarray]:
        """The union of the members' own candidates per row (:class:`Candidates`) with every member's
        similarity for every candidate (``sims`` (S, M), flat as the candidates; from the embeddings in
        blocks), cached per member set: a re-weighting is then one weighted sum and a top-k."""
        members = tuple(members)

        def make():
            cands = merged_candidates([self.neighbors(m) for m in members])
            # counted before it is filled (the slot it replaces too, until it goes): the cache's least
            # recently used values make room first, not after the server has held both
            self._cache.reserve(("slot", id(self)), self._slot_bytes + cands.nbytes + 4 * len(members) * cands.cand.size)
            sims = np.empty((len(members), cands.cand.size), dtype=np.float32)
            n, width = cands.shape
            step = max(1, GATHER_CELLS // width)
            block = np.empty((min(step, n), width), dtype=np.float32)  # one padded block, reused
            for s, m in enumerate(members):
                emb = self.embeddings(m)
                for a in range(0, n, step):
                    rows = slice(a, min(a + step, n))
                    got = emb.candidate_similarity(cands[rows], rows=np.arange(rows.start, rows.stop),
                                                   out=block[:rows.stop - rows.start])
                    sims[s, cands.span(rows)] = got[cands.mask(rows)]
                emb.release_pages()  # one member's pages resident at a time, none after
            return cands, sims
        try:
            out = self._weighing.get(("cand_sims", members), lambda: _readonly_all(make()))
        except BaseException:
            self._slot_held()  # counted as what the slot still holds, not what was being made
            raise
        self._slot_held(out)
        return out

    def _candidate_fusion(self, source) -> Neighbors:
        members = [m for m, _ in source[1]]
        w = np.asarray([x for _, x in source[1]], dtype=np.float32)
        cands, sims = self.candidate_sims(members)
        k = min(self.k, int(cands.counts().min(initial=self.k)))  # every row has >= k real candidates

        def fused(rows):
            # a block of rows at a time: the whole sum and its masks were each step's peak (~130 MB at
            # 70,000 postings). Summed member by member, each product and sum rounded on its own (as the
            # joint search's fusions): a BLAS product's last bit depended on where a block began
            flat = cands.span(rows)
            out = sims[0, flat] * w[0]
            term = np.empty_like(out)
            for s in range(1, len(w)):
                out += np.multiply(sims[s, flat], w[s], out=term)
            return cands.scatter(rows, out, -np.inf)
        return Neighbors(*best_k(cands, fused, k))

    def scorer(self, source) -> Scorer:
        source = self.canonical(source)
        return self.cached(("scorer", source), lambda: Scorer(self.neighbors(source), self.labels))

    def pair_table(self, sources) -> PairTable:
        sources = tuple(self.canonical(s) for s in sources)
        key = ("pairs", sources)
        if self.holds(key):
            return self.cached(key, lambda: PairTable([self.neighbors(s) for s in sources], self._labels, sources))
        # the tables first (the cache's most recently used then), then room for the merge: the values its
        # keeping would push out go before it is built, not after (its width is at most the tables' summed k)
        tables = [self.neighbors(s) for s in sources]
        n = tables[0].n if tables else 0
        width = min(n, sum(t.k for t in tables))
        expect = n * width * (4 + 5 * len(tables) + 3)  # idx; dist and nn per table; valid, is_self, same
        return self.cached(key, lambda: PairTable(tables, self._labels, sources), expect=expect)

    def describe(self, source) -> str:
        return describe_source(source)

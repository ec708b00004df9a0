"""Graph steps: group-level post-processing of a decision's predicted sets.

Row-wise F1 scores each posting's set against its whole true group, so errors come in group
shapes: two groups merged through one bridging pair, one group split into fragments. These
steps run after the thresholds (and Min2, INB, unions) inside the one :class:`Decision`, on
the **predicted graph**: an undirected edge {i, j} wherever j ∈ pred(i) or i ∈ pred(j), with
the decision's own similarity (a side's cosine; for a union the largest similarity any side
holds for the pair; the larger of the two directions where they differ, e.g. float16
rounding). Every pair that is not an edge is *unlinked*.

- ``mutual``: pred'(i) = {i} ∪ {j ∈ pred(i) : i ∈ pred(j)} (the 2nd place kept only mutual pairs).
- ``closure:MAX``: edges in descending similarity (ties by (min index, max index)) into a
  union-find, a merge skipped when the merged component would exceed MAX; every member
  predicts its component. Exact sequential semantics, computed in batches (see
  :func:`capped_components`).
- ``cluster:S``: average linkage over the predicted graph (the 3rd place clustered until the
  mean cluster size reached 2.8): the similarity of two clusters is the sum of the similarities
  of their linked pairs divided by |A|·|B| (an unlinked pair counts as similarity 0), clusters
  merge best first while the pool's mean component size is below S, and only clusters with a
  positive average (at least one link) ever merge. Exactly UPGMA on the dense matrix
  d = 1 − s (d = 1 for unlinked pairs) up to the first merge at d >= 1 (see
  :func:`average_linkage`).
- ``cut-bridges:τ``: every bridge (an edge whose removal splits its component) with similarity
  below τ removed, then components (the 2nd place removed the edge of highest betweenness).

Everything is numpy + :mod:`scipy.sparse.csgraph`: no Python loop over pairs. Loops run over
batches (closure), agglomeration rounds (cluster) and BFS depth levels (bridges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph

from ..errors import DecisionError

GRAPH_STEPS = ("mutual", "closure", "cluster", "cut-bridges")
DEFAULT_CAP = 51  # the largest Shopee group
PARAM_NAMES = {"closure": "MAX", "cluster": "S", "cut-bridges": "τ"}
# parameter grids searched on a tuning pool, least intrusive first (ties keep the earlier one)
CLOSURE_CAPS = (51, 40, 32, 24, 20, 16, 12, 10, 8, 6, 5, 4, 3, 2)
CLUSTER_STEP = 0.05
BRIDGE_STEP = 0.005


@dataclass(frozen=True)
class GraphStep:
    """One graph step and its parameter (None: searched by ``tune``; ``closure`` then applies
    with :data:`DEFAULT_CAP` when nothing searched it)."""

    step: str
    param: float | None = None

    def __post_init__(self):
        if self.step not in GRAPH_STEPS:
            raise DecisionError(f"unknown graph step {self.step!r}; known: {', '.join(GRAPH_STEPS)}")
        p = self.param
        if p is None:
            return
        if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not math.isfinite(p):
            raise DecisionError(f"graph step {self.step}: parameter must be a finite number, got {p!r}")
        if self.step == "mutual":
            raise DecisionError("graph step mutual takes no parameter")
        if self.step == "closure":
            if p < 2 or float(p) != int(p):
                raise DecisionError(f"closure cap MAX must be an integer >= 2, got {p:g}")
            object.__setattr__(self, "param", int(p))
        elif self.step == "cluster":
            if p < 1:
                raise DecisionError(f"cluster target mean group size S must be >= 1, got {p:g}")
            object.__setattr__(self, "param", float(p))
        else:
            if not -1.0 <= p <= 1.0:
                raise DecisionError(f"cut-bridges similarity τ must be in [-1, 1], got {p:g}")
            object.__setattr__(self, "param", float(p))

    @classmethod
    def parse(cls, text) -> GraphStep:
        """``mutual``, ``closure[:MAX]``, ``cluster[:S]``, ``cut-bridges[:TAU]``."""
        if isinstance(text, GraphStep):
            return text
        name, sep, value = str(text).strip().partition(":")
        if not sep:
            return cls(name)
        try:
            param = float(value)
        except ValueError:
            raise DecisionError(f"graph step {name}: parameter {value!r} is not a number") from None
        return cls(name, param)

    @property
    def searched(self) -> bool:
        """Whether ``tune`` searches the parameter (a bare name)."""
        return self.param is None and self.step != "mutual"

    def resolved(self) -> float | None:
        """The parameter the step applies with; a one-line error when it must be given or tuned."""
        if self.step == "mutual":
            return None
        if self.param is None:
            if self.step == "closure":
                return DEFAULT_CAP
            raise DecisionError(f"graph step {self.step} needs its {PARAM_NAMES[self.step]}: give "
                                f"{self.step}:{PARAM_NAMES[self.step]} or tune it on a validation pool")
        return self.param

    def text(self) -> str:
        return self.step if self.param is None else f"{self.step}:{self.param:g}"

    def describe(self) -> str:
        if self.step == "mutual":
            return "mutual pairs only"
        if self.param is None:
            return {"closure": f"closure (max {DEFAULT_CAP})", "cluster": "average linkage (S searched)",
                    "cut-bridges": "cut bridges (τ searched)"}[self.step]
        return {"closure": f"closure (max {self.param})", "cluster": f"average linkage to mean size {self.param:g}",
                "cut-bridges": f"cut bridges below similarity {self.param:g}"}[self.step]

    def as_dict(self) -> dict:
        return {"step": self.step, "param": self.param}

    @classmethod
    def from_dict(cls, d) -> GraphStep | None:
        if d is None:
            return None
        if isinstance(d, str):
            return cls.parse(d)
        try:
            return cls(d["step"], d.get("param"))
        except (KeyError, TypeError, AttributeError):
            raise DecisionError(f"not a graph step: {d!r}") from None


# --------------------------------------------------------------------------- the predicted graph
def undirected(n: int, rows: np.ndarray, cols: np.ndarray, sims: np.ndarray):
    """Directed pairs -> unique undirected edges ``(a, b, s)`` with a < b, sorted by (a, b);
    ``s`` the largest similarity of the pair's directions. Self pairs are dropped."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    sims = np.asarray(sims, dtype=np.float64)
    keep = rows != cols
    a, b, s = np.minimum(rows, cols)[keep], np.maximum(rows, cols)[keep], sims[keep]
    if len(a) == 0:
        return a, b, s
    key = a * n + b
    order = np.lexsort((-s, key))  # by key, the largest similarity first within a key
    key, s = key[order], s[order]
    first = np.ones(len(key), dtype=bool)
    first[1:] = key[1:] != key[:-1]
    key, s = key[first], s[first]
    return key // n, key % n, s


def _graph(n: int, a: np.ndarray, b: np.ndarray) -> sp.csr_matrix:
    ones = np.ones(len(a), dtype=np.int8)
    return sp.csr_matrix((ones, (a, b)), shape=(n, n))


def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Component label of every node (labels 0..C-1)."""
    return csgraph.connected_components(_graph(n, a, b), directed=False)[1].astype(np.int64)


def edge_order(a: np.ndarray, b: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Descending similarity, ties by (min index, max index): the deterministic processing order."""
    return np.lexsort((b, a, -np.asarray(s, dtype=np.float64)))


# --------------------------------------------------------------------------- mutual
def mutual_mask(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Which directed pairs (i, j) have their reverse (j, i) too."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    key = rows * n + cols
    return np.isin(cols * n + rows, key)


# --------------------------------------------------------------------------- closure with a cap
class _UnionFind:
    """Array union-find: ``find`` is vectorised pointer chasing with path compression."""

    def __init__(self, n: int):
        self.parent = np.arange(n, dtype=np.int64)
        self.size = np.ones(n, dtype=np.int64)

    def find(self, x: np.ndarray) -> np.ndarray:
        p = self.parent
        r = p[x]
        while True:
            rr = p[r]
            if np.array_equal(rr, r):
                break
            r = rr
        p[x] = r
        return r


def capped_components(n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray, cap: int | None) -> np.ndarray:
    """Closure with a cap: the union-find over edges in :func:`edge_order`, a merge skipped
    when the merged component would exceed ``cap`` (None: no cap, plain components).

    Sequential by definition, computed in batches with the same result: an edge whose
    endpoints are already joined, or whose two components already hold more than ``cap``
    postings together, can never merge later (components only grow), so it is dropped; the
    remaining edges of a batch are joined at once (connected components over the touched
    components) wherever the joined group stays within the cap — every intermediate merge is
    then within the cap too, and groups touching disjoint components do not interact; a group
    that would exceed the cap has its edges split in two halves, the first applied before the
    second is filtered again. Components no larger than ``cap`` in the uncapped graph are final
    at once. Cost: O(E log E) for the order and the components, plus O(B log E) array work
    for the B edges that sit in chains longer than the cap.
    """
    a, b, s = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), np.asarray(s, dtype=np.float64)
    labels = components(n, a, b)
    if cap is None or len(a) == 0:
        return labels
    sizes = np.bincount(labels, minlength=labels.max(initial=0) + 1)
    big = sizes[labels[a]] > cap
    if not big.any():
        return labels
    order = edge_order(a, b, s)
    order = order[big[order]]
    uf = _UnionFind(n)
    ea, eb = a[order], b[order]
    _capped(uf, ea, eb, np.arange(len(order)), int(cap))
    roots = uf.find(np.arange(n))
    # components that were never too big keep their labels; the others get their roots' (offset)
    inside = sizes[labels] > cap
    out = labels.copy()
    out[inside] = labels.max(initial=0) + 1 + roots[inside]
    return np.unique(out, return_inverse=True)[1].astype(np.int64)


def _capped(uf: _UnionFind, ea: np.ndarray, eb: np.ndarray, e: np.ndarray, cap: int) -> None:
    """Apply edges ``e`` (indices into ea/eb, in processing order) to ``uf`` exactly as one by one."""
    stack = [e]
    while stack:
        e = stack.pop()
        if len(e) == 0:
            continue
        ra, rb = uf.find(ea[e]), uf.find(eb[e])
        ok = (ra != rb) & (uf.size[ra] + uf.size[rb] <= cap)
        e, ra, rb = e[ok], ra[ok], rb[ok]
        if len(e) == 0:
            continue
        roots, inv = np.unique(np.concatenate([ra, rb]), return_inverse=True)
        ia, ib = inv[: len(e)], inv[len(e):]
        m = len(roots)
        nc, lab = csgraph.connected_components(_graph(m, ia, ib), directed=False)
        total = np.bincount(lab, weights=uf.size[roots], minlength=nc).astype(np.int64)
        good = total <= cap
        leader = np.full(nc, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(leader, lab, roots)
        take = good[lab]
        uf.parent[roots[take]] = leader[lab[take]]
        uf.size[leader[good]] = total[good]
        bad = e[~good[lab[ia]]]
        if len(bad):
            half = len(bad) // 2  # bad holds >= 2 edges: one edge alone always fits (it passed the filter)
            stack.append(bad[half:])  # popped after the first half has been applied
            stack.append(bad[:half])


# --------------------------------------------------------------------------- average linkage
@dataclass(frozen=True)
class Dendrogram:
    """Merges of :func:`average_linkage`, best first: ``left``/``right`` the merged cluster ids
    (leaves 0..n-1, merge m creates id n + m in creation order), ``height`` the average
    similarity at the merge, ``created`` the id each merge creates."""

    n: int
    left: np.ndarray
    right: np.ndarray
    height: np.ndarray
    created: np.ndarray

    def labels(self, merges: int) -> np.ndarray:
        """Component of every leaf after the first ``merges`` merges (best first)."""
        m = int(np.clip(merges, 0, len(self.height)))
        total = self.n + len(self.height)
        a = np.concatenate([self.left[:m], self.right[:m]])
        b = np.concatenate([self.created[:m], self.created[:m]])
        lab = components(total, a, b)[: self.n]
        return np.unique(lab, return_inverse=True)[1].astype(np.int64)

    def merges_for(self, target: float) -> int:
        """Merges until the mean component size N / C reaches ``target`` (capped by the merges there are)."""
        need = math.ceil(self.n - self.n / float(target) - 1e-9) if target > 1 else 0
        return int(min(max(need, 0), len(self.height)))


def average_linkage(n: int, a: np.ndarray, b: np.ndarray, s: np.ndarray) -> Dendrogram:
    """Average-linkage agglomeration over a sparse graph (unlinked pairs count as similarity 0).

    Average linkage is *reducible* (merging A and B never brings A∪B closer to C than the
    nearer of A and B was), so the dendrogram of the greedy best-first algorithm is also made
    by merging, in rounds, every pair of clusters that are each other's best neighbour (the
    reciprocal-nearest-neighbour scheme behind the nearest-neighbour-chain algorithm). A round
    is a few sorts over the current cluster graph: best neighbour per cluster (highest average,
    ties to the smaller id), mutual pairs merged, edges relabelled and their similarity sums
    added up per cluster pair. The merges are then ordered best first (height descending,
    creation order on ties), which is the greedy algorithm's order since heights never
    increase along it. Cost: O(E log E) per round; each round merges at least the best pair
    and on kNN graphs a constant share of the clusters, so rounds are O(log N) in practice
    (a chain of strictly increasing similarities is the worst case: O(N) rounds).
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    w = np.asarray(s, dtype=np.float64)
    pos = w > 0  # a non-positive link never makes a positive average: same as unlinked for merging
    a, b, w = a[pos], b[pos], w[pos]
    size = np.ones(2 * n, dtype=np.float64)
    remap = np.arange(2 * n, dtype=np.int64)
    next_id = n
    lefts, rights, heights, created = [], [], [], []
    while len(a):
        avg = w / (size[a] * size[b])
        # each cluster's best neighbour: the highest average, ties to the smaller id
        top = np.full(2 * n, -np.inf)
        np.maximum.at(top, a, avg)
        np.maximum.at(top, b, avg)
        best = np.full(2 * n, 2 * n, dtype=np.int64)
        hit_a, hit_b = avg == top[a], avg == top[b]
        np.minimum.at(best, a[hit_a], b[hit_a])
        np.minimum.at(best, b[hit_b], a[hit_b])
        mutual = (best[a] == b) & (best[b] == a)
        p, q, h = a[mutual], b[mutual], avg[mutual]
        new = next_id + np.arange(len(p))
        next_id += len(p)
        size[new] = size[p] + size[q]
        remap[p] = new
        remap[q] = new
        lefts.append(p)
        rights.append(q)
        heights.append(h)
        created.append(new)
        a2, b2 = remap[a], remap[b]
        keep = a2 != b2
        a2, b2, w = np.minimum(a2, b2)[keep], np.maximum(a2, b2)[keep], w[keep]
        key = a2 * (2 * n) + b2
        uniq, inv = np.unique(key, return_inverse=True)
        w = np.bincount(inv.ravel(), weights=w, minlength=len(uniq))
        a, b = uniq // (2 * n), uniq % (2 * n)
    if not heights:
        e = np.zeros(0, dtype=np.int64)
        return Dendrogram(n, e, e, np.zeros(0), e)
    left, right = np.concatenate(lefts), np.concatenate(rights)
    height, made = np.concatenate(heights), np.concatenate(created)
    order = np.lexsort((made, -height))
    return Dendrogram(n, left[order], right[order], height[order], made[order])


def cluster_labels(n: int, a, b, s, target: float) -> np.ndarray:
    """Components after average linkage to mean component size ``target``."""
    d = average_linkage(n, a, b, s)
    return d.labels(d.merges_for(target))


# --------------------------------------------------------------------------- bridges
def bridges(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which undirected edges (unique, a != b) are bridges.

    A BFS spanning forest (one call from a virtual root joined to every component), then for
    every non-tree edge (u, v) a +1 at u and v and −2 at their lowest common ancestor (binary
    lifting, vectorised); a tree edge (x, parent x) lies on a cycle iff the sum over x's subtree
    is positive, so the bridges are the tree edges with a zero sum. Subtree sums run level by
    level from the deepest BFS level up. Cost: O((N + E) log N).
    """
    a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    lab = components(n, a, b)
    rep = np.full(lab.max() + 1, n, dtype=np.int64)
    np.minimum.at(rep, lab, np.arange(n))
    root = n
    ga = np.concatenate([a, np.full(len(rep), root)])
    gb = np.concatenate([b, rep])
    g = _graph(n + 1, ga, gb)
    order, pred = csgraph.breadth_first_order(g, root, directed=False, return_predecessors=True)
    up0 = pred.astype(np.int64)
    up0[root] = root
    # depth by pointer jumping; the jump tables double as the LCA's binary lifting
    depth = (up0 != np.arange(n + 1)).astype(np.int64)
    ups = [up0]
    nxt = up0
    while not np.all(nxt == root):
        depth = depth + depth[nxt] * (nxt != root)
        nxt = nxt[nxt]
        ups.append(nxt)
    levels = len(ups)
    child_a = up0[a] == b
    child_b = up0[b] == a
    tree = child_a | child_b
    u, v = a[~tree], b[~tree]
    acc = np.zeros(n + 1, dtype=np.int64)
    if len(u):
        uu, vv = u.copy(), v.copy()
        swap = depth[uu] < depth[vv]
        uu[swap], vv[swap] = vv[swap], uu[swap]
        diff = depth[uu] - depth[vv]
        for k in range(levels):
            sel = ((diff >> k) & 1).astype(bool)
            uu[sel] = ups[k][uu[sel]]
        for k in range(levels - 1, -1, -1):
            ne = ups[k][uu] != ups[k][vv]
            uu[ne] = ups[k][uu[ne]]
            vv[ne] = ups[k][vv[ne]]
        lca = np.where(uu == vv, uu, up0[uu])
        acc += np.bincount(u, minlength=n + 1) + np.bincount(v, minlength=n + 1)
        acc -= 2 * np.bincount(lca, minlength=n + 1)
    d_order = depth[order]
    bounds = np.flatnonzero(np.diff(d_order)) + 1
    starts = np.concatenate([[0], bounds])
    stops = np.concatenate([bounds, [len(order)]])
    for lo, hi in zip(starts[::-1], stops[::-1]):
        nodes = order[lo:hi]
        if d_order[lo] == 0:
            break
        np.add.at(acc, up0[nodes], acc[nodes])
    child = np.where(child_a, a, b)
    return tree & (acc[child] == 0)


def cut_bridges_labels(n: int, a, b, s, tau: float, is_bridge: np.ndarray | None = None) -> np.ndarray:
    """Components once every bridge with similarity below ``tau`` is removed."""
    a, b, s = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64), np.asarray(s, dtype=np.float64)
    br = bridges(n, a, b) if is_bridge is None else is_bridge
    keep = ~(br & (s < tau))
    return components(n, a[keep], b[keep])


# --------------------------------------------------------------------------- sets and scores
def groups_to_padded(labels: np.ndarray) -> np.ndarray:
    """Every row predicts its whole group: padded (N, largest group) matrix, -1 padding."""
    labels = np.asarray(labels)
    n = len(labels)
    if n == 0:
        return np.zeros((0, 1), dtype=np.int32)
    order = np.argsort(labels, kind="stable")
    _, start, counts = np.unique(labels[order], return_index=True, return_counts=True)
    width = int(counts.max())
    out = np.full((n, width), -1, dtype=np.int32)
    gid = np.unique(labels, return_inverse=True)[1].ravel()
    slot = np.arange(n) - np.repeat(start, counts)
    members = np.full((len(counts), width), -1, dtype=np.int32)
    members[np.repeat(np.arange(len(counts)), counts), slot] = order
    out[:] = members[gid]
    return out


def sets_to_padded(n: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Self (first) plus the given directed non-self pairs per row, padded (-1)."""
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    order = np.argsort(rows, kind="stable")
    rows, cols = rows[order], cols[order]
    counts = np.bincount(rows, minlength=n)
    out = np.full((n, int(counts.max(initial=0)) + 1), -1, dtype=np.int32)
    out[:, 0] = np.arange(n)
    out[rows, 1 + np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)] = cols
    return out


def group_counts(groups: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row, |X∩Y| and |Y| when every row predicts its group in ``groups``."""
    groups = np.asarray(groups, dtype=np.int64)
    lab = np.unique(np.asarray(labels), return_inverse=True)[1].ravel().astype(np.int64)
    n_pred = np.bincount(groups)[groups]
    code = groups * (int(lab.max(initial=0)) + 1) + lab
    _, inv, cnt = np.unique(code, return_inverse=True, return_counts=True)
    return cnt[inv.ravel()], n_pred

"""The straightforward way: Python sets per row, as the seed computes F1.

Kept as the oracle for tests and the baseline for benchmarks; never used on a
hot path.
"""

from __future__ import annotations

import heapq

import numpy as np


def naive_predict(idx, sim, t, t2=None) -> list[set]:
    out = []
    for i, (row_idx, row_sim) in enumerate(zip(idx.tolist(), sim.tolist())):
        pred = {i}
        best_j, best_d = None, None
        for j, s in zip(row_idx, row_sim):
            d = float(np.float32(1.0) - np.float32(s))
            if d < t:
                pred.add(j)
            if j != i and (best_d is None or d < best_d):
                best_j, best_d = j, d
        if t2 is not None and len(pred) <= 1 and best_j is not None and best_d < t2:
            pred.add(best_j)
        out.append(pred)
    return out


def naive_f1(preds: list[set], labels) -> dict[str, float]:
    labels = list(labels)
    groups: dict = {}
    for i, g in enumerate(labels):
        groups.setdefault(g, set()).add(i)
    f1 = p = r = 0.0
    for i, pred in enumerate(preds):
        truth = groups[labels[i]]
        inter = len(truth & pred)
        f1 += 2 * inter / (len(truth) + len(pred))
        p += inter / len(pred)
        r += inter / len(truth)
    n = len(preds)
    return {"f1": f1 / n, "precision": p / n, "recall": r / n, "n": n}


# --------------------------------------------------------------------------- graph steps, one pair at a time
def naive_edges(preds: list[set], sims: dict) -> dict:
    """Undirected predicted edges {(a, b): s} (a < b) from per-row sets and a {(i, j): s} lookup."""
    out: dict = {}
    for i, pred in enumerate(preds):
        for j in pred:
            if j != i:
                key = (min(i, j), max(i, j))
                out[key] = max(out.get(key, -np.inf), sims[(i, j)])
    return out


def naive_mutual(preds: list[set]) -> list[set]:
    return [{i} | {j for j in pred if i in preds[j]} for i, pred in enumerate(preds)]


def naive_closure(n: int, edges: dict, cap: int | None) -> list[int]:
    """Union-find over edges by descending similarity (ties by (a, b)), skipping merges beyond ``cap``."""
    parent, size = list(range(n)), [1] * n

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x
    for (a, b), _ in sorted(edges.items(), key=lambda e: (-e[1], e[0][0], e[0][1])):
        ra, rb = find(a), find(b)
        if ra == rb or (cap is not None and size[ra] + size[rb] > cap):
            continue
        parent[rb] = ra
        size[ra] += size[rb]
    return [find(x) for x in range(n)]


def naive_average_linkage(n: int, edges: dict, target: float) -> list[int]:
    """Greedy best-first average linkage (unlinked pairs similarity 0, only positive averages merge)
    until the mean component size reaches ``target``: a heap of cluster pairs, one merge at a time."""
    members = {i: {i} for i in range(n)}
    links: dict = {i: {} for i in range(n)}
    for (a, b), s in edges.items():
        if s > 0:
            links[a][b] = links[a].get(b, 0.0) + s
            links[b][a] = links[b].get(a, 0.0) + s
    heap = [(-s, a, b) for (a, b), s in edges.items() if s > 0]
    heapq.heapify(heap)
    next_id, clusters = n, n
    while heap and n / clusters < target:
        neg, a, b = heapq.heappop(heap)
        if a not in members or b not in members:
            continue
        if abs(-neg - links[a][b] / (len(members[a]) * len(members[b]))) > 1e-12:
            continue  # stale entry
        new = next_id
        next_id += 1
        members[new] = members.pop(a) | members.pop(b)
        merged: dict = {}
        for old in (a, b):
            for c, s in links.pop(old).items():
                if c in (a, b):
                    continue
                merged[c] = merged.get(c, 0.0) + s
                del links[c][old]
        links[new] = merged
        for c, s in merged.items():
            links[c][new] = s
            heapq.heappush(heap, (-s / (len(members[new]) * len(members[c])), min(c, new), max(c, new)))
        clusters -= 1
    label = [0] * n
    for cid, ms in members.items():
        for m in ms:
            label[m] = cid
    return label


def naive_bridges(n: int, edges) -> set:
    """Tarjan's bridges by an explicit-stack depth-first search, one edge at a time."""
    adj: list = [[] for _ in range(n)]
    for a, b in edges:
        adj[a].append(b)
        adj[b].append(a)
    disc, low, out, clock = [-1] * n, [0] * n, set(), 0
    for root in range(n):
        if disc[root] >= 0:
            continue
        disc[root] = low[root] = clock
        clock += 1
        stack = [(root, -1, iter(adj[root]))]
        while stack:
            v, parent, it = stack[-1]
            for w in it:
                if disc[w] < 0:
                    disc[w] = low[w] = clock
                    clock += 1
                    stack.append((w, v, iter(adj[w])))
                    break
                if w != parent:
                    low[v] = min(low[v], disc[w])
            else:
                stack.pop()
                if parent >= 0:
                    low[parent] = min(low[parent], low[v])
                    if low[v] > disc[parent]:
                        out.add((min(v, parent), max(v, parent)))
    return out


def naive_cut_bridges(n: int, edges: dict, tau: float) -> list[int]:
    cut = {e for e in naive_bridges(n, edges) if edges[e] < tau}
    return naive_closure(n, {e: s for e, s in edges.items() if e not in cut}, None)

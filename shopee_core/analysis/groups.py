"""Groups as graphs: where whole groups go wrong, for the Group studio.

Row-wise F1 scores every posting's set against its whole true group, so errors come in group
shapes: true groups *merged* through a bridging pair, a true group *split* into fragments,
both at once (*mixed*). A **predicted group** is a component of the decision's final predicted
graph (an edge wherever j ∈ pred(i) or i ∈ pred(j), after its graph step; for closure, cluster
and cut-bridges the components are the step's groups and their edges the predicted pairs
inside them). Per group (predicted, or true): size, density (edges / possible edges), weakest
link (the lowest similarity that still holds it together: the smallest edge of its maximum
spanning tree; for a true group over every candidate pair of the tables, NaN when the tables
do not connect it), bridges (edges whose removal splits it), purity (how many true groups it
spans), fragmentation (into how many predicted groups its true groups fall) and **F1 lost**
(Σ over its members of 1 − F1, divided by the pool size: its share of the gap to F1 = 1).

**What if**: cutting an edge or detaching a member re-scores only the rows it touches — the
two rows of the pair (per-row sets), or the members of the group it splits (component steps) —
and the pool's F1 moves by their change divided by N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse import csgraph

from .. import matching as M
from ..matching import graph as G
from ..metrics import counts_to_scores
from . import decisions, errors, plane

SHAPES = ("merged", "split", "mixed", "exact")
SHAPE_HELP = {
    "merged": "the group holds (or its members' predicted groups hold) postings of other true groups",
    "split": "the group's true group(s) fall into several predicted groups",
    "mixed": "both: merged with other groups and split",
    "exact": "a predicted group that is exactly one true group (and the reverse)",
}
MAX_NODES = 120  # a drawing beyond this is unreadable; the members come first


@dataclass
class Groups:
    """One decision on one pool, as groups (computed once, kept in the pool's cache)."""

    n: int
    labels: np.ndarray     # true label per row (codes 0..L-1)
    comp: np.ndarray       # predicted group per row (codes 0..C-1)
    f1: np.ndarray         # row F1 under the decision
    kind: str              # "sets" (each row its own set) or "groups" (each row its component)
    pred: np.ndarray | None  # padded predicted sets ("sets" kind)
    ea: np.ndarray         # final predicted edges, undirected (a < b)
    eb: np.ndarray
    es: np.ndarray
    bridge: np.ndarray     # which of them are bridges
    cand: tuple            # every candidate pair (i, j, s, predicted before the graph step)

    @property
    def nbytes(self) -> int:
        arrays = [self.labels, self.comp, self.f1, self.ea, self.eb, self.es, self.bridge, *self.cand]
        return int(sum(a.nbytes for a in arrays) + (0 if self.pred is None else self.pred.nbytes))


def build(pool: M.Pool, d: M.Decision) -> Groups:
    """The groups of decision ``d`` on ``pool`` (no cache; see :func:`groups`)."""
    labels = np.unique(pool.labels, return_inverse=True)[1].ravel().astype(np.int64)
    rows = M.row_arrays(pool, d)
    n = len(labels)
    i, j, s, a, b, u = M.predicted_edges(pool, d)
    cand = M.candidate_pairs(pool, d.plain)
    if d.graph is not None and d.graph.step != "mutual":
        _, comp = M.graph_result(pool, d)
        inside = comp[a] == comp[b]
        ea, eb, es, pred, kind = a[inside], b[inside], u[inside], None, "groups"
    else:
        pred = M.predictions(pool, d)
        if d.graph is not None:  # mutual: the kept pairs
            keep = G.mutual_mask(n, i, j)
            i, j, s = i[keep], j[keep], s[keep]
        ea, eb, es = G.undirected(n, i, j, s)
        comp, kind = G.components(n, ea, eb), "sets"
    return Groups(n, labels, comp.astype(np.int64), np.asarray(rows["f1"], dtype=np.float64), kind, pred, ea, eb,
                  es, G.bridges(n, ea, eb), cand)


def groups(bundle, model, split: str, setting: dict | None = None) -> tuple[Groups, M.Decision]:
    """The groups of a model (+ :func:`decisions.decision` overrides) or a Decision on a bundle
    split, cached in the split's pool per decision."""
    d = decisions.as_decision(bundle, model, **decisions.overrides(dict(setting or {})))
    p = decisions.pool(bundle, split)
    key = ("groups", M.apply.plain_key(p, d), d.graph)
    return p.cached(key, lambda: build(p, d)), d


# --------------------------------------------------------------------------- the table
def _weakest(n: int, a, b, s, comp, n_comp) -> np.ndarray:
    """Per component, the smallest edge of its maximum spanning tree (NaN: a single posting)."""
    out = np.full(n_comp, np.nan)
    if len(a) == 0:
        return out
    w = sp.csr_matrix((2.0 - np.asarray(s, dtype=np.float64), (a, b)), shape=(n, n))  # 2 - s > 0: kept by csgraph
    t = csgraph.minimum_spanning_tree(w).tocoo()
    sims = 2.0 - t.data
    np.fmin.at(out, comp[t.row], sims)
    return out


def _pair_counts(first: np.ndarray, second: np.ndarray, n_first: int) -> np.ndarray:
    """Per value of ``first``, how many distinct values of ``second`` its rows carry."""
    pairs = np.unique(first * (int(second.max(initial=0)) + 1) + second)
    return np.bincount(pairs // (int(second.max(initial=0)) + 1), minlength=n_first)


def table(g: Groups, kind: str = "predicted", titles=None, group_ids=None) -> pd.DataFrame:
    """One row per predicted group (``kind="predicted"``) or per true group (``"true"``), worst
    F1 lost first. Columns: group, size, edges, density, weakest, bridges, purity, fragmentation,
    f1_lost, mean_f1, shape (merged | split | mixed | exact), example (a member's title when
    ``titles`` is given), first (a member row). ``group_ids``: names of the true groups (their
    label_group values) by label code."""
    n_comp, n_lab = int(g.comp.max(initial=-1)) + 1, int(g.labels.max(initial=-1)) + 1
    purity = _pair_counts(g.comp, g.labels, n_comp)          # true groups per predicted group
    frag = _pair_counts(g.labels, g.comp, n_lab)             # predicted groups per true group
    # how merged a true group's predicted groups are, how split a predicted group's true groups are
    lab_purity = np.zeros(n_lab, dtype=np.int64)
    np.maximum.at(lab_purity, g.labels, purity[g.comp])
    comp_frag = np.zeros(n_comp, dtype=np.int64)
    np.maximum.at(comp_frag, g.comp, frag[g.labels])
    lost = 1.0 - g.f1
    if kind == "predicted":
        key, n_key = g.comp, n_comp
        size = np.bincount(key, minlength=n_key)
        edges = np.bincount(g.comp[g.ea], minlength=n_key)
        bridges = np.bincount(g.comp[g.ea[g.bridge]], minlength=n_key)
        weak = _weakest(g.n, g.ea, g.eb, g.es, g.comp, n_key)
        pur, fr = purity, comp_frag
        name = np.arange(n_key)
    else:
        key, n_key = g.labels, n_lab
        size = np.bincount(key, minlength=n_key)
        inside = g.labels[g.ea] == g.labels[g.eb]
        edges = np.bincount(g.labels[g.ea[inside]], minlength=n_key)
        bridges = np.bincount(g.labels[g.ea[inside & g.bridge]], minlength=n_key)
        i, j, s, _ = g.cand
        same = g.labels[i] == g.labels[j]
        ca, cb, cs = G.undirected(g.n, i[same], j[same], s[same])
        weak = _weakest(g.n, ca, cb, cs, g.labels, n_key)
        # connected by the tables only when its candidate pairs join every member
        joined = _pair_counts(g.labels, G.components(g.n, ca, cb), n_key) == 1
        weak = np.where(joined, weak, np.nan)
        pur, fr = lab_purity, frag
        name = np.arange(n_key) if group_ids is None else np.asarray(group_ids)
    possible = size * (size - 1) / 2.0
    density = np.divide(edges, possible, out=np.full(n_key, np.nan), where=possible > 0)
    f1_lost = np.bincount(key, weights=lost, minlength=n_key) / g.n
    mean_f1 = np.bincount(key, weights=g.f1, minlength=n_key) / np.maximum(size, 1)
    merged, split = pur > 1, fr > 1
    shape = np.where(merged & split, "mixed", np.where(merged, "merged", np.where(split, "split", "exact")))
    first = np.full(n_key, g.n, dtype=np.int64)
    np.minimum.at(first, key, np.arange(g.n))
    out = pd.DataFrame({"group": name, "size": size, "edges": edges, "density": density, "weakest": weak,
                        "bridges": bridges, "purity": pur, "fragmentation": fr, "f1_lost": f1_lost,
                        "mean_f1": mean_f1, "shape": shape, "first": first, "code": np.arange(n_key)})
    if titles is not None:
        out["example"] = np.asarray(titles, dtype=object)[first]
    order = np.lexsort((out["code"].to_numpy(), -out["size"].to_numpy(), -out["f1_lost"].to_numpy()))
    return out.iloc[order].reset_index(drop=True)


def filter_table(frame: pd.DataFrame, sizes=(1, None), shapes=()) -> pd.DataFrame:
    """Rows with size in [lo, hi] (None: no bound) and one of ``shapes`` (none: every shape)."""
    lo, hi = sizes
    keep = frame["size"] >= (lo or 1)
    if hi is not None:
        keep &= frame["size"] <= hi
    if shapes:
        keep &= frame["shape"].isin(list(shapes))
    return frame[keep]


# --------------------------------------------------------------------------- one group
def members(g: Groups, kind: str, code: int) -> np.ndarray:
    """Rows of a predicted group (its component code) or a true group (its label code)."""
    return np.flatnonzero((g.comp if kind == "predicted" else g.labels) == code)


def nodes_of(g: Groups, kind: str, code: int, limit: int = MAX_NODES) -> tuple[np.ndarray, np.ndarray]:
    """The rows to draw for a group, at most ``limit``: its members, then the postings that make its
    errors visible — a predicted group's missed true mates, a true group's predicted-group mates.
    A group larger than ``limit`` (a chain of merged groups can hold thousands) is drawn as the
    breadth-first neighbourhood of its first member over the predicted edges (then its other
    members). Returns (rows, is_member)."""
    own = members(g, kind, code)
    if len(own) > limit:
        inside = np.isin(g.ea, own) & np.isin(g.eb, own)
        local_a, local_b = np.searchsorted(own, g.ea[inside]), np.searchsorted(own, g.eb[inside])
        adj = sp.csr_matrix((np.ones(len(local_a), dtype=np.int8), (local_a, local_b)), shape=(len(own),) * 2)
        near = csgraph.breadth_first_order(adj, 0, directed=False, return_predecessors=False)
        rest = np.setdiff1d(np.arange(len(own)), near)
        rows = own[np.concatenate([near, rest])[:limit]]
        return rows, np.ones(len(rows), dtype=bool)
    if kind == "predicted":
        extra = np.flatnonzero(np.isin(g.labels, np.unique(g.labels[own])))
    else:
        extra = np.flatnonzero(np.isin(g.comp, np.unique(g.comp[own])))
    extra = np.setdiff1d(extra, own)
    rows = np.concatenate([own, extra])[:limit]
    return rows, np.isin(rows, own)
def edges_among(g: Groups, rows: np.ndarray) -> pd.DataFrame:
    """Every candidate pair among ``rows`` (and every final predicted edge), once per pair, with
    its similarity, whether the decision predicts it in the end (``predicted``), whether the plain
    decision did before the graph step (``before``), same true group (``same``) and whether it is
    a bridge. Pairs of different groups that nothing predicts (true negatives) are left out."""
    rows = np.asarray(rows, dtype=np.int64)
    i, j, s, before = g.cand
    inside = np.isin(i, rows) & np.isin(j, rows)
    ci, cj, cs, cb = i[inside], j[inside], s[inside], before[inside]
    fin = np.isin(g.ea, rows) & np.isin(g.eb, rows)
    a = np.concatenate([np.minimum(ci, cj), g.ea[fin]])
    b = np.concatenate([np.maximum(ci, cj), g.eb[fin]])
    sim = np.concatenate([cs, g.es[fin]])
    was = np.concatenate([cb, np.ones(int(fin.sum()), dtype=bool)])
    final = np.concatenate([np.zeros(len(ci), dtype=bool), np.ones(int(fin.sum()), dtype=bool)])
    bridge = np.concatenate([np.zeros(len(ci), dtype=bool), g.bridge[fin]])
    if len(a) == 0:
        return pd.DataFrame(columns=["i", "j", "sim", "predicted", "before", "same", "bridge"])
    frame = pd.DataFrame({"i": a, "j": b, "sim": sim, "predicted": final, "before": was, "bridge": bridge})
    frame = frame.groupby(["i", "j"], as_index=False).agg({"sim": "max", "predicted": "any", "before": "any",
                                                           "bridge": "any"})
    frame = frame[frame["i"] != frame["j"]]
    frame["same"] = g.labels[frame["i"].to_numpy()] == g.labels[frame["j"].to_numpy()]
    keep = frame["same"] | frame["predicted"] | frame["before"]
    return frame[keep].sort_values(["sim", "i", "j"], ascending=[True, True, True]).reset_index(drop=True)


def layout(n: int, i, j, weight=None, seed: int = 0, iters: int = 200) -> np.ndarray:
    """A force-directed (Fruchterman–Reingold) layout of ``n`` nodes, (n, 2) in [-1, 1];
    deterministic for a seed. Linked nodes attract (by ``weight``), every pair repels."""
    rng = np.random.default_rng(seed)
    if n == 0:
        return np.zeros((0, 2))
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    pos = np.stack([np.cos(angle), np.sin(angle)], axis=1) + rng.normal(scale=0.05, size=(n, 2))
    if n == 1:
        return np.zeros((1, 2))
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    w = np.ones(len(i)) if weight is None else np.clip(np.asarray(weight, dtype=np.float64), 0.05, None)
    k = 1.0 / np.sqrt(n)
    kk, temp = k * k, 0.2
    # x and y as separate (n, n) planes and the pulls summed by bincount: the same steps as an (n, n, 2)
    # array with np.add.at, at a fraction of the cost (a Group studio switch computes a new drawing)
    x, y = pos[:, 0].copy(), pos[:, 1].copy()
    for _ in range(iters):
        dx = np.subtract.outer(x, x)
        dy = np.subtract.outer(y, y)
        rep = kk / (np.sqrt(dx * dx + dy * dy) + 1e-9) ** 2     # repulsion k²/d along the unit vector
        fx, fy = (rep * dx).sum(axis=1), (rep * dy).sum(axis=1)
        if len(i):
            vx, vy = x[i] - x[j], y[i] - y[j]
            pull = (np.sqrt(vx * vx + vy * vy) + 1e-9) / k * w  # attraction d²/k along the unit vector
            fx += np.bincount(j, pull * vx, n) - np.bincount(i, pull * vx, n)
            fy += np.bincount(j, pull * vy, n) - np.bincount(i, pull * vy, n)
        length = np.sqrt(fx * fx + fy * fy) + 1e-9
        step = np.minimum(length, temp) / length
        x += fx * step
        y += fy * step
        temp *= 0.98
    pos = np.stack([x, y], axis=1)
    pos -= pos.mean(axis=0)
    scale = np.abs(pos).max()
    return pos / scale if scale > 0 else pos


# --------------------------------------------------------------------------- what if
def _scores(g: Groups, rows: np.ndarray, sets: list[np.ndarray]) -> np.ndarray:
    tp = np.asarray([(g.labels[s] == g.labels[r]).sum() for r, s in zip(rows, sets)], dtype=np.int64)
    n_pred = np.asarray([len(s) for s in sets], dtype=np.int64)
    n_true = np.bincount(g.labels)[g.labels[rows]]
    return counts_to_scores(tp, n_pred, n_true)["f1"]


def what_if(g: Groups, edits) -> dict:
    """The pool's F1 after ``edits``: ``("cut", i, j)`` removes the pair, ``("detach", m)`` takes
    posting m out of its group. Per-row sets ("sets" decisions): the pair leaves both rows' sets,
    a detached posting predicts itself alone and leaves every set that held it. Component steps:
    the touched groups are re-split into the components of their remaining edges (no re-merging),
    every member predicting its new component. Only the touched rows are re-scored.

    Returns ``f1_before``, ``f1_after``, ``delta``, ``touched`` (rows re-scored) and ``rows``
    (row -> (F1 before, F1 after)) for the touched rows."""
    cuts = {(min(int(e[1]), int(e[2])), max(int(e[1]), int(e[2]))) for e in edits if e[0] == "cut"}
    detached = {int(e[1]) for e in edits if e[0] == "detach"}
    bad = [e for e in edits if e[0] not in ("cut", "detach")]
    if bad:
        raise M.DecisionError(f"unknown what-if edit {bad[0]!r} (cut i j, or detach m)")
    base = float(g.f1.mean()) if g.n else float("nan")
    if g.kind == "sets":
        touched: dict[int, set] = {}

        def current(r):
            if r not in touched:
                row = g.pred[r]
                touched[r] = set(int(x) for x in row[row >= 0])
            return touched[r]
        for a, b in cuts:
            current(a).discard(b)
            current(b).discard(a)
        for m in detached:
            touched[m] = {m}
            for r in np.flatnonzero((g.pred == m).any(axis=1)):
                if int(r) != m:
                    current(int(r)).discard(m)
        rows = np.asarray(sorted(touched), dtype=np.int64)
        sets = [np.asarray(sorted(touched[r]), dtype=np.int64) for r in rows]
    else:
        comps = {int(g.comp[a]) for a, b in cuts if g.comp[a] == g.comp[b]} | {int(g.comp[m]) for m in detached}
        cut_keys = np.asarray([a * g.n + b for a, b in cuts], dtype=np.int64)
        gone = np.asarray(sorted(detached), dtype=np.int64)
        rows_list, sets = [], []
        for c in sorted(comps):
            own = np.flatnonzero(g.comp == c)
            inside = (g.comp[g.ea] == c)
            ea, eb = g.ea[inside], g.eb[inside]
            keep = ~(np.isin(ea * g.n + eb, cut_keys) | np.isin(ea, gone) | np.isin(eb, gone))
            local = np.searchsorted(own, np.concatenate([ea[keep], eb[keep]]))
            k = int(keep.sum())
            lab = G.components(len(own), local[:k], local[k:])
            for r, part in zip(own, lab):
                rows_list.append(int(r))
                sets.append(own[lab == part])
        rows = np.asarray(rows_list, dtype=np.int64)
    if len(rows) == 0:
        return {"f1_before": base, "f1_after": base, "delta": 0.0, "touched": 0, "rows": {}}
    new = _scores(g, rows, sets)
    after = base + float((new - g.f1[rows]).sum()) / g.n
    return {"f1_before": base, "f1_after": after, "delta": after - base, "touched": int(len(rows)),
            "rows": {int(r): (float(g.f1[r]), float(x)) for r, x in zip(rows, new)}}


def drawing(g: Groups, kind: str, code: int, limit: int = MAX_NODES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A group ready to draw: ``nodes`` (row, x, y, member, label, comp, f1) and ``edges``
    (:func:`edges_among` plus each end's position)."""
    rows, member = nodes_of(g, kind, code, limit)
    edges = edges_among(g, rows)
    order = np.argsort(rows)
    li = order[np.searchsorted(rows[order], edges["i"].to_numpy())] if len(edges) else np.zeros(0, dtype=np.int64)
    lj = order[np.searchsorted(rows[order], edges["j"].to_numpy())] if len(edges) else np.zeros(0, dtype=np.int64)
    xy = layout(len(rows), li, lj, edges["sim"].to_numpy() if len(edges) else None)
    nodes = pd.DataFrame({"row": rows, "x": xy[:, 0], "y": xy[:, 1], "member": member, "label": g.labels[rows],
                          "comp": g.comp[rows], "f1": g.f1[rows]})
    edges = edges.assign(x0=xy[li, 0], y0=xy[li, 1], x1=xy[lj, 0], y1=xy[lj, 1])
    return nodes, edges


def edge_details(bundle, split: str, d: M.Decision, edges: pd.DataFrame) -> pd.DataFrame:
    """The pairs' image and text similarity (the decision's own image and text members where it
    has them, else the bundle's first image and text models; NaN where a model has no embeddings)
    and, for pairs of different groups, what tells the two apart (the Failure browser's unit /
    variant conflict and look-alike checks, in words)."""
    out = edges.copy()
    i, j = out["i"].to_numpy(), out["j"].to_numpy()
    img, txt = plane.default_plane_models(bundle, d)
    for col, mid in (("s_image", img), ("s_text", txt)):
        vals = np.full(len(out), np.nan)
        if mid is not None and decisions.can_embed(bundle, mid) and len(out):
            vals = decisions.embeddings(bundle, split, mid).pair_similarity(i, j).astype(np.float64)
        out[col] = vals
    out.attrs.update(image_model=img, text_model=txt)
    feats = errors.features(bundle, split)
    reasons = [""] * len(out)
    other = np.flatnonzero(~out["same"].to_numpy())
    if len(other):
        ham, jac = feats.image_distance(i[other], j[other]), feats.jaccard(i[other], j[other])
        for k, a, b, h, jc in zip(other, i[other], j[other], ham, jac):
            reasons[k] = "; ".join(errors.pair_reasons(feats.titles[a], feats.titles[b], int(h), float(jc)))
    out["conflict"] = reasons
    return out


def group_table(bundle, model, split: str, setting: dict | None = None, kind: str = "predicted") -> pd.DataFrame:
    """:func:`table` of a bundle split under a model's decision, with each group's example title and
    (true groups) its label_group, cached per decision and kind: a page's warm view only filters."""
    g, d = groups(bundle, model, split, setting)
    p = decisions.pool(bundle, split)
    key = ("group-table", M.apply.plain_key(p, d), d.graph, kind)

    def make():
        rows = bundle.split_rows(split)
        titles = bundle.postings["title"].to_numpy()[rows]
        raw = bundle.postings["label_group"].to_numpy()[rows]
        ids = np.empty(int(g.labels.max(initial=-1)) + 1, dtype=object)
        ids[g.labels] = raw
        return table(g, kind, titles=titles, group_ids=ids)
    return p.cached(key, make).copy()


def group_view(bundle, model, split: str, setting: dict | None, kind: str, code: int) -> tuple:
    """:func:`drawing` with :func:`edge_details` for one group of a bundle split, cached per decision
    and group (a page reruns on every widget; the layout and the pairs' checks are made once)."""
    g, d = groups(bundle, model, split, setting)
    p = decisions.pool(bundle, split)

    def make():
        nodes, edges = drawing(g, kind, code)
        return nodes, edge_details(bundle, split, d, edges)
    return p.cached(("group-view", M.apply.plain_key(p, d), d.graph, kind, int(code)), make)

"""Benchmark: each graph step on a Kaggle-sized pool, vectorised (ours) vs a Python loop over pairs.

Pools of Shopee-like clustered embeddings (``bench_matching.catalog_like``), k = 50, T searched on
the pool itself (Min2 off). Per step, in one run, two comparisons: *table -> F1* (ours: the
predicted graph taken from the table, the step, scoring from the groups, with the table and its
scorer warm and every graph cache cold; naive: per-row Python sets from the table
(``matching.reference.naive_predict``), their edges, the one-pair-at-a-time step and the per-row
F1) and *the step alone* (ours from the predicted edges' arrays, naive from the edge dict:
set lookups, a sorted-edge union-find, a heap of cluster pairs, Tarjan's DFS). Both F1s must
agree. Then the Group studio's core calls at the last size: groups and both tables first, the
cached table (warm), the worst group's drawing and a what-if cut.

    python scripts/bench_graph.py [--sizes 34250,6850] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_matching import catalog_like  # noqa: E402

from shopee_core.analysis import groups as GR  # noqa: E402
from shopee_core.matching import Decision, Embeddings, Pool, knn, model_source, scores, search_t  # noqa: E402
from shopee_core.matching import graph as G  # noqa: E402
from shopee_core.matching import reference as R  # noqa: E402
from shopee_core.matching.apply import predicted_edges  # noqa: E402

STEPS = ("mutual", "closure:51", "cluster:2.8", "cut-bridges:0.6")


GRAPH_KEYS = ("graph", "graph-edges", "dendrogram", "bridges", "groups", "group-table")


def cold_graph(pool: Pool) -> None:
    """Forget everything the graph steps cached; the table and its scorer stay (warm, as after a page's
    first view)."""
    pool.forget(lambda key: isinstance(key, tuple) and key[0] in GRAPH_KEYS)


def best_of(fn, repeat: int) -> tuple[float, object]:
    out, times = None, []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def step_alone(pool: Pool, plain: Decision, step: str, n: int):
    """The step from the (cached) predicted edges, without extracting or scoring them."""
    i, j, _, a, b, u = predicted_edges(pool, plain)
    name, _, value = step.partition(":")
    if name == "mutual":
        return G.mutual_mask(n, i, j)
    if name == "closure":
        return G.capped_components(n, a, b, u, int(value))
    if name == "cluster":
        return G.cluster_labels(n, a, b, u, float(value))
    return G.cut_bridges_labels(n, a, b, u, float(value))


def naive_step(step: str, preds: list[set], edges: dict, n: int) -> list[set]:
    """The step the straightforward way, from per-row sets (``edges``: their undirected edges with
    similarities, :func:`reference.naive_edges`), one pair at a time."""
    if step == "mutual":
        return R.naive_mutual(preds)
    name, _, value = step.partition(":")
    if name == "closure":
        lab = R.naive_closure(n, edges, int(value))
    elif name == "cluster":
        lab = R.naive_average_linkage(n, edges, float(value))
    else:
        lab = R.naive_cut_bridges(n, edges, float(value))
    groups: dict = {}
    for i, g in enumerate(lab):
        groups.setdefault(g, set()).add(i)
    return [groups[g] for g in lab]


def run(n: int, repeat: int) -> dict:
    x, labels = catalog_like(n)
    src = model_source("m")
    t0 = time.perf_counter()
    nb = knn(Embeddings.from_array(x), 50)
    pool = Pool(labels, k=50, tables={("m", "base"): nb})
    scorer = pool.scorer(src)
    t_knn = time.perf_counter() - t0
    t, _ = search_t(scorer)
    plain = Decision.single(src, t)
    print(f"N={n:,} k=50: kNN + scorer {t_knn:.1f} s; T={t:.3f} (searched here), plain F1 "
          f"{scores(pool, plain)['f1']:.4f}; {len(predicted_edges(pool, plain)[3]):,} predicted edges")
    idx, sim = nb.idx, nb.sim
    lookup = {(i, int(j)): float(s) for i, (row_i, row_s) in enumerate(zip(idx.tolist(), sim.tolist()))
              for j, s in zip(row_i, row_s)}
    preds = R.naive_predict(idx, sim, t)
    edges = R.naive_edges(preds, lookup)
    ratios = {}
    print(f"  {'step':<16} {'F1':>6}   table -> F1: {'ours':>9} {'naive':>10} {'ratio':>6}   the step alone: "
          f"{'ours':>8} {'naive':>10} {'ratio':>6}")
    for step in STEPS:
        d = plain.with_graph(step)

        def ours(d=d):
            cold_graph(pool)
            return scores(pool, d)["f1"]

        def naive(step=step):
            p = R.naive_predict(idx, sim, t)
            return R.naive_f1(naive_step(step, p, R.naive_edges(p, lookup), n), labels)["f1"]

        t_ours, f1 = best_of(ours, repeat)
        t_step, _ = best_of(lambda step=step: step_alone(pool, plain, step, n), repeat)
        t_naive, f1_naive = best_of(naive, 1)
        t_naive_step, _ = best_of(lambda step=step: naive_step(step, preds, edges, n), 1)
        assert abs(f1_naive - f1) < 1e-9, f"{step}: naive F1 {f1_naive} vs ours {f1}"
        ratios[step] = t_naive / t_ours
        print(f"  {step:<16} {f1:.4f}   {'':>11} {t_ours * 1e3:7.1f} ms {t_naive * 1e3:8.1f} ms {t_naive / t_ours:6.0f}"
              f"   {'':>14} {t_step * 1e3:6.1f} ms {t_naive_step * 1e3:8.1f} ms {t_naive_step / t_step:6.0f}")
    return {"pool": pool, "decision": plain, "ratios": ratios}


def studio(pool: Pool, d: Decision, repeat: int) -> None:
    """The Group studio's core calls: groups + table (first), the cached table (warm), a what-if."""
    def first():
        cold_graph(pool)
        g = GR.build(pool, d)
        return g, GR.table(g, "predicted"), GR.table(g, "true")

    t_first, (g, pred, true) = best_of(first, repeat)
    key = ("bench-table",)
    pool.cached(key, lambda: pred)
    t_warm, _ = best_of(lambda: pool.cached(key, lambda: None).copy(), repeat)
    worst = int(pred["code"].iat[0])
    nodes, edges = GR.drawing(g, "predicted", worst)
    cut = edges[edges["predicted"]].iloc[0]
    t_draw, _ = best_of(lambda: GR.drawing(g, "predicted", worst), repeat)
    t_what, r = best_of(lambda: GR.what_if(g, [("cut", int(cut["i"]), int(cut["j"]))]), repeat)
    print(f"  group studio at N={g.n:,}: groups + both tables first {t_first * 1e3:.0f} ms, table warm "
          f"{t_warm * 1e3:.2f} ms; the worst group ({len(nodes)} nodes, {len(edges)} edges) laid out in "
          f"{t_draw * 1e3:.0f} ms; a what-if cut {t_what * 1e3:.2f} ms ({r['touched']} rows re-scored)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="34250,6850", help="pool sizes (default 34250,6850)")
    ap.add_argument("--repeat", type=int, default=3, help="timed repeats of our version (best shown)")
    args = ap.parse_args()
    out = None
    for n in [int(v) for v in args.sizes.split(",")]:
        out = run(n, args.repeat)
    studio(out["pool"], out["decision"], args.repeat)
    print("ratios=" + ",".join(f"{k}:{v:.0f}" for k, v in out["ratios"].items()))


if __name__ == "__main__":
    main()

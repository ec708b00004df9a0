"""Graph steps: hand-drawn graphs with their sets written out, independent references (networkx,
scipy's hierarchy, the one-pair-at-a-time versions) and the properties the steps promise."""

import json

import networkx as nx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.cluster.hierarchy import cut_tree, linkage
from scipy.spatial.distance import squareform

from shopee_core.errors import DecisionError
from shopee_core.matching import (
    Decision,
    Embeddings,
    GraphStep,
    Neighbors,
    Pool,
    knn,
    model_source,
    predictions,
    scores,
    tune,
)
from shopee_core.matching import graph as G
from shopee_core.matching import reference as R
from shopee_core.metrics import row_scores

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
M = model_source("m")


def hand_pool(n, links, labels=None, directed=()):
    """A pool whose one table holds every pair: linked pairs at their similarity (both ways, plus
    the one-way ``directed`` pairs), every other pair at -0.5 (never predicted at T <= 1)."""
    sim = np.full((n, n), -0.5, dtype=np.float32)
    np.fill_diagonal(sim, 1.0)
    for (i, j), s in links.items():
        sim[i, j] = sim[j, i] = s
    for (i, j), s in dict(directed).items():
        sim[i, j] = s
    idx = np.tile(np.arange(n), (n, 1))
    labels = np.arange(n) if labels is None else np.asarray(labels)
    return Pool(labels, k=n, tables={("m", "base"): Neighbors(idx, sim)})


def sets(pool, d):
    return [set(int(x) for x in row if x >= 0) for row in predictions(pool, d)]


def partition(labels):
    """Groups of a labelling as a set of frozensets (label names do not matter)."""
    out = {}
    for i, g in enumerate(np.asarray(labels).tolist()):
        out.setdefault(g, set()).add(i)
    return {frozenset(v) for v in out.values()}


# --------------------------------------------------------------------------- hand-drawn graphs
def test_mutual_keeps_only_pairs_both_rows_predict():
    # 0 predicts 1 and 2, 1 predicts 0, 3 predicts 0 (one-way pairs at 0.9, the other way at -0.5)
    pool = hand_pool(4, {(0, 1): 0.9}, directed={(0, 2): 0.9, (3, 0): 0.9})
    d = Decision.single(M, 0.5)
    assert sets(pool, d) == [{0, 1, 2}, {0, 1}, {2}, {0, 3}]
    assert sets(pool, d.with_graph("mutual")) == [{0, 1}, {0, 1}, {2}, {3}]


def test_closure_with_a_cap_by_hand():
    # edges in descending similarity: 0-1 .9, 1-2 .8, 3-4 .7, 2-3 .6, 4-5 .5, 0-5 .4
    links = {(0, 1): .9, (1, 2): .8, (3, 4): .7, (2, 3): .6, (4, 5): .5, (0, 5): .4}
    pool = hand_pool(6, links)
    d = Decision.single(M, 0.7)  # every link predicted (d < 0.7 <=> s > 0.3)
    every = {0, 1, 2, 3, 4, 5}
    assert sets(pool, d.with_graph("closure:2")) == [{0, 1}, {0, 1}, {2}, {3, 4}, {3, 4}, {5}]
    assert sets(pool, d.with_graph("closure:3")) == [{0, 1, 2}] * 3 + [{3, 4, 5}] * 3
    # at 5: 2-3 joins {0,1,2} and {3,4}; 4-5 and 0-5 would make 6
    assert sets(pool, d.with_graph("closure:5")) == [{0, 1, 2, 3, 4}] * 5 + [{5}]
    assert sets(pool, d.with_graph("closure:6")) == [every] * 6
    assert sets(pool, d.with_graph("closure")) == [every] * 6  # bare: the default cap 51


def test_closure_cap_lets_a_weaker_edge_merge_after_a_skipped_one():
    # {0,1,2} fills the cap of 3 first; 2-3 and 2-4 are skipped, then the weaker 3-4 merges
    pool = hand_pool(5, {(0, 1): .95, (1, 2): .9, (2, 3): .85, (2, 4): .8, (3, 4): .5})
    got = sets(pool, Decision.single(M, 0.6, None, "x").with_graph("closure:3"))
    assert got == [{0, 1, 2}] * 3 + [{3, 4}] * 2


def test_closure_ties_break_by_index():
    # three edges at the same similarity and a cap of 2: (0,1) comes first, then (1,2) is skipped, (2,3) merges
    pool = hand_pool(4, {(1, 2): .8, (2, 3): .8, (0, 1): .8})
    assert sets(pool, Decision.single(M, 0.5).with_graph("closure:2")) == [{0, 1}, {0, 1}, {2, 3}, {2, 3}]


def test_cluster_average_linkage_by_hand():
    # 0-1 .9, 1-2 .8, 3-4 .85, 2-3 .3. Merges: {0,1} .9; {3,4} .85; {0,1}+2: (0 + .8)/2 = .4;
    # then {0,1,2}+{3,4}: .3 / 6 = .05 (unlinked pairs count 0)
    pool = hand_pool(5, {(0, 1): .9, (1, 2): .8, (3, 4): .85, (2, 3): .3})
    d = Decision.single(M, 0.8)
    den = G.average_linkage(5, *G.undirected(5, [0, 1, 3, 2], [1, 2, 4, 3], [.9, .8, .85, .3]))
    assert np.allclose(den.height, [.9, .85, .4, .05])
    expect = {1.0: [{0}, {1}, {2}, {3}, {4}],
              1.25: [{0, 1}, {0, 1}, {2}, {3}, {4}],                 # 1 merge: 5 / 4
              5 / 3: [{0, 1}, {0, 1}, {2}, {3, 4}, {3, 4}],          # 2 merges
              2.0: [{0, 1, 2}] * 3 + [{3, 4}] * 2,                   # 3 merges: 5 / 2 = 2.5 >= 2
              2.5: [{0, 1, 2}] * 3 + [{3, 4}] * 2,
              2.6: [{0, 1, 2, 3, 4}] * 5,
              10.0: [{0, 1, 2, 3, 4}] * 5}                            # no more merges to make
    for s, want in expect.items():
        assert sets(pool, d.with_graph(GraphStep("cluster", s))) == want, s


def test_cluster_never_merges_unlinked_clusters():
    pool = hand_pool(4, {(0, 1): .9, (2, 3): .9})
    assert sets(pool, Decision.single(M, 0.5).with_graph("cluster:4")) == [{0, 1}, {0, 1}, {2, 3}, {2, 3}]


def test_cut_bridges_by_hand():
    # triangles {0,1,2} (.9) and {3,4,5} (.8) joined by the bridge 2-3 (.5); a pendant 5-6 (.7)
    links = {(0, 1): .9, (1, 2): .9, (0, 2): .9, (3, 4): .8, (4, 5): .8, (3, 5): .8, (2, 3): .5, (5, 6): .7}
    pool = hand_pool(7, links)
    d = Decision.single(M, 0.6)
    a, b, _ = G.undirected(7, *zip(*links), list(links.values()))
    assert set(zip(a[G.bridges(7, a, b)].tolist(), b[G.bridges(7, a, b)].tolist())) == {(2, 3), (5, 6)}
    assert sets(pool, d.with_graph("cut-bridges:-1")) == [set(range(7))] * 7
    assert sets(pool, d.with_graph("cut-bridges:0.6")) == [{0, 1, 2}] * 3 + [{3, 4, 5, 6}] * 4
    assert sets(pool, d.with_graph("cut-bridges:0.75")) == [{0, 1, 2}] * 3 + [{3, 4, 5}] * 3 + [{6}]


def test_union_edges_take_the_larger_side_similarity():
    # side a links 0-1 at .6 and 1-2 at .9; side b links 0-1 at .95: with cap 2 the union's 0-1 (.95) wins
    n = 3
    idx = np.tile(np.arange(n), (n, 1))
    sa = np.array([[1, .6, -.5], [.6, 1, .9], [-.5, .9, 1]], dtype=np.float32)
    sb = np.array([[1, .95, -.5], [.95, 1, -.5], [-.5, -.5, 1]], dtype=np.float32)
    pool = Pool(np.arange(n), k=n, tables={("a", "base"): Neighbors(idx, sa), ("b", "base"): Neighbors(idx, sb)})
    d = Decision.union([(model_source("a"), 0.5), (model_source("b"), 0.5)]).with_graph("closure:2")
    assert sets(pool, d) == [{0, 1}, {0, 1}, {2}]
    assert sets(pool, Decision.single(model_source("a"), 0.5).with_graph("closure:2")) == [{0}, {1, 2}, {1, 2}]


# --------------------------------------------------------------------------- references
def random_graph(rng, n_max=60, ties=False):
    n = int(rng.integers(2, n_max))
    m = int(rng.integers(0, 3 * n))
    r, c = rng.integers(0, n, m), rng.integers(0, n, m)
    s = np.round(rng.random(m), 1) if ties else rng.uniform(0.01, 1.0, m)
    return (n, *G.undirected(n, r, c, s))


def test_bridges_match_networkx_and_tarjan():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n, a, b, _ = random_graph(rng)
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(a.tolist(), b.tolist()))
        want = {tuple(sorted(e)) for e in nx.bridges(g)}
        mask = G.bridges(n, a, b)
        assert set(zip(a[mask].tolist(), b[mask].tolist())) == want
        assert R.naive_bridges(n, zip(a.tolist(), b.tolist())) == want


def test_closure_matches_networkx_without_a_cap_and_the_sequential_union_find_with_one():
    rng = np.random.default_rng(1)
    for _ in range(100):
        n, a, b, s = random_graph(rng, ties=True)
        g = nx.Graph()
        g.add_nodes_from(range(n))
        g.add_edges_from(zip(a.tolist(), b.tolist()))
        assert partition(G.capped_components(n, a, b, s, None)) == {frozenset(c) for c in nx.connected_components(g)}
        edges = dict(zip(zip(a.tolist(), b.tolist()), s.tolist()))
        for cap in (2, 3, 5, 8):
            assert partition(G.capped_components(n, a, b, s, cap)) == partition(R.naive_closure(n, edges, cap))


def test_average_linkage_matches_scipy_on_the_dense_matrix():
    """'Unlinked' = similarity 0 = distance 1 in the dense matrix: scipy's UPGMA merges every linked
    pair below distance 1 exactly as the sparse version, in the same order and at the same heights."""
    rng = np.random.default_rng(2)
    for _ in range(80):
        n, a, b, s = random_graph(rng, n_max=30)
        if len(a) == 0:
            continue
        dense = np.ones((n, n))
        dense[a, b] = dense[b, a] = 1 - s
        np.fill_diagonal(dense, 0)
        z = linkage(squareform(dense, checks=False), method="average")
        linked = int((z[:, 2] < 1 - 1e-9).sum())
        den = G.average_linkage(n, a, b, s)
        assert len(den.height) == linked
        assert np.allclose(1 - den.height, z[:linked, 2])
        edges = dict(zip(zip(a.tolist(), b.tolist()), s.tolist()))
        for m in range(linked + 1):
            assert partition(den.labels(m)) == partition(cut_tree(z, n_clusters=n - m).ravel())
            target = n / (n - m)
            assert partition(den.labels(den.merges_for(target))) == partition(R.naive_average_linkage(n, edges, target))


def test_cut_bridges_and_mutual_match_the_naive_versions():
    rng = np.random.default_rng(3)
    for _ in range(100):
        n, a, b, s = random_graph(rng)
        edges = dict(zip(zip(a.tolist(), b.tolist()), s.tolist()))
        for tau in (-1.0, 0.3, 0.7, 1.0):
            assert partition(G.cut_bridges_labels(n, a, b, s, tau)) == partition(R.naive_cut_bridges(n, edges, tau))
        rows, cols = rng.integers(0, n, 3 * n), rng.integers(0, n, 3 * n)
        keep = rows != cols
        rows, cols = rows[keep], cols[keep]
        preds = [{i} | set(cols[rows == i].tolist()) for i in range(n)]
        mask = G.mutual_mask(n, rows, cols)
        got = G.sets_to_padded(n, rows[mask], cols[mask])
        assert [set(x for x in r if x >= 0) for r in got] == R.naive_mutual(preds)


# --------------------------------------------------------------------------- properties
@st.composite
def pools(draw):
    n = draw(st.integers(4, 50))
    groups = draw(st.integers(1, max(1, n // 2)))
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    labels = rng.integers(0, groups, n)
    x = rng.normal(size=(groups, 8))[labels] + rng.normal(size=(n, 8)) * draw(st.floats(0.1, 1.5))
    k = draw(st.integers(2, n))
    return Pool(labels, k=k, embeddings={"m": Embeddings.from_array(x)})


thresholds = st.floats(0.05, 1.0, allow_nan=False)


@SETTINGS
@given(pools(), thresholds, st.integers(2, 12), st.floats(1.0, 6.0), st.floats(-1.0, 1.0))
def test_graph_step_properties(pool, t, cap, size, tau):
    d = Decision.single(M, t, t + 0.1)
    plain = sets(pool, d)
    uncapped = sets(pool, d.with_graph(GraphStep("closure", pool.k * 10 + len(plain))))
    mutual = sets(pool, d.with_graph("mutual"))
    capped = sets(pool, d.with_graph(GraphStep("closure", cap)))
    cluster = sets(pool, d.with_graph(GraphStep("cluster", size)))
    cut = sets(pool, d.with_graph(GraphStep("cut-bridges", tau)))
    for i in range(len(plain)):
        assert i in mutual[i] and mutual[i] <= plain[i]             # mutual ⊆ plain
        assert plain[i] <= uncapped[i]                              # plain ⊆ closure without a cap
        assert len(capped[i]) <= cap and capped[i] <= uncapped[i]   # every closure component <= MAX
        assert cluster[i] <= uncapped[i] and cut[i] <= uncapped[i]  # the others only split components
        for j in capped[i] | cluster[i] | cut[i]:                   # components: every member predicts the same set
            assert capped[j] == capped[i] or j not in capped[i]
            assert cluster[j] == cluster[i] or j not in cluster[i]
    mean = len(plain) / len({frozenset(c) for c in cluster})
    # only clusters with a positive average merge: a Min2 link of similarity <= 0 joins a closure component
    # but never two clusters, so the clustering can stop short of the target below that many components
    nb = pool.neighbors(M)
    sim = {(i, int(j)): float(v) for i in range(nb.n) for j, v in zip(nb.idx[i], nb.sim[i])}
    linked = [(i, j) for i in range(len(plain)) for j in plain[i]
              if j != i and max(sim.get((i, j), -np.inf), sim.get((j, i), -np.inf)) > 0]
    a, b = (np.array([e[0] for e in linked], dtype=np.int64), np.array([e[1] for e in linked], dtype=np.int64))
    if len({frozenset(c) for c in cluster}) > G.components(len(plain), a, b).max(initial=-1) + 1:
        assert mean >= size - 1e-9                                  # stopped at the target, not for lack of links
    # group-label scoring equals scoring the padded sets
    got = scores(pool, d.with_graph(GraphStep("cluster", size)), rows=True)["rows"]
    want = row_scores(predictions(pool, d.with_graph(GraphStep("cluster", size))), pool.labels)
    assert np.allclose(got["f1"], want["f1"]) and np.array_equal(got["n_pred"], want["n_pred"])


# --------------------------------------------------------------------------- the decision: JSON, tune, errors
def test_json_round_trip_keeps_the_graph_step():
    for g in (None, "mutual", "closure:51", "cluster:2.6", "cut-bridges:0.35"):
        d = Decision.single(M, 0.4, 0.5, "x").with_graph(g)
        back = Decision.from_dict(json.loads(json.dumps(d.as_dict())))
        assert back == d
        assert back.as_dict()["graph"] == (None if g is None else GraphStep.parse(g).as_dict())
    assert "closure (max 51)" in Decision.single(M, 0.4).with_graph("closure:51").describe()


@pytest.mark.parametrize("text, message", [
    ("spectral", "unknown graph step"), ("closure:1", "cap MAX must be an integer >= 2"),
    ("closure:2.5", "integer"), ("cluster:0.5", "S must be >= 1"), ("cut-bridges:1.5", "[-1, 1]"),
    ("cut-bridges:-2", "[-1, 1]"), ("mutual:3", "no parameter"), ("cluster:abc", "not a number"),
    ("cluster:nan", "finite"),
])
def test_bad_graph_steps_are_one_line_errors(text, message):
    with pytest.raises(DecisionError, match=message.replace("[", r"\[").replace("]", r"\]")):
        GraphStep.parse(text)


def test_a_bare_step_without_tuning_says_what_it_needs():
    pool = hand_pool(3, {(0, 1): .9})
    with pytest.raises(DecisionError, match="needs its S"):
        scores(pool, Decision.single(M, 0.5).with_graph("cluster"))
    with pytest.raises(DecisionError, match="needs its τ"):
        scores(pool, Decision.single(M, 0.5).with_graph("cut-bridges"))


def test_graph_step_on_a_predictions_only_table_is_refused():
    n = 3
    idx = np.tile(np.arange(n), (n, 1))
    sim = np.array([[1, 1, -1], [1, 1, -1], [-1, -1, 1]], dtype=np.float32)
    pool = Pool(np.arange(n), k=n, tables={("sub", "base"): Neighbors(idx, sim)}, fixed={"sub"})
    d = Decision.single(model_source("sub"), 0.5)
    scores(pool, d)  # the plain decision works
    with pytest.raises(DecisionError, match="predictions-only"):
        scores(pool, d.with_graph("mutual"))


def chained_pool(seed=0, groups=60):
    """Groups of 3 whose members sit on a line, neighbouring groups close enough to chain."""
    rng = np.random.default_rng(seed)
    labels = np.repeat(np.arange(groups), 3)
    centres = rng.normal(size=(groups, 6)) * 0.5
    x = centres[labels] + rng.normal(size=(len(labels), 6)) * 0.35
    return labels, Embeddings.from_array(x)


def test_tune_searches_the_parameter_then_the_threshold_and_never_loses_on_the_tuning_pool():
    from shopee_core.matching import search_graph_param
    from shopee_core.matching.tune import graph_params

    labels, x = chained_pool()
    pool = Pool(labels, k=20, embeddings={"m": x})
    plain = tune(pool, Decision.single(M, 0.5))
    for step in ("closure", "cluster", "cut-bridges"):
        d = tune(pool, Decision.single(M, 0.5).with_graph(step))
        assert d.graph.step == step and d.graph.param is not None
        # the search is the argmax over its grid at the plain optimum's thresholds ...
        param, f1 = search_graph_param(pool, plain, step)
        grid = [scores(pool, plain.with_graph(GraphStep(step, p)))["f1"]
                for p in graph_params(pool, plain.with_graph(step), GraphStep(step))]
        assert f1 == pytest.approx(max(grid))
        # ... and moving T from there never lowers the tuning pool's F1
        assert scores(pool, d)["f1"] >= f1 - 1e-12
    given = tune(pool, Decision.single(M, 0.5).with_graph("closure:7"))
    assert given.graph == GraphStep("closure", 7)  # a given parameter stays; only T moves
    mutual = tune(pool, Decision.single(M, 0.5).with_graph("mutual"))
    assert scores(pool, mutual)["f1"] >= scores(pool, plain.with_graph("mutual"))["f1"] - 1e-12


def test_component_steps_score_without_a_padded_matrix():
    labels, x = chained_pool(1)
    pool = Pool(labels, k=30, embeddings={"m": x})
    d = Decision.single(M, 0.9).with_graph("cut-bridges:-1")  # one big component or close to it
    r = scores(pool, d, rows=True)["rows"]
    assert np.array_equal(r["n_pred"], row_scores(predictions(pool, d), labels)["n_pred"])
    assert knn(x, 5).n == len(labels)

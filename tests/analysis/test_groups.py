"""Group table, drawing and what-if on hand-drawn pools (numbers written out by hand), and the
what-if against re-scoring the whole pool."""

import numpy as np
import pytest

from shopee_core.analysis import groups as GR
from shopee_core.matching import Decision, Neighbors, Pool, model_source, predictions, scores
from shopee_core.metrics import row_scores

M = model_source("m")


def hand_pool(n, links, labels):
    """One table holding every pair: linked pairs at their similarity, others at -0.5 (never predicted)."""
    sim = np.full((n, n), -0.5, dtype=np.float32)
    np.fill_diagonal(sim, 1.0)
    for (i, j), s in links.items():
        sim[i, j] = sim[j, i] = s
    return Pool(np.asarray(labels), k=n, tables={("m", "base"): Neighbors(np.tile(np.arange(n), (n, 1)), sim)})


# true groups: A = {0, 1, 2}, B = {3, 4}, C = {5, 6}
LABELS = [10, 10, 10, 20, 20, 30, 30]
# predicted at T = 0.5 (s > 0.5): triangle-less chain 0-1-2 (TP), bridge 2-3 (FP), 3-4 (TP); 5 and 6 only at .3
LINKS = {(0, 1): .9, (1, 2): .8, (2, 3): .6, (3, 4): .95, (5, 6): .3, (0, 2): .45}


@pytest.fixture
def g():
    return GR.build(hand_pool(7, LINKS, LABELS), Decision.single(M, 0.5))


def by_group(frame):
    return frame.set_index("group")


def test_predicted_groups_by_hand(g):
    t = GR.table(g, "predicted")
    # components: {0,1,2,3,4} (one merged group), {5}, {6}
    big = t[t["size"] == 5].iloc[0]
    assert big["edges"] == 4 and big["density"] == pytest.approx(4 / 10)
    assert big["weakest"] == pytest.approx(0.6, abs=1e-6)        # the bridge 2-3 holds it together
    assert big["bridges"] == 4                                   # a path: every edge is a bridge
    assert big["purity"] == 2 and big["fragmentation"] == 1 and big["shape"] == "merged"
    singles = t[t["size"] == 1]
    assert len(singles) == 2 and singles["density"].isna().all() and singles["weakest"].isna().all()
    assert set(singles["shape"]) == {"split"}                    # C = {5, 6} falls into two predicted groups
    # F1 lost: rows 0..4 (plain sets, not components) and 5, 6 (alone, |X| = 2: F1 2/3)
    f1 = row_scores(predictions(hand_pool(7, LINKS, LABELS), Decision.single(M, 0.5)), np.asarray(LABELS))["f1"]
    assert big["f1_lost"] == pytest.approx((1 - f1[:5]).sum() / 7)
    assert singles["f1_lost"].sum() == pytest.approx(2 * (1 - 2 / 3) / 7)
    assert t["f1_lost"].is_monotonic_decreasing


def test_true_groups_by_hand(g):
    t = GR.table(g, "true", group_ids=np.array([10, 20, 30]))
    t = by_group(t)
    assert t.at[10, "size"] == 3 and t.at[10, "edges"] == 2 and t.at[10, "density"] == pytest.approx(2 / 3)
    # A's candidate pairs 0-1 .9, 1-2 .8, 0-2 .45: its maximum spanning tree's weakest edge is .8
    assert t.at[10, "weakest"] == pytest.approx(0.8, abs=1e-6)
    assert t.at[10, "purity"] == 2 and t.at[10, "fragmentation"] == 1 and t.at[10, "shape"] == "merged"
    assert t.at[30, "fragmentation"] == 2 and t.at[30, "edges"] == 0 and t.at[30, "shape"] == "split"
    assert t.at[30, "weakest"] == pytest.approx(0.3, abs=1e-6)  # in the tables at .3 although never predicted
    assert t.at[20, "bridges"] == 1                              # 3-4 is a bridge of the predicted graph


def test_weakest_link_is_nan_when_the_tables_do_not_connect_a_true_group():
    # k = 2: each row holds itself and one candidate; posting 2 shares group 1 but no candidate pair with it
    idx = np.array([[0, 1], [1, 0], [2, 3], [3, 2]])
    sim = np.array([[1, .9], [1, .9], [1, .2], [1, .2]], dtype=np.float32)
    pool = Pool(np.array([1, 1, 1, 2]), k=2, tables={("m", "base"): Neighbors(idx, sim)})
    t = by_group(GR.table(GR.build(pool, Decision.single(M, 0.5)), "true", group_ids=np.array([1, 2])))
    assert np.isnan(t.at[1, "weakest"]) and t.at[1, "fragmentation"] == 2


def test_filters_by_size_and_shape(g):
    t = GR.table(g, "predicted")
    assert list(GR.filter_table(t, (2, None))["size"]) == [5]
    assert len(GR.filter_table(t, (1, 1), ["split"])) == 2 and GR.filter_table(t, (1, None), ["mixed"]).empty


def test_drawing_shows_members_their_missed_mates_and_every_kind_of_edge(g):
    code = int(g.comp[5])
    nodes, edges = GR.drawing(g, "predicted", code)
    assert list(nodes["row"]) == [5, 6] and list(nodes["member"]) == [True, False]  # 6: its missed true mate
    assert len(edges) == 1 and not edges["predicted"].iat[0] and edges["same"].iat[0]  # below the threshold
    nodes, edges = GR.drawing(g, "predicted", int(g.comp[0]))
    assert set(nodes["row"]) == {0, 1, 2, 3, 4} and nodes["member"].all()
    assert set(zip(edges["i"], edges["j"])) == {(0, 1), (1, 2), (2, 3), (3, 4), (0, 2)}
    fp = edges[(edges["i"] == 2) & (edges["j"] == 3)].iloc[0]
    assert fp["predicted"] and not fp["same"] and fp["bridge"]
    assert np.abs(nodes[["x", "y"]].to_numpy()).max() <= 1 + 1e-9
    again, _ = GR.drawing(g, "predicted", int(g.comp[0]))
    assert np.array_equal(again[["x", "y"]].to_numpy(), nodes[["x", "y"]].to_numpy())  # deterministic


def test_what_if_cutting_the_bridge_by_hand(g):
    # per-row sets: cutting 2-3 removes 3 from row 2's set and 2 from row 3's, nothing else
    r = GR.what_if(g, [("cut", 3, 2)])
    assert r["touched"] == 2 and set(r["rows"]) == {2, 3}
    # row 2: {1, 2} -> 2·2/(2+3) = .8 ; row 3: {3, 4} -> 1
    assert r["rows"][2][1] == pytest.approx(0.8) and r["rows"][3][1] == pytest.approx(1.0)
    assert r["delta"] == pytest.approx((0.8 - r["rows"][2][0] + 1.0 - r["rows"][3][0]) / 7)


def what_if_by_rescoring(pool, d, edits):
    """The slow way: edit the padded sets of every row, score the whole pool."""
    sets = [set(int(x) for x in row if x >= 0) for row in predictions(pool, d)]
    n = len(sets)
    comps = d.graph is not None and d.graph.step != "mutual"
    if not comps:
        for e in edits:
            if e[0] == "cut":
                sets[e[1]].discard(e[2])
                sets[e[2]].discard(e[1])
            else:
                sets = [s - {e[1]} if i != e[1] else {e[1]} for i, s in enumerate(sets)]
    else:
        g = GR.build(pool, d)
        cut = {(min(e[1], e[2]), max(e[1], e[2])) for e in edits if e[0] == "cut"}
        gone = {e[1] for e in edits if e[0] == "detach"}
        touched = {int(g.comp[e[1]]) for e in edits}
        import networkx as nx
        for c in touched:
            own = set(np.flatnonzero(g.comp == c).tolist())
            h = nx.Graph()
            h.add_nodes_from(own)
            h.add_edges_from((a, b) for a, b in zip(g.ea.tolist(), g.eb.tolist()) if a in own and b in own
                             and (a, b) not in cut and a not in gone and b not in gone)
            for part in nx.connected_components(h):
                for r in part:
                    sets[r] = set(part)
    pred = np.full((n, n), -1)
    for i, s in enumerate(sets):
        pred[i, :len(s)] = sorted(s)
    return float(row_scores(pred, pool.labels)["f1"].mean())


@pytest.mark.parametrize("graph", [None, "mutual", "closure:4", "cut-bridges:0.7", "cluster:2"])
def test_what_if_equals_rescoring_the_whole_pool(graph):
    rng = np.random.default_rng(5)
    labels = np.repeat(np.arange(12), 3)
    x = rng.normal(size=(12, 6))[labels] * 0.6 + rng.normal(size=(36, 6)) * 0.4
    from shopee_core.matching import Embeddings

    pool = Pool(labels, k=10, embeddings={"m": Embeddings.from_array(x)})
    d = Decision.single(M, 0.6).with_graph(graph)
    g = GR.build(pool, d)
    assert g.f1.mean() == pytest.approx(scores(pool, d)["f1"])
    edits = []
    for k in range(3):  # cumulative: cut two predicted edges, then detach a member
        if k < 2 and len(g.ea) > k:
            edits.append(("cut", int(g.ea[k * 3 % len(g.ea)]), int(g.eb[k * 3 % len(g.eb)])))
        else:
            edits.append(("detach", int(g.ea[0]) if len(g.ea) else 0))
        got = GR.what_if(g, edits)
        assert got["f1_after"] == pytest.approx(what_if_by_rescoring(pool, d, edits)), (graph, edits)


def test_unknown_edit_is_refused(g):
    from shopee_core.errors import DecisionError

    with pytest.raises(DecisionError, match="unknown what-if edit"):
        GR.what_if(g, [("merge", 1, 2)])


def test_a_group_larger_than_the_drawing_is_cut_to_a_connected_neighbourhood():
    # a chain 0-1-...-29 (one predicted group of 30) drawn with a limit of 10: the first 10 along the chain
    n = 30
    links = {(i, i + 1): .9 for i in range(n - 1)}
    g = GR.build(hand_pool(n, links, np.repeat(np.arange(15), 2)), Decision.single(M, 0.5))
    rows, member = GR.nodes_of(g, "predicted", int(g.comp[0]), limit=10)
    assert sorted(rows.tolist()) == list(range(10)) and member.all()

"""The planner's reach (geo/reach.py): hop-limited cheapest paths from many sources at once,
the same costs and paths as :func:`geo.paths.hop_limited_paths` from each, ties included."""

from __future__ import annotations

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import geo.reach as reach_module
from geo.paths import hop_limited_paths
from geo.reach import reach_table
from geo.rules import apply_rules


def weighted(edges: list[tuple[str, str, int]]) -> nx.Graph:
    G = nx.Graph()
    for a, b, w in edges:
        G.add_edge(a, b, cost_milli=w)
    return G


def same_as_reference(G: nx.Graph, sources: list[str], max_hops: int) -> None:
    T = reach_table(G, sources, max_hops)
    assert T.receivers == sorted(set(sources))
    for s in T.receivers:
        assert T.paths_of(s) == hop_limited_paths(G, s, max_hops)


def test_cheapest_path_within_the_hop_limit():
    # a-b-c-d costs 3 over 3 links; a-d directly costs 10
    G = weighted([("a", "b", 1), ("b", "c", 1), ("c", "d", 1), ("a", "d", 10)])
    T = reach_table(G, ["a"], 3)
    assert T.route("a", "d") == (3, ("a", "b", "c", "d"))
    assert reach_table(G, ["a"], 2).route("a", "d") == (10, ("a", "d"))
    assert T.reach("a") == [("b", 1), ("c", 2), ("d", 3)]
    assert T.reach("d") == []  # not a source


def test_equal_cost_goes_to_the_smaller_path_even_a_longer_one():
    # a-d costs 2 in one link and in two (a-b-d): ("a", "b", "d") < ("a", "d") as tuples
    G = weighted([("a", "d", 2), ("a", "b", 1), ("b", "d", 1)])
    assert reach_table(G, ["a"], 2).route("a", "d") == (2, ("a", "b", "d"))
    assert hop_limited_paths(G, "a", 2)["d"] == (2, ("a", "b", "d"))
    # within one round: a-b-d and a-c-d both cost 2; b < c
    H = weighted([("a", "c", 1), ("c", "d", 1), ("a", "b", 1), ("b", "d", 1)])
    assert reach_table(H, ["a"], 2).route("a", "d") == (2, ("a", "b", "d"))


def test_a_self_loop_and_an_isolated_node_change_nothing():
    G = weighted([("a", "a", 0), ("a", "b", 1), ("b", "c", 1)])
    G.add_node("z")
    same_as_reference(G, ["a", "b", "z"], 3)
    assert reach_table(G, ["z"], 3).reach("z") == []


def test_routes_in_one_call_and_an_unreachable_pair_is_a_key_error():
    G = weighted([("a", "b", 1), ("b", "c", 2), ("x", "y", 1)])
    T = reach_table(G, ["a", "x"], 2)
    assert T.routes([("a", "c"), ("x", "y")]) == [(3, ("a", "b", "c")), (1, ("x", "y"))]
    with pytest.raises(KeyError):
        T.routes([("a", "b"), ("a", "y")])


def test_bad_weights_and_hops_are_refused():
    with pytest.raises(ValueError, match="integers"):
        reach_table(weighted([("a", "b", 1.5)]), ["a"], 2)  # type: ignore[list-item]
    with pytest.raises(ValueError, match=">= 0"):
        reach_table(weighted([("a", "b", -1)]), ["a"], 2)
    with pytest.raises(ValueError, match="max_hops"):
        reach_table(weighted([("a", "b", 1)]), ["a"], 0)


graphs = st.integers(2, 14).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(
            st.tuples(
                st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from([0, 1, 1, 2, 3])
            ),
            max_size=3 * n,
        ),
        st.lists(st.integers(0, n - 1), min_size=1, max_size=n),
        st.integers(1, 6),
    )
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs, st.sampled_from([1 << 62, 64]), st.sampled_from([1 << 18, 5]))
def test_random_graphs_with_many_ties_match_the_reference(case, key_limit, block_cells):
    # a small key limit re-ranks the path keys every round; small blocks walk the sources in
    # many blocks: neither may change a path
    n, edges, sources, hops = case
    G = nx.Graph()
    G.add_nodes_from(f"n{i:02d}" for i in range(n))
    for a, b, w in edges:
        G.add_edge(f"n{a:02d}", f"n{b:02d}", cost_milli=w)
    old = reach_module.KEY_LIMIT, reach_module.BLOCK_CELLS
    reach_module.KEY_LIMIT, reach_module.BLOCK_CELLS = key_limit, block_cells
    try:
        same_as_reference(G, [f"n{i:02d}" for i in sources], hops)
    finally:
        reach_module.KEY_LIMIT, reach_module.BLOCK_CELLS = old


@pytest.mark.parametrize("hops", [1, 3, 5])
def test_every_nghe_an_commune_matches_the_reference(nghe_an_graph, hops):
    H = apply_rules(nghe_an_graph)
    same_as_reference(H, sorted(H), hops)

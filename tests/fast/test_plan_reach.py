"""Who can still give to a requesting commune (api/services/plan_run.givers_within_reach): the
communes within ``max_hops`` open links, computed on the requesters' surroundings only, the same
as on the whole road graph."""

from __future__ import annotations

import datetime as dt

import pytest

from api.services.plan_run import PlanInputs, givers_within_reach
from geo.needs import parse_scenario
from geo.paths import hop_limited_paths
from geo.planning import PlanParameters
from geo.rules import parse_rules
from geo.solver import road_graph


def inputs(G, requesters, hops):
    a, b = requesters[0], sorted(G[requesters[0]])[0]
    far = sorted(G)[-1]  # a ferry from the first requester to a commune far away
    scenario = parse_scenario(
        {
            "risk_level": 2,
            "affected": [
                {"commune": a, "displaced": 100},
                {"commune": b, "displaced": 50, "isolated": "partial"},
            ],
            "closed_links": [[requesters[1], sorted(G[requesters[1]])[-1]]],
        },
        communes=set(G),
    )
    rules = parse_rules(
        [
            {"type": "add_link", "a": a, "b": far, "via": "ferry", "travel_minutes": 60},
            {"type": "close_link", "a": b, "b": sorted(G[b])[-1]},
        ]
    )
    return PlanInputs(
        incident_id=1,
        scenario=scenario,
        covered={},
        inventory={},
        rules=tuple(rules),
        regions={},
        params=PlanParameters(max_hops=hops, at=dt.date(2026, 6, 1)),
        requesters=(*requesters, "99999"),
        version="1",
    )


@pytest.mark.parametrize("hops", [1, 2, 3])
def test_the_reach_of_requesters_is_the_whole_graphs(nghe_an_graph, hops):
    G = nghe_an_graph
    i = inputs(G, ["17254", "16876", "16813"], hops)
    got = givers_within_reach(G, i)
    H = road_graph(G, i.scenario, i.rules, i.params)  # the whole country's road graph
    silent = i.scenario.isolated("partial") | i.scenario.isolated("full")
    for c in ("17254", "16876", "16813"):
        want = {g for g in hop_limited_paths(H, c, hops) if g not in silent}
        assert got[c] == want and want
    assert sorted(G)[-1] in got["17254"]  # over the ferry
    assert got["99999"] == frozenset()  # not a commune: no one

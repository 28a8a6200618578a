"""Plans local to the incident (geo/plan_area.py): the planner works on the communes within
``max_hops`` links of the affected ones, and finds the same plan as on the whole graph."""

from __future__ import annotations

import pytest

from geo.plan_area import plan_area
from geo.planning import PlanError, PlanParameters, compute_plan
from geo.rules import RuleError, parse_rules
from tests.geo.planning_helpers import graph, scenario

# a chain 10001 - 10002 - ... - 10009, 10 km apart, and a far pair 10020 - 10021
CHAIN = [(f"1000{i}", f"1000{i + 1}", 10.0) for i in range(1, 9)] + [("10020", "10021", 5.0)]


def test_the_area_is_the_ball_of_max_hops_links_around_the_affected():
    G = graph(CHAIN)
    assert plan_area(G, ["10001"], [], 2) == {"10001", "10002", "10003"}
    assert plan_area(G, ["10005"], [], 1) == {"10004", "10005", "10006"}


def test_an_add_link_rule_widens_the_area_even_outside_its_dates():
    G = graph(CHAIN)
    rules = parse_rules(
        [
            {
                "type": "add_link",
                "a": "10001",
                "b": "10020",
                "via": "ferry",
                "travel_minutes": 30,
                "valid_from": "2020-01-01",
                "valid_to": "2020-12-31",
            }
        ]
    )
    assert plan_area(G, ["10001"], rules, 2) == {"10001", "10002", "10003", "10020", "10021"}


def test_the_whole_graph_is_no_area():
    G = graph(CHAIN[:2])
    assert plan_area(G, ["10001"], [], 3) is None


def test_a_far_giver_is_not_asked_and_a_near_one_is_as_on_the_whole_graph():
    G = graph(CHAIN)
    inventory = {c: {"boats": 10} for c in G}
    sc = scenario({"10001": {"boats": 12}})
    plan = compute_plan(G, sc, inventory, params=PlanParameters(max_hops=2))
    givers = {t.giver for t in plan.transfers}
    assert givers <= {"10002", "10003"} and givers
    # its own 10 boats first; the gap of 2 from a neighbour within two links
    assert sum(t.quantity for t in plan.transfers) == 2
    assert plan.cost.unmet_units == 0


def test_a_rule_naming_an_unknown_commune_far_away_is_still_refused():
    G = graph(CHAIN)
    rules = parse_rules([{"type": "close_link", "a": "10020", "b": "99999"}])
    with pytest.raises(RuleError) as err:
        compute_plan(G, scenario({"10001": {"boats": 1}}), {}, rules=rules)
    assert err.value.code == "unknown_commune"


@pytest.mark.parametrize(
    ("inventory", "code"),
    [
        ({"99999": {"boats": 1}}, "unknown_commune"),
        ({"10021": {"unicorns": 1}}, "unknown_resource"),
    ],
)
def test_a_bad_inventory_row_far_away_is_still_refused(inventory, code):
    G = graph(CHAIN)
    with pytest.raises(PlanError) as err:
        compute_plan(G, scenario({"10001": {"boats": 1}}), inventory)
    assert err.value.code == code


def test_the_local_plan_equals_the_plan_on_the_whole_graph(monkeypatch):
    """The same scenario planned with the area cut (the default) and with the cut disabled."""
    import geo.planning

    G = graph([*CHAIN, ("10009", "10020", 10.0)])
    inventory = {c: {"boats": 3 + int(c[-1]), "rice_kg": 100} for c in G}
    sc = scenario({"10004": {"boats": 20, "rice_kg": 150}, "10005": {"boats": 9}})
    params = PlanParameters(max_hops=3)
    local = compute_plan(G, sc, inventory, params=params).to_json()
    monkeypatch.setattr(geo.planning, "plan_area", lambda *a, **k: None)
    whole = compute_plan(G, sc, inventory, params=params).to_json()
    assert local == whole

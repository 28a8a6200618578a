"""The plan check: a valid plan reports nothing, and each check reports its own corruption."""

from __future__ import annotations

import copy

import pytest

from geo import plan_check
from geo.planning import PlanParameters, make_plan, validate_plan
from geo.rules import parse_rules

from .planning_helpers import graph, scenario

# 10001 needs 10 boats and has none; 10002 (1 link) may give 2 of its 4, 10003 (2 links, via
# 10002) 7 of its 10; 10004 is bound by an agreement capped at 0 boats; one boat stays unmet.
# 10005 is partly isolated (its boats stay home); 10006, on a shortcut from 10003, is cut off.
G = graph(
    [
        ("10001", "10002", 10),
        ("10002", "10003", 10),
        ("10003", "10004", 20),
        ("10001", "10004", 5),
        ("10001", "10005", 10),
        ("10003", "10006", 1),
        ("10006", "10001", 1),
    ]
)
SC = scenario(
    {"10001": {"boats": 10}, "10005": {}, "10006": {}},
    isolated={"10005": "partial", "10006": "full"},
)
INV = {
    "10002": {"boats": 4},
    "10003": {"boats": 10},
    "10004": {"boats": 10},
    "10005": {"boats": 10},
}
RULES = parse_rules(
    [
        {
            "id": "cap",
            "type": "agreement",
            "a": "10001",
            "b": "10004",
            "cap": True,
            "commitments": {"10004": {"boats": 0}},
        }
    ]
)


@pytest.fixture(scope="module")
def plan():
    p = make_plan(G, SC, INV, rules=RULES)
    assert [(t["from"], t["quantity"]) for t in p["transfers"]] == [("10002", 2), ("10003", 7)]
    assert p["unmet"][0]["quantity"] == 1
    return p


def transfer_from(plan, giver):
    return next(t for t in plan["transfers"] if t["from"] == giver)


def set_quantity(p):
    transfer_from(p, "10002")["quantity"] = 0


def reverse_path(p):
    t = transfer_from(p, "10002")
    t["path"] = t["path"][::-1]


def skip_a_link(p):
    transfer_from(p, "10003")["path"] = ["10003", "10001"]


def wrong_minutes(p):
    transfer_from(p, "10003")["travel_minutes"] += 5


def longer_path(p):
    transfer_from(p, "10003")["path"] = ["10003", "10004", "10001"]


def over_the_cap(p):
    p["transfers"].append(
        {**transfer_from(p, "10002"), "from": "10004", "quantity": 1, "path": ["10004", "10001"]}
    )


def from_the_reserve(p):
    transfer_from(p, "10002")["quantity"] = 4


def more_than_the_gap(p):
    transfer_from(p, "10003")["quantity"] = 9


def drop_the_ledger(p):
    p["ledger"] = []


def wrong_ledger(p):
    p["ledger"][0]["received"] += 1


def drop_a_transfer(p):
    p["transfers"] = [t for t in p["transfers"] if t["from"] != "10002"]


def drop_unmet(p):
    p["unmet"] = []


def no_escalation(p):
    p["unmet"][0]["escalate_to"] = ""


def wrong_unmet_units(p):
    p["cost"]["unmet_units"] += 1


def wrong_transport(p):
    p["cost"]["transport"] += 1.0


# check -> (corruption, what it reports, the max_hops the plan is checked with)
def through_the_cut_off(p):
    t = transfer_from(p, "10003")
    t["path"] = ["10003", "10006", "10001"]


def from_the_partly_isolated(p):
    t = transfer_from(p, "10002")
    t.update({"from": "10005", "path": ["10005", "10001"]})


def flag_not_isolated(p):
    p["unmet"][0]["isolated"] = True


def recovery_rows(p):
    p["ledger"][0]["phase"] = "recovery"


CASES = {
    "_check_quantity": (set_quantity, "quantity must be a positive integer", 2),
    "_check_ends": (reverse_path, "path does not run from giver to receiver", 2),
    "_check_hops": (
        lambda p: None,
        "rule 3: transfer 10003->10001 boats x7: 2 links > max_hops 1",
        1,
    ),
    "_check_open": (
        skip_a_link,
        "rule 3: transfer 10003->10001 boats x7: link 10003-10001 is not open",
        2,
    ),
    "_check_minutes": (wrong_minutes, "travel_minutes 57.0 but the path takes 52.0", 2),
    "_check_cheapest": (longer_path, "rule 4: transfer 10003->10001 boats x7: path cost", 2),
    "_check_caps": (over_the_cap, "agreement cap: 10004->10001 boats 1 > committed 0", 2),
    "_check_sendable": (from_the_reserve, "rule 2: 10002 sends 4 boats but may send only 2", 2),
    "_check_over_gap": (more_than_the_gap, "10001 receives 11 boats, more than its gap 10", 2),
    "_check_ledger_row": (drop_the_ledger, "ledger: no row for 10001/boats", 2),
    "_check_ledger_figures": (wrong_ledger, "rule 1: ledger 10001/boats", 2),
    "_check_nothing_left": (drop_a_transfer, "rule 5: 10001 lacks 3 boats while 10002", 2),
    "_check_unmet_listed": (drop_unmet, "rule 5: unmet 10001/boats 1 is not listed", 2),
    "_check_escalation_named": (no_escalation, "rule 5: an unmet need has no escalate_to", 2),
    "_check_unmet_units": (wrong_unmet_units, "cost.unmet_units 2 != 1", 2),
    "_check_transport": (wrong_transport, "cost.transport", 2),
    "_check_isolated": (
        through_the_cut_off,
        "rule 3: transfer 10003->10001 boats x7: the path runs by road through 10006",
        2,
    ),
    "_check_partial_gives": (
        from_the_partly_isolated,
        "rule 2: transfer 10005->10001 boats x2: 10005 is partly isolated and gives nothing",
        2,
    ),
    "_check_isolated_flag": (
        flag_not_isolated,
        "rule 5: unmet 10001/boats: isolated is True, should be None",
        2,
    ),
    "_check_phases": (recovery_rows, "phases: rows of phase recovery", 2),
}


def test_every_check_has_its_case():
    checks = {name for name in vars(plan_check) if name.startswith("_check_")}
    assert checks - {"_check_transfer", "_check_needs"} == set(CASES)


def test_the_valid_plan_reports_nothing(plan):
    assert validate_plan(plan, G, SC, INV, rules=RULES) == []
    for hops in (2, 3):  # checked as made, and with more reach (nothing cheaper appears)
        assert (
            validate_plan(plan, G, SC, INV, rules=RULES, params=PlanParameters(max_hops=hops)) == []
        )


@pytest.mark.parametrize("check", sorted(CASES))
def test_each_check_reports_its_corruption(plan, check):
    corrupt, message, hops = CASES[check]
    broken = copy.deepcopy(plan)
    corrupt(broken)
    errors = validate_plan(broken, G, SC, INV, rules=RULES, params=PlanParameters(max_hops=hops))
    assert any(message in e for e in errors), errors

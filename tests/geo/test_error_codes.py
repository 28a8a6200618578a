"""Every domain error carries a stable code, the field it concerns and the values its wording
needs; errors listing several problems carry one Problem each (with its line for files)."""

from __future__ import annotations

import pytest

from geo.io import parse_structured, read_structured
from geo.needs import NeedsProfileError, ScenarioError, load_needs_profile, parse_scenario
from geo.planning import PlanError, PlanParameters, make_plan
from geo.resources import MAX_QUANTITY, InventoryError, read_inventory_csv, validate_inventory_items
from geo.rules import RuleError, RuleType, load_rules, parse_rules, rule_from_dict

from .planning_helpers import graph, scenario

COMMUNES = ["17248", "17254", "16876"]


def problems(exc):
    return [(p.code, p.field, dict(p.params), p.line) for p in exc.problems]


def test_inventory_file_problems_have_the_agreed_codes_and_lines():
    bad = (
        "commune,resource,quantity\n17248,militia,450\n99999,boats,1\n17254,helicopters,2\n"
        "17254,boats,-3\n17254,boats,2.5\n17248,militia,1\n17248,trucks,99999999999\n17248\n"
    )
    with pytest.raises(InventoryError) as exc:
        read_inventory_csv(bad, communes=COMMUNES)
    e = exc.value
    assert (e.code, e.params) == ("inventory_invalid", {"count": 7})
    assert problems(e) == [
        ("unknown_commune", "commune", {"commune": "99999"}, 3),
        ("unknown_resource", "resource", {"resource": "helicopters"}, 4),
        ("quantity_not_integer", "quantity", {"value": "-3"}, 5),
        ("quantity_not_integer", "quantity", {"value": "2.5"}, 6),
        (
            "duplicate_row",
            None,
            {"commune": "17254", "resource": "boats", "first_line": 5},
            6,
        ),
        (
            "duplicate_row",
            None,
            {"commune": "17248", "resource": "militia", "first_line": 2},
            7,
        ),
        ("quantity_too_large", "quantity", {"quantity": 99999999999, "max": MAX_QUANTITY}, 8),
        ("wrong_field_count", None, {"count": 1}, 9),
    ]
    # the English texts are unchanged: one per bad line
    assert len(e.errors) == 7 and e.errors[-1] == "line 9: expected 3 fields, got 1"
    assert e.to_dict()["problems"][0]["line"] == 3


@pytest.mark.parametrize(
    "text, code, field, params, line",
    [
        ("# only a comment\n", "empty_inventory", None, {}, None),
        ("a,b,c\n17248,boats,1\n", "bad_header", "header", {"header": "a,b,c"}, 1),
    ],
)
def test_whole_inventory_file_errors_have_one_problem(text, code, field, params, line):
    with pytest.raises(InventoryError) as exc:
        read_inventory_csv(text + "\n", communes=COMMUNES)
    assert (exc.value.code, exc.value.field, exc.value.params) == (code, field, params)
    assert problems(exc.value) == [(code, field, params, line)]


def test_inventory_files_that_cannot_be_read(tmp_path):
    with pytest.raises(InventoryError) as exc:
        read_inventory_csv(tmp_path / "none.csv", communes=COMMUNES)
    assert exc.value.code == "file_not_found"
    assert exc.value.params == {"path": str(tmp_path / "none.csv")}
    f = tmp_path / "latin1.csv"
    f.write_bytes("commune,resource,quantity\n17248,boats,1 # Châu\n".encode("latin-1"))
    with pytest.raises(InventoryError) as exc:
        read_inventory_csv(f, communes=COMMUNES)
    assert (exc.value.code, exc.value.params["byte"]) == ("not_utf8", "0xe2")


def test_inventory_items_problems_name_the_resource():
    with pytest.raises(InventoryError) as exc:
        validate_inventory_items({"boats": -1, "planes": 2, "militia": 2**31})
    assert exc.value.code == "inventory_invalid" and exc.value.params == {"count": 3}
    assert problems(exc.value) == [
        ("quantity_not_integer", "quantity", {"value": "-1", "resource": "boats"}, None),
        ("unknown_resource", "resource", {"resource": "planes"}, None),
        (
            "quantity_too_large",
            "quantity",
            {"quantity": 2**31, "max": MAX_QUANTITY, "resource": "militia"},
            None,
        ),
    ]
    assert [p.message for p in exc.value.problems] == exc.value.errors


@pytest.mark.parametrize(
    "rule, code, field, params",
    [
        (
            {"id": "r1", "type": "bridge", "a": "17248", "b": "17254"},
            "unknown_rule_type",
            "type",
            {"type": "bridge"},
        ),
        (
            {"type": "close_link", "a": 17248, "b": "17254"},
            "commune_not_string",
            "a",
            {"a": "17248", "b": "17254"},
        ),
        (
            {"type": "close_link", "a": "17248", "b": "17248"},
            "self_link",
            "b",
            {"commune": "17248"},
        ),
        (
            {"type": "close_link", "a": "17248", "b": "99999"},
            "unknown_commune",
            "b",
            {"commune": "99999"},
        ),
        (
            {"type": "close_link", "a": "17248", "b": "17254", "valid_from": "soon"},
            "date_invalid",
            "valid_from",
            {"value": "soon"},
        ),
        (
            {
                "type": "close_link",
                "a": "17248",
                "b": "17254",
                "valid_from": "2025-08-02",
                "valid_to": "2025-08-01",
            },
            "valid_to_before_valid_from",
            "valid_to",
            {"valid_from": "2025-08-02", "valid_to": "2025-08-01"},
        ),
        (
            {"type": "add_link", "a": "17248", "b": "17254", "travel_minutes": 0},
            "travel_minutes_invalid",
            "travel_minutes",
            {"value": "0"},
        ),
        (
            {"type": "agreement", "a": "17248", "b": "17254", "commitments": {"16876": {}}},
            "commitment_not_a_party",
            "commitments",
            {"commune": "16876", "a": "17248", "b": "17254"},
        ),
        (
            {"type": "agreement", "a": "17248", "b": "17254", "factor": 2},
            "factor_invalid",
            "factor",
            {"value": "2"},
        ),
    ],
)
def test_rule_errors_name_the_rule_key_and_its_position(rule, code, field, params):
    with pytest.raises(RuleError) as exc:
        rule_from_dict(rule, communes=COMMUNES, index=3)
    e = exc.value
    ref = "r1" if "id" in rule else "#3"
    assert (e.code, e.field, e.params) == (code, field, {"rule": ref, **params})
    assert problems(e) == [(code, field, {"rule": ref, **params}, 3)]


def test_rules_in_a_list_and_in_a_file(tmp_path):
    rules = [
        {"type": "close_link", "a": "17248", "b": "17254"},
        {"type": "add_link", "a": "17254", "b": "17248", "travel_minutes": 5},
    ]
    with pytest.raises(RuleError) as exc:
        parse_rules(rules)
    assert exc.value.code == "rules_contradict" and exc.value.problems[0].line == 2
    with pytest.raises(RuleError) as exc:
        parse_rules([{**rules[0], "id": "x"}, {**rules[0], "id": "x", "a": "16876"}])
    assert (exc.value.code, exc.value.field, exc.value.problems[0].line) == (
        "duplicate_rule_id",
        "id",
        2,
    )
    assert parse_rules(rules[:1])[0].type is RuleType.CLOSE_LINK
    with pytest.raises(RuleError) as exc:
        load_rules(tmp_path / "none.yaml")
    assert exc.value.code == "file_not_found"
    bad = tmp_path / "rules.yaml"
    bad.write_text("rules: [ {type: close_link")
    with pytest.raises(RuleError, match=r"rules\.yaml is not valid YAML") as exc:
        load_rules(bad)
    assert exc.value.code == "invalid_syntax" and exc.value.params["format"] == "YAML"


def test_the_reader_words_its_errors_in_the_callers_kind(tmp_path):
    with pytest.raises(RuleError, match="the upload is not valid JSON") as exc:
        parse_structured("{", yaml=False, label="the upload", error_type=RuleError)
    assert exc.value.params["name"] == "the upload"
    f = tmp_path / "x.json"
    f.write_text('{"a": 1}', encoding="utf-8")
    assert read_structured(f, what="test file") == {"a": 1}
    f.write_bytes(b"\xff")
    with pytest.raises(NeedsProfileError, match="cannot read needs profile") as exc:
        load_needs_profile(f)
    assert exc.value.code == "file_unreadable"


@pytest.mark.parametrize(
    "data, code, field",
    [
        ({"affected": [{"commune": "99999"}]}, "unknown_commune", "affected[0].commune"),
        (
            {"affected": [{"commune": "17248", "displaced": -1}]},
            "below_minimum",
            "affected[0].displaced",
        ),
        (
            {"affected": [{"commune": "17248", "needs": {"boats": 1.5}}]},
            "not_an_integer",
            "affected[0].needs.boats",
        ),
        (
            {"affected": [{"commune": "17248", "needs": {"jets": 1}}]},
            "unknown_resource",
            "affected[0].needs",
        ),
        (
            {"risk_level": 6, "affected": [{"commune": "17248"}]},
            "risk_level_out_of_range",
            "risk_level",
        ),
        (
            {"affected": [{"commune": "17248"}], "closed_links": [["17248", "17248"]]},
            "self_link",
            "closed_links[0]",
        ),
        ({"affected": []}, "no_affected", "affected"),
    ],
)
def test_scenario_errors_name_the_field(data, code, field):
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data, communes=COMMUNES)
    assert (exc.value.code, exc.value.field) == (code, field)


def test_plan_errors_have_codes():
    G = graph([("10001", "10002", 10)])
    sc = scenario({"10001": {"boats": 1}})
    cases = [
        ({"inventory": {"99999": {"boats": 1}}}, "unknown_commune", {"commune": "99999"}),
        (
            {"inventory": {"10001": {"boats": 1}, "10002": {"boats": 1, "planes": 1}}},
            "unknown_resource",
            {"commune": "10002", "resource": "planes"},
        ),
        ({"params": PlanParameters(max_hops=0)}, "max_hops_invalid", {"value": "0"}),
        (
            {"params": PlanParameters(reserve_share={"boat": 0.5})},
            "unknown_resource",
            {"resource": "boat"},
        ),
        ({"method": "random"}, "unknown_method", {"method": "random"}),
    ]
    for kwargs, code, params in cases:
        inventory = kwargs.pop("inventory", {})
        with pytest.raises(PlanError) as exc:
            make_plan(G, sc, inventory, **kwargs)
        assert (exc.value.code, exc.value.params) == (code, params)


@pytest.mark.parametrize(
    "stock, code, params",
    [
        (-1, "quantity_not_integer", {"commune": "10002", "resource": "boats", "value": "-1"}),
        (2.5, "quantity_not_integer", {"commune": "10002", "resource": "boats", "value": "2.5"}),
        ("3", "quantity_not_integer", {"commune": "10002", "resource": "boats", "value": "'3'"}),
        (
            2**31,
            "quantity_too_large",
            {"commune": "10002", "resource": "boats", "quantity": 2**31, "max": 2**31 - 1},
        ),
        (
            2**70,  # past what an array of integers holds: read one by one, named the same
            "quantity_too_large",
            {"commune": "10002", "resource": "boats", "quantity": 2**70, "max": 2**31 - 1},
        ),
    ],
)
def test_a_bad_stock_among_good_ones_is_named_by_the_planner(stock, code, params):
    # the planner reads every quantity at once; a wrong one sends it to the one-by-one check
    G = graph([("10001", "10002", 10), ("10002", "10003", 10)])
    inventory = {"10001": {"boats": 1, "trucks": 2}, "10002": {"trucks": 1, "boats": stock}}
    with pytest.raises(PlanError) as exc:
        make_plan(G, scenario({"10001": {"boats": 3}}), inventory)
    assert (exc.value.code, exc.value.field, exc.value.params) == (code, "inventory", params)


def test_booleans_and_numpy_integers_are_quantities_as_before():
    import numpy as np

    G = graph([("10001", "10002", 10)])
    sc = scenario({"10001": {"boats": 3}})
    plan = make_plan(G, sc, {"10001": {"boats": True}, "10002": {"boats": np.int64(10)}})
    assert [(t["from"], t["quantity"]) for t in plan["transfers"]] == [("10002", 2)]
    assert plan["ledger"][0]["on_site"] == 1

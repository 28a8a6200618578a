"""The typed plan records: their JSON is the plan JSON, and it reads back to the same record."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from geo.needs import load_scenario
from geo.planning import PlanError, PlanParameters, compute_plan, make_plan, summarise_plan
from geo.plans import Plan, QuantityRow
from geo.resources import sample_inventory

from .planning_helpers import graph, scenario


def as_json_text(data):
    return json.dumps(data, ensure_ascii=False, indent=2)


def test_nghe_an_plan_round_trips_to_the_same_json(nghe_an_gdf, nghe_an_graph, scenario_path):
    inv = sample_inventory(nghe_an_gdf, seed=0)
    sc = load_scenario(scenario_path, gdf=nghe_an_gdf)
    params = PlanParameters(at=dt.date(2025, 8, 1))
    plan = compute_plan(nghe_an_graph, sc, inv, params=params)
    assert plan.transfers and plan.unmet and plan.ledger  # every kind of row is exercised
    data = plan.to_json()
    assert data == make_plan(nghe_an_graph, sc, inv, params=params)
    # as written to a file and read back: the same record, the same text, key for key
    text = as_json_text(data)
    back = Plan.from_json(json.loads(text))
    assert back == plan
    assert as_json_text(back.to_json()) == text
    assert list(data) == [
        "scenario",
        "method",
        "parameters",
        "transfers",
        "ledger",
        "unmet",
        "command",
        "cost",
    ]
    assert list(data["transfers"][0]) == [
        "from",
        "to",
        "resource",
        "quantity",
        "path",
        "travel_minutes",
        "cost",
        "agreement",
        "agreement_rules",
    ]
    assert summarise_plan(back, nghe_an_graph) == summarise_plan(data, nghe_an_graph)


def test_optional_parts_are_in_the_json_only_when_set():
    G = graph([("10001", "10002", 10)])
    plan = compute_plan(G, scenario({"10001": {"boats": 5}}), {"10002": {"boats": 10}})
    assert "id" not in plan.to_json() and "covered_by_offers" not in plan.to_json()
    served = dataclasses.replace(
        plan,
        id=7,
        incident_id=3,
        covered_by_offers=(QuantityRow("10001", "boats", 2),),
        created_requests=(11, 12),
        already_requested=(),
        sample_inventory=True,
    )
    data = served.to_json()
    assert list(data)[:3] == ["id", "incident_id", "scenario"]
    assert list(data)[-4:] == [
        "covered_by_offers",
        "created_requests",
        "already_requested",
        "sample_inventory",
    ]
    assert data["covered_by_offers"] == [{"commune": "10001", "resource": "boats", "quantity": 2}]
    assert data["created_requests"] == [11, 12] and data["already_requested"] == []
    assert Plan.from_json(json.loads(json.dumps(data))) == served


def test_an_instant_round_trips_and_a_plan_without_at_reads():
    G = graph([("10001", "10002", 10)])
    at = dt.datetime(2025, 8, 1, 9, 30, tzinfo=dt.timezone(dt.timedelta(hours=7)))
    plan = compute_plan(G, scenario({"10001": {"boats": 5}}), {}, params=PlanParameters(at=at))
    assert plan.to_json()["parameters"]["at"] == "2025-08-01T09:30:00+07:00"
    assert Plan.from_json(plan.to_json()) == plan
    old = plan.to_json()
    del old["parameters"]["at"]  # plans stored before `at` was recorded
    assert Plan.from_json(old).to_json() == old


def test_json_that_is_not_a_plan_is_a_plan_error():
    with pytest.raises(PlanError, match="not a plan") as exc:
        Plan.from_json({"scenario": "x"})
    assert exc.value.code == "plan_json_invalid"


def test_rows_made_by_the_quick_init_are_frozen_dataclasses_as_before():
    from geo.plans import LedgerRow, Transfer, UnmetRow

    row = LedgerRow("10001", "boats", 5, 1, 2, 0, 2, 1, 1)
    assert row == LedgerRow(
        commune="10001",
        resource="boats",
        need=5,
        on_site=1,
        received=2,
        sent=0,
        unmet=2,
        stock=1,
        reserve=1,
        phase=None,
    )
    assert hash(row) == hash(dataclasses.replace(row))
    assert row.phase is None and UnmetRow("a", "b", 1, "x").isolated is None
    assert Transfer("a", "b", "boats", 1, ("a", "b"), 2.0, 2.0, False).agreement_rules == ()
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.need = 3  # type: ignore[misc]
    with pytest.raises(TypeError, match="missing"):
        LedgerRow("10001")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected"):
        LedgerRow(*range(10), extra=1)  # type: ignore[call-arg]

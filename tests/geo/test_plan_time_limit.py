"""A plan stops at its time limit (checked between the solver's steps)."""

from __future__ import annotations

import pytest

import geo.planning as planning
from geo.plans import PlanError

from .planning_helpers import graph, scenario


def test_the_plan_stops_past_its_time_limit(monkeypatch):
    G = graph([("10001", "10002", 10)])
    clock = iter(range(0, 10_000, 100))  # every look at the clock: 100 s later
    monkeypatch.setattr(planning.time, "monotonic", lambda: next(clock))
    with pytest.raises(PlanError) as err:
        planning.compute_plan(
            G, scenario({"10001": {"boats": 5}}), {"10002": {"boats": 10}}, time_limit_s=50
        )
    assert err.value.code == "plan_time_limit" and err.value.params == {"limit_s": 50}


def test_a_plan_within_its_time_limit_is_the_same_plan():
    G = graph([("10001", "10002", 10)])
    args = (G, scenario({"10001": {"boats": 5}}), {"10002": {"boats": 10}})
    limited = planning.compute_plan(*args, time_limit_s=600)
    assert limited.to_json()["transfers"] == planning.compute_plan(*args).to_json()["transfers"]

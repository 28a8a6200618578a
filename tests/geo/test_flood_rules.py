"""Issue 12 on tiny graphs, with exact expected plans: isolated communes, the recovery phase,
the reserve kept on top of own use, people counts that hold."""

from __future__ import annotations

import dataclasses

import pytest

from geo.needs import NeedsProfile, ScenarioError, compute_recovery_needs, parse_scenario
from geo.planning import (
    PlanParameters,
    compute_plan,
    greedy_plan,
    make_plan,
    summarise_plan,
    validate_plan,
)
from geo.plans import Plan
from geo.rules import parse_rules

from .planning_helpers import graph, scenario


def transfers(plan):
    return sorted(
        (t["from"], t["to"], t["resource"], t["quantity"], tuple(t["path"]))
        for t in plan["transfers"]
    )


# --- isolation ------------------------------------------------------------------------------


def test_fully_isolated_commune_on_the_short_road_forces_the_longer_route():
    # 10003 -> 10002 -> 10001 is the short road (26 min); 10002 is cut off
    G = graph(
        [
            ("10001", "10002", 5),
            ("10002", "10003", 5),
            ("10003", "10004", 10),
            ("10004", "10001", 10),
        ]
    )
    inv = {"10003": {"boats": 20}}
    open_plan = make_plan(G, scenario({"10001": {"boats": 4}}), inv)
    assert transfers(open_plan) == [("10003", "10001", "boats", 4, ("10003", "10002", "10001"))]
    sc = scenario({"10001": {"boats": 4}, "10002": {"boats": 3}}, isolated={"10002": "full"})
    plan = make_plan(G, sc, inv)
    assert transfers(plan) == [("10003", "10001", "boats", 4, ("10003", "10004", "10001"))]
    assert plan["transfers"][0]["travel_minutes"] == 52.0
    # the cut-off commune itself gets nothing by road: escalated, to come by air or boat
    assert plan["unmet"] == [
        {
            "commune": "10002",
            "resource": "boats",
            "quantity": 3,
            "escalate_to": "Chủ tịch UBND tỉnh Nghệ An (Ban Chỉ huy PTDS tỉnh)",
            "isolated": True,
        }
    ]
    assert validate_plan(plan, G, sc, inv) == []


def test_fully_isolated_commune_on_the_only_road_means_escalation():
    G = graph([("10001", "10002", 5), ("10002", "10003", 5)])
    inv = {"10003": {"boats": 20}}
    sc = scenario({"10001": {"boats": 4}}, houses={"10002": (0, 0)}, isolated={"10002": "full"})
    plan = make_plan(G, sc, inv)
    assert plan["transfers"] == []
    assert plan["unmet"] == [
        {
            "commune": "10001",
            "resource": "boats",
            "quantity": 4,
            "escalate_to": "Chủ tịch UBND tỉnh Nghệ An (Ban Chỉ huy PTDS tỉnh)",
        }
    ]
    assert validate_plan(plan, G, sc, inv) == []
    assert greedy_plan(G, sc, inv)["transfers"] == []


def test_a_ferry_opened_by_a_rule_still_reaches_a_fully_isolated_commune():
    G = graph([("10001", "10002", 5), ("10002", "10003", 5)])
    inv = {"10003": {"boats": 20}}
    sc = scenario({"10002": {"boats": 3}}, isolated={"10002": "full"})
    assert make_plan(G, sc, inv)["transfers"] == []
    ferry = parse_rules(
        [{"type": "add_link", "a": "10002", "b": "10003", "via": "ferry", "travel_minutes": 40}]
    )
    plan = make_plan(G, sc, inv, rules=ferry)
    assert transfers(plan) == [("10003", "10002", "boats", 3, ("10003", "10002"))]
    assert plan["transfers"][0]["travel_minutes"] == 40.0
    assert validate_plan(plan, G, sc, inv, rules=ferry) == []
    # an added link that is no water route is cut like a road
    track = parse_rules(
        [{"type": "add_link", "a": "10002", "b": "10003", "via": "track", "travel_minutes": 40}]
    )
    assert make_plan(G, sc, inv, rules=track)["transfers"] == []


def test_partly_isolated_commune_receives_but_never_gives():
    G = graph([("10001", "10002", 5), ("10002", "10003", 5)])
    inv = {"10002": {"boats": 10}, "10003": {"boats": 10, "militia": 10}}
    sc = scenario({"10001": {"boats": 4}, "10002": {"militia": 5}}, isolated={"10002": "partial"})
    plan = make_plan(G, sc, inv)
    # 10002's boats stay home (it would give 7 were it not cut off); aid still crosses it
    assert transfers(plan) == [
        ("10003", "10001", "boats", 4, ("10003", "10002", "10001")),
        ("10003", "10002", "militia", 5, ("10003", "10002")),
    ]
    rows = {(r["commune"], r["resource"]): r for r in plan["ledger"]}
    assert rows[("10002", "militia")]["received"] == 5
    assert validate_plan(plan, G, sc, inv) == []
    free = make_plan(G, scenario({"10001": {"boats": 4}, "10002": {"militia": 5}}), inv)
    assert ("10002", "10001", "boats", 4, ("10002", "10001")) in transfers(free)


def test_validator_catches_paths_through_isolated_communes_and_partial_givers():
    G = graph([("10001", "10002", 5), ("10002", "10003", 5)])
    inv = {"10002": {"boats": 10}, "10003": {"boats": 10}}
    free = scenario({"10001": {"boats": 4}})
    through = make_plan(G, free, inv, params=PlanParameters(max_hops=2))
    far = {
        **through,
        "transfers": [
            {
                **through["transfers"][0],
                "from": "10003",
                "path": ["10003", "10002", "10001"],
                "travel_minutes": 26.0,
                "cost": 26.0,
            }
        ],
    }
    full = scenario({"10001": {"boats": 4}, "10002": {}}, isolated={"10002": "full"})
    errs = validate_plan(far, G, full, inv)
    assert any("runs by road through 10002, fully isolated" in e for e in errs)
    partial = scenario({"10001": {"boats": 4}, "10002": {}}, isolated={"10002": "partial"})
    errs = validate_plan(through, G, partial, inv)
    assert any("10002 is partly isolated and gives nothing" in e for e in errs)
    # the isolated flag on unmet entries
    alone = scenario({"10002": {"boats": 30}}, isolated={"10002": "full"})
    plan = make_plan(G, alone, inv)
    assert validate_plan(plan, G, alone, inv) == []
    unflagged = {**plan, "unmet": [{**u, "isolated": None} for u in plan["unmet"]]}
    unflagged["unmet"] = [{k: v for k, v in u.items() if k != "isolated"} for u in plan["unmet"]]
    assert any("isolated" in e for e in validate_plan(unflagged, G, alone, inv))


def test_summary_says_by_air_or_boat():
    G = graph([("10001", "10002", 5)])
    sc = scenario({"10001": {"boats": 3}}, isolated={"10001": "full"})
    plan = compute_plan(G, sc, {"10002": {"boats": 9}})
    assert plan.unmet[0].isolated is True
    text = "\n".join(summarise_plan(plan, G))
    assert "cần tiếp tế bằng đường không hoặc đường thủy / by air or boat" in text


# --- the reserve on top of own use ---------------------------------------------------------


def test_affected_commune_using_168_of_217_militia_sends_nothing_with_a_30_percent_reserve():
    G = graph([("10001", "10002", 5)])
    sc = scenario({"10001": {"militia": 8}, "10002": {"militia": 168}})
    inv = {"10002": {"militia": 217}}
    plan = make_plan(G, sc, inv, params=PlanParameters(reserve_share=0.3))
    # 217 − 168 − ⌈0.3 × 217⌉ = 217 − 168 − 66 < 0: nothing more goes
    assert plan["transfers"] == []
    assert [(u["commune"], u["quantity"]) for u in plan["unmet"]] == [("10001", 8)]
    assert validate_plan(plan, G, sc, inv) == []
    # the old rule (own use or reserve, whichever is more) would have let 8 go: the check says no
    old = {
        **plan,
        "transfers": [
            {
                "from": "10002",
                "to": "10001",
                "resource": "militia",
                "quantity": 8,
                "path": ["10002", "10001"],
                "travel_minutes": 13.0,
                "cost": 13.0,
                "agreement": False,
                "agreement_rules": [],
            }
        ],
    }
    assert any(
        "rule 2: 10002 sends 8 militia but may send only 0" in e
        for e in validate_plan(old, G, sc, inv)
    )
    # with stock to cover use and reserve, it sends the rest: 300 − 168 − 90 = 42
    plan = make_plan(
        G,
        scenario({"10001": {"militia": 50}, "10002": {"militia": 168}}),
        {"10002": {"militia": 300}},
    )
    assert transfers(plan) == [("10002", "10001", "militia", 42, ("10002", "10001"))]


# --- recovery ------------------------------------------------------------------------------


def test_recovery_needs_from_damaged_houses_over_the_recovery_days():
    sc = scenario({}, houses={"10001": (100, 10)}, recovery_days=4)
    needs = compute_recovery_needs(sc)
    # militia: (100 × 2 + 10 × 10) person-days / 4 days = 75; tarpaulins 100 + 20; excavators 1
    assert needs == {
        "10001": {"militia": 75, "youth_volunteers": 75, "tarpaulins": 120, "excavators": 1}
    }
    province = NeedsProfile(per_house_flooded={"militia": 8.0}, per_house_collapsed={})
    assert compute_recovery_needs(sc, province) == {"10001": {"militia": 200}}


def test_neighbours_people_are_sent_for_recovery_and_rows_carry_their_phase():
    G = graph([("10001", "10002", 5), ("10001", "10003", 10)])
    sc = scenario({"10001": {"rice_kg": 10}}, houses={"10001": (100, 0)}, recovery_days=4)
    inv = {"10001": {"militia": 10}, "10002": {"militia": 40}, "10003": {"militia": 100}}
    plan = make_plan(G, sc, inv)
    # 50 militia for recovery: 10 on site, 40 − ⌈0.3 × 40⌉ = 28 from 10002, 12 from 10003
    recovery = sorted(
        (t["from"], t["resource"], t["quantity"])
        for t in plan["transfers"]
        if t["phase"] == "recovery"
    )
    assert recovery == [("10002", "militia", 28), ("10003", "militia", 12)]
    rows = {(r["commune"], r["resource"], r["phase"]): r for r in plan["ledger"]}
    assert rows[("10001", "militia", "recovery")]["need"] == 50
    assert rows[("10001", "militia", "recovery")]["on_site"] == 10
    assert rows[("10001", "rice_kg", "relief")]["unmet"] == 10
    assert {u["phase"] for u in plan["unmet"]} == {"relief", "recovery"}
    assert validate_plan(plan, G, sc, inv) == []
    assert Plan.from_json(plan).to_json() == plan
    # a plan that leaves the recovery phase out is caught
    relief_only = {
        **plan,
        "transfers": [t for t in plan["transfers"] if t["phase"] == "relief"],
        "ledger": [r for r in plan["ledger"] if r["phase"] == "relief"],
    }
    assert validate_plan(relief_only, G, sc, inv) != []
    # without damaged houses the plan has no phase fields at all: old JSON stays as it was
    plain = make_plan(G, scenario({"10001": {"militia": 20}}), inv)
    assert all("phase" not in row for row in plain["transfers"] + plain["ledger"] + plain["unmet"])


# --- people counts -------------------------------------------------------------------------


def test_displaced_above_population_is_an_error_unless_the_population_is_suspect():
    data = {
        "name": "t",
        "risk_level": 2,
        "affected": [{"commune": "16882", "displaced": 99999}],
    }
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data, populations={"16882": (7000.0, False)})
    assert exc.value.code == "displaced_above_population"
    assert exc.value.field == "affected[0].displaced"
    assert exc.value.params["commune"] == "16882"
    sc = parse_scenario(data, populations={"16882": (706.0, True)})
    (warning,) = sc.warnings
    assert warning.code == "displaced_above_suspect_population"
    assert warning.params == {"commune": "16882", "displaced": 99999, "population": 706.0}
    G = graph([("16882", "10002", 5)])
    plan = make_plan(G, sc, {})
    assert plan["parameters"]["warnings"][0]["code"] == "displaced_above_suspect_population"
    assert Plan.from_json(plan).to_json() == plan
    with pytest.raises(ScenarioError, match="houses"):
        parse_scenario(
            {**data, "affected": [{"commune": "16882", "displaced": 1, "houses_flooded": 8000}]},
            populations={"16882": (7000.0, False)},
        )


@pytest.mark.parametrize(
    ("extra", "code", "field"),
    [
        ({"risk_level": None}, "risk_level_missing", "risk_level"),
        ({"duration_days": 400}, "above_maximum", "duration_days"),
        ({"recovery_days": 0}, "below_minimum", "recovery_days"),
        (
            {"affected": [{"commune": "10001", "isolated": "yes"}]},
            "isolated_invalid",
            "affected[0].isolated",
        ),
        (
            {"affected": [{"commune": "10001", "houses_collapsed": -1}]},
            "below_minimum",
            "affected[0].houses_collapsed",
        ),
        (
            {"affected": [{"commune": "10001", "displaced": 10**7}]},
            "above_maximum",
            "affected[0].displaced",
        ),
    ],
)
def test_scenario_bounds_name_the_field(extra, code, field):
    data = {"name": "t", "risk_level": 1, "affected": [{"commune": "10001", "displaced": 1}]}
    data.update(extra)
    if data["risk_level"] is None:
        del data["risk_level"]
    with pytest.raises(ScenarioError) as exc:
        parse_scenario(data, communes=["10001"])
    assert (exc.value.code, exc.value.field) == (code, field)


def test_scenario_round_trips_its_new_fields():
    sc = scenario(
        {"10001": {"boats": 1}},
        isolated={"10001": "partial"},
        houses={"10001": (5, 2)},
        recovery_days=3,
    )
    d = sc.to_dict()
    assert d["recovery_days"] == 3
    assert d["affected"][0] == {
        "commune": "10001",
        "displaced": 0,
        "needs": {"boats": 1},
        "houses_flooded": 5,
        "houses_collapsed": 2,
        "isolated": "partial",
    }
    assert parse_scenario(d) == dataclasses.replace(sc, flood_extent=None)


def test_flood_extent_displaces_a_share_by_hazard_class_not_everyone_inside():
    import geopandas as gpd
    from shapely.geometry import box, mapping

    from geo.boundaries import normalise_boundaries

    gdf = normalise_boundaries(
        gpd.GeoDataFrame(
            {"ma_xa": ["10001", "10002"], "ten_xa": ["A", "B"], "dan_so": [10000, 8000]},
            geometry=[box(105.0, 19.0, 105.1, 19.1), box(105.1, 19.0, 105.2, 19.1)],
            crs="EPSG:4326",
        )
    )

    def feature(geom, **props):
        return {"type": "Feature", "properties": props, "geometry": mapping(geom)}

    extent = {
        "type": "FeatureCollection",
        "features": [
            feature(box(104.9, 18.9, 105.1, 19.2), hazard_class="deep"),  # all of A
            feature(box(105.0, 18.9, 105.15, 19.2)),  # A again (deep wins) and half of B
        ],
    }
    sc = parse_scenario({"name": "t", "risk_level": 2, "flood_extent": extent}, gdf=gdf)
    got = {a.commune: a.displaced for a in sc.affected}
    # A: 10,000 x 0.5 (deep); B: 8,000 x 0.5 covered x 0.15 (the default share)
    assert got == {"10001": 5000, "10002": 600}
    own = {
        "type": "FeatureCollection",
        "features": [feature(box(104.9, 18.9, 105.3, 19.2), displaced_share=0.05)],
    }
    sc = parse_scenario({"name": "t", "risk_level": 2, "flood_extent": own}, gdf=gdf)
    assert {a.commune: a.displaced for a in sc.affected} == {"10001": 500, "10002": 400}
    bad = {
        "type": "FeatureCollection",
        "features": [feature(box(105, 19, 105.1, 19.1), hazard_class="tsunami")],
    }
    with pytest.raises(ScenarioError) as exc:
        parse_scenario({"name": "t", "risk_level": 2, "flood_extent": bad}, gdf=gdf)
    assert exc.value.code == "extent_class_invalid"

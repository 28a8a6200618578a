"""Resources, inventories, needs and rules: parsing, validation errors that name the item."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from shapely.geometry import box, mapping

from geo.needs import NeedsProfile, ScenarioError, compute_needs, load_needs_profile, parse_scenario
from geo.resources import (
    SAMPLE_LABEL,
    InventoryError,
    load_catalogue,
    read_inventory_csv,
    sample_inventory,
    validate_inventory_items,
    write_inventory_csv,
)
from geo.rules import RuleError, apply_rules, parse_rules, rule_from_dict, rule_to_dict

from .planning_helpers import graph

COMMUNES = ["17248", "17254", "16876"]


def test_catalogue_has_the_contract_keys_and_extends(tmp_path):
    cat = load_catalogue()
    assert list(cat)[:3] == ["militia", "shock_team", "police"]
    assert len(cat) == 16
    assert cat["boats"].label_vi == "xuồng, ca nô" and cat["boats"].unit == "chiếc"
    assert [r.key for r in cat.by_pillar()["logistics"]] == ["rice_kg", "drinking_water_l", "medicine_kits", "shelter_places"]
    f = tmp_path / "cat.yaml"
    f.write_text("- {key: drones, pillar: means, label_vi: flycam, label_en: drones, unit: chiếc}\n")
    assert "drones" in load_catalogue(f) and len(load_catalogue(f)) == 17
    f.write_text("- {key: x, pillar: air}\n")
    with pytest.raises(ValueError, match="pillar 'air'"):
        load_catalogue(f)


def test_inventory_csv_reads_and_every_bad_line_is_named():
    good = "commune,resource,quantity\n17248,militia,450\n17248,boats,6\n"
    assert read_inventory_csv(good, communes=COMMUNES) == {"17248": {"militia": 450, "boats": 6}}
    bad = ("commune,resource,quantity\n17248,militia,450\n99999,boats,1\n17254,helicopters,2\n"
           "17254,boats,-3\n17254,boats,2.5\n17248,militia,1\n")
    with pytest.raises(InventoryError) as exc:
        read_inventory_csv(bad, communes=COMMUNES)
    errors = exc.value.errors
    assert errors == [
        "line 3: unknown commune '99999'",
        "line 4: unknown resource 'helicopters'",
        "line 5: quantity must be a non-negative integer, got '-3'",
        "line 6: quantity must be a non-negative integer, got '2.5'; duplicate row for 17254/boats (first on line 5)",
        "line 7: duplicate row for 17248/militia (first on line 2)",
    ]
    with pytest.raises(InventoryError, match="header must be commune,resource,quantity"):
        read_inventory_csv("a,b,c\n17248,boats,1\n", communes=COMMUNES)


def test_inventory_file_round_trip_with_sample_label(tmp_path):
    f = tmp_path / "inv.csv"
    write_inventory_csv({"17248": {"boats": 6}}, f, sample=True)
    assert f.read_text().startswith(f"# {SAMPLE_LABEL}\ncommune,resource,quantity\n")
    assert read_inventory_csv(f, communes=COMMUNES) == {"17248": {"boats": 6}}
    with pytest.raises(InventoryError, match="does not exist"):
        read_inventory_csv(tmp_path / "none.csv", communes=COMMUNES)


def test_inventory_items_for_the_api():
    assert validate_inventory_items({"boats": 6, "militia": 450}) == {"boats": 6, "militia": 450}
    with pytest.raises(InventoryError) as exc:
        validate_inventory_items({"boats": -1, "planes": 2, "militia": "many", "trucks": True})
    assert exc.value.errors == ["boats: quantity must be a non-negative integer, got -1", "unknown resource 'planes'",
                                "militia: quantity must be a non-negative integer, got 'many'",
                                "trucks: quantity must be a non-negative integer, got True"]


def test_sample_inventory_is_deterministic_and_plausible(nghe_an_gdf):
    a = sample_inventory(nghe_an_gdf, seed=3)
    assert a == sample_inventory(nghe_an_gdf, seed=3)
    assert a != sample_inventory(nghe_an_gdf, seed=4)
    assert set(a) == set(nghe_an_gdf.index)
    assert all(len(items) == 16 and min(items.values()) >= 0 for items in a.values())
    # more people, more militia; a suspect population (Châu Khê 1,221) is re-estimated, not trusted
    pop = nghe_an_gdf["population"]
    big, small = pop.idxmax(), pop[~nghe_an_gdf["population_suspect"]].idxmin()
    assert a[big]["militia"] > a[small]["militia"]
    assert a["17248"]["militia"] >= 8 * 2 * 0.7  # at least the 2,000-people floor


def test_needs_from_displaced_people_and_overrides():
    sc = parse_scenario({"name": "t", "duration_days": 3, "affected": [
        {"commune": "17254", "displaced": 2400}, {"commune": "16876", "displaced": 100, "needs": {"boats": 12}}]},
        communes=COMMUNES)
    needs = compute_needs(sc)
    assert needs["17254"]["rice_kg"] == 3600  # 0.5 kg x 2400 x 3 days
    assert needs["17254"]["drinking_water_l"] == 21600  # 3 L x 2400 x 3
    assert needs["17254"]["shelter_places"] == 2400
    assert needs["16876"]["boats"] == 12
    custom = NeedsProfile(per_person_day={"rice_kg": 1.0}, per_person={})
    assert compute_needs(sc, custom)["17254"] == {"rice_kg": 7200}


def test_needs_profile_per_province(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(json.dumps({"default": {"per_person": {"boats": 0.02}},
                             "provinces": {"40": {"per_person_day": {"rice_kg": 0.6}}}}))
    p = load_needs_profile(f, province="40")
    assert p.per_person["boats"] == 0.02 and p.per_person_day["rice_kg"] == 0.6
    assert load_needs_profile(f, province="01").per_person_day["rice_kg"] == 0.5
    f.write_text(json.dumps({"per_person": {"unicorns": 1}}))
    with pytest.raises(ValueError, match="per_person.unicorns: unknown resource"):
        load_needs_profile(f)


@pytest.mark.parametrize("data, message", [
    ({"affected": [{"commune": "99999", "displaced": 1}]}, r"affected\[0\] \(99999\): unknown commune '99999'"),
    ({"affected": [{"commune": "17248", "displaced": -5}]}, r"affected\[0\] \(17248\).displaced must be >= 0"),
    ({"affected": [{"commune": "17248", "displaced": "many"}]}, "displaced must be an integer"),
    ({"affected": [{"commune": "17248", "displaced": 1, "needs": {"gold": 1}}]}, "unknown resource 'gold'"),
    ({"affected": [{"commune": "17248", "displaced": 1}, {"commune": "17248", "displaced": 2}]}, "listed twice"),
    ({"risk_level": 7, "affected": [{"commune": "17248", "displaced": 1}]}, "risk_level must be 1-5"),
    ({"affected": [{"commune": "17248", "displaced": 1}], "closed_links": [["17248", "00001"]]}, "unknown commune '00001'"),
    ({"affected": []}, "no affected commune"),
    ({"affected": [{"commune": "17248", "displaced": 1}] * 3}, "at most 2"),
])
def test_bad_scenarios_name_the_entry(data, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario({"name": "t", **data}, communes=COMMUNES, max_affected=2)


def test_flood_extent_makes_covered_communes_affected(nghe_an_gdf):
    con_cuong = nghe_an_gdf.loc["17254"].geometry
    minx, miny, maxx, maxy = con_cuong.bounds
    extent = mapping(box(minx - 1, miny - 1, maxx + 1, maxy + 1))  # covers it whole
    sc = parse_scenario({"name": "t", "affected": [], "flood_extent": extent}, gdf=nghe_an_gdf)
    hit = {a.commune: a for a in sc.affected}
    assert hit["17254"].covered_share == pytest.approx(1.0, abs=1e-6)
    assert hit["17254"].displaced == round(nghe_an_gdf.loc["17254", "population"])
    with pytest.raises(ScenarioError, match="flood_extent must hold polygons"):
        parse_scenario({"name": "t", "flood_extent": {"type": "Point", "coordinates": [105, 19]}}, gdf=nghe_an_gdf)


def test_rules_validate_and_name_the_rule():
    with pytest.raises(RuleError, match="rule r1: unknown commune '00000'"):
        parse_rules([{"id": "r1", "type": "add_link", "a": "17248", "b": "00000", "travel_minutes": 5}], communes=COMMUNES)
    with pytest.raises(RuleError, match=r"rule #0: a link from 17248 to itself"):
        parse_rules([{"type": "close_link", "a": "17248", "b": "17248"}], communes=COMMUNES)
    with pytest.raises(RuleError, match="rule a and rule b contradict each other on 17248-17254"):
        parse_rules([{"id": "a", "type": "add_link", "a": "17248", "b": "17254", "travel_minutes": 30},
                     {"id": "b", "type": "close_link", "a": "17254", "b": "17248"}], communes=COMMUNES)
    # the same pair, periods that do not overlap: no contradiction
    ok = parse_rules([{"id": "a", "type": "add_link", "a": "17248", "b": "17254", "travel_minutes": 30,
                       "valid_to": "2025-07-31"},
                      {"id": "b", "type": "close_link", "a": "17254", "b": "17248", "valid_from": "2025-08-01"}],
                     communes=COMMUNES)
    assert len(ok) == 2
    with pytest.raises(RuleError, match="travel_minutes must be a positive number"):
        rule_from_dict({"type": "travel_minutes", "a": "17248", "b": "17254", "minutes": -4})
    with pytest.raises(RuleError, match="commitments of 17248: unknown resource 'tanks'"):
        rule_from_dict({"type": "agreement", "a": "17248", "b": "17254", "commitments": {"17248": {"tanks": 1}}})


def test_rule_round_trip():
    r = rule_from_dict({"id": "7", "type": "agreement", "a": "17248", "b": "17254", "document": "15/QC-UBND",
                        "date": "2025-08-01", "valid_from": "2025-08-01", "commitments": {"17248": {"militia": 200}},
                        "cap": True})
    assert rule_from_dict(rule_to_dict(r)) == r


def test_apply_rules_builds_the_plan_graph():
    G = graph([("10001", "10002", 10), ("10002", "10003", 10), ("10003", "10004", 10)],
              kinds={("10003", "10004"): "point_touch"})
    rules = parse_rules([
        {"id": "bridge", "type": "add_link", "a": "10001", "b": "10004", "via": "bridge", "travel_minutes": 15},
        {"id": "slide", "type": "close_link", "a": "10002", "b": "10003", "valid_from": "2025-07-20", "valid_to": "2025-08-10"},
        {"id": "slow", "type": "travel_minutes", "a": "10001", "b": "10002", "minutes": 90},
    ])
    during = apply_rules(G, rules, at=dt.date(2025, 7, 25))
    assert sorted(tuple(sorted(e)) for e in during.edges()) == [("10001", "10002"), ("10001", "10004")]
    assert during.edges["10001", "10002"]["travel_minutes"] == 90
    assert during.edges["10001", "10004"]["link"] == "bridge"
    after = apply_rules(G, rules, at=dt.date(2025, 9, 1))
    assert after.has_edge("10002", "10003") and not after.has_edge("10003", "10004")
    assert after.edges["10002", "10003"]["travel_minutes"] == 26.0
    with pytest.raises(RuleError, match="10001-10003 is not a usable link"):
        apply_rules(G, parse_rules([{"type": "travel_minutes", "a": "10001", "b": "10003", "minutes": 5}]))

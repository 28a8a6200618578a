"""Resources, inventories, needs and rules: parsing, validation errors that name the item."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from shapely.geometry import box, mapping

from geo.needs import NeedsProfile, ScenarioError, compute_needs, load_needs_profile, parse_scenario
from geo.resources import (
    MAX_QUANTITY,
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
    assert [r.key for r in cat.by_pillar()["logistics"]] == [
        "rice_kg",
        "drinking_water_l",
        "medicine_kits",
        "shelter_places",
    ]
    f = tmp_path / "cat.yaml"
    f.write_text(
        "- {key: drones, pillar: means, label_vi: flycam, label_en: drones, unit: chiếc}\n"
    )
    assert "drones" in load_catalogue(f) and len(load_catalogue(f)) == 17
    f.write_text("- {key: x, pillar: air}\n")
    with pytest.raises(ValueError, match="pillar 'air'"):
        load_catalogue(f)


def test_inventory_csv_reads_and_every_bad_line_is_named():
    good = "commune,resource,quantity\n17248,militia,450\n17248,boats,6\n"
    assert read_inventory_csv(good, communes=COMMUNES) == {"17248": {"militia": 450, "boats": 6}}
    bad = (
        "commune,resource,quantity\n17248,militia,450\n99999,boats,1\n17254,helicopters,2\n"
        "17254,boats,-3\n17254,boats,2.5\n17248,militia,1\n"
    )
    with pytest.raises(InventoryError) as exc:
        read_inventory_csv(bad, communes=COMMUNES)
    errors = exc.value.errors
    assert errors == [
        "line 3: unknown commune '99999'",
        "line 4: unknown resource 'helicopters'",
        "line 5: quantity must be a non-negative integer, got '-3'",
        "line 6: quantity must be a non-negative integer, got '2.5'; "
        "duplicate row for 17254/boats (first on line 5)",
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
    assert exc.value.errors == [
        "boats: quantity must be a non-negative integer, got -1",
        "unknown resource 'planes'",
        "militia: quantity must be a non-negative integer, got 'many'",
        "trucks: quantity must be a non-negative integer, got True",
    ]


def test_odd_digits_and_oversized_quantities_are_named_not_crashes():
    with pytest.raises(InventoryError) as exc:
        validate_inventory_items(
            {"boats": "\u00b2", "militia": 2**31, "trucks": 1e20, "generators": "2"}
        )
    assert exc.value.errors == [
        "boats: quantity must be a non-negative integer, got '\u00b2'",
        f"militia: quantity {2**31} is over the largest storable, {MAX_QUANTITY}",
        f"trucks: quantity {10**20} is over the largest storable, {MAX_QUANTITY}",
    ]
    assert validate_inventory_items({"boats": MAX_QUANTITY}) == {"boats": MAX_QUANTITY}
    bad = "commune,resource,quantity\n17248,boats,\u00b3\n17248,militia,99999999999\n"
    with pytest.raises(InventoryError) as exc:
        read_inventory_csv(bad, communes=COMMUNES)
    assert exc.value.errors == [
        "line 2: quantity must be a non-negative integer, got '\u00b3'",
        f"line 3: quantity 99999999999 is over the largest storable, {MAX_QUANTITY}",
    ]


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
    sc = parse_scenario(
        {
            "name": "t",
            "risk_level": 1,
            "duration_days": 3,
            "affected": [
                {"commune": "17254", "displaced": 2400},
                {"commune": "16876", "displaced": 100, "needs": {"boats": 12}},
            ],
        },
        communes=COMMUNES,
    )
    needs = compute_needs(sc)
    assert needs["17254"]["rice_kg"] == 3600  # 0.5 kg x 2400 x 3 days
    assert needs["17254"]["drinking_water_l"] == 21600  # 3 L x 2400 x 3
    assert needs["17254"]["shelter_places"] == 2400
    assert needs["16876"]["boats"] == 12
    custom = NeedsProfile(per_person_day={"rice_kg": 1.0}, per_person={})
    assert compute_needs(sc, custom)["17254"] == {"rice_kg": 7200}


def test_needs_profile_per_province(tmp_path):
    f = tmp_path / "p.json"
    f.write_text(
        json.dumps(
            {
                "default": {"per_person": {"boats": 0.02}},
                "provinces": {"40": {"per_person_day": {"rice_kg": 0.6}}},
            }
        )
    )
    p = load_needs_profile(f, province="40")
    assert p.per_person["boats"] == 0.02 and p.per_person_day["rice_kg"] == 0.6
    assert load_needs_profile(f, province="01").per_person_day["rice_kg"] == 0.5
    f.write_text(json.dumps({"per_person": {"unicorns": 1}}))
    with pytest.raises(ValueError, match=r"per_person.unicorns: unknown resource"):
        load_needs_profile(f)


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"affected": [{"commune": "99999", "displaced": 1}]},
            r"affected\[0\] \(99999\): unknown commune '99999'",
        ),
        (
            {"affected": [{"commune": "17248", "displaced": -5}]},
            r"affected\[0\] \(17248\).displaced must be >= 0",
        ),
        ({"affected": [{"commune": "17248", "displaced": "many"}]}, "displaced must be an integer"),
        (
            {"affected": [{"commune": "17248", "displaced": 1, "needs": {"gold": 1}}]},
            "unknown resource 'gold'",
        ),
        (
            {
                "affected": [
                    {"commune": "17248", "displaced": 1},
                    {"commune": "17248", "displaced": 2},
                ]
            },
            "listed twice",
        ),
        (
            {"risk_level": 7, "affected": [{"commune": "17248", "displaced": 1}]},
            "risk_level must be 1-5",
        ),
        (
            {
                "affected": [{"commune": "17248", "displaced": 1}],
                "closed_links": [["17248", "00001"]],
            },
            "unknown commune '00001'",
        ),
        ({"affected": []}, "no affected commune"),
        ({"affected": [{"commune": "17248", "displaced": 1}] * 3}, "at most 2"),
    ],
)
def test_bad_scenarios_name_the_entry(data, message):
    with pytest.raises(ScenarioError, match=message):
        parse_scenario({"name": "t", **data}, communes=COMMUNES, max_affected=2)


def test_flood_extent_makes_covered_communes_affected(nghe_an_gdf):
    con_cuong = nghe_an_gdf.loc["17254"].geometry
    minx, miny, maxx, maxy = con_cuong.bounds
    extent = mapping(box(minx - 1, miny - 1, maxx + 1, maxy + 1))  # covers it whole
    sc = parse_scenario(
        {"name": "t", "risk_level": 1, "affected": [], "flood_extent": extent},
        gdf=nghe_an_gdf,
        displaced_rate=1.0,
    )
    hit = {a.commune: a for a in sc.affected}
    assert hit["17254"].covered_share == pytest.approx(1.0, abs=1e-6)
    assert hit["17254"].displaced == round(nghe_an_gdf.loc["17254", "population"])
    with pytest.raises(ScenarioError, match="flood_extent must hold polygons"):
        parse_scenario(
            {
                "name": "t",
                "risk_level": 1,
                "flood_extent": {"type": "Point", "coordinates": [105, 19]},
            },
            gdf=nghe_an_gdf,
        )


def test_rules_validate_and_name_the_rule():
    with pytest.raises(RuleError, match="rule r1: unknown commune '00000'"):
        parse_rules(
            [{"id": "r1", "type": "add_link", "a": "17248", "b": "00000", "travel_minutes": 5}],
            communes=COMMUNES,
        )
    with pytest.raises(RuleError, match=r"rule #1: a link from 17248 to itself"):
        parse_rules([{"type": "close_link", "a": "17248", "b": "17248"}], communes=COMMUNES)
    with pytest.raises(RuleError, match="rule a and rule b contradict each other on 17248-17254"):
        parse_rules(
            [
                {"id": "a", "type": "add_link", "a": "17248", "b": "17254", "travel_minutes": 30},
                {"id": "b", "type": "close_link", "a": "17254", "b": "17248"},
            ],
            communes=COMMUNES,
        )
    # the same pair, periods that do not overlap: no contradiction
    ok = parse_rules(
        [
            {
                "id": "a",
                "type": "add_link",
                "a": "17248",
                "b": "17254",
                "travel_minutes": 30,
                "valid_to": "2025-07-31",
            },
            {
                "id": "b",
                "type": "close_link",
                "a": "17254",
                "b": "17248",
                "valid_from": "2025-08-01",
            },
        ],
        communes=COMMUNES,
    )
    assert len(ok) == 2
    with pytest.raises(RuleError, match="travel_minutes must be a positive number"):
        rule_from_dict({"type": "travel_minutes", "a": "17248", "b": "17254", "minutes": -4})
    with pytest.raises(RuleError, match="commitments of 17248: unknown resource 'tanks'"):
        rule_from_dict(
            {
                "type": "agreement",
                "a": "17248",
                "b": "17254",
                "commitments": {"17248": {"tanks": 1}},
            }
        )


def test_rule_round_trip():
    r = rule_from_dict(
        {
            "id": "7",
            "type": "agreement",
            "a": "17248",
            "b": "17254",
            "document": "15/QC-UBND",
            "date": "2025-08-01",
            "valid_from": "2025-08-01",
            "commitments": {"17248": {"militia": 200}},
            "cap": True,
        }
    )
    assert rule_from_dict(rule_to_dict(r)) == r


def test_apply_rules_builds_the_plan_graph():
    G = graph(
        [("10001", "10002", 10), ("10002", "10003", 10), ("10003", "10004", 10)],
        kinds={("10003", "10004"): "point_touch"},
    )
    rules = parse_rules(
        [
            {
                "id": "bridge",
                "type": "add_link",
                "a": "10001",
                "b": "10004",
                "via": "bridge",
                "travel_minutes": 15,
            },
            {
                "id": "slide",
                "type": "close_link",
                "a": "10002",
                "b": "10003",
                "valid_from": "2025-07-20",
                "valid_to": "2025-08-10",
            },
            {"id": "slow", "type": "travel_minutes", "a": "10001", "b": "10002", "minutes": 90},
        ]
    )
    during = apply_rules(G, rules, at=dt.date(2025, 7, 25))
    assert sorted(tuple(sorted(e)) for e in during.edges()) == [
        ("10001", "10002"),
        ("10001", "10004"),
    ]
    assert during.edges["10001", "10002"]["travel_minutes"] == 90
    assert during.edges["10001", "10004"]["link"] == "bridge"
    after = apply_rules(G, rules, at=dt.date(2025, 9, 1))
    assert after.has_edge("10002", "10003") and not after.has_edge("10003", "10004")
    assert after.edges["10002", "10003"]["travel_minutes"] == 26.0
    with pytest.raises(RuleError, match="10001-10003 is not a usable link"):
        apply_rules(
            G, parse_rules([{"type": "travel_minutes", "a": "10001", "b": "10003", "minutes": 5}])
        )


# --- added in the audit of issues 2 and 3 ---------------------------------------------------------


def test_quantities_read_naturally_in_vietnamese():
    from geo.resources import format_count_vi, quantity_vi

    cat = load_catalogue()
    assert quantity_vi(188, cat["sandbags"]) == "188 bao cát"  # not "188 bao bao cát"
    assert quantity_vi(194, cat["shelter_places"]) == "chỗ ở tạm cho 194 người"
    assert quantity_vi(1556, cat["rice_kg"]) == "1.556 kg gạo"
    assert quantity_vi(4, cat["boats"]) == "4 chiếc xuồng, ca nô"
    assert quantity_vi(120, cat["militia"]) == "120 người dân quân"
    assert quantity_vi(21600, cat["drinking_water_l"]) == "21.600 lít nước uống"
    assert format_count_vi(1234567) == "1.234.567" and format_count_vi(999) == "999"


def test_catalogue_file_named_by_the_environment_reaches_the_planner(tmp_path, monkeypatch):
    from geo.planning import PlanError, make_plan

    f = tmp_path / "cat.json"
    f.write_text(
        json.dumps(
            [
                {
                    "key": "drones",
                    "pillar": "means",
                    "label_vi": "flycam",
                    "label_en": "drones",
                    "unit": "chiếc",
                }
            ]
        )
    )
    G = graph([("10001", "10002", 10)])
    monkeypatch.setenv("LIENXA_CATALOGUE", str(f))
    assert list(load_catalogue())[-1] == "drones"
    inv = read_inventory_csv("commune,resource,quantity\n10002,drones,10\n", communes=list(G))
    sc = parse_scenario(
        {
            "name": "t",
            "risk_level": 1,
            "affected": [{"commune": "10001", "displaced": 0, "needs": {"drones": 3}}],
        },
        communes=list(G),
    )
    plan = make_plan(G, sc, inv)
    assert [(t["from"], t["resource"], t["quantity"]) for t in plan["transfers"]] == [
        ("10002", "drones", 3)
    ]
    monkeypatch.delenv("LIENXA_CATALOGUE")
    assert "drones" not in load_catalogue()
    # a need the planner's catalogue does not know is an error, never silently dropped
    with pytest.raises(PlanError, match=r"needs of 10001: unknown resource.*'drones'"):
        make_plan(G, sc, {})


def test_bad_catalogue_file_is_a_clear_error(tmp_path):
    from geo.resources import CatalogueError

    f = tmp_path / "cat.json"
    f.write_text("[{")
    with pytest.raises(CatalogueError, match=r"cat.json is not valid JSON"):
        load_catalogue(f)
    with pytest.raises(CatalogueError, match="cannot read catalogue file"):
        load_catalogue(tmp_path / "none.yaml")


RULES = [
    {
        "id": "QC-15",
        "type": "agreement",
        "a": "17248",
        "b": "17254",
        "document": "15/QC-UBND",
        "date": "2025-08-01",
        "valid_from": "2025-08-01",
        "commitments": {"17248": {"militia": 200, "boats": 4}},
        "cap": True,
    },
    {
        "id": "slide",
        "type": "close_link",
        "a": "17254",
        "b": "16876",
        "valid_from": "2025-07-20",
        "valid_to": "2025-08-10",
        "reason": "sạt lở",
    },
    {
        "id": "ferry",
        "type": "add_link",
        "a": "17248",
        "b": "16876",
        "via": "phà",
        "travel_minutes": 45,
    },
]

RULES_YAML = """\
rules:
  - id: QC-15
    type: agreement
    a: "17248"
    b: "17254"
    document: 15/QC-UBND
    date: 2025-08-01
    valid_from: 2025-08-01
    commitments:
      "17248": {militia: 200, boats: 4}
    cap: true
  - {id: slide, type: close_link, a: "17254", b: "16876", valid_from: 2025-07-20,
     valid_to: 2025-08-10, reason: sạt lở}
  - {id: ferry, type: add_link, a: "17248", b: "16876", via: phà, travel_minutes: 45}
"""


def test_rules_read_alike_from_json_and_yaml(tmp_path):
    from geo.rules import load_rules

    j, y = tmp_path / "rules.json", tmp_path / "rules.yaml"
    j.write_text(json.dumps(RULES, ensure_ascii=False), encoding="utf-8")
    y.write_text(RULES_YAML, encoding="utf-8")
    from_json, from_yaml = load_rules(j, communes=COMMUNES), load_rules(y, communes=COMMUNES)
    assert from_json == from_yaml
    assert [r.id for r in from_yaml] == ["QC-15", "slide", "ferry"]
    assert from_yaml[0].commitments == {"17248": {"militia": 200, "boats": 4}}
    assert from_yaml[1].valid_to == dt.date(2025, 8, 10)


@pytest.mark.parametrize(
    "text, message",
    [
        ("rules: [ {type: close_link", "rules.yaml is not valid YAML"),
        (
            "- {id: r9, type: close_link, a: 17248, b: '17254'}",
            "rule r9: a and b must be commune codes as strings",
        ),
        (
            "- {id: r3, type: agreement, a: '17248', b: '17254', commitments: {17248: {boats: 1}}}",
            "rule r3: commitments name 17248: commune codes must be strings",
        ),
        (
            "- {id: x, type: add_link, a: '17248', b: '99999', travel_minutes: 5}",
            "rule x: unknown commune '99999'",
        ),
        (
            (
                "- {id: m, type: travel_minutes, a: '17248', b: '17254', minutes: 10}\n"
                "- {id: n, type: travel_minutes, a: '17254', b: '17248', minutes: 20}"
            ),
            "rule m and rule n contradict",
        ),
    ],
)
def test_bad_rules_files_name_the_rule(tmp_path, text, message):
    from geo.rules import load_rules

    f = tmp_path / "rules.yaml"
    f.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError, match=message):
        load_rules(f, communes=COMMUNES)
    with pytest.raises(RuleError, match="does not exist"):
        load_rules(tmp_path / "none.json")


def test_agreement_applies_only_within_its_validity_dates():
    G = graph([("10001", "10002", 10), ("10001", "10003", 9)])
    rules = parse_rules(
        [
            {
                "id": "ag",
                "type": "agreement",
                "a": "10001",
                "b": "10002",
                "cap": True,
                "valid_from": "2025-01-01",
                "valid_to": "2025-12-31",
                "commitments": {"10002": {"boats": 3}},
            }
        ]
    )
    during = apply_rules(G, rules, at=dt.date(2025, 6, 1)).edges["10001", "10002"]
    assert during["agreement"] is True and during["caps"] == {"10002": {"boats": 3}}
    assert during["cost"] == pytest.approx(26.0 * 0.8)
    for day in (dt.date(2024, 12, 31), dt.date(2026, 1, 1)):
        e = apply_rules(G, rules, at=day).edges["10001", "10002"]
        assert (e["agreement"], e["caps"], e["cost"]) == (False, {}, 26.0), day


def test_expired_agreement_is_no_longer_preferred():
    from geo.planning import make_plan

    from .planning_helpers import scenario

    G = graph([("10001", "10002", 10), ("10001", "10003", 9)])
    inv = {"10002": {"boats": 10}, "10003": {"boats": 10}}
    sc = scenario({"10001": {"boats": 5}})
    rule = {"type": "agreement", "a": "10001", "b": "10002", "commitments": {"10002": {"boats": 6}}}
    assert make_plan(G, sc, inv, rules=parse_rules([rule]))["transfers"][0]["from"] == "10002"
    expired = parse_rules([{**rule, "valid_to": "2001-01-01"}])
    assert make_plan(G, sc, inv, rules=expired)["transfers"][0]["from"] == "10003"


def test_needs_profile_yaml_with_unquoted_province_codes(tmp_path):
    from geo.needs import NeedsProfileError

    f = tmp_path / "p.yaml"
    f.write_text(
        "default: {per_person: {boats: 0.02}}\nprovinces:\n  40: {per_person_day: {rice_kg: 0.6}}\n"
        "  1: {per_person_day: {rice_kg: 0.7}}\n"
    )
    assert load_needs_profile(f, province="40").per_person_day["rice_kg"] == 0.6
    assert load_needs_profile(f, province="01").per_person_day["rice_kg"] == 0.7
    assert load_needs_profile(f, province="38").per_person_day["rice_kg"] == 0.5
    f.write_text("provinces: {40: {per_person: {boats: [oops}}")
    with pytest.raises(NeedsProfileError, match="cannot read needs profile"):
        load_needs_profile(f, province="40")


def test_flood_extent_partial_cover_and_explicit_entries():
    import geopandas as gpd

    from geo.boundaries import normalise_boundaries

    raw = gpd.GeoDataFrame(
        {
            "ma_xa": ["10001", "10002", "10003"],
            "ten_xa": ["A", "B", "C"],
            "dan_so": [10000, 8000, 6000],
        },
        geometry=[
            box(105.0, 19.0, 105.1, 19.1),
            box(105.1, 19.0, 105.2, 19.1),
            box(105.2, 19.0, 105.3, 19.1),
        ],
        crs="EPSG:4326",
    )
    gdf = normalise_boundaries(raw)
    extent = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {},
                "geometry": mapping(box(105.05, 18.9, 105.2, 19.2)),
            }
        ],
    }
    sc = parse_scenario(
        {
            "name": "t",
            "risk_level": 1,
            "affected": [{"commune": "10002", "displaced": 7}],
            "flood_extent": extent,
        },
        gdf=gdf,
        displaced_rate=1.0,  # everyone inside counted (the default share is well below)
    )
    got = {a.commune: (a.displaced, a.covered_share) for a in sc.affected}
    # half of A is covered; B is listed explicitly and keeps its figure; C is untouched
    assert got == {"10002": (7, None), "10001": (5000, pytest.approx(0.5, abs=1e-4))}
    projected = {
        "type": "Polygon",
        "coordinates": [
            [(500000, 2100000), (510000, 2100000), (510000, 2110000), (500000, 2100000)]
        ],
    }
    with pytest.raises(ScenarioError, match="lon/lat"):
        parse_scenario({"name": "t", "risk_level": 1, "flood_extent": projected}, gdf=gdf)
    with pytest.raises(ScenarioError, match="needs the boundaries"):
        parse_scenario(
            {"name": "t", "risk_level": 1, "flood_extent": extent}, communes=list(gdf.index)
        )

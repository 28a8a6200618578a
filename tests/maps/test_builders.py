"""Map builders: offline, light, coloured by the official risk levels, searchable."""

from __future__ import annotations

import gzip
import json
import re

import pytest

from maps.builders import commune_map, incident_map, overview_map, rules_map
from maps.legend import RISK_COLOURS
from maps.offline import ATTRIBUTION, LEAFLET_CSS, LEAFLET_JS
from maps.simplify import DisplayCache, display_geometry

URL = re.compile(r"(?:https?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}")


@pytest.fixture(scope="module")
def display(nghe_an_gdf):
    return DisplayCache(nghe_an_gdf).get()


def html_of(m):
    return m.get_root().render()


def test_official_risk_colours():
    assert RISK_COLOURS[1] == "#9fd3f5" and RISK_COLOURS[5] == "#7b2cbf"  # light blue ... purple
    assert len(set(RISK_COLOURS.values())) == 6


def test_overview_is_offline_light_and_coloured(display, nghe_an_graph):
    communes, provinces = display
    html = html_of(overview_map(communes, provinces, risk={"17254": 3}, open_requests={"17254": 2}))
    assert URL.findall(html) == [], "no page references an outside URL"
    assert f'src="{LEAFLET_JS}"' in html and f'href="{LEAFLET_CSS}"' in html
    assert "?v=" in LEAFLET_JS, "Leaflet by its fingerprinted URL (cached for a year)"
    assert ATTRIBUTION in html
    assert len(gzip.compress(html.encode())) < 400 * 1024
    data = json.loads(
        re.search(r'L\.geoJSON\((\{"type":"FeatureCollection".*?\}), \{', html, re.DOTALL).group(1)
    )
    props = {f["properties"]["code"]: f["properties"] for f in data["features"]}
    assert len(props) == 130
    assert props["17254"]["c"] == RISK_COLOURS[3]
    assert props["17248"]["c"] == RISK_COLOURS[0]
    assert "Yêu cầu đang mở: 2" in props["17254"]["t"]
    assert "(nghi ngờ)" in props["16732"]["t"]  # Cửa Lò's population is flagged
    # coordinates rounded to 5 decimals
    ring = data["features"][0]["geometry"]["coordinates"]
    flat = json.dumps(ring)
    assert not re.search(r"\.\d{6,}", flat)


def test_search_index_is_folded(display):
    communes, provinces = display
    html = html_of(overview_map(communes, provinces))
    assert '["17248","Xã Châu Khê","chau khe xa chau khe"' in html


def test_incident_map_draws_transfers_unmet_and_escalations(display, nghe_an_graph):
    communes, provinces = display
    plan = {
        "transfers": [
            {
                "from": "17248",
                "to": "17254",
                "resource": "boats",
                "quantity": 4,
                "path": ["17248", "17254"],
                "travel_minutes": 35.0,
                "agreement": True,
            }
        ],
        "unmet": [
            {
                "commune": "17254",
                "resource": "rice_kg",
                "quantity": 500,
                "escalate_to": "Tỉnh Nghệ An",
            }
        ],
    }
    html = html_of(
        incident_map(
            communes,
            provinces,
            nghe_an_graph,
            scenario={"name": "t", "risk_level": 4, "affected": [{"commune": "17254"}]},
            plan=plan,
            labels={"boats": "xuồng, ca nô", "rice_kg": "gạo"},
        )
    )
    assert URL.findall(html) == []
    assert "xuồng, ca nô: 4 chiếc" in html and "theo thỏa thuận" in html
    assert "gạo: 500 kg → Tỉnh Nghệ An" in html
    assert "Chuyển lên cấp trên" in html
    assert RISK_COLOURS[4] in html


def test_incident_map_escalates_quantities_per_resource_with_units(display, nghe_an_graph):
    """The escalation panel lists what goes up as the command page does: per body, per resource,
    quantities with units (never a count of unmet items, never litres added to boats)."""
    communes, provinces = display
    plan = {
        "transfers": [],
        "unmet": [
            {
                "commune": "17254",
                "resource": "drinking_water_l",
                "quantity": 1200,
                "escalate_to": "Tỉnh Nghệ An",
            },
            {
                "commune": "17248",
                "resource": "drinking_water_l",
                "quantity": 356,
                "escalate_to": "Tỉnh Nghệ An",
            },
            {"commune": "17248", "resource": "boats", "quantity": 2, "escalate_to": "Tỉnh Nghệ An"},
        ],
    }
    scenario = {
        "name": "t",
        "risk_level": 3,
        "affected": [{"commune": "17254"}, {"commune": "17248"}],
    }
    labels = {"drinking_water_l": "nước uống", "boats": "xuồng, ca nô"}
    html = html_of(
        incident_map(
            communes, provinces, nghe_an_graph, scenario=scenario, plan=plan, labels=labels
        )
    )
    panel = json.loads(re.search(r'd\.innerHTML = ("<h4>Chuyển lên cấp trên.*?");', html).group(1))
    assert "<li>nước uống: 1.556 lít</li>" in panel and "<li>xuồng, ca nô: 2 chiếc</li>" in panel
    assert "Tỉnh Nghệ An: 3" not in panel
    html = html_of(
        incident_map(
            communes,
            provinces,
            nghe_an_graph,
            scenario=scenario,
            plan=plan,
            lang="en",
            labels={"drinking_water_l": "drinking water", "boats": "boats"},
        )
    )
    panel = json.loads(re.search(r'd\.innerHTML = ("<h4>Escalations.*?");', html).group(1))
    assert "<li>drinking water: 1,556 L</li>" in panel and "<li>boats: 2</li>" in panel


def test_commune_and_rules_maps(display, nghe_an_graph):
    communes, provinces = display
    html = html_of(
        commune_map(
            communes, nghe_an_graph, "17254", inventory={"items": {"boats": 6}, "sample": True}
        )
    )
    assert "DỮ LIỆU MẪU" in html and URL.findall(html) == []
    html = html_of(
        rules_map(
            communes,
            provinces,
            nghe_an_graph,
            [
                {
                    "id": "1",
                    "type": "close_link",
                    "a": "17248",
                    "b": "17254",
                    "document": "CV 12",
                    "valid_from": "2025-07-20",
                }
            ],
        )
    )
    assert (
        "CV 12" in html and "20/07/2025" in html and "#d00000" in html
    )  # dates in Vietnamese format


def test_commune_map_lists_requests_in_the_readers_words(display, nghe_an_graph):
    from geo.resources import load_catalogue

    communes, _ = display
    incoming = [
        {
            "id": 7,
            "commune": "17248",
            "resource": "boats",
            "quantity": 3,
            "status": "open",
            "to": ["17254"],
        }
    ]
    outgoing = [
        {
            "id": 8,
            "commune": "17254",
            "resource": "rice_kg",
            "quantity": 1200,
            "status": "open",
            "to": ["17248", "17263"],
        }
    ]
    html = html_of(
        commune_map(
            communes,
            nghe_an_graph,
            "17254",
            catalogue=load_catalogue(),
            incoming=incoming,
            outgoing=outgoing,
        )
    )
    assert "#7 từ Xã Châu Khê: 3 xuồng, ca nô (đang mở)" in html
    assert "#8 đến Xã Châu Khê, " in html and "1.200 gạo (đang mở)" in html
    html = html_of(
        commune_map(
            communes,
            nghe_an_graph,
            "17254",
            catalogue=load_catalogue(),
            incoming=incoming,
            lang="en",
        )
    )
    assert "#7 from Xã Châu Khê: 3 boats (open)" in html


def test_panels_fold_on_small_maps(display):
    communes, provinces = display
    html = html_of(overview_map(communes, provinces))
    assert 'd.classList.toggle("lx-closed")' in html and "map.getSize().x < 600" in html


def test_display_geometry_keeps_shared_edges(nghe_an_gdf, nghe_an_graph):
    from geo.adjacency import build_graph

    simple = display_geometry(nghe_an_gdf, level="province")
    assert simple.geometry.is_valid.all()
    # simplifying as a coverage keeps every neighbour a neighbour (no gaps opened)
    G = build_graph(simple, tolerance_m=1.0)
    touching = {
        tuple(sorted(e))
        for e in nghe_an_graph.edges()
        if nghe_an_graph.edges[e]["kind"] == "shared_edge"
    }
    assert touching <= {tuple(sorted(e)) for e in G.edges()}


def test_display_cache_computes_each_area_once_under_concurrent_callers(nghe_an_gdf):
    from concurrent.futures import ThreadPoolExecutor

    cache = DisplayCache(nghe_an_gdf)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: cache.get("40"), range(6)))
    assert cache.computed == 1
    assert all(r is results[0] for r in results)
    cache.get("40", "detail")
    assert cache.computed == 2

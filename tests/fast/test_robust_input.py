"""Input that hung workers or answered 500 (issue 13): each is a clear 4xx naming what is wrong,
refused at the boundary before any work; and the security headers and cookies of every answer."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest

from tests.fast.conftest import ASKS, GIVES, NORTH, OTHER, WEST, Site, Template, settings_for


@pytest.fixture
def roomy(template: Template, tmp_path) -> Iterator[Site]:
    """The service with the production upload limit (2 MB), for the large bodies."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    for f in template.folder.glob("lienxa.db*"):
        shutil.copy2(f, tmp_path / f.name)
    settings = settings_for(tmp_path, template.boundaries)
    settings.max_upload_bytes = 2 * 1024 * 1024
    with TestClient(create_app(settings)) as client:
        yield Site(client, dict(template.tokens))


def scenario(**over):
    return {
        "name": "Lũ thử",
        "risk_level": 2,
        "duration_days": 1,
        "affected": [{"commune": ASKS, "displaced": 500}],
        **over,
    }


def many_vertices(n: int) -> dict:
    """A polygon of ``n`` vertices on a circle over the test communes (about 25 bytes each)."""
    import math

    ring = [
        [
            round(WEST + 0.07 + 0.05 * math.cos(2 * math.pi * k / n), 6),
            round(NORTH - 0.05 + 0.04 * math.sin(2 * math.pi * k / n), 6),
        ]
        for k in range(n)
    ]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_a_60000_vertex_extent_is_refused_naming_the_limit_before_any_geometry(roomy, monkeypatch):
    import geo.scenario

    def no_geometry(*a, **kw):
        raise AssertionError("geometry work on an extent over the limit")

    monkeypatch.setattr(geo.scenario, "extent_affected", no_geometry)
    body = json.dumps(scenario(flood_extent=many_vertices(60_000))).encode()
    assert 1_200_000 < len(body) < 2 * 1024 * 1024
    r = roomy.as_("bch40").post(
        "/incidents", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code in (413, 422), r.text
    out = r.json()
    assert (out["code"], out["field"]) == ("extent_too_complex", "flood_extent"), out
    assert out["params"]["limit"] == 20_000 and "20,000 vertices" in out["detail"]
    # the same as an uploaded file
    r = roomy.as_("bch40").post("/incidents", files={"file": ("s.json", body, "application/json")})
    assert (r.status_code, r.json()["code"]) == (422, "extent_too_complex"), r.text
    assert roomy.client.get("/healthz").status_code == 200
    assert roomy.as_("planner").get("/incidents").json() == []


@pytest.mark.parametrize(
    ("extent", "code"),
    [
        ({"type": "Banana"}, "extent_not_geojson"),
        ({"type": "Polygon", "coordinates": [[[105, 19], "x"]]}, "extent_not_geojson"),
        ({"type": "Polygon", "coordinates": 5}, "extent_not_geojson"),
        ({"type": "Feature", "geometry": {"type": "Banana"}}, "extent_not_geojson"),
        ({"type": "FeatureCollection", "features": {}}, "extent_not_geojson"),
        ("Polygon", "extent_not_geojson"),
        (
            {"type": "Polygon", "coordinates": [[[80, 5], [120, 5], [120, 30], [80, 5]]]},
            "extent_too_large",
        ),
    ],
)
def test_a_malformed_or_huge_extent_is_422_naming_it(site, extent, code):
    r = site.as_("bch40").post("/incidents", json=scenario(flood_extent=extent))
    assert r.status_code == 422, r.text
    assert r.json()["code"] == code and r.json()["field"].startswith("flood_extent"), r.json()


def test_a_small_extent_still_makes_its_communes_affected(site):
    r = site.as_("bch40").post("/incidents", json=scenario(flood_extent=many_vertices(200)))
    assert r.status_code == 201, r.text
    assert ASKS in r.json()["affected"]


def test_json_nested_20000_levels_is_422(roomy):
    site = roomy
    deep = "[" * 20_000 + "]" * 20_000
    for path, body in (
        ("/incidents", '{"name": "x", "risk_level": 2, "flood_extent": ' + deep + "}"),
        ("/requests", '{"incident_id": 1, "commune": "90001", "to": ' + deep + "}"),
    ):
        r = site.as_("bch40").post(path, content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, r.text
        assert r.json()["code"] == "json_too_deep" and r.json()["params"]["limit"] == 32


def test_a_lone_surrogate_in_any_json_string_is_422_naming_the_field(site):
    incident = site.incident()
    raw = {"Content-Type": "application/json"}
    cases = (
        ("/incidents", '{"name": "L\\ud800", "risk_level": 2, "affected": []}', "name"),
        (
            "/requests",
            f'{{"incident_id": {incident["id"]}, "commune": "{ASKS}", "resource": "boats", '
            f'"quantity": 1, "to": ["{GIVES}"], "note": "\\udfff x"}}',
            "note",
        ),
        (f"/communes/{GIVES}/inventory", '{"boats\\ud800": 1}', "body"),
    )
    for path, body, field in cases:
        caller = site.as_("bch40" if path != "/requests" else "dongha")
        method = "PUT" if "inventory" in path else "POST"
        r = caller.request(method, path, content=body, headers=raw)
        assert r.status_code == 422, (path, r.text)
        assert (r.json()["code"], r.json()["field"]) == ("invalid_unicode", field), r.json()


def test_nul_bytes_and_overlong_text_are_422_naming_the_field(site):
    incident = site.incident()
    asks = site.as_("dongha")
    base = {
        "incident_id": incident["id"],
        "commune": ASKS,
        "resource": "boats",
        "quantity": 1,
        "to": [GIVES],
    }
    r = asks.post("/requests", json={**base, "note": "a\x00b"})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "note", r.json()
    r = asks.post("/requests", json={**base, "resource": "b" * 300})
    assert (r.status_code, r.json()["field"]) == (422, "resource"), r.text
    r = site.as_("bch40").post("/incidents", json=scenario(name="n" * 256))
    assert r.status_code == 422 and r.json()["field"] == "name", r.text
    assert r.json()["params"]["max"] == 255
    r = site.as_("admin").post("/regions", json={"name": "x\x00", "communes": [ASKS]})
    assert (r.status_code, r.json()["field"]) == (422, "name"), r.text


def test_a_csv_field_over_the_csv_modules_limit_is_422_not_500(roomy):
    csv = f'commune,resource,quantity\n{GIVES},boats,3\n{GIVES},"{"x" * 140_000}",1\n'
    r = roomy.as_("bch40").post(
        "/inventory/import", content=csv, headers={"Content-Type": "text/csv"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["code"] == "line_too_long"
    assert r.json()["problems"][0]["line"] == 3
    assert roomy.inventory(GIVES)["items"].get("boats") != 3


@pytest.mark.parametrize("big", [2**31, 2**63, 10**30])
def test_ids_no_column_holds_are_404_or_422_not_500(site, big):
    planner = site.as_("planner")
    for path in (
        f"/incidents/{big}",
        f"/requests/{big}",
        f"/offers/{big}",
        f"/rules/{big}/history",
    ):
        r = planner.get(path)
        assert r.status_code == 404, (path, r.text)
    for path in ("/requests", "/export/requests.csv", "/incidents"):
        r = planner.get(path, params={"incident_id": big})
        assert r.status_code == 422 and r.json()["field"] == "incident_id", (path, r.text)
    r = site.as_("dongha").post(
        "/requests",
        json={"incident_id": big, "commune": ASKS, "resource": "boats", "quantity": 1},
    )
    assert r.status_code == 422, r.text
    assert planner.get(f"/incidents/{2**31 - 1}").status_code == 404


def test_quantities_are_json_integers_not_text(site):
    r = site.as_("tayson").put(f"/communes/{GIVES}/inventory", json={"boats": "12"})
    assert r.status_code == 422, r.text
    assert "boats: quantity must be a non-negative integer, got '12'" in r.json()["detail"]
    incident = site.incident()
    r = site.as_("dongha").post(
        "/requests",
        json={
            "incident_id": incident["id"],
            "commune": ASKS,
            "resource": "boats",
            "quantity": "12",
            "to": [GIVES],
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "quantity", r.text
    r = site.as_("dongha").post(
        "/requests",
        json={
            "incident_id": str(incident["id"]),
            "commune": ASKS,
            "resource": "boats",
            "quantity": 1,
            "to": [GIVES],
        },
    )
    assert r.status_code == 422 and r.json()["field"] == "incident_id", r.text
    # the CSV keeps reading its text as numbers
    r = site.as_("bch40").post(
        "/inventory/import",
        content=f"commune,resource,quantity\n{GIVES},boats,12\n",
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 200, r.text
    assert site.inventory(GIVES)["items"]["boats"] == 12


@pytest.mark.parametrize("number", ["1e20", "-1e300", "NaN", "Infinity", "123456789012345678901"])
def test_huge_or_non_finite_numbers_are_422(site, number):
    body = (
        '{"name": "x", "risk_level": 2, "duration_days": 1, '
        f'"affected": [{{"commune": "{ASKS}", "displaced": {number}}}]}}'
    )
    r = site.as_("bch40").post(
        "/incidents", content=body, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 422, r.text
    assert r.json()["code"] in ("number_too_large", "number_not_finite"), r.json()


def test_a_request_to_communes_that_cannot_reach_it_is_422_naming_them(site):
    closed = [[ASKS, GIVES], [ASKS, "90101"]]  # Đông Hà cut off from both its neighbours
    r = site.as_("bch40").post("/incidents", json=scenario(closed_links=closed))
    assert r.status_code == 201, r.text
    incident = r.json()
    r = site.as_("dongha").post(
        "/requests",
        json={
            "incident_id": incident["id"],
            "commune": ASKS,
            "resource": "boats",
            "quantity": 1,
            "to": [GIVES, OTHER],
        },
    )
    assert r.status_code == 422, r.text
    out = r.json()
    assert (out["code"], out["field"]) == ("unreachable_commune", "to"), out
    assert out["params"]["communes"] == [GIVES, OTHER]
    # a commune two links away over open links may be asked
    other = site.incident()
    site.ask(other, 1, to=(OTHER,))


def test_incident_times_carry_their_time_zone(site):
    import datetime as dt

    incident = site.incident()
    for out in (incident, site.as_("planner").get(f"/incidents/{incident['id']}").json()):
        at = dt.datetime.fromisoformat(out["created_at"])
        assert at.tzinfo is not None, out["created_at"]
        if out.get("updated_at"):
            assert dt.datetime.fromisoformat(out["updated_at"]).tzinfo is not None
    request = site.ask(incident, 1)
    assert dt.datetime.fromisoformat(str(request["created_at"])).tzinfo is not None


def test_every_answer_has_the_security_headers(site):
    answers = [
        site.client.get("/healthz"),
        site.as_("planner").get("/incidents"),
        site.client.get("/api/v1/nothing-here"),
        site.client.get("/login", headers={"Accept": "text/html"}),
        site.client.get("/static/app/app.js"),
        site.as_("bch40").post("/incidents", content=b"x" * 20_000),  # 413 from the ASGI layer
    ]
    for r in answers:
        csp = r.headers.get("content-security-policy", "")
        scripts = next(p for p in csp.split(";") if p.strip().startswith("script-src"))
        assert "'unsafe-inline'" not in scripts, (r.url, csp)
        assert "frame-ancestors 'none'" in csp and r.headers["x-frame-options"] == "DENY"
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert r.headers["referrer-policy"], r.url


def test_pages_have_no_inline_script_and_maps_scripts_carry_the_nonce(site):
    import re

    page = site.client.get("/login")
    assert page.status_code == 200
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", page.text, re.S)
    assert all("src=" in attrs or "application/json" in attrs for attrs, _ in scripts), scripts
    auth = site.as_("planner").headers
    r = site.client.get("/maps/overview", headers=auth)
    assert r.status_code == 200, r.text
    nonce = re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"]).group(1)
    tags = re.findall(r"<script[^>]*>", r.text)
    assert tags and all(f'nonce="{nonce}"' in t for t in tags), tags[:3]
    assert "frame-ancestors 'self'" in r.headers["content-security-policy"]
    # the nonce follows the page's content (a kept map revalidated by ETag keeps its scripts
    # runnable): a change in what the map shows gives it another nonce
    site.incident()
    again = site.client.get("/maps/overview", headers=auth)
    assert again.headers["content-security-policy"] != r.headers["content-security-policy"]
    other = re.search(r"'nonce-([^']+)'", again.headers["content-security-policy"]).group(1)
    assert all(f'nonce="{other}"' in t for t in re.findall(r"<script[^>]*>", again.text))


def test_cookies_are_secure_over_https_only(site):
    from fastapi.testclient import TestClient

    plain = site.client.get("/login")
    assert plain.headers.get("set-cookie") and "secure" not in plain.headers["set-cookie"].lower()
    forged = site.client.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in forged.headers["set-cookie"].lower()  # no proxy is trusted
    https = TestClient(site.client.app, base_url="https://testserver")
    r = https.get("/login")
    assert all("Secure" in c for c in r.headers.get_list("set-cookie")), r.headers
    assert "strict-transport-security" in r.headers


def test_x_forwarded_proto_is_believed_from_a_trusted_proxy_only():
    from api.middleware import over_https, parse_proxies

    proxies = parse_proxies("10.0.0.0/8, 127.0.0.1")
    hdr = [(b"x-forwarded-proto", b"https")]
    assert over_https({"scheme": "http", "client": ("10.1.2.3", 1), "headers": hdr}, proxies)
    assert over_https({"scheme": "http", "client": ("127.0.0.1", 1), "headers": hdr}, proxies)
    assert not over_https({"scheme": "http", "client": ("192.0.2.9", 1), "headers": hdr}, proxies)
    assert not over_https({"scheme": "http", "client": ("10.1.2.3", 1), "headers": []}, proxies)
    assert not over_https({"scheme": "http", "client": ("10.1.2.3", 1), "headers": hdr}, [])
    assert over_https({"scheme": "https", "client": ("192.0.2.9", 1), "headers": []}, [])


def test_an_uploaded_rules_file_or_reason_with_a_nul_is_422(site):
    planner = site.as_("planner")
    rule = {"type": "close_link", "a": ASKS, "b": GIVES, "note": "x\u0000y"}
    r = planner.post(
        "/rules/import",
        files={"file": ("rules.json", json.dumps([rule]).encode(), "application/json")},
        data={"reason": "sạt lở"},
    )
    assert (r.status_code, r.json()["code"]) == (422, "nul_character"), r.text
    assert r.json()["field"].startswith("file"), r.json()
    del rule["note"]
    r = planner.post(
        "/rules/import",
        files={"file": ("rules.json", json.dumps([rule]).encode(), "application/json")},
        data={"reason": "sạt\x00lở"},
    )
    assert (r.status_code, r.json()["field"]) == (422, "reason"), r.text
    assert planner.get("/rules").json() == []


def test_pages_given_ids_or_numbers_no_column_holds_answer_4xx(site):
    html = {"Accept": "text/html"}
    r = site.client.get(f"/maps/incidents/{2**63}", headers={**html, **site.as_("planner").headers})
    assert r.status_code == 404 and "text/html" in r.headers["content-type"], r.text[:200]
    from api.web.forms import is_id

    assert is_id("2147483647") and not is_id(str(2**31)) and not is_id("0") and not is_id("²")

"""Communes cut off, set on an incident (API and the command page's ticks), audited, and followed
by the next plan (issue 12)."""

from __future__ import annotations

import re

from tests.fast.conftest import ASKS, GIVES, OTHER, PASSWORD


def _incident(site):
    r = site.as_("bch40").post(
        "/incidents",
        json={
            "name": "Lũ cô lập",
            "risk_level": 2,
            "affected": [
                {"commune": ASKS, "displaced": 100, "needs": {"boats": 3}},
                {"commune": GIVES, "displaced": 0, "needs": {"militia": 1}},
            ],
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_isolation_set_by_the_api_is_audited_and_the_plan_follows_it(site):
    incident = _incident(site)
    site.stock(GIVES, "tayson", boats=20, militia=5)
    cmd = site.as_("bch40")
    plan = cmd.post(f"/incidents/{incident['id']}/plan", json={}).json()
    assert any(t["from"] == GIVES for t in plan["transfers"])
    r = cmd.put(
        f"/incidents/{incident['id']}/isolation", json={"commune": GIVES, "isolated": "partial"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["isolated"] == {GIVES: "partial"}
    r = cmd.put(
        f"/incidents/{incident['id']}/isolation", json={"commune": ASKS, "isolated": "full"}
    )
    assert r.json()["isolated"] == {GIVES: "partial", ASKS: "full"}
    (entry, *_) = site.audit("incident.isolation")
    assert entry["after"] in (
        {"commune": ASKS, "isolated": "full"},
        {"commune": GIVES, "isolated": "partial"},
    )
    plan = cmd.post(f"/incidents/{incident['id']}/plan", json={}).json()
    assert plan["transfers"] == []
    boats = [u for u in plan["unmet"] if u["commune"] == ASKS and u["resource"] == "boats"]
    assert boats and boats[0]["isolated"] is True
    # cleared again: the commune is no longer cut off
    r = cmd.put(f"/incidents/{incident['id']}/isolation", json={"commune": ASKS, "isolated": None})
    assert r.json()["isolated"] == {GIVES: "partial"}


def test_bad_isolation_requests_name_the_field(site):
    incident = _incident(site)
    cmd = site.as_("bch40")
    r = cmd.put(f"/incidents/{incident['id']}/isolation", json={"commune": ASKS, "isolated": "yes"})
    assert r.status_code == 422 and (r.json()["code"], r.json()["field"]) == (
        "isolated_invalid",
        "isolated",
    )
    r = cmd.put(
        f"/incidents/{incident['id']}/isolation", json={"commune": OTHER, "isolated": "full"}
    )
    assert r.status_code == 422 and r.json()["code"] == "commune_not_affected"
    r = site.as_("dongha").put(
        f"/incidents/{incident['id']}/isolation", json={"commune": ASKS, "isolated": "full"}
    )
    assert r.status_code == 403
    r = site.as_("bch42").put(
        f"/incidents/{incident['id']}/isolation", json={"commune": ASKS, "isolated": "full"}
    )
    assert r.status_code == 403 and r.json()["code"] == "outside_area"
    assert cmd.put("/incidents/999999/isolation", json={"commune": ASKS}).status_code == 404


def _login(client, user):
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303), r.text


def test_the_command_page_ticks_communes_as_cut_off(site):
    incident = _incident(site)
    client = site.client
    _login(client, "bch40")
    page = client.get(f"/command?incident={incident['id']}")
    assert page.status_code == 200 and 'id="isolation-form"' in page.text
    assert f'name="iso_{ASKS}" value="none" aria-label' in page.text
    csrf = re.search(
        r'id="isolation-form">\s*<input type="hidden" name="csrf_token" value="([^"]+)"'
        r'><input type="hidden" name="idempotency_key" value="([^"]+)"',
        page.text,
    )
    r = client.post(
        "/command/isolation",
        data={
            "csrf_token": csrf.group(1),
            "idempotency_key": csrf.group(2),
            "incident": str(incident["id"]),
            f"iso_{ASKS}": "full",
            f"iso_{GIVES}": "none",
        },
    )
    assert r.status_code == 200, r.text
    assert 'id="isolation-result"' in r.text
    assert re.search(rf'name="iso_{ASKS}" value="full" aria-label="[^"]*" checked', r.text)
    now = site.as_("planner").get(f"/incidents/{incident['id']}").json()
    assert now["isolated"] == {ASKS: "full"}
    assert [e["after"] for e in site.audit("incident.isolation")] == [
        {"commune": ASKS, "isolated": "full"}
    ]


def test_the_incident_map_shows_a_cut_off_commune_apart():
    import networkx as nx

    from maps.features import unmet_features

    G = nx.Graph()
    G.add_node(ASKS, full_name="Xã Đông Hà")
    G.add_node(GIVES, full_name="Xã Tây Sơn")
    pos = {ASKS: (104.8, 19.1), GIVES: (104.85, 19.1)}
    unmet = [
        {
            "commune": ASKS,
            "resource": "boats",
            "quantity": 3,
            "escalate_to": "tỉnh",
            "isolated": True,
        },
        {"commune": GIVES, "resource": "boats", "quantity": 1, "escalate_to": "tỉnh"},
    ]
    cut, plain = unmet_features(
        G, unmet, pos, labels={"boats": "xuồng"}, units={"boats": "chiếc"}, lang="vi"
    )
    assert "cần tiếp tế bằng đường không hoặc đường thủy" in cut["properties"]["p"]
    assert cut["properties"]["c"] != plain["properties"]["c"]
    assert "đường thủy" not in plain["properties"]["p"]


def test_a_displaced_count_above_a_suspect_population_warns_on_the_plan_and_the_page(site):
    gdf = site.client.app.state.lienxa.gdf
    gdf.loc[ASKS, "population_suspect"] = True  # as the shared file flags Nhôn Mai's 706
    try:
        cmd = site.as_("bch40")
        r = cmd.post(
            "/incidents",
            json={"name": "t", "risk_level": 2, "affected": [{"commune": ASKS, "displaced": 9999}]},
        )
        assert r.status_code == 201, r.text
        plan = cmd.post(f"/incidents/{r.json()['id']}/plan", json={}).json()
        (warning,) = plan["parameters"]["warnings"]
        assert warning["code"] == "displaced_above_suspect_population"
        _login(site.client, "bch40")
        page = site.client.get(f"/command?incident={r.json()['id']}")
        assert 'id="plan-warnings"' in page.text and "đáng ngờ" in page.text
    finally:
        gdf.loc[ASKS, "population_suspect"] = False
    # a trusted population refuses it, naming the commune
    r = cmd.post(
        "/incidents",
        json={"name": "t", "risk_level": 2, "affected": [{"commune": ASKS, "displaced": 9999}]},
    )
    assert r.status_code == 422 and r.json()["code"] == "displaced_above_population"
    assert r.json()["params"]["commune"] == ASKS

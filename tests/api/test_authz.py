"""Who may do what: every role against the actions that matter."""

from __future__ import annotations

import httpx
import pytest

from tests.api.test_workflow_e2e import create_incident


@pytest.fixture(scope="module")
def setup(server):
    incident = create_incident(server, name="authz")
    with server.client("conc") as conc, server.client("chaukhe") as ck:
        req = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": "boats",
                "quantity": 3,
                "to": ["17248"],
            },
        ).json()
        offer = ck.post(
            f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 1}
        ).json()
    return {"incident": incident, "request": req, "offer": offer}


def status(srv, user, method, path, **kw):
    with srv.client(user) as c:
        return c.request(method, path, **kw)


def test_no_token_is_401(server):
    with httpx.Client(base_url=server.url + "/api/v1") as anon:
        for method, path in (
            ("GET", "/communes/17254/inventory"),
            ("PUT", "/communes/17254/inventory"),
            ("GET", "/requests"),
            ("POST", "/incidents"),
            ("GET", "/audit"),
        ):
            r = anon.request(method, path, json={})
            assert r.status_code == 401, (method, path, r.text)
            assert r.json()["detail"].startswith("not authenticated")
        r = anon.get("/requests", headers={"Authorization": "Bearer forged.token.value"})
        assert r.status_code == 401 and r.json()["detail"] == "invalid token"


def test_leader_cannot_touch_another_communes_inventory(server):
    r = status(server, "chaukhe", "PUT", "/communes/17254/inventory", json={"boats": 1})
    assert r.status_code == 403
    assert "you lead commune 17248, not 17254" in r.json()["detail"]
    assert (
        status(
            server, "conc", "PUT", "/communes/17254/inventory", json={"tarpaulins": 7}
        ).status_code
        == 200
    )


def test_leader_cannot_request_or_offer_for_another_commune(server, setup):
    body = {
        "incident_id": setup["incident"]["id"],
        "commune": "17248",
        "resource": "boats",
        "quantity": 1,
    }
    assert status(server, "conc", "POST", "/requests", json=body).status_code == 403
    r = status(
        server,
        "tuongduong",
        "POST",
        f"/requests/{setup['request']['id']}/offers",
        json={"commune": "17248", "quantity": 1},
    )
    assert r.status_code == 403
    r = status(
        server, "conc", "GET", "/requests", params={"commune": "17248", "direction": "incoming"}
    )
    assert r.status_code == 403
    # a commune neither asking nor asked cannot read the request
    r = status(server, "tuongduong", "GET", f"/requests/{setup['request']['id']}")
    assert r.status_code == 403 and "involves none of your communes" in r.json()["detail"]
    assert (
        status(server, "chaukhe", "GET", f"/requests/{setup['request']['id']}").status_code == 200
    )


def test_only_the_requester_accepts_and_a_planner_cannot(server, setup):
    path = f"/offers/{setup['offer']['id']}/accept"
    for user in ("chaukhe", "tuongduong", "planner"):
        r = status(server, user, "POST", path)
        assert r.status_code == 403, user
    assert (
        "needs the role commune_leader" in status(server, "planner", "POST", path).json()["detail"]
    )
    # the giver dispatches, not the requester
    assert (
        status(server, "conc", "POST", f"/offers/{setup['offer']['id']}/dispatch").status_code
        == 403
    )


def test_defence_command_acts_only_in_its_area(server, setup):
    # the province command may act for Con Cuông; region 3 (Quỳ Châu) may not
    assert (
        status(server, "kv3", "PUT", "/communes/17254/inventory", json={"boats": 3}).status_code
        == 403
    )
    r = status(server, "bchqs", "PUT", "/communes/17254/inventory", json={"sandbags": 1000})
    assert r.status_code == 200
    with server.client("bchqs") as bch:
        last = bch.get("/audit", params={"entity": "inventory", "limit": 1}).json()[0]
    assert last["actor"].startswith("bchqs (defence_command") and last["entity_id"] == "17254"


def test_roles_for_incidents_rules_users(server):
    # a leader reports a flood in their own commune only (CONTRACT.md, second round)
    scenario = {"name": "x", "risk_level": 1, "affected": [{"commune": "17248", "displaced": 10}]}
    r = status(server, "conc", "POST", "/incidents", json=scenario)
    assert r.status_code == 403 and r.json()["code"] == "leader_own_commune_only", r.text
    r = status(
        server,
        "conc",
        "POST",
        "/rules",
        json={"reason": "r", "rule": {"type": "close_link", "a": "17248", "b": "17254"}},
    )
    assert r.status_code == 403 and "needs the role planner or admin" in r.json()["detail"]
    r = status(
        server,
        "planner",
        "POST",
        "/users",
        json={"username": "x1", "password": "12345678", "role": "admin"},
    )
    assert r.status_code == 403
    assert status(server, "conc", "GET", "/audit").status_code == 403
    assert status(server, "planner", "POST", f"/incidents/{1}/plan", json={}).status_code == 403
    # an admin may plan; it creates no requests (requests are made for communes of one's area)
    r = status(server, "admin", "POST", "/incidents/1/plan", json={"create_requests": True})
    assert r.status_code == 200 and r.json()["created_requests"] == []


def test_a_commune_not_involved_cannot_read_an_offer(server, setup):
    path = f"/offers/{setup['offer']['id']}"
    r = status(server, "tuongduong", "GET", path)
    assert r.status_code == 403 and "involves none of your communes" in r.json()["detail"]
    for user in (
        "conc",
        "chaukhe",
        "bchqs",
        "kv3",
        "planner",
    ):  # both sides, commands over either, planners
        assert status(server, user, "GET", path).status_code == 200, user
    assert status(server, "conc", "GET", "/offers/999999").status_code == 404


def test_a_defence_command_acting_for_a_commune_is_recorded_as_such(server, setup):
    incident = setup["incident"]["id"]
    r = status(
        server,
        "bchqs",
        "POST",
        "/requests",
        json={
            "incident_id": incident,
            "commune": "17254",
            "resource": "sandbags",
            "quantity": 10,
            "to": ["17248"],
        },
    )
    assert r.status_code == 201, r.text
    # region 3 acts for Châu Khê (in its area) but not for Con Cuông (outside it)
    r2 = status(
        server,
        "kv3",
        "POST",
        f"/requests/{r.json()['id']}/offers",
        json={"commune": "17248", "quantity": 4},
    )
    assert r2.status_code == 201, r2.text
    r3 = status(server, "kv3", "POST", f"/offers/{r2.json()['id']}/accept")
    assert r3.status_code == 403 and "commune 17254 is outside your area" in r3.json()["detail"]
    with server.client("bchqs") as bch:
        log = bch.get("/audit", params={"limit": 5}).json()
    by_action: dict[str, str] = {}
    for e in log:  # newest first
        by_action.setdefault(e["action"], e["actor"])
    assert (
        by_action["request.create"]
        == "bchqs (defence_command, province 40) acting for commune 17254"
    )
    assert (
        by_action["offer.create"]
        == "kv3 (defence_command, Khu vực 3 - Quỳ Châu) acting for commune 17248"
    )
    # a leader acting for its own commune is just itself
    status(server, "conc", "POST", f"/offers/{r2.json()['id']}/accept")
    with server.client("bchqs") as bch:
        assert (
            bch.get("/audit", params={"limit": 1}).json()[0]["actor"]
            == "conc (commune_leader, 17254)"
        )


def test_a_long_region_and_user_name_fit_in_the_audit_log(server):
    region = (
        "Khu vực phòng thủ liên xã miền Tây Nghệ An – "
        + "Quỳ Châu, Quế Phong, Con Cuông, Tương Dương " * 2
    )
    region = region[:128]
    name = "chi.huy.truong.ban.chi.huy.quan.su.khu.vuc.mien.tay.nghe.an.0001"[:64]
    with server.client("admin") as admin:
        assert (
            admin.post("/regions", json={"name": region, "communes": ["17248"]}).status_code == 201
        )
        r = admin.post(
            "/users",
            json={
                "username": name,
                "password": "mật-khẩu-dài",
                "role": "defence_command",
                "region": region,
            },
        )
        assert r.status_code == 201, r.text
    token = httpx.post(
        server.url + "/api/v1/auth/token",
        data={"username": name, "password": "mật-khẩu-dài"},
        timeout=30,
    ).json()["access_token"]
    with httpx.Client(
        base_url=server.url + "/api/v1", headers={"Authorization": f"Bearer {token}"}
    ) as c:
        r = c.put("/communes/17248/inventory", json={"tarpaulins": 40})
        assert r.status_code == 200, r.text
    with server.client("admin") as admin:
        actor = admin.get("/audit", params={"limit": 1}).json()[0]["actor"]
    assert actor == f"{name} (defence_command, {region}) acting for commune 17248"


def test_exports_are_limited_to_the_callers_area_like_the_reads(server):
    incident = create_incident(server, name="export scope")
    q = {"incident_id": incident["id"]}
    with (
        server.client("conc") as conc,
        server.client("chaukhe") as ck,
        server.client("tuongduong") as td,
    ):
        # 17254 asks 17248 (in region 3) and, separately, 16876 (outside it)
        near = conc.post(
            "/requests",
            json={**q, "commune": "17254", "resource": "militia", "quantity": 2, "to": ["17248"]},
        ).json()
        far = conc.post(
            "/requests",
            json={**q, "commune": "17254", "resource": "militia", "quantity": 2, "to": ["16876"]},
        ).json()
        near_offer = ck.post(
            f"/requests/{near['id']}/offers", json={"commune": "17248", "quantity": 1}
        )
        far_offer = td.post(
            f"/requests/{far['id']}/offers", json={"commune": "16876", "quantity": 1}
        )
        assert near_offer.status_code == far_offer.status_code == 201, (
            near_offer.text,
            far_offer.text,
        )
    near_offer, far_offer = near_offer.json()["id"], far_offer.json()["id"]
    expected = {
        "kv3": ({near["id"]}, {near_offer}),  # region 3: 16777, 16792, 17248
        "chaukhe": ({near["id"]}, {near_offer}),
        "tuongduong": ({far["id"]}, {far_offer}),
        "conc": ({near["id"], far["id"]}, {near_offer, far_offer}),
        "bchqs": ({near["id"], far["id"]}, {near_offer, far_offer}),  # the province
        "planner": ({near["id"], far["id"]}, {near_offer, far_offer}),
        "admin": ({near["id"], far["id"]}, {near_offer, far_offer}),
    }
    for user, (requests, offers) in expected.items():
        with server.client(user) as c:
            for fmt in ("csv", "geojson"):
                r = c.get(f"/export/requests.{fmt}", params=q)
                assert r.status_code == 200, (user, r.text)
                assert exported_ids(r, fmt) == requests, (user, fmt)
                r = c.get(f"/export/offers.{fmt}", params=q)
                assert r.status_code == 200, (user, r.text)
                assert exported_ids(r, fmt) == offers, (user, fmt)
            # the same rows as the JSON read
            assert {x["id"] for x in c.get("/requests", params=q).json()} == requests, user


def exported_ids(r: httpx.Response, fmt: str) -> set[int]:
    if fmt == "csv":
        return {int(line.split(",", 1)[0]) for line in r.text.splitlines()[1:]}
    return {f["properties"]["id"] for f in r.json()["features"]}

"""Who may do what, in process: roles, areas, leaders and commands acting for communes."""

from __future__ import annotations

import pytest

from tests.fast.conftest import ASKS, GIVES, OTHER, PASSWORD, SOUTH_A

COMMAND_40 = "bch40 (defence_command, province 40)"


def assert_forbidden(r, detail: str) -> None:
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["detail"] == detail and body["code"], body


def test_no_or_a_bad_token_is_401_asking_to_log_in(site):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = site.client.get("/api/v1/requests", headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert site.as_(None).get("/requests").json()["detail"].startswith("not authenticated: log in")
    r = site.client.post("/api/v1/auth/token", data={"username": "dongha", "password": "sai-rồi"})
    assert r.status_code == 401 and "access_token" not in r.json(), r.text


def test_a_leader_acting_for_another_commune_is_403_and_changes_nothing(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    request = site.ask(incident, 5)
    offer = site.offer(request, 3)
    before = site.inventory(GIVES), site.request_now(request), len(site.audit())
    other, asks, gives = site.as_("bacly"), site.as_("dongha"), site.as_("tayson")

    body = {"incident_id": incident["id"], "commune": ASKS, "resource": "boats", "quantity": 2}
    assert_forbidden(
        other.post("/requests", json=body),
        f"requesting support: you lead commune {OTHER}, not {ASKS}",
    )
    assert_forbidden(
        other.post(f"/requests/{request['id']}/offers", json={"commune": GIVES, "quantity": 1}),
        f"offering support: you lead commune {OTHER}, not {GIVES}",
    )
    assert_forbidden(
        other.put(f"/communes/{GIVES}/inventory", json={"boats": 99}),
        f"editing an inventory: you lead commune {OTHER}, not {GIVES}",
    )
    # each side's own acts: the giver does not accept, the requester does not dispatch
    assert_forbidden(
        gives.post(f"/offers/{offer['id']}/accept"),
        f"accept an offer (the requesting commune's act): you lead commune {GIVES}, not {ASKS}",
    )
    assert_forbidden(
        asks.post(f"/offers/{offer['id']}/dispatch"),
        f"dispatch an offer (the offering commune's act): you lead commune {ASKS}, not {GIVES}",
    )
    after = site.inventory(GIVES), site.request_now(request), len(site.audit())
    assert after == before
    assert site.as_("planner").get(f"/offers/{offer['id']}").json()["status"] == "offered"


def test_a_command_acting_for_a_commune_of_its_area_is_allowed_and_recorded_as_such(site):
    incident = site.incident()
    command = site.as_("bch40")
    r = command.put(f"/communes/{GIVES}/inventory", json={"sandbags": 500})
    assert r.status_code == 200 and r.json()["items"] == {"sandbags": 500}, r.text
    request = site.ask(incident, 300, resource="sandbags", user="bch40")
    offer = site.offer(request, 200, user="bch40")
    for action in ("accept", "dispatch", "arrive"):
        r = command.post(f"/offers/{offer['id']}/{action}")
        assert r.status_code == 200, (action, r.text)
    assert site.inventory(GIVES)["items"] == {"sandbags": 300}
    recorded = [
        (e["action"], e["actor"])
        for e in reversed(site.audit())
        if e["action"].startswith(("inventory.", "request.", "offer."))
    ]
    assert recorded == [
        ("inventory.update", f"{COMMAND_40} acting for commune {GIVES}"),
        ("request.create", f"{COMMAND_40} acting for commune {ASKS}"),
        ("offer.create", f"{COMMAND_40} acting for commune {GIVES}"),
        ("offer.accept", f"{COMMAND_40} acting for commune {ASKS}"),
        ("offer.dispatch", f"{COMMAND_40} acting for commune {GIVES}"),
        ("offer.arrive", f"{COMMAND_40} acting for commune {ASKS}"),
    ]
    assert site.request_now(request)["created_by"] == "bch40"


def test_a_command_outside_its_area_is_403(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    request = site.ask(incident, 5)
    south = site.as_("bch42")
    assert_forbidden(
        south.post(f"/requests/{request['id']}/offers", json={"commune": GIVES, "quantity": 1}),
        f"offering support: commune {GIVES} is outside your area",
    )
    assert_forbidden(
        south.put(f"/communes/{ASKS}/inventory", json={"boats": 1}),
        f"editing an inventory: commune {ASKS} is outside your area",
    )
    r = south.post(
        "/incidents",
        json={"name": "x", "risk_level": 1, "affected": [{"commune": ASKS, "displaced": 10}]},
    )
    assert (
        r.status_code == 403
        and "none of the affected communes is in your area" in r.json()["detail"]
    ), r.text
    # its own province's commune is its to act for
    r = south.put(f"/communes/{SOUTH_A}/inventory", json={"boats": 2})
    assert r.status_code == 200 and r.json()["items"] == {"boats": 2}, r.text


@pytest.mark.parametrize("user", ["planner", "admin"])
def test_roles_without_a_commune_may_not_act_for_one(site, user):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    request = site.ask(incident, 5)
    caller = site.as_(user)
    assert_forbidden(
        caller.post(f"/requests/{request['id']}/offers", json={"commune": GIVES, "quantity": 1}),
        f"offering support needs the role commune_leader (of {GIVES}) or defence_command; "
        f"you are {user}",
    )
    assert_forbidden(
        caller.put(f"/communes/{GIVES}/inventory", json={"boats": 1}),
        f"editing an inventory needs the role commune_leader (of {GIVES}) or defence_command; "
        f"you are {user}",
    )
    # but they read everything
    assert caller.get(f"/requests/{request['id']}").status_code == 200
    assert site.inventory(GIVES)["items"] == {"boats": 10}


def test_a_leader_reads_only_what_involves_its_commune(site):
    incident = site.incident()
    request = site.ask(incident, 5)
    other = site.as_("bacly")
    assert_forbidden(
        other.get(f"/requests/{request['id']}"),
        f"request {request['id']} involves none of your communes",
    )
    r = other.get("/requests", params={"commune": ASKS, "direction": "outgoing"})
    assert r.status_code == 403, r.text
    assert r.json()["detail"] == (
        f"reading commune {ASKS}'s tasks needs the role defence_command or planner or admin; "
        "you are commune_leader"
    )
    assert other.get("/requests").json() == []  # nothing addressed to it or from it
    assert_forbidden(
        other.get("/audit"),
        "reading the audit log needs the role defence_command or planner or admin; "
        "you are commune_leader",
    )
    # the addressee reads it
    assert site.as_("tayson").get(f"/requests/{request['id']}").status_code == 200


def test_a_command_bound_to_a_region_acts_for_its_communes_only(site):
    r = site.as_("planner").post("/regions", json={"name": "Khu vực thử", "communes": [GIVES]})
    assert r.status_code == 201, r.text
    r = site.as_("admin").post(
        "/users",
        json={
            "username": "kvthu",
            "password": PASSWORD,
            "role": "defence_command",
            "region": "Khu vực thử",
        },
    )
    assert r.status_code == 201, r.text
    token = site.client.post(
        "/api/v1/auth/token", data={"username": "kvthu", "password": PASSWORD}
    ).json()["access_token"]
    site.tokens["kvthu"] = token
    region = site.as_("kvthu")
    r = region.put(f"/communes/{GIVES}/inventory", json={"boats": 3})
    assert r.status_code == 200, r.text
    assert_forbidden(
        region.put(f"/communes/{ASKS}/inventory", json={"boats": 3}),
        f"editing an inventory: commune {ASKS} is outside your area",
    )
    [entry] = site.audit("inventory.update")
    assert entry["actor"] == f"kvthu (defence_command, Khu vực thử) acting for commune {GIVES}"

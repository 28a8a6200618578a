"""Bad input in process: a clear 4xx naming what is wrong, never a 500, and nothing stored."""

from __future__ import annotations

import pytest

from tests.fast.conftest import ASKS, GIVES, MAX_UPLOAD

#: The offer state machine of the service (api/services/workflow.py's docstring): from each
#: status, the actions that move it, and who takes them.
LEGAL = {
    "offered": {"accept", "decline", "cancel"},
    "accepted": {"dispatch", "cancel"},
    "dispatched": {"arrive"},
    "arrived": set(),
}
ACTIONS = ("accept", "decline", "dispatch", "arrive", "cancel")
BY = {"accept": "dongha", "decline": "dongha", "arrive": "dongha", "dispatch": "tayson"}


def request_body(incident, **over):
    return {
        "incident_id": incident["id"],
        "commune": ASKS,
        "resource": "boats",
        "quantity": 2,
        "to": [GIVES],
        **over,
    }


def outgoing(site) -> list[int]:
    r = site.as_("dongha").get("/requests", params={"commune": ASKS, "direction": "outgoing"})
    assert r.status_code == 200, r.text
    return [x["id"] for x in r.json()]


def test_an_unknown_commune_is_422_or_404_naming_it(site):
    incident = site.incident()
    asks = site.as_("dongha")
    for over, detail in (
        ({"commune": "99999"}, "commune: unknown commune '99999'"),
        ({"to": ["99999", GIVES]}, "to: unknown commune(s) 99999"),
        ({"to": [ASKS]}, "to: a commune cannot request support from itself"),
        ({"resource": "yachts"}, "resource: unknown resource 'yachts'"),
    ):
        r = asks.post("/requests", json=request_body(incident, **over))
        assert r.status_code == 422, (over, r.text)
        assert r.json()["detail"] == detail and "code" in r.json(), r.json()
    r = asks.post("/requests", json=request_body(incident, commune="9001"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "commune"], r.text
    for path in ("/communes/99999", "/communes/99999/inventory"):
        r = asks.get(path)
        assert (r.status_code, r.json()["detail"]) == (404, "commune 99999 not found"), r.text
    r = site.as_("bch40").put("/communes/99999/inventory", json={"boats": 1})
    assert (r.status_code, r.json()["detail"]) == (404, "commune 99999 not found"), r.text
    assert outgoing(site) == []


@pytest.mark.parametrize(
    ("quantity", "kind"),
    [
        (-3, "greater_than"),
        (0, "greater_than"),
        (2.5, "int_from_float"),
        ("many", "int_parsing"),
        (None, "int_type"),
        (10**12, "less_than_equal"),
    ],
)
def test_a_bad_quantity_in_a_request_or_an_offer_is_422_naming_the_field(site, quantity, kind):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    r = site.as_("dongha").post("/requests", json=request_body(incident, quantity=quantity))
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "quantity"], kind)
    assert outgoing(site) == []
    request = site.ask(incident, 5)
    r = site.as_("tayson").post(
        f"/requests/{request['id']}/offers", json={"commune": GIVES, "quantity": quantity}
    )
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert (error["loc"], error["type"]) == (["body", "quantity"], kind)
    assert site.inventory(GIVES)["reserved"] == {}


def test_an_inventory_with_one_bad_value_is_422_listing_each_and_writes_nothing(site):
    site.stock(GIVES, "tayson", boats=4, rice_kg=100)
    before = site.inventory(GIVES)
    gives = site.as_("tayson")
    r = gives.put(
        f"/communes/{GIVES}/inventory",
        json={"boats": -1, "rice_kg": 2.5, "militia": "many", "yachts": 1, "trucks": 3},
    )
    assert r.status_code == 422, r.text
    assert r.json()["errors"] == [
        "boats: quantity must be a non-negative integer, got -1",
        "rice_kg: quantity must be a non-negative integer, got 2.5",
        "militia: quantity must be a non-negative integer, got 'many'",
        "unknown resource 'yachts'",
    ]
    r = gives.put(f"/communes/{GIVES}/inventory", json={"boats": 10**12})
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("boats: quantity 1000000000000 is over the largest")
    r = gives.put(f"/communes/{GIVES}/inventory", json=[1, 2])
    assert r.status_code == 422, r.text
    after = site.inventory(GIVES)
    assert (after["items"], after["updated_at"]) == (before["items"], before["updated_at"])


def test_an_offer_larger_than_what_is_left_to_offer_is_409_and_reserves_nothing(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=20)
    request = site.ask(incident, 6)
    gives = site.as_("tayson")
    r = gives.post(f"/requests/{request['id']}/offers", json={"commune": GIVES, "quantity": 7})
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "offer of 7 is larger than what is left to offer (6 of 6)"
    assert site.inventory(GIVES)["reserved"] == {}
    site.offer(request, 4)
    r = gives.post(f"/requests/{request['id']}/offers", json={"commune": GIVES, "quantity": 3})
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "offer of 3 is larger than what is left to offer (2 of 6)"
    assert site.inventory(GIVES)["reserved"] == {"boats": 4}
    assert site.request_now(request)["remaining"] == 2


def test_an_offer_larger_than_the_free_stock_is_409_and_reserves_nothing(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=5)
    first = site.ask(incident, 3)
    second = site.ask(incident, 3)
    site.offer(first, 3)
    r = site.as_("tayson").post(
        f"/requests/{second['id']}/offers", json={"commune": GIVES, "quantity": 3}
    )
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == (
        f"{GIVES} has 2 boats available (stock minus open offers), cannot offer 3"
    )
    inv = site.inventory(GIVES)
    assert (inv["items"], inv["reserved"]) == ({"boats": 5}, {"boats": 3})
    # nor below what is promised
    r = site.as_("tayson").put(f"/communes/{GIVES}/inventory", json={"boats": 2})
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "cannot set boats to 2: 3 are promised in open offers"


def test_every_illegal_transition_is_409_with_the_current_state(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    request = site.ask(incident, 10)
    offer = site.offer(request, 1)
    path = f"/offers/{offer['id']}"
    for status, step in (
        ("offered", "accept"),
        ("accepted", "dispatch"),
        ("dispatched", "arrive"),
        ("arrived", None),
    ):
        assert site.as_("planner").get(path).json()["status"] == status
        for action in ACTIONS:
            if action in LEGAL[status]:
                continue
            who = BY.get(action, "dongha")
            r = site.as_(who).post(f"{path}/{action}", json={"reason": "thử"})
            assert r.status_code == 409, (status, action, r.text)
            assert r.json()["detail"] == {
                "message": f"cannot {action} an offer that is {status}",
                "status": status,
                "allowed": [a for a in ACTIONS if a in LEGAL[status]],
            }
        if step:
            r = site.as_(BY[step]).post(f"{path}/{step}")
            assert r.status_code == 200, (step, r.text)
    assert site.inventory(GIVES)["items"] == {"boats": 9}


def test_cancelling_needs_a_reason(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    offer = site.offer(site.ask(incident, 2), 2)
    for kw in ({}, {"json": {}}, {"json": {"reason": ""}}):
        r = site.as_("tayson").post(f"/offers/{offer['id']}/cancel", **kw)
        assert r.status_code == 422, (kw, r.text)
        assert r.json()["detail"] == "reason: cancelling needs a reason"
    assert site.as_("tayson").get(f"/offers/{offer['id']}").json()["status"] == "offered"


def test_unknown_ids_and_actions_are_404(site):
    asks = site.as_("dongha")
    for method, path, detail in (
        ("GET", "/requests/9999", "request 9999 not found"),
        ("GET", "/offers/9999", "offer 9999 not found"),
        ("POST", "/offers/9999/accept", "offer 9999 not found"),
        ("GET", "/incidents/9999", "incident 9999 not found"),
    ):
        r = asks.request(method, path)
        assert (r.status_code, r.json()["detail"]) == (404, detail), (path, r.text)
    r = asks.post("/requests", json={**request_body({"id": 9999})})
    assert (r.status_code, r.json()["detail"]) == (404, "incident 9999 not found"), r.text
    r = asks.post("/offers/1/explode")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "action"], r.text


def test_a_repeat_with_the_same_idempotency_key_returns_the_first_answer(site):
    incident = site.incident()
    asks = site.as_("dongha")
    body = request_body(incident)
    first = asks.post("/requests", json=body, headers={"Idempotency-Key": "lan-1"})
    assert first.status_code == 201 and "Idempotent-Replay" not in first.headers, first.text
    # the same body with its keys in another order is the same request
    again = asks.post(
        "/requests",
        json=dict(reversed(list(body.items()))),
        headers={"Idempotency-Key": "lan-1"},
    )
    assert again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replay"] == "true"
    assert outgoing(site) == [first.json()["id"]]
    # another user's key of the same name is another key
    command = site.as_("bch40").post("/requests", json=body, headers={"Idempotency-Key": "lan-1"})
    assert command.status_code == 201 and command.json()["id"] != first.json()["id"]


def test_an_idempotency_key_reused_for_another_request_is_refused(site):
    incident = site.incident()
    asks = site.as_("dongha")
    body = request_body(incident)
    first = asks.post("/requests", json=body, headers={"Idempotency-Key": "lan-2"})
    assert first.status_code == 201, first.text
    r = asks.post("/requests", json={**body, "quantity": 3}, headers={"Idempotency-Key": "lan-2"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == (
        "Idempotency-Key 'lan-2' was already used for a different request body to "
        "POST /api/v1/requests; use a new key for a new request"
    )
    r = asks.post(
        f"/requests/{first.json()['id']}/cancel",
        json={"reason": "x"},
        headers={"Idempotency-Key": "lan-2"},
    )
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == "Idempotency-Key 'lan-2' was used for POST /api/v1/requests"
    r = asks.post("/requests", json=body, headers={"Idempotency-Key": "k" * 129})
    assert (r.status_code, r.json()["detail"]) == (422, "Idempotency-Key: 1 to 128 characters")
    assert outgoing(site) == [first.json()["id"]]
    assert site.request_now(first.json())["status"] == "open"


def incidents(site) -> int:
    r = site.as_("bch40").get("/incidents")
    assert r.status_code == 200, r.text
    return len(r.json())


def test_a_body_over_the_limit_is_413_and_stores_nothing(site):
    before = incidents(site)
    command = site.as_("bch40")
    pad = b"x" * MAX_UPLOAD
    body = b'{"name": "' + pad + b'", "risk_level": 1, "affected": []}'
    r = command.post("/incidents", content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == (
        f"body of {len(body):,} bytes is over the limit of {MAX_UPLOAD:,} bytes"
    )

    def chunks():  # no Content-Length: the limit applies while the body streams in
        yield b'{"name": "'
        for _ in range(4):
            yield pad[: MAX_UPLOAD // 2]
        yield b'", "risk_level": 1, "affected": []}'

    r = command.post("/incidents", content=chunks(), headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["detail"] == f"body is over the limit of {MAX_UPLOAD:,} bytes"
    assert incidents(site) == before


def test_malformed_json_and_unknown_fields_are_422(site):
    incident = site.incident()
    asks = site.as_("dongha")
    r = asks.post("/requests", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["detail"][0]["type"] == "json_invalid", r.text
    r = asks.post("/requests", json=request_body(incident, incident_id="one"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "incident_id"]
    r = asks.post("/requests", json=request_body(incident, priority="top"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "priority"]
    r = asks.post("/requests", json=request_body(incident, urgency="yesterday"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "urgency"]
    assert outgoing(site) == []

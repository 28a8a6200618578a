"""Request → offer → accept → dispatch → arrive in process, with the stock checked at each step."""

from __future__ import annotations

from tests.fast.conftest import ASKS, GIVES


def test_request_offer_accept_dispatch_arrive_moves_the_stock_step_by_step(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10, militia=40)
    site.stock(ASKS, "dongha", boats=1)
    asks, gives = site.as_("dongha"), site.as_("tayson")

    request = site.ask(incident, 6)
    assert (request["commune"], request["to"], request["quantity"]) == (ASKS, [GIVES], 6)
    assert (request["offered"], request["remaining"], request["arrived"]) == (0, 6, 0)
    incoming = gives.get("/requests", params={"commune": GIVES, "direction": "incoming"})
    assert incoming.status_code == 200 and [r["id"] for r in incoming.json()] == [request["id"]]
    outgoing = asks.get("/requests", params={"commune": ASKS, "direction": "outgoing"})
    assert [r["id"] for r in outgoing.json()] == [request["id"]]

    # the offer reserves the giver's stock, nothing leaves yet
    offer = site.offer(request, 4)
    inv = site.inventory(GIVES)
    assert inv["items"] == {"militia": 40, "boats": 10}
    assert (inv["reserved"], inv["available"]) == ({"boats": 4}, {"militia": 40, "boats": 6})
    now = site.request_now(request)
    assert (now["offered"], now["remaining"], now["status"]) == (4, 2, "open")

    r = asks.post(f"/offers/{offer['id']}/accept")
    assert r.status_code == 200 and r.json()["status"] == "accepted", r.text
    inv = site.inventory(GIVES)
    assert (inv["items"]["boats"], inv["reserved"]) == (10, {"boats": 4})

    # dispatch takes the boats out of the giver's inventory and frees the reservation
    r = gives.post(f"/offers/{offer['id']}/dispatch")
    assert r.status_code == 200 and r.json()["status"] == "dispatched", r.text
    inv = site.inventory(GIVES)
    assert inv["items"] == {"militia": 40, "boats": 6}
    assert (inv["reserved"], inv["available"]) == ({}, {"militia": 40, "boats": 6})

    # arrival is written in the incident's ledger; the receiver's own inventory is its own
    r = asks.post(f"/offers/{offer['id']}/arrive")
    assert r.status_code == 200 and r.json()["status"] == "arrived", r.text
    assert site.inventory(ASKS)["items"] == {"boats": 1}
    ledger = site.as_("bch40").get(f"/incidents/{incident['id']}/ledger").json()
    assert [(e["commune"], e["resource"], e["quantity"], e["from"]) for e in ledger] == [
        (ASKS, "boats", 4, GIVES)
    ]
    now = site.request_now(request)
    assert (now["offered"], now["arrived"], now["remaining"], now["status"]) == (4, 4, 2, "open")

    # the rest arrives too: the request is fulfilled
    rest = site.offer(request, 2)
    for who, action in ((asks, "accept"), (gives, "dispatch"), (asks, "arrive")):
        r = who.post(f"/offers/{rest['id']}/{action}")
        assert r.status_code == 200, (action, r.text)
    now = site.request_now(request)
    assert (now["arrived"], now["remaining"], now["status"]) == (6, 0, "fulfilled")
    assert site.inventory(GIVES)["items"] == {"militia": 40, "boats": 4}

    # every step is in the audit log, by the commune that took it, and the chain verifies
    steps = [
        (e["action"], e["actor"])
        for e in reversed(site.audit())
        if e["entity"] in ("request", "offer")
    ]
    leader_asks, leader_gives = "dongha (commune_leader, 90001)", "tayson (commune_leader, 90002)"
    assert steps == [
        ("request.create", leader_asks),
        *[
            ("offer.create", leader_gives),
            ("offer.accept", leader_asks),
            ("offer.dispatch", leader_gives),
            ("offer.arrive", leader_asks),
        ]
        * 2,
    ]
    verify = site.as_("planner").get("/audit/verify").json()
    assert verify["ok"] is True, verify


def test_declining_or_cancelling_an_offer_frees_its_stock(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", tarpaulins=50)
    request = site.ask(incident, 40, resource="tarpaulins")
    first = site.offer(request, 30)
    assert site.inventory(GIVES)["reserved"] == {"tarpaulins": 30}

    r = site.as_("dongha").post(f"/offers/{first['id']}/decline")
    assert r.status_code == 200 and r.json()["status"] == "declined", r.text
    inv = site.inventory(GIVES)
    assert (inv["items"], inv["reserved"]) == ({"tarpaulins": 50}, {})
    assert site.request_now(request)["remaining"] == 40

    second = site.offer(request, 25)
    r = site.as_("dongha").post(f"/offers/{second['id']}/accept")
    assert r.status_code == 200, r.text
    r = site.as_("tayson").post(f"/offers/{second['id']}/cancel", json={"reason": "đường ngập"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["cancel_reason"]) == ("cancelled", "đường ngập")
    inv = site.inventory(GIVES)
    assert (inv["items"], inv["reserved"]) == ({"tarpaulins": 50}, {})
    now = site.request_now(request)
    assert (now["offered"], now["remaining"], now["status"]) == (0, 40, "open")


def test_cancelling_a_request_cancels_its_open_offers_and_frees_the_stock(site):
    incident = site.incident()
    site.stock(GIVES, "tayson", life_jackets=100)
    request = site.ask(incident, 80, resource="life_jackets")
    offer = site.offer(request, 60)
    r = site.as_("dongha").post(f"/requests/{request['id']}/cancel", json={"reason": "nước đã rút"})
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["cancel_reason"]) == ("cancelled", "nước đã rút")
    o = site.as_("tayson").get(f"/offers/{offer['id']}").json()
    assert o["status"] == "cancelled" and "nước đã rút" in o["cancel_reason"]
    assert site.inventory(GIVES)["reserved"] == {}
    # an offer to a cancelled request is refused
    r = site.as_("tayson").post(
        f"/requests/{request['id']}/offers", json={"commune": GIVES, "quantity": 1}
    )
    assert r.status_code == 409, r.text
    assert r.json()["detail"] == {
        "message": f"request {request['id']} is cancelled",
        "status": "cancelled",
    }

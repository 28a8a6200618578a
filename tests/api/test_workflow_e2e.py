"""The whole workflow over HTTP against a real server, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import REPO, SCENARIO, require_file


def create_incident(srv, **over):
    require_file(SCENARIO)
    scenario = {**json.loads(SCENARIO.read_text(encoding="utf-8")), **over}
    with srv.client("bchqs") as c:
        r = c.post("/incidents", json=scenario)
    assert r.status_code == 201, r.text
    return r.json()


def test_con_cuong_requests_chau_khe_offers_and_it_arrives(server):
    incident = create_incident(server)
    assert incident["status"] == "active" and "17254" in incident["affected"]
    conc, ck, bch = server.client("conc"), server.client("chaukhe"), server.client("bchqs")
    ck_before = ck.get("/communes/17248/inventory").json()
    # Con Cuông's leader asks Châu Khê for militia and boats
    reqs = {}
    for resource, qty in (("militia", 120), ("boats", 4)):
        r = conc.post("/requests", json={"incident_id": incident["id"], "commune": "17254", "resource": resource,
                                         "quantity": qty, "to": ["17248"], "urgency": "high", "note": "Tiên Thành"})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "open"
        reqs[resource] = r.json()
    # Châu Khê sees them as incoming and offers part
    incoming = ck.get("/requests", params={"commune": "17248", "direction": "incoming"}).json()
    assert {r["id"] for r in incoming} >= {reqs["militia"]["id"], reqs["boats"]["id"]}
    offers = {}
    for resource, qty in (("militia", 90), ("boats", 2)):
        r = ck.post(f"/requests/{reqs[resource]['id']}/offers", json={"commune": "17248", "quantity": qty})
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "offered"
        offers[resource] = r.json()["id"]
    inv = ck.get("/communes/17248/inventory").json()
    assert inv["reserved"] == {"militia": 90, "boats": 2}
    assert inv["items"] == ck_before["items"]
    # Con Cuông accepts, Châu Khê dispatches, Con Cuông marks arrival
    for who, action in ((conc, "accept"), (ck, "dispatch"), (conc, "arrive")):
        for resource in offers:
            r = who.post(f"/offers/{offers[resource]}/{action}")
            assert r.status_code == 200, (action, r.text)
    assert conc.get(f"/offers/{offers['boats']}").json()["status"] == "arrived"
    # ledgers and inventories add up
    after = ck.get("/communes/17248/inventory").json()
    assert after["items"]["militia"] == ck_before["items"]["militia"] - 90
    assert after["items"]["boats"] == ck_before["items"]["boats"] - 2
    assert after["reserved"] == {}
    ledger = bch.get(f"/incidents/{incident['id']}/ledger").json()
    got = {(e["commune"], e["resource"], e["from"]): e["quantity"] for e in ledger}
    assert got == {("17254", "militia", "17248"): 90, ("17254", "boats", "17248"): 2}
    req = conc.get(f"/requests/{reqs['boats']['id']}").json()
    assert (req["quantity"], req["offered"], req["arrived"], req["remaining"], req["status"]) == (4, 2, 2, 2, "open")
    # the audit log shows each step and verifies
    actions = [e["action"] for e in bch.get("/audit", params={"limit": 50}).json()]
    for a in ("incident.create", "request.create", "offer.create", "offer.accept", "offer.dispatch", "offer.arrive"):
        assert a in actions, a
    assert bch.get("/audit/verify").json()["ok"] is True
    for c in (conc, ck, bch):
        c.close()


def test_plan_uses_current_inventory_and_creates_requests(server):
    incident = create_incident(server, name="plan test")
    with server.client("bchqs") as bch:
        r = bch.post(f"/incidents/{incident['id']}/plan", json={"create_requests": True})
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["transfers"] and plan["created_requests"]
        assert plan["cost"]["unmet_units"] >= 0
        first = bch.get(f"/requests/{plan['created_requests'][0]}").json()
        t = [t for t in plan["transfers"] if t["to"] == first["commune"] and t["resource"] == first["resource"]]
        assert first["quantity"] == sum(x["quantity"] for x in t)
        assert set(first["to"]) == {x["from"] for x in t}
        # exports for the province's other tools
        csv = bch.get(f"/export/incidents/{incident['id']}/plan.csv")
        assert csv.status_code == 200 and csv.text.startswith("kind,from,to,resource,quantity")
        geo = bch.get("/export/requests.geojson").json()
        assert geo["type"] == "FeatureCollection" and geo["features"][0]["geometry"]["type"] == "Point"


def test_idempotency_key_makes_retries_safe(server):
    incident = create_incident(server, name="retry test")
    body = {"incident_id": incident["id"], "commune": "17254", "resource": "trucks", "quantity": 2, "to": ["17248"]}
    with server.client("conc") as conc:
        before = len(conc.get("/requests", params={"commune": "17254", "direction": "outgoing"}).json())
        a = conc.post("/requests", json=body, headers={"Idempotency-Key": "tap-1"})
        b = conc.post("/requests", json=body, headers={"Idempotency-Key": "tap-1"})
        assert a.status_code == b.status_code == 201
        assert a.json()["id"] == b.json()["id"]
        assert b.headers.get("Idempotent-Replay") == "true"
        after = len(conc.get("/requests", params={"commune": "17254", "direction": "outgoing"}).json())
        assert after == before + 1


def test_illegal_transition_is_409_with_the_current_state(server):
    incident = create_incident(server, name="transition test")
    with server.client("conc") as conc, server.client("chaukhe") as ck:
        req = conc.post("/requests", json={"incident_id": incident["id"], "commune": "17254", "resource": "generators",
                                           "quantity": 1, "to": ["17248"]}).json()
        offer = ck.post(f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 1}).json()
        r = conc.post(f"/offers/{offer['id']}/arrive")
        assert r.status_code == 409
        assert r.json()["detail"]["status"] == "offered"
        assert "cannot arrive" in r.json()["detail"]["message"]
        assert ck.post(f"/offers/{offer['id']}/cancel", json={}).status_code == 422  # a reason is needed
        r = ck.post(f"/offers/{offer['id']}/cancel", json={"reason": "máy hỏng"})
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert conc.post(f"/offers/{offer['id']}/accept").status_code == 409
        # an offer larger than what is left to offer
        r = ck.post(f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 5})
        assert r.status_code == 409 and "larger than what is left to offer" in r.json()["detail"]


def test_audit_tampering_is_detected(server):
    from sqlalchemy import create_engine, text

    engine = create_engine(server.db_url)
    with engine.begin() as c:
        c.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE id = 2"))
    engine.dispose()
    try:
        r = subprocess.run([sys.executable, "-m", "api.cli", "audit", "verify"], cwd=REPO, env=server.env,
                           capture_output=True, text=True, timeout=120, check=False)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "TAMPERED: entry 2" in r.stdout
    finally:
        with server.client("admin") as admin:
            assert admin.get("/audit/verify").json()["ok"] is False


def test_a_new_plan_does_not_ask_again_for_what_offers_cover(server):
    incident = create_incident(server, name="replan test")
    with server.client("bchqs") as bch, server.client("conc") as conc, server.client("chaukhe") as ck:
        first = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        row = next(r for r in first["ledger"] if r["commune"] == "17254" and r["resource"] == "militia")
        req = conc.post("/requests", json={"incident_id": incident["id"], "commune": "17254", "resource": "militia",
                                           "quantity": 10, "to": ["17248"]}).json()
        assert ck.post(f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 10}).status_code == 201
        again = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        row2 = next(r for r in again["ledger"] if r["commune"] == "17254" and r["resource"] == "militia")
        assert row2["need"] == max(0, row["need"] - 10)
        assert {"commune": "17254", "resource": "militia", "quantity": 10} in again["covered_by_offers"]

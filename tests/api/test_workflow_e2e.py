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
        r = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": resource,
                "quantity": qty,
                "to": ["17248"],
                "urgency": "high",
                "note": "Tiên Thành",
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "open"
        reqs[resource] = r.json()
    # Châu Khê sees them as incoming and offers part
    incoming = ck.get("/requests", params={"commune": "17248", "direction": "incoming"}).json()
    assert {r["id"] for r in incoming} >= {reqs["militia"]["id"], reqs["boats"]["id"]}
    offers = {}
    for resource, qty in (("militia", 90), ("boats", 2)):
        r = ck.post(
            f"/requests/{reqs[resource]['id']}/offers", json={"commune": "17248", "quantity": qty}
        )
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
    assert (req["quantity"], req["offered"], req["arrived"], req["remaining"], req["status"]) == (
        4,
        2,
        2,
        2,
        "open",
    )
    # the audit log shows each step and verifies
    actions = [e["action"] for e in bch.get("/audit", params={"limit": 50}).json()]
    for a in (
        "incident.create",
        "request.create",
        "offer.create",
        "offer.accept",
        "offer.dispatch",
        "offer.arrive",
    ):
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
        t = [
            t
            for t in plan["transfers"]
            if t["to"] == first["commune"] and t["resource"] == first["resource"]
        ]
        assert first["quantity"] == sum(x["quantity"] for x in t)
        assert set(first["to"]) == {x["from"] for x in t}
        # exports for the province's other tools
        csv = bch.get(f"/export/incidents/{incident['id']}/plan.csv")
        assert csv.status_code == 200 and csv.text.startswith("kind,from,to,resource,quantity")
        geo = bch.get("/export/requests.geojson").json()
        assert (
            geo["type"] == "FeatureCollection" and geo["features"][0]["geometry"]["type"] == "Point"
        )


def test_replanning_with_requests_does_not_ask_twice(server):
    incident = create_incident(server, name="replan test")
    with server.client("bchqs") as bch:
        first = bch.post(f"/incidents/{incident['id']}/plan", json={"create_requests": True}).json()
        assert first["created_requests"] and first["already_requested"] == []
        again = bch.post(f"/incidents/{incident['id']}/plan", json={"create_requests": True})
        assert again.status_code == 200, again.text
        second = again.json()
        # every open request is still waiting: nothing new is asked, and the plan says what was
        # already asked
        assert second["created_requests"] == []
        asked = {(a["commune"], a["resource"]): a["quantity"] for a in second["already_requested"]}
        wanted: dict[tuple[str, str], int] = {}
        for t in second["transfers"]:
            wanted[(t["to"], t["resource"])] = (
                wanted.get((t["to"], t["resource"]), 0) + t["quantity"]
            )
        assert asked == wanted
        mine = bch.get("/requests", params={"incident_id": incident["id"]}).json()
        assert sorted(r["id"] for r in mine) == sorted(first["created_requests"])
        # when every addressee of one request declines, a new plan asks for it again
        req = bch.get(f"/requests/{first['created_requests'][0]}").json()
        for giver in req["to"]:
            r = bch.post(
                f"/requests/{req['id']}/decline",
                params={"commune": giver},
                json={"reason": "không còn"},
            )
            assert r.status_code == 200, r.text
        third = bch.post(f"/incidents/{incident['id']}/plan", json={"create_requests": True}).json()
        renewed = [bch.get(f"/requests/{i}").json() for i in third["created_requests"]]
        assert [(r["commune"], r["resource"]) for r in renewed] == [
            (req["commune"], req["resource"])
        ]


def test_idempotency_key_makes_retries_safe(server):
    incident = create_incident(server, name="retry test")
    body = {
        "incident_id": incident["id"],
        "commune": "17254",
        "resource": "trucks",
        "quantity": 2,
        "to": ["17248"],
    }
    with server.client("conc") as conc:
        before = len(
            conc.get("/requests", params={"commune": "17254", "direction": "outgoing"}).json()
        )
        a = conc.post("/requests", json=body, headers={"Idempotency-Key": "tap-1"})
        b = conc.post("/requests", json=body, headers={"Idempotency-Key": "tap-1"})
        assert a.status_code == b.status_code == 201
        assert a.json()["id"] == b.json()["id"]
        assert b.headers.get("Idempotent-Replay") == "true"
        after = len(
            conc.get("/requests", params={"commune": "17254", "direction": "outgoing"}).json()
        )
        assert after == before + 1


def test_illegal_transition_is_409_with_the_current_state(server):
    incident = create_incident(server, name="transition test")
    with server.client("conc") as conc, server.client("chaukhe") as ck:
        req = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": "generators",
                "quantity": 1,
                "to": ["17248"],
            },
        ).json()
        offer = ck.post(
            f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 1}
        ).json()
        r = conc.post(f"/offers/{offer['id']}/arrive")
        assert r.status_code == 409
        assert r.json()["detail"]["status"] == "offered"
        assert "cannot arrive" in r.json()["detail"]["message"]
        assert (
            ck.post(f"/offers/{offer['id']}/cancel", json={}).status_code == 422
        )  # a reason is needed
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
        r = subprocess.run(
            [sys.executable, "-m", "api.cli", "audit", "verify"],
            cwd=REPO,
            env=server.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert r.returncode == 1, r.stdout + r.stderr
        assert "TAMPERED: entry 2" in r.stdout
    finally:
        with server.client("admin") as admin:
            assert admin.get("/audit/verify").json()["ok"] is False


def test_a_new_plan_does_not_ask_again_for_what_offers_cover(server):
    incident = create_incident(server, name="replan test")
    with (
        server.client("bchqs") as bch,
        server.client("conc") as conc,
        server.client("chaukhe") as ck,
    ):
        first = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        row = next(
            r for r in first["ledger"] if r["commune"] == "17254" and r["resource"] == "militia"
        )
        req = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": "militia",
                "quantity": 10,
                "to": ["17248"],
            },
        ).json()
        assert (
            ck.post(
                f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 10}
            ).status_code
            == 201
        )
        again = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        row2 = next(
            r for r in again["ledger"] if r["commune"] == "17254" and r["resource"] == "militia"
        )
        assert row2["need"] == max(0, row["need"] - 10)
        assert {"commune": "17254", "resource": "militia", "quantity": 10} in again[
            "covered_by_offers"
        ]


def test_an_idempotency_key_reused_for_a_different_body_is_422_and_creates_nothing(server):
    incident = create_incident(server, name="key reuse test")
    body = {
        "incident_id": incident["id"],
        "commune": "17254",
        "resource": "tarpaulins",
        "quantity": 5,
        "to": ["17248"],
    }
    with server.client("conc") as conc:

        def outgoing():
            return len(
                conc.get(
                    "/requests",
                    params={
                        "commune": "17254",
                        "direction": "outgoing",
                        "incident_id": incident["id"],
                    },
                ).json()
            )

        first = conc.post("/requests", json=body, headers={"Idempotency-Key": "tap-2"})
        assert first.status_code == 201, first.text
        # the same request with its keys in another order is a retry: the first answer again
        same = conc.post(
            "/requests",
            content=json.dumps(dict(reversed(body.items()))),
            headers={"Idempotency-Key": "tap-2", "content-type": "application/json"},
        )
        assert same.status_code == 201 and same.json()["id"] == first.json()["id"]
        # the key reused for another quantity is not silently answered with the first request
        other = conc.post(
            "/requests", json={**body, "quantity": 50}, headers={"Idempotency-Key": "tap-2"}
        )
        assert other.status_code == 422, other.text
        assert (
            "Idempotency-Key 'tap-2'" in other.json()["detail"]
            and "different request" in other.json()["detail"]
        )
        assert outgoing() == 1
        # another user's same key is theirs alone
        with server.client("bchqs") as bch:
            r = bch.post(
                "/requests", json={**body, "quantity": 50}, headers={"Idempotency-Key": "tap-2"}
            )
        assert r.status_code == 201 and r.json()["id"] != first.json()["id"]


def test_cancelling_by_either_side_releases_the_reserved_stock(server):
    incident = create_incident(server, name="cancel test")
    with server.client("conc") as conc, server.client("chaukhe") as ck:
        reserved = ck.get("/communes/17248/inventory").json()["reserved"].get("life_jackets", 0)

        def new_offer(qty):
            req = conc.post(
                "/requests",
                json={
                    "incident_id": incident["id"],
                    "commune": "17254",
                    "resource": "life_jackets",
                    "quantity": qty,
                    "to": ["17248"],
                },
            ).json()
            offer = ck.post(
                f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": qty}
            )
            assert offer.status_code == 201, offer.text
            return req, offer.json()

        def reserved_now():
            return ck.get("/communes/17248/inventory").json()["reserved"].get("life_jackets", 0)

        # the requester cancels an accepted offer, with a reason
        _, offer = new_offer(3)
        assert conc.post(f"/offers/{offer['id']}/accept").status_code == 200
        assert reserved_now() == reserved + 3
        r = conc.post(f"/offers/{offer['id']}/cancel", json={"reason": "đường bị ngập"})
        assert (
            r.status_code == 200
            and r.json()["status"] == "cancelled"
            and r.json()["cancel_reason"] == "đường bị ngập"
        )
        assert reserved_now() == reserved
        # the giver cancels an offer it made
        _, offer = new_offer(2)
        assert (
            ck.post(f"/offers/{offer['id']}/cancel", json={"reason": "xuồng hỏng"}).status_code
            == 200
        )
        assert reserved_now() == reserved
        # withdrawing the request cancels its open offers and frees their stock
        req, offer = new_offer(4)
        assert (
            conc.post(f"/requests/{req['id']}/cancel", json={}).status_code == 422
        )  # a reason is needed
        r = conc.post(f"/requests/{req['id']}/cancel", json={"reason": "đã đủ"})
        assert r.status_code == 200 and r.json()["status"] == "cancelled"
        assert conc.get(f"/offers/{offer['id']}").json()["status"] == "cancelled"
        assert reserved_now() == reserved
        # a dispatched offer is on its way: it cannot be cancelled any more
        _, offer = new_offer(1)
        assert conc.post(f"/offers/{offer['id']}/accept").status_code == 200
        assert ck.post(f"/offers/{offer['id']}/dispatch").status_code == 200
        r = ck.post(f"/offers/{offer['id']}/cancel", json={"reason": "late"})
        assert r.status_code == 409 and r.json()["detail"]["status"] == "dispatched"


def test_requests_offers_and_plans_export_as_csv_and_geojson(server):
    incident = create_incident(server, name="export test")
    with (
        server.client("conc") as conc,
        server.client("chaukhe") as ck,
        server.client("bchqs") as bch,
    ):
        req = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": "boats",
                "quantity": 2,
                "to": ["17248"],
            },
        ).json()
        offer = ck.post(
            f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 1}
        ).json()
        q = {"incident_id": incident["id"]}
        rows = bch.get("/export/requests.csv", params=q).text.splitlines()
        assert rows[0] == (
            "id,incident_id,commune,resource,quantity,urgency,status,to,created_at,source,exercise"
        )
        assert rows[1].startswith(f"{req['id']},{incident['id']},17254,boats,2,")
        rows = bch.get("/export/offers.csv", params=q).text.splitlines()
        assert (
            rows[0]
            == "id,request_id,incident_id,from,to,resource,quantity,status,updated_at,exercise"
        )
        assert rows[1].startswith(
            f"{offer['id']},{req['id']},{incident['id']},17248,17254,boats,1,offered,"
        )
        geo = bch.get("/export/offers.geojson", params=q)
        assert geo.headers["content-type"].startswith("application/geo+json")
        [feature] = geo.json()["features"]
        assert (
            feature["geometry"]["type"] == "LineString"
            and len(feature["geometry"]["coordinates"]) == 2
        )
        assert feature["properties"]["from"] == "17248"
        # an incident without requests still gets the columns
        empty = create_incident(server, name="export empty")
        assert bch.get("/export/offers.csv", params={"incident_id": empty["id"]}).text.startswith(
            "id,request_id,"
        )
        assert bch.get(f"/export/incidents/{empty['id']}/plan.geojson").status_code == 404
        plan = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        fc = bch.get(f"/export/incidents/{incident['id']}/plan.geojson").json()
        kinds = {f["properties"]["kind"]: f["geometry"]["type"] for f in fc["features"]}
        assert len(fc["features"]) == len(plan["transfers"]) + len(plan["unmet"])
        assert (
            kinds.get("transfer", "LineString") == "LineString"
            and kinds.get("unmet", "Point") == "Point"
        )
        assert bch.get("/export/requests.xlsx").status_code == 422
        # a leader exports its own commune's requests and offers (test_authz), not the whole plan
        r = ck.get(f"/export/incidents/{incident['id']}/plan.csv")
        assert r.status_code == 403 and "needs the role defence_command" in r.json()["detail"]


def test_a_request_without_to_goes_to_the_plans_suggested_givers(server):
    incident = create_incident(server, name="default to test")
    with (
        server.client("bchqs") as bch,
        server.client("conc") as conc,
        server.client("chaukhe") as ck,
    ):
        # before any plan: the usable neighbours
        r = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": "trucks",
                "quantity": 1,
            },
        )
        assert r.status_code == 201, r.text
        neighbours = {
            n["code"]
            for n in conc.get("/communes/17254/neighbours").json()
            if n["kind"] != "point_touch"
        }
        assert set(r.json()["to"]) == neighbours
        plan = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        t = next(t for t in plan["transfers"] if t["to"] == "17254")
        givers = {
            x["from"]
            for x in plan["transfers"]
            if x["to"] == "17254" and x["resource"] == t["resource"]
        }
        r = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": t["resource"],
                "quantity": 1,
            },
        )
        assert r.status_code == 201 and set(r.json()["to"]) == givers
        # a leader's "my tasks" without ?commune= is its own commune's
        mine = {x["id"] for x in conc.get("/requests", params={"direction": "outgoing"}).json()}
        assert r.json()["id"] in mine
        assert all(
            x["commune"] == "17254"
            for x in conc.get("/requests", params={"direction": "outgoing"}).json()
        )
        assert all(
            "17248" in x["to"] for x in ck.get("/requests", params={"direction": "incoming"}).json()
        )
        r = bch.get("/requests", params={"direction": "incoming"})
        assert r.status_code == 422 and r.json()["detail"].startswith("commune:")


def test_plan_takes_reserve_shares_per_resource_and_records_them_and_now(server):
    import datetime as dt

    import httpx

    incident = create_incident(server, name="reserve per resource test")
    with server.client("bchqs") as bch:
        plain = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        assert plain["parameters"]["reserve_share"] == 0.3
        assert any(t["resource"] == "boats" for t in plain["transfers"])
        # the live plan is judged now, and says so
        assert plain["parameters"]["at"][:10] == dt.date.today().isoformat()
        assert dt.datetime.fromisoformat(plain["parameters"]["at"]).tzinfo is not None
        r = bch.post(
            f"/incidents/{incident['id']}/plan",
            json={"reserve_share": {"default": 0.3, "boats": 1}},
        )
        assert r.status_code == 200, r.text
        plan = r.json()
        assert plan["parameters"]["reserve_share"] == {"default": 0.3, "boats": 1.0}
        assert not any(
            t["resource"] == "boats" for t in plan["transfers"]
        )  # nobody gives its boats
        assert {t["resource"] for t in plan["transfers"]} == {
            t["resource"] for t in plain["transfers"]
        } - {"boats"}
        for body, named in (
            ({"boat": 0.5}, "unknown resource(s) 'boat'"),
            (
                {"default": 0.3, "boats": 1.5},
                "reserve_share.boats must be a number between 0 and 1",
            ),
            (2, "reserve_share must be a number between 0 and 1"),
        ):
            r = bch.post(f"/incidents/{incident['id']}/plan", json={"reserve_share": body})
            assert r.status_code == 422, r.text
            (err,) = r.json()["detail"]
            assert err["loc"] == ["body", "reserve_share"] and named in err["msg"], err
    schema = httpx.get(server.url + "/openapi.json").json()["components"]["schemas"]["PlanIn"]
    shapes = schema["properties"]["reserve_share"]["anyOf"]
    assert {"type": "number", "minimum": 0.0, "maximum": 1.0} in shapes
    assert any(s.get("type") == "object" for s in shapes)
    assert '"default"' in schema["properties"]["reserve_share"]["description"]

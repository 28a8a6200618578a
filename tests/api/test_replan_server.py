"""A re-plan after a link closes, against a real server on SQLite and on PostgreSQL: the request
to the cut-off neighbour is marked outdated (its offers kept), another neighbour is asked."""

from __future__ import annotations

CON_CUONG = "17254"


def test_a_replan_after_closing_a_link_outdates_the_request_and_asks_another(server):
    bch, planner = server.client("bchqs"), server.client("planner")
    own = planner.get(f"/communes/{CON_CUONG}/inventory").json()["items"].get("boats", 0)
    r = bch.post(
        "/incidents",
        json={
            "name": "Lũ quét Con Cuông (thử kế hoạch lại)",
            "risk_level": 2,
            "duration_days": 1,
            "affected": [{"commune": CON_CUONG, "displaced": 0, "needs": {"boats": own + 2}}],
        },
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    body = {"create_requests": True, "max_hops": 1}
    plan = bch.post(f"/incidents/{incident['id']}/plan", json=body)
    assert plan.status_code == 200, plan.text
    (first,) = [
        q
        for q in planner.get("/requests", params={"incident_id": incident["id"]}).json()
        if q["resource"] == "boats"
    ]
    assert sum(a["quantity"] for a in first["asks"]) == first["quantity"] == 2
    (giver, *_) = [a["commune"] for a in first["asks"]]
    # the giver pledges a boat (through its province's command); then its link closes
    r = bch.post(f"/requests/{first['id']}/offers", json={"commune": giver, "quantity": 1})
    assert r.status_code == 201, r.text
    offer = r.json()
    r = planner.post(
        "/rules",
        json={"reason": "sạt lở đường", "rule": {"type": "close_link", "a": CON_CUONG, "b": giver}},
    )
    assert r.status_code in (200, 201), r.text
    plan = bch.post(f"/incidents/{incident['id']}/plan", json=body)
    assert plan.status_code == 200, plan.text
    assert first["id"] in plan.json()["outdated_requests"]
    boats = {
        q["id"]: q
        for q in planner.get("/requests", params={"incident_id": incident["id"]}).json()
        if q["resource"] == "boats"
    }
    old = boats.pop(first["id"])
    assert old["outdated"] is True and old["unreachable"] == [giver]
    assert [o["id"] for o in old["offers"]] == [offer["id"]]  # the offer is kept
    (new,) = boats.values()
    assert new["outdated"] is False and giver not in new["to"]
    assert new["quantity"] == 1  # two asked, one already pledged
    assert [a["quantity"] for a in new["asks"]] == [1]
    r = bch.post(f"/requests/{first['id']}/offers", json={"commune": giver, "quantity": 1})
    assert r.status_code == 409 and r.json()["code"] == "addressee_unreachable"

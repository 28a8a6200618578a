"""Incidents reported by a commune and situation reports over HTTP, against a real server on
SQLite and PostgreSQL (migration 0004 applied by the fixture's upgrade): kept with author and
time, refused for another commune, and the plan built on each commune's latest report."""

from __future__ import annotations

CON_CUONG, CHAU_KHE = "17254", "17248"


def test_a_commune_reports_a_flood_and_its_situation_and_the_plan_uses_the_latest(server):
    conc, ck, bch = server.client("conc"), server.client("chaukhe"), server.client("bchqs")
    r = conc.post(
        "/incidents",
        json={
            "name": "Lũ tại Con Cuông (báo từ xã)",
            "risk_level": 2,
            "affected": [{"commune": CON_CUONG, "displaced": 50}],
        },
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["confirmed"] is False and incident["affected"] == [CON_CUONG]
    path = f"/incidents/{incident['id']}"
    # Châu Khê may neither report for Con Cuông nor create an incident there
    r = ck.post(f"{path}/reports", json={"commune": CON_CUONG, "displaced": 1})
    assert r.status_code == 403 and r.json()["code"] == "not_your_commune", r.text
    # two reports, kept in order with their author; a negative count refused with its field
    r = conc.post(f"{path}/reports", json={"commune": CON_CUONG, "displaced": -3})
    assert r.status_code == 422 and r.json()["field"] == "displaced", r.text
    for body in (
        {"displaced": 200, "needs": {"boats": 3}, "note": "Tiên Thành ngập"},
        {"displaced": 400, "houses_flooded": 30, "isolated": "partial", "needs": {"boats": 9}},
    ):
        r = conc.post(f"{path}/reports", json={"commune": CON_CUONG, **body})
        assert r.status_code == 201, r.text
    reports = bch.get(f"{path}/reports").json()
    assert [(x["displaced"], x["created_by"]) for x in reports] == [(200, "conc"), (400, "conc")]
    assert all(x["created_at"].endswith(("Z", "+00:00")) for x in reports)
    # the command confirms level 3, then plans: the plan works on the latest report
    r = bch.patch(path, json={"risk_level": 3, "confirmed": True})
    assert r.status_code == 200, r.text
    assert (r.json()["risk_level"], r.json()["confirmed"], r.json()["old_risk_level"]) == (
        3,
        True,
        2,
    )
    plan = bch.post(f"{path}/plan", json={}).json()
    (boats,) = [
        row["need"]
        for row in plan["ledger"]
        if (row["commune"], row["resource"]) == (CON_CUONG, "boats")
    ]
    assert boats == 9  # the latest report's explicit need, not the first one's 3
    # Châu Khê, a neighbour, joins, then reports for itself
    r = ck.post(f"{path}/join")
    assert r.status_code == 200 and CHAU_KHE in r.json()["affected"], r.text
    r = ck.post(f"{path}/reports", json={"commune": CHAU_KHE, "displaced": 10})
    assert r.status_code == 201, r.text

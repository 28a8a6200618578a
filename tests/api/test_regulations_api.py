"""Regulations over HTTP on a real server (SQLite and PostgreSQL): create, sign, versions; a
level-2 incident fires the level-2 cards at once; an exercise moves no stock."""

from __future__ import annotations

CK, CC = "17248", "17254"  # Châu Khê helps Con Cuông


def _regulation(number: str) -> dict:
    return {
        "number": number,
        "title": "Quy chế phối hợp Châu Khê – Con Cuông",
        "parties": [CK, CC],
        "valid_from": "2025-01-01",
        "fields": ["disaster_response", "cultural_preservation"],
        "box_cards": [
            {
                "hazard": "flood",
                "level": 2,
                "from": CK,
                "to": CC,
                "order": 1,
                "resources": {"militia": 20},
                "within_minutes": 60,
            },
            {
                "hazard": "flood",
                "level": 3,
                "from": CK,
                "to": CC,
                "order": 1,
                "resources": {"militia": 40},
                "within_minutes": 120,
            },
        ],
        "rationale": "giáp ranh",
    }


def _declare(server, **extra) -> dict:
    with server.client("bchqs") as c:
        r = c.post(
            "/incidents",
            json={"name": "Lũ thử", "risk_level": 2, "duration_days": 1,
                  "affected": [{"commune": CC, "displaced": 300}], **extra},
        )  # fmt: skip
    assert r.status_code == 201, r.text
    return r.json()


def test_regulation_signed_fires_level_2_cards_and_exercise_moves_no_stock(server):
    with server.client("planner") as p:
        bad = p.post("/regulations", json={**_regulation("00/QC"), "scope": "x"})
        assert bad.status_code == 422 and bad.json()["problems"][0]["field"] == "scope"
        r = p.post("/regulations", json=_regulation("15/QC-PH"))
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        assert p.post(f"/regulations/{rid}/sign").json()["status"] == "signed"
        assert [v["version"] for v in p.get(f"/regulations/{rid}/versions").json()] == [1, 2]
    incident = _declare(server)
    with server.client("planner") as p:
        made = [p.get(f"/requests/{i}").json() for i in incident["activated"]]
    assert [(m["commune"], m["to"], m["resource"], m["quantity"], m["source"]) for m in made] == [
        (CC, [CK], "militia", 20, "regulation")
    ]
    assert made[0]["regulation_id"] == rid
    with server.client("chaukhe") as ck, server.client("conc") as cc:
        before = ck.get(f"/communes/{CK}/inventory").json()
        drill = _declare(server, exercise=True)
        assert drill["exercise"] is True and len(drill["activated"]) == 1
        offer = ck.post(
            f"/requests/{drill['activated'][0]}/offers", json={"commune": CK, "quantity": 1}
        )
        assert offer.status_code == 201, offer.text
        oid = offer.json()["id"]
        assert cc.post(f"/offers/{oid}/accept").status_code == 200
        assert ck.post(f"/offers/{oid}/dispatch").status_code == 200
        assert cc.post(f"/offers/{oid}/arrive").status_code == 200
        after = ck.get(f"/communes/{CK}/inventory").json()
    assert (after["items"], after["reserved"]) == (before["items"], before["reserved"])
    with server.client("bchqs") as c:
        report = c.get(f"/incidents/{drill['id']}/after-action").json()
    assert report["exercise"] is True
    assert [(x["resource"], x["share_filled"]) for x in report["cards"]] == [("militia", 0.05)]

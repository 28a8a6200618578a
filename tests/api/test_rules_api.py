"""Rules over HTTP: versions with author and reason, rules as of a time, plans use them at once."""

from __future__ import annotations

import datetime as dt

import httpx

from tests.api.test_workflow_e2e import create_incident


def test_rule_versions_history_and_as_of(server):
    with server.client("planner") as p:
        r = p.post(
            "/rules",
            json={
                "reason": "Quy chế phối hợp 15/QC",
                "rule": {
                    "type": "agreement",
                    "a": "17248",
                    "b": "17254",
                    "document": "15/QC-UBND",
                    "date": "2025-08-01",
                    "commitments": {"17248": {"militia": 200}},
                },
            },
        )
        assert r.status_code == 201, r.text
        rule = r.json()
        assert (rule["version"], rule["author"], rule["reason"]) == (
            1,
            "planner",
            "Quy chế phối hợp 15/QC",
        )
        # "as of t1", t1 between the two versions: the time version 1 was stored, as the
        # server says (no clock of ours, no waiting for the clock to move on)
        t1 = dt.datetime.fromisoformat(rule["created_at"])
        r = p.patch(
            f"/rules/{rule['id']}",
            json={
                "reason": "bổ sung xuồng",
                "changes": {"commitments": {"17248": {"militia": 200, "boats": 2}}},
            },
        )
        assert r.status_code == 200 and r.json()["version"] == 2
        assert dt.datetime.fromisoformat(r.json()["created_at"]) > t1
        now = {x["id"]: x for x in p.get("/rules").json()}
        assert now[rule["id"]]["rule"]["commitments"]["17248"] == {"militia": 200, "boats": 2}
        then = {x["id"]: x for x in p.get("/rules", params={"at": t1.isoformat()}).json()}
        assert then[rule["id"]]["rule"]["commitments"]["17248"] == {"militia": 200}
        assert [v["version"] for v in p.get(f"/rules/{rule['id']}/history").json()] == [1, 2]
        r = p.request("DELETE", f"/rules/{rule['id']}", json={"reason": "hết hiệu lực"})
        assert r.status_code == 200 and r.json()["retired"] is True
        assert rule["id"] not in {x["id"] for x in p.get("/rules").json()}
        assert (
            p.request("DELETE", f"/rules/{rule['id']}", json={"reason": "again"}).status_code == 409
        )


def test_bad_rules_name_the_problem(server):
    with server.client("planner") as p:
        r = p.post(
            "/rules",
            json={
                "reason": "x",
                "rule": {"type": "add_link", "a": "17248", "b": "99999", "travel_minutes": 5},
            },
        )
        assert r.status_code == 422 and "unknown commune '99999'" in r.json()["detail"]
        r = p.post(
            "/rules",
            json={"reason": "x", "rule": {"type": "close_link", "a": "17248", "b": "17248"}},
        )
        assert r.status_code == 422 and "to itself" in r.json()["detail"]
        assert (
            p.post(
                "/rules", json={"rule": {"type": "close_link", "a": "17248", "b": "17254"}}
            ).status_code
            == 422
        )
        first = p.post(
            "/rules",
            json={
                "reason": "cầu",
                "rule": {"type": "add_link", "a": "16876", "b": "16816", "travel_minutes": 50},
            },
        ).json()
        r = p.post(
            "/rules",
            json={"reason": "sạt lở", "rule": {"type": "close_link", "a": "16816", "b": "16876"}},
        )
        assert r.status_code == 422 and "contradict" in r.json()["detail"]
        p.request("DELETE", f"/rules/{first['id']}", json={"reason": "test cleanup"})


def test_plan_graph_follows_the_current_rules_without_restart(server):
    incident = create_incident(server, name="rules test")
    with server.client("bchqs") as bch, server.client("planner") as p:
        before = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        used = {
            tuple(sorted(x))
            for t in before["transfers"]
            for x in zip(t["path"], t["path"][1:], strict=False)
        }
        assert used, "the plan moves aid"
        link = sorted(used)[0]
        rule = p.post(
            "/rules",
            json={"reason": "cầu sập", "rule": {"type": "close_link", "a": link[0], "b": link[1]}},
        ).json()
        after = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        used_after = {
            tuple(sorted(x))
            for t in after["transfers"]
            for x in zip(t["path"], t["path"][1:], strict=False)
        }
        assert link not in used_after
        p.request("DELETE", f"/rules/{rule['id']}", json={"reason": "cầu sửa xong"})
        again = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        assert again["cost"] == before["cost"]


def test_a_rule_is_retired_with_the_reason_in_the_query_or_the_body(server):
    with server.client("planner") as p:

        def new_rule(minutes):
            r = p.post(
                "/rules",
                json={
                    "reason": "đò ngang",
                    "rule": {
                        "type": "add_link",
                        "a": "16876",
                        "b": "16816",
                        "travel_minutes": minutes,
                    },
                },
            )
            assert r.status_code == 201, r.text
            return r.json()["id"]

        rule = new_rule(40)
        # no reason at all (no body, as many clients and proxies send DELETE), or a blank one
        for kw in (
            {},
            {"params": {"reason": ""}},
            {"params": {"reason": "  "}},
            {"json": {}},
            {"json": {"reason": None}},
        ):
            r = p.request("DELETE", f"/rules/{rule}", **kw)
            assert r.status_code == 422, (kw, r.text)
            assert r.json()["detail"].startswith("reason:"), kw
        r = p.request("DELETE", f"/rules/{rule}", params={"reason": "a"}, json={"reason": "b"})
        assert r.status_code == 422 and r.json()["detail"].startswith("reason:")
        assert [v["retired"] for v in p.get(f"/rules/{rule}/history").json()] == [
            False
        ]  # nothing retired
        # the reason as a query parameter, no body
        r = p.delete(f"/rules/{rule}", params={"reason": "cầu đã sửa xong"})
        assert r.status_code == 200, r.text
        assert (r.json()["retired"], r.json()["reason"]) == (True, "cầu đã sửa xong")
        assert p.get(f"/rules/{rule}/history").json()[-1]["reason"] == "cầu đã sửa xong"
        # the body form still works
        rule = new_rule(45)
        r = p.request("DELETE", f"/rules/{rule}", json={"reason": "hết mùa lũ"})
        assert r.status_code == 200 and r.json()["reason"] == "hết mùa lũ"
        # both given and agreeing is fine
        rule = new_rule(50)
        r = p.request("DELETE", f"/rules/{rule}", params={"reason": "x"}, json={"reason": "x"})
        assert r.status_code == 200 and r.json()["reason"] == "x"
    # documented in the OpenAPI: ``reason`` in the query, the body optional
    op = httpx.get(server.url + "/openapi.json").json()["paths"]["/api/v1/rules/{rule_id}"][
        "delete"
    ]
    [param] = [x for x in op["parameters"] if x["name"] == "reason"]
    assert param["in"] == "query" and not param.get("required") and "body" in param["description"]
    assert not op.get("requestBody", {}).get("required")
    assert "?reason=" in op["description"]

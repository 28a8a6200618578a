"""Input that answered 500 or hung a worker on a real server, SQLite and PostgreSQL (issue 13):
ids no column holds, NUL characters, over-long names, lone surrogates, and 60,000-vertex flood
extents arriving while /healthz keeps answering."""

from __future__ import annotations

import json
import math
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.test_workflow_e2e import create_incident


def test_ids_no_column_holds_are_404_or_422(server):
    with server.client("bchqs") as c:
        for big in (2**31, 2**63, 10**30):
            for path in (f"/incidents/{big}", f"/requests/{big}", f"/offers/{big}"):
                r = c.get(path)
                assert r.status_code == 404, (server.backend, path, r.status_code, r.text)
            r = c.get("/requests", params={"incident_id": big})
            assert r.status_code == 422, (server.backend, r.text)
            r = c.post(f"/incidents/{big}/close")
            assert r.status_code == 404, (server.backend, r.text)


def test_nul_overlong_and_surrogate_text_are_422_naming_the_field(server):
    incident = create_incident(server, name="bad text")
    base = {
        "incident_id": incident["id"],
        "commune": "17254",
        "resource": "boats",
        "quantity": 1,
        "to": ["17248"],
    }
    with server.client("conc") as conc, server.client("bchqs") as bch:
        r = conc.post("/requests", json={**base, "note": "nul\x00here"})
        assert (r.status_code, r.json()["field"]) == (422, "note"), (server.backend, r.text)
        r = conc.post("/requests", json={**base, "resource": "r" * 300})
        assert (r.status_code, r.json()["field"]) == (422, "resource"), r.text
        r = bch.post("/incidents", json={"name": "n" * 300, "risk_level": 2, "affected": []})
        assert (r.status_code, r.json()["field"]) == (422, "name"), (server.backend, r.text)
        r = conc.post(
            "/requests",
            content=json.dumps(base)[:-1] + ', "note": "\\ud800"}',
            headers={"Content-Type": "application/json"},
        )
        assert (r.status_code, r.json()["code"]) == (422, "invalid_unicode"), r.text
        r = conc.get("/requests", params={"commune": "17254", "direction": "outgoing"})
        assert r.status_code == 200 and r.json() == [], r.text


def test_healthz_answers_while_60000_vertex_extents_arrive(server):
    n = 60_000
    ring = [
        [
            round(104.9 + 0.3 * math.cos(2 * math.pi * k / n), 6),
            round(19.0 + 0.3 * math.sin(2 * math.pi * k / n), 6),
        ]
        for k in range(n)
    ]
    body = json.dumps(
        {
            "name": "huge extent",
            "risk_level": 3,
            "flood_extent": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]},
        }
    ).encode()
    assert 1_000_000 < len(body) < 2 * 1024 * 1024
    done = threading.Event()
    health: list[int] = []

    def poll() -> None:
        with httpx.Client(base_url=server.url, timeout=30) as c:
            while not done.is_set():
                health.append(c.get("/healthz").status_code)

    def send(_: int) -> int:
        with server.client("bchqs") as c:
            r = c.post("/incidents", content=body, headers={"Content-Type": "application/json"})
            assert r.json()["code"] == "extent_too_complex", r.text
            return r.status_code

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(send, range(8)))
    finally:
        done.set()
        poller.join()
    assert set(statuses) <= {413, 422}, statuses
    assert health and set(health) == {200}, health

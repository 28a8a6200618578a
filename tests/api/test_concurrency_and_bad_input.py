"""Concurrent offers never over-promise; bad input is a clear 4xx and stores nothing."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlparse

import httpx
import pytest

from tests.api.conftest import PASSWORD, drop_database, start_server, stop_server
from tests.api.test_workflow_e2e import create_incident


def test_twenty_concurrent_offers_never_reserve_more_than_the_stock(server):
    incident = create_incident(server, name="concurrency")
    with server.client("chaukhe") as ck, server.client("conc") as conc:
        assert ck.put("/communes/17248/inventory", json={"boats": 7}).status_code == 200
        req = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": "boats",
                "quantity": 30,
                "to": ["17248"],
            },
        ).json()

    def offer(_):
        with server.client("chaukhe") as c:
            return c.post(f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 2})

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(offer, range(20)))
    codes = sorted(r.status_code for r in results)
    assert set(codes) <= {201, 409}, [r.text for r in results if r.status_code not in (201, 409)]
    accepted = sum(2 for r in results if r.status_code == 201)
    assert accepted == 6  # three offers of 2 fit in 7 boats; the fourth would promise 8
    with server.client("chaukhe") as ck:
        inv = ck.get("/communes/17248/inventory").json()
    assert inv["reserved"]["boats"] == accepted <= inv["items"]["boats"] == 7
    refused = [r.json()["detail"] for r in results if r.status_code == 409]
    assert all("17248 has" in d and "available" in d for d in refused)


def test_malformed_json_and_wrong_types_name_the_field(server):
    with server.client("conc") as conc:
        r = conc.post(
            "/requests", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422 and "json" in json.dumps(r.json()).lower()
        r = conc.post(
            "/requests",
            json={"incident_id": "one", "commune": "17254", "resource": "boats", "quantity": 1},
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "incident_id"]
        r = conc.post(
            "/requests",
            json={"incident_id": 1, "commune": "17254", "resource": "boats", "quantity": -3},
        )
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "quantity"]
        r = conc.post(
            "/requests",
            json={"incident_id": 1, "commune": "99999", "resource": "boats", "quantity": 3},
        )
        assert r.status_code == 422 and "unknown commune '99999'" in r.json()["detail"]
        r = conc.put("/communes/17254/inventory", json={"boats": -1, "yachts": 2})
        assert r.status_code == 422
        assert r.json()["errors"] == [
            "boats: quantity must be a non-negative integer, got -1",
            "unknown resource 'yachts'",
        ]
        assert (
            conc.get("/communes/17254/inventory").json()["items"]["boats"] >= 0
        )  # nothing half-written
        assert conc.get("/communes/00000").status_code == 404


def count_incidents(srv):
    with srv.client("bchqs") as bch:
        return len(bch.get("/incidents").json())


def test_huge_upload_is_413_without_reading_it(server):
    before = count_incidents(server)
    u = urlparse(server.url)
    with socket.create_connection((u.hostname, u.port), timeout=30) as s:
        s.sendall(
            (
                f"POST /api/v1/incidents HTTP/1.1\r\nHost: {u.hostname}\r\n"
                f"Authorization: Bearer {server.tokens['bchqs']}\r\n"
                "Content-Type: application/json\r\n"
                f"Content-Length: {50 * 1024 * 1024}\r\n\r\n"
            ).encode()
        )
        s.sendall(b"{" + b" " * 65536)  # a start of the body; the rest never comes
        reply = b""
        while chunk := s.recv(4096):  # the server answers and closes
            reply += chunk
        reply = reply.decode()
    assert reply.startswith("HTTP/1.1 413"), reply
    assert "over the limit" in reply

    def chunks():  # no Content-Length: the limit applies while streaming
        yield b'{"name": "x", "affected": [], "pad": "'
        for _ in range(50):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    with server.client("bchqs") as bch:
        r = bch.post("/incidents", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413, r.text
        assert bch.get("/incidents").status_code == 200  # still serving
    assert count_incidents(server) == before


def test_uploaded_scenario_file_and_oversized_scenario(server):
    before = count_incidents(server)
    with server.client("bchqs") as bch:
        big = {"name": "too big", "affected": [{"commune": "17254", "displaced": 1}] * 10_000}
        r = bch.post("/incidents", json=big)
        assert r.status_code in (413, 422), r.text
        if r.status_code == 422:
            assert "at most" in r.json()["detail"]
        scenario = {
            "name": "uploaded",
            "risk_level": 2,
            "affected": [{"commune": "17254", "displaced": 300}],
        }
        upload = {"file": ("flood.json", json.dumps(scenario).encode(), "application/json")}
        r = bch.post("/incidents", files=upload, headers={"Idempotency-Key": "upload-1"})
        assert r.status_code == 201, r.text
        assert r.json()["name"] == "uploaded"
        again = bch.post(
            "/incidents", files=upload, headers={"Idempotency-Key": "upload-1"}
        )  # a new boundary
        assert again.status_code == 201 and again.json()["id"] == r.json()["id"]
        r = bch.post("/incidents", files={"file": ("flood.json", b"not json", "application/json")})
        assert r.status_code == 422 and "not valid JSON" in r.json()["detail"]
        r = bch.post(
            "/incidents", json={"name": "neg", "affected": [{"commune": "17254", "displaced": -4}]}
        )
        assert r.status_code == 422 and "displaced must be >= 0" in r.json()["detail"]
    assert count_incidents(server) == before + 1


def test_failed_logins_are_rate_limited(server):
    url = server.url + "/api/v1/auth/token"
    codes = [
        httpx.post(
            url, data={"username": "tuongduong", "password": "wrong"}, timeout=30
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5 and codes[5] == 429
    r = httpx.post(url, data={"username": "tuongduong", "password": PASSWORD}, timeout=30)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_server_refuses_an_unmigrated_database(tmp_path):
    proc, _, _ = start_server(f"sqlite:///{tmp_path / 'empty.db'}", tmp_path, "sqlite")
    out = (
        stop_server(proc)
        if proc.poll() is not None
        else (stop_server(proc), pytest.fail("server started"))[0]
    )
    assert "run `lienxa db upgrade` first" in out
    drop_database(None)


def test_a_streamed_oversized_json_body_is_413_on_every_route(server):
    def chunks(prefix: bytes):  # no Content-Length: the limit applies while streaming
        yield prefix
        for _ in range(3):
            yield b"x" * (1024 * 1024)
        yield b'"}'

    with server.client("conc") as conc:
        before = conc.get("/communes/17254/inventory").json()
        for method, path, prefix in (
            ("POST", "/requests", b'{"incident_id": 1, "note": "'),
            ("PUT", "/communes/17254/inventory", b'{"boats": 1, "pad": "'),
        ):
            r = conc.request(
                method, path, content=chunks(prefix), headers={"content-type": "application/json"}
            )
            assert r.status_code == 413, (path, r.status_code, r.text)
            assert "over the limit" in r.json()["detail"]
        assert conc.get("/communes/17254/inventory").json()["items"] == before["items"]


def test_serve_refuses_an_unmigrated_database_with_a_message_and_exit_code(tmp_path):
    from tests.conftest import NGHE_AN, REPO

    env = {
        **os.environ,
        "LIENXA_DATA_DIR": str(tmp_path),
        "LIENXA_BOUNDARIES": str(NGHE_AN),
        "LIENXA_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}",
    }
    r = subprocess.run(
        [sys.executable, "-m", "api.cli", "serve", "--port", "1", "--workers", "2"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert r.returncode == 1
    assert (
        "is not created, the code needs" in r.stderr and "run `lienxa db upgrade` first" in r.stderr
    )
    assert "Traceback" not in r.stderr


def watch_output(
    proc: subprocess.Popen, text: str, count: int
) -> tuple[threading.Event, list[str]]:
    """Read ``proc``'s output in a thread (so its pipe never fills); the event is set once
    ``text`` has appeared on ``count`` lines, or when the output ends (the process exited)."""
    seen: threading.Event = threading.Event()
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if sum(text in x for x in lines) >= count:
                seen.set()
        seen.set()

    threading.Thread(target=read, name="server-output", daemon=True).start()
    return seen, lines


def test_serve_with_several_workers_shares_one_secret(tmp_path):
    from tests.api.conftest import free_port, seed
    from tests.conftest import NGHE_AN, REPO, require_file

    require_file(NGHE_AN)
    db_url = f"sqlite:///{tmp_path / 'lienxa.db'}"
    seed(db_url)
    port = free_port()
    env = {
        **os.environ,
        "LIENXA_DATA_DIR": str(tmp_path),
        "LIENXA_BOUNDARIES": str(NGHE_AN),
        "LIENXA_DATABASE_URL": db_url,
    }
    env.pop("LIENXA_SECRET_KEY", None)  # generated in the data directory, once for all workers
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "api.cli",
            "serve",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "info",  # each worker says when its lifespan has loaded the data
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    both_up, output = watch_output(proc, "Application startup complete", 2)
    try:
        # both workers serve before the first token is issued: no fixed wait for the second
        assert both_up.wait(timeout=120) and proc.poll() is None, "".join(output)
        token = httpx.post(
            url + "/api/v1/auth/token", data={"username": "conc", "password": PASSWORD}, timeout=30
        ).json()["access_token"]
        codes = [
            httpx.get(
                url + "/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}, timeout=30
            ).status_code
            for _ in range(30)
        ]  # a new connection each: both workers
        assert codes == [200] * 30
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_an_inventory_put_with_one_bad_key_writes_none_of_them(server):
    good = {"boats": 5, "tarpaulins": 33, "rice_kg": 1234}
    with server.client("conc") as conc:
        before = conc.get("/communes/17254/inventory").json()
        assert all(before["items"].get(k) != v for k, v in good.items())
        for key, value, named in (
            ("life_jackets", -1, "life_jackets: quantity must be a non-negative integer"),
            ("life_jackets", 2.5, "life_jackets: quantity must be a non-negative integer"),
            ("life_jackets", "many", "life_jackets: quantity must be a non-negative integer"),
            ("life_jackets", True, "life_jackets: quantity must be a non-negative integer"),
            ("life_jackets", None, "life_jackets: quantity must be a non-negative integer"),
            ("life_jackets", [3], "life_jackets: quantity must be a non-negative integer"),
            ("life_jackets", "\u00b2", "life_jackets: quantity must be a non-negative integer"),
            ("life_jackets", 10**12, "life_jackets: quantity 1000000000000 is over the largest"),
            ("helicopters", 2, "unknown resource 'helicopters'"),
        ):
            r = conc.put("/communes/17254/inventory", json={**good, key: value})
            assert r.status_code == 422, (key, value, r.status_code, r.text)
            assert named in r.json()["detail"], (key, value, r.text)
            after = conc.get("/communes/17254/inventory").json()
            assert (after["items"], after["updated_at"]) == (
                before["items"],
                before["updated_at"],
            ), (key, value)
        assert conc.put("/communes/17254/inventory", json=[1, 2]).status_code == 422
        r = conc.put("/communes/17254/inventory", json=good)
        assert r.status_code == 200 and all(r.json()["items"][k] == v for k, v in good.items())


def test_inventory_put_by_someone_who_may_not_is_403_naming_who_may(server):
    with server.client("conc") as conc:
        before = conc.get("/communes/17254/inventory").json()
    for user, named in (
        ("chaukhe", "you lead commune 17248, not 17254"),
        ("kv3", "commune 17254 is outside your area"),
        ("planner", "needs the role commune_leader (of 17254) or defence_command; you are planner"),
    ):
        with server.client(user) as c:
            r = c.put("/communes/17254/inventory", json={"boats": 99})
            assert r.status_code == 403, (user, r.text)
            assert named in r.json()["detail"], (user, r.text)
            # anyone signed in may read it; nothing was written
            assert c.get("/communes/17254/inventory").json()["items"] == before["items"]

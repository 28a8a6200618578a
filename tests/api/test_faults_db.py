"""Faults under load on real servers: the database stopped and started again (a throwaway
cluster of the test's own), a worker killed with SIGKILL mid-burst, a rolling restart.

Afterwards nothing is lost or promised twice: every offer answered 201 is stored, and the
giver's ``reserved`` is exactly the sum of its open offers, within its stock."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections import Counter

import httpx

from tests.api.conftest import PASSWORD
from tests.api.pgcluster import lienxa_serve, seed_nghe_an, throwaway_cluster, worker_pids

GIVER, ASKER = "17248", "17254"  # Châu Khê gives to Con Cuông
STOCK = 500


def _tokens(url: str) -> dict[str, str]:
    out = {}
    for user in ("conc", "chaukhe", "bchqs"):
        r = httpx.post(
            url + "/api/v1/auth/token", data={"username": user, "password": PASSWORD}, timeout=30
        )
        assert r.status_code == 200, r.text
        out[user] = r.json()["access_token"]
    return out


def _open_request(url: str, tokens: dict[str, str]) -> int:
    def h(u: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[u]}"}

    api = url + "/api/v1"
    incident = {
        "name": "lũ thử sự cố",
        "risk_level": 2,
        "duration_days": 3,
        "affected": [{"commune": ASKER, "displaced": 800}],
    }
    r = httpx.post(api + "/incidents", json=incident, headers=h("bchqs"), timeout=30)
    assert r.status_code == 201, r.text
    incident_id = int(r.json()["id"])
    r = httpx.put(api + f"/communes/{GIVER}/inventory", json={"boats": STOCK}, headers=h("chaukhe"))
    assert r.status_code == 200, r.text
    r = httpx.post(
        api + "/requests",
        json={
            "incident_id": incident_id,
            "commune": ASKER,
            "resource": "boats",
            "quantity": STOCK * 4,
            "to": [GIVER],
        },
        headers=h("conc"),
        timeout=30,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


class Load:
    """Leaders polling their incoming requests and offering one boat at a time, on threads,
    recording every answer."""

    def __init__(self, url: str, tokens: dict[str, str], request_id: int) -> None:
        self.url, self.tokens, self.request_id = url, tokens, request_id
        self.stop = threading.Event()
        self.answers: list[tuple[str, int, dict[str, str], str]] = []
        self.offered: list[int] = []
        self.transport_errors: list[str] = []
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(i,)) for i in range(6)]

    def _run(self, i: int) -> None:
        headers = {"Authorization": f"Bearer {self.tokens['chaukhe']}"}
        with httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=30) as c:
            while not self.stop.is_set():
                try:
                    if i % 2:
                        kind = "offer"
                        r = c.post(
                            f"/requests/{self.request_id}/offers",
                            json={"commune": GIVER, "quantity": 1},
                        )
                    else:
                        kind = "poll"
                        r = c.get("/requests", params={"commune": GIVER, "direction": "incoming"})
                except httpx.TransportError as exc:
                    with self._lock:
                        self.transport_errors.append(f"{kind}: {exc!r}")
                    time.sleep(0.05)
                    continue
                with self._lock:
                    self.answers.append((kind, r.status_code, dict(r.headers), r.text))
                    if kind == "offer" and r.status_code == 201:
                        self.offered.append(int(r.json()["id"]))
                time.sleep(0.01)

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(60)


def _assert_consistent(db_url: str, request_id: int, offered: list[int]) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    with engine.connect() as c:
        stored = {
            row[0]: row[1]
            for row in c.execute(
                text("SELECT id, quantity FROM offers WHERE request_id = :r"), {"r": request_id}
            )
        }
        reserved, quantity = c.execute(
            text(
                "SELECT reserved, quantity FROM inventory WHERE commune_code = :c "
                "AND resource = 'boats'"
            ),
            {"c": GIVER},
        ).one()
        open_sum = c.execute(
            text(
                "SELECT coalesce(sum(o.quantity), 0) FROM offers o WHERE o.commune_code = :c "
                "AND o.status IN ('offered', 'accepted')"
            ),
            {"c": GIVER},
        ).scalar_one()
    engine.dispose()
    assert set(offered) <= set(stored), "an offer answered 201 is not stored"
    assert reserved == open_sum == sum(stored.values()), (reserved, open_sum)
    assert reserved <= quantity == STOCK


def _assert_clean_failures(answers) -> Counter[int]:
    statuses = Counter(status for _, status, _, _ in answers)
    for kind, status, headers, body in answers:
        assert status in (200, 201, 409, 503), (kind, status, body)
        if status == 503:
            assert headers["content-type"].startswith("application/json"), body
            assert int(headers["retry-after"]) > 0
            assert '"code":"database_' in body.replace(" ", ""), body
    return statuses


def test_database_stopped_under_load_is_503_json_and_recovers_by_itself(tmp_path):
    with throwaway_cluster() as cluster:
        db_url = cluster.url(cluster.create_database())
        seed_nghe_an(db_url)
        with lienxa_serve(db_url, tmp_path, workers=2) as (_, url):
            tokens = _tokens(url)
            request_id = _open_request(url, tokens)
            readiness: list[int] = []
            liveness: list[int] = []
            with Load(url, tokens, request_id) as load:
                time.sleep(1.5)
                cluster.stop()
                t = time.monotonic()
                while time.monotonic() - t < 5:  # the database away for 5 s
                    readiness.append(httpx.get(url + "/readyz", timeout=30).status_code)
                    liveness.append(httpx.get(url + "/healthz", timeout=30).status_code)
                    time.sleep(0.3)
                cluster.start()
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline:
                    if httpx.get(url + "/readyz", timeout=30).status_code == 200:
                        break
                    time.sleep(0.3)
                recovered_at = len(load.answers)
                time.sleep(2)  # load on the recovered service
            statuses = _assert_clean_failures(load.answers)
            assert statuses[503] > 0, statuses  # the outage was seen...
            assert 503 in readiness
            assert set(liveness) == {200}  # ...and liveness never failed
            after = load.answers[recovered_at + 12 :]  # past the pools' first reconnections
            assert after, "no requests after the recovery"
            assert {s for _, s, _, _ in after} <= {200, 201}, Counter(s for _, s, _, _ in after)
            assert load.transport_errors == []
            _assert_consistent(db_url, request_id, load.offered)


def test_a_worker_killed_mid_burst_leaves_the_stock_consistent(tmp_path):
    with throwaway_cluster() as cluster:
        db_url = cluster.url(cluster.create_database())
        seed_nghe_an(db_url)
        with lienxa_serve(db_url, tmp_path, workers=2) as (proc, url):
            tokens = _tokens(url)
            request_id = _open_request(url, tokens)
            with Load(url, tokens, request_id) as load:
                time.sleep(1.5)
                victim = worker_pids(proc.pid)[0]
                os.kill(victim, signal.SIGKILL)
                deadline = time.monotonic() + 60  # the supervisor starts a new worker
                while time.monotonic() < deadline:
                    pids = worker_pids(proc.pid)
                    if len(pids) == 2 and victim not in pids:
                        break
                    time.sleep(0.2)
                time.sleep(2)
            assert victim not in worker_pids(proc.pid)
            statuses = _assert_clean_failures(load.answers)
            assert statuses[201] > 0
            _assert_consistent(db_url, request_id, load.offered)


def test_a_rolling_restart_drops_no_request(tmp_path):
    with throwaway_cluster() as cluster:
        db_url = cluster.url(cluster.create_database())
        seed_nghe_an(db_url)
        with lienxa_serve(db_url, tmp_path, workers=2) as (proc, url):
            tokens = _tokens(url)
            request_id = _open_request(url, tokens)
            before = set(worker_pids(proc.pid))
            codes: list[int] = []
            failures: list[str] = []
            stop = threading.Event()

            def fresh_connections() -> None:  # a new connection each: nothing kept alive
                while not stop.is_set():
                    try:
                        codes.append(httpx.get(url + "/healthz", timeout=30).status_code)
                    except httpx.TransportError as exc:
                        failures.append(repr(exc))

            poller = threading.Thread(target=fresh_connections)
            poller.start()
            with Load(url, tokens, request_id) as load:
                proc.send_signal(signal.SIGHUP)  # uvicorn replaces the workers one by one
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    now = set(worker_pids(proc.pid))
                    if len(now) == 2 and not now & before:
                        break
                    time.sleep(0.3)
                time.sleep(1)
            stop.set()
            poller.join(60)
            assert not set(worker_pids(proc.pid)) & before, "the workers were not replaced"
            assert failures == []
            assert codes and set(codes) == {200}
            # kept-alive connections of a retiring worker are closed between requests;
            # a request in flight is answered first (graceful shutdown)
            statuses = _assert_clean_failures(load.answers)
            assert statuses[503] == 0
            _assert_consistent(db_url, request_id, load.offered)

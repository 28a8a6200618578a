"""Benchmark: API throughput and latency (p50/p99) against a real uvicorn server on this machine.

Starts the service (SQLite by default, ``--postgres`` for PostgreSQL on 127.0.0.1:5432) on the
Nghệ An boundaries with a sample inventory, then drives it from this process with a bounded
thread pool of HTTP clients (loopback only; each scenario stops after ``--requests`` requests):

- reads: the commune list (GeoJSON), one inventory, a leader's incoming requests;
- writes: creating offers (each reserves stock in its own transaction).

Run: ``.venv/bin/python bench/bench_api.py [--requests 400] [--concurrency 8] [--postgres]``;
writes ``bench/results/api[-postgres].json``.

``--workers-ab`` instead compares 1 and 2 workers, before and after ``lienxa serve`` set
``TCP_NODELAY`` on every connection (Kludex/uvicorn#3149): four servers on one PostgreSQL
database run side by side (``uvicorn --workers N``, which is what ``lienxa serve`` ran
before, and ``lienxa serve --workers N``), and rounds drive each in turn (A B C D, rotated
each round) with ``--concurrency`` keep-alive connections on ``/healthz``, an inventory and a
leader's request list, from a load generator in another process (``http.client``: the
``httpx`` threads used before cost more CPU a request than the server's ``/healthz``); req/s
median and spread over the rounds, and the servers' and the load generator's CPU seconds per
1,000 requests. Writes ``bench/results/api-workers.json``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent


def drive(fn: Callable[[int], bool], n: int, concurrency: int) -> dict[str, Any]:
    """Run ``fn(i)`` for ``i < n`` on ``concurrency`` threads: throughput and p50/p99 latency."""
    latencies: list[float] = []
    errors = 0

    def one(i: int) -> None:
        nonlocal errors
        t = time.perf_counter()
        ok = fn(i)
        latencies.append(time.perf_counter() - t)
        errors += not ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(one, range(n)))
    wall = time.perf_counter() - t0
    lat = sorted(latencies)
    return {
        "requests": n,
        "errors": errors,
        "throughput_rps": round(n / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1),
        "p99_ms": round(lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000, 1),
    }


def main() -> int:
    """Start a server, drive each scenario, write the results."""
    if "--workers-ab" in sys.argv:
        from bench_workers import workers_ab

        return workers_ab()
    sys.path.insert(0, str(ROOT))  # the server helpers of the API tests
    from tests.api.conftest import (
        PASSWORD,
        create_database,
        drop_database,
        seed,
        start_server,
        stop_server,
    )

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--postgres", action="store_true")
    args = ap.parse_args()
    backend = "postgres" if args.postgres else "sqlite"
    tmp = Path(tempfile.mkdtemp(prefix="lienxa-bench-"))
    db_url, pg_name = create_database(backend, tmp)
    try:
        seed(db_url)
        proc, url, _ = start_server(db_url, tmp, backend)
        try:
            tokens = {
                u: httpx.post(
                    url + "/api/v1/auth/token", data={"username": u, "password": PASSWORD}
                ).json()["access_token"]
                for u in ("conc", "chaukhe", "bchqs")
            }
            local = threading.local()

            def client(user: str) -> httpx.Client:
                key = f"c_{user}"
                if not hasattr(local, key):
                    setattr(
                        local,
                        key,
                        httpx.Client(
                            base_url=url + "/api/v1",
                            timeout=60,
                            headers={"Authorization": f"Bearer {tokens[user]}"},
                        ),
                    )
                c: httpx.Client = getattr(local, key)
                return c

            scenario = json.loads(
                (ROOT.parent / "shared/data/scenarios/nghe-an-western-floods.json").read_text()
            )
            incident = client("bchqs").post("/incidents", json=scenario).json()
            client("chaukhe").put("/communes/17248/inventory", json={"life_jackets": 10**6})
            req = (
                client("conc")
                .post(
                    "/requests",
                    json={
                        "incident_id": incident["id"],
                        "commune": "17254",
                        "resource": "life_jackets",
                        "quantity": 10**6,
                        "to": ["17248"],
                    },
                )
                .json()
            )
            for _ in range(3):  # a few requests to read back
                client("conc").post(
                    "/requests",
                    json={
                        "incident_id": incident["id"],
                        "commune": "17254",
                        "resource": "boats",
                        "quantity": 1,
                        "to": ["17248"],
                    },
                )
            scenarios: dict[str, Callable[[int], bool]] = {
                "GET /communes?province=40 (GeoJSON)": lambda i: (
                    client("conc").get("/communes", params={"province": "40"}).status_code == 200
                ),
                "GET /communes/{code}/inventory": lambda i: (
                    client("conc").get("/communes/17254/inventory").status_code == 200
                ),
                "GET /requests?direction=incoming": lambda i: (
                    client("chaukhe")
                    .get("/requests", params={"commune": "17248", "direction": "incoming"})
                    .status_code
                    == 200
                ),
                "POST /requests/{id}/offers": lambda i: (
                    client("chaukhe")
                    .post(f"/requests/{req['id']}/offers", json={"commune": "17248", "quantity": 1})
                    .status_code
                    == 201
                ),
            }
            results: dict[str, Any] = {
                "backend": backend,
                "concurrency": args.concurrency,
                "server": "uvicorn, 1 worker",
                "scenarios": {},
            }
            for name, fn in scenarios.items():
                fn(0)  # warm up
                results["scenarios"][name] = drive(fn, args.requests, args.concurrency)
        finally:
            stop_server(proc)
    finally:
        drop_database(pg_name)
    out = ROOT / "bench/results" / f"api{'-postgres' if args.postgres else ''}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"{backend}, {args.concurrency} concurrent clients, {args.requests} requests each:")
    for name, r in results["scenarios"].items():
        print(
            f"  {name:40s} {r['throughput_rps']:7.1f} req/s  p50 {r['p50_ms']:6.1f} ms"
            f"  p99 {r['p99_ms']:6.1f} ms  errors {r['errors']}"
        )
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

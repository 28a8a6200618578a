"""Load test: a mixed incident on PostgreSQL with ``lienxa serve --workers 2``, at a bounded
number of simulated users (100, then 300 by default), from this separate process.

The service runs on a database of its own on the PostgreSQL server of 127.0.0.1:5432 with the
Nghệ An boundaries and a sample inventory; one incident, one open request per asking commune.
Each simulated user is an ``httpx.AsyncClient`` of its own (its own keep-alive connection),
running for ``--seconds`` after a ramp-up of ``--ramp`` seconds:

- 80 % commune leaders: poll their incoming requests every 2-4 s (the page's refresh); one
  poll in fifty is followed by an offer of one unit to one of the open requests;
- 15 % commands: the province's map data (``GET /communes?province=40``, GeoJSON) and the
  incident's request list, every 4-8 s;
- 5 % bursts: every 30 s, ten offers at once.

Each level runs on an incident of its own with one open request per resource the giver has
(every request lists its offers: offers accumulated over earlier levels would make later polls
heavier than any real incident's).

Every answer is counted: an error is a transport failure, a time-out (``--timeout``) or any
status other than 200/201 and the expected 409 of an offer the stock cannot cover. Latency
percentiles are over every request of the level.

Run: ``.venv/bin/python bench/bench_load.py [--users 100 300] [--seconds 30]``; writes
``bench/results/load.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


class Recorder:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.recording = False

    async def call(
        self, client: httpx.AsyncClient, kind: str, method: str, path: str, **kw: Any
    ) -> int:
        t = time.perf_counter()
        try:
            r = await client.request(method, path, **kw)
            status = r.status_code
        except httpx.TimeoutException:
            status = -1
        except httpx.TransportError:
            status = -2
        if self.recording:
            self.latencies.append(time.perf_counter() - t)
            self.statuses[f"{kind} {status}"] += 1
            ok = status in (200, 201) or (kind == "offer" and status == 409)
            if not ok:
                self.errors[f"{kind} {status}"] += 1
        return status


async def leader(rec: Recorder, c: httpx.AsyncClient, env: dict[str, Any], stop: float) -> None:
    rnd = random.Random()
    while time.monotonic() < stop:
        await rec.call(
            c, "poll", "GET", "/requests", params={"commune": env["giver"], "direction": "incoming"}
        )
        if rnd.random() < 0.02:
            await rec.call(
                c,
                "offer",
                "POST",
                f"/requests/{rnd.choice(env['requests'])}/offers",
                json={"commune": env["giver"], "quantity": 1},
            )
        await asyncio.sleep(rnd.uniform(2, 4))


async def command(rec: Recorder, c: httpx.AsyncClient, env: dict[str, Any], stop: float) -> None:
    rnd = random.Random()
    while time.monotonic() < stop:
        await rec.call(c, "map", "GET", "/communes", params={"province": "40"})
        await rec.call(c, "list", "GET", "/requests", params={"incident_id": env["incident"]})
        await asyncio.sleep(rnd.uniform(4, 8))


async def burst(rec: Recorder, c: httpx.AsyncClient, env: dict[str, Any], stop: float) -> None:
    rnd = random.Random()
    await asyncio.sleep(rnd.uniform(0, 30))
    while time.monotonic() < stop:
        await asyncio.gather(
            *(
                rec.call(
                    c,
                    "offer",
                    "POST",
                    f"/requests/{rnd.choice(env['requests'])}/offers",
                    json={"commune": env["giver"], "quantity": 1},
                )
                for _ in range(10)
            )
        )
        await asyncio.sleep(30)


async def run_level(url: str, env: dict[str, Any], users: int, args: argparse.Namespace) -> dict:
    rec = Recorder()
    start = time.monotonic()
    stop = start + args.ramp + args.seconds
    tasks = []
    clients = []
    for i in range(users):
        role = leader if i % 20 < 16 else command if i % 20 < 19 else burst
        token = env["tokens"]["chaukhe" if role is not command else "bchqs"]
        c = httpx.AsyncClient(
            base_url=url + "/api/v1",
            headers={"Authorization": f"Bearer {token}"},
            timeout=args.timeout,
            limits=httpx.Limits(max_connections=10),
        )
        clients.append(c)

        async def user(role=role, c=c, delay=args.ramp * i / users) -> None:
            await asyncio.sleep(delay)
            await role(rec, c, env, stop)

        tasks.append(asyncio.create_task(user()))
    await asyncio.sleep(args.ramp)
    rec.recording = True
    t0 = time.monotonic()
    await asyncio.gather(*tasks)
    wall = time.monotonic() - t0
    for c in clients:
        await c.aclose()
    lat = sorted(rec.latencies)
    n = len(lat)
    errors = sum(rec.errors.values())
    return {
        "users": users,
        "seconds": round(wall, 1),
        "requests": n,
        "throughput_rps": round(n / wall, 1),
        "p50_ms": round(statistics.median(lat) * 1000, 1) if lat else None,
        "p99_ms": round(lat[min(n - 1, int(n * 0.99))] * 1000, 1) if lat else None,
        "max_ms": round(lat[-1] * 1000, 1) if lat else None,
        "error_pct": round(100 * errors / max(n, 1), 2),
        "errors": dict(rec.errors),
        "statuses": dict(sorted(rec.statuses.items())),
    }


def prepare(url: str, level: int) -> dict[str, Any]:
    from tests.api.conftest import PASSWORD

    tokens = {
        u: httpx.post(
            url + "/api/v1/auth/token", data={"username": u, "password": PASSWORD}, timeout=60
        ).json()["access_token"]
        for u in ("conc", "chaukhe", "bchqs")
    }

    def h(u: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[u]}"}

    api = url + "/api/v1"
    incident = httpx.post(
        api + "/incidents",
        json={
            "name": f"tải thử {level}",
            "risk_level": 2,
            "duration_days": 3,
            "affected": [{"commune": "17254", "displaced": 900}],
        },
        headers=h("bchqs"),
        timeout=60,
    ).json()
    resources = ["boats", "life_jackets", "militia", "rice_kg", "drinking_water_l", "tarpaulins"]
    httpx.put(
        api + "/communes/17248/inventory",
        json=dict.fromkeys(resources, 10**6),
        headers=h("chaukhe"),
        timeout=60,
    )
    requests = []
    for resource in resources:
        r = httpx.post(
            api + "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": resource,
                "quantity": 10**5,
                "to": ["17248"],
            },
            headers=h("conc"),
            timeout=60,
        )
        assert r.status_code == 201, r.text
        requests.append(r.json()["id"])
    return {
        "tokens": tokens,
        "incident": incident["id"],
        "requests": requests,
        "giver": "17248",
    }


def main() -> int:
    from tests.api.conftest import create_database, drop_database, seed
    from tests.api.pgcluster import lienxa_serve

    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--users", type=int, nargs="+", default=[100, 300])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--ramp", type=float, default=5)
    ap.add_argument("--timeout", type=float, default=10)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lienxa-load-"))
    db_url, name = create_database("postgres", tmp)
    results: dict[str, Any] = {
        "backend": "postgres",
        "server": f"lienxa serve --workers {args.workers}",
        "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "levels": [],
    }
    try:
        seed(db_url)
        with lienxa_serve(db_url, tmp, workers=args.workers) as (_, url):
            for users in args.users:
                env = prepare(url, users)
                level = asyncio.run(run_level(url, env, users, args))
                results["levels"].append(level)
                print(
                    f"{users:4d} users: {level['throughput_rps']:6.1f} req/s  "
                    f"p50 {level['p50_ms']} ms  p99 {level['p99_ms']} ms  "
                    f"errors {level['error_pct']} % {level['errors'] or ''}"
                )
    finally:
        drop_database(name)
    results["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    out = ROOT / "bench/results/load.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

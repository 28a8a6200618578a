"""The timed part of ``bench/bench_round_trips.py``: two servers, A (the baseline checkout) and B
(this one), driven in turn A B A B ... with the same requests (see that module's docstring)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent.parent
READER, GIVER = "17254", "17248"  # Con Cuông asks Châu Khê (and is asked by it for the reads)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Side:
    """One server (a checkout's code on its own database) and its clients."""

    def __init__(self, name: str, root: Path, backend: str, tmp: Path) -> None:
        from tests.api.conftest import create_database, free_port, seed, wait_until_serving
        from tests.conftest import NGHE_AN

        self.name, self.root = name, root
        self.tmp = tmp / name
        self.tmp.mkdir()
        self.db_url, self.pg_name = create_database(backend, self.tmp)
        seed(self.db_url)
        port = free_port()
        env = {
            **os.environ,
            "PYTHONPATH": str(root),
            "LIENXA_DATABASE_URL": self.db_url,
            "LIENXA_BOUNDARIES": str(NGHE_AN),
            "LIENXA_DATA_DIR": str(self.tmp),
            "LIENXA_SECRET_KEY": f"bench-{name}-secret-not-for-production",
        }
        self.proc = subprocess.Popen(
            [str(root / ".venv/bin/python"), "-m", "uvicorn", "--factory", "api.main:app_factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.url = f"http://127.0.0.1:{port}"
        if not wait_until_serving(self.proc, self.url, timeout=180) or self.proc.poll() is not None:
            raise RuntimeError(f"server {name} did not start")
        self.tokens: dict[str, str] = {}
        self.local = threading.local()

    def client(self, user: str) -> httpx.Client:
        """This thread's keep-alive client for ``user`` (logged in once)."""
        from tests.api.conftest import PASSWORD

        if user not in self.tokens:
            r = httpx.post(
                self.url + "/api/v1/auth/token", data={"username": user, "password": PASSWORD}
            )
            self.tokens[user] = r.json()["access_token"]
        key = f"c_{user}"
        if not hasattr(self.local, key):
            headers = {"Authorization": f"Bearer {self.tokens[user]}"}
            c = httpx.Client(base_url=self.url + "/api/v1", timeout=60, headers=headers)
            setattr(self.local, key, c)
        c2: httpx.Client = getattr(self.local, key)
        return c2

    def prepare(self) -> None:
        """The incident, stock, and the requests the reads read (one offer each)."""
        scenario = json.loads(
            (HERE.parent / "shared/data/scenarios/nghe-an-western-floods.json").read_text()
        )
        self.incident = self.client("bchqs").post("/incidents", json=scenario).json()["id"]
        self.client("chaukhe").put(f"/communes/{GIVER}/inventory", json={"life_jackets": 10**7})
        self.client("conc").put(f"/communes/{READER}/inventory", json={"boats": 1000})
        for _ in range(3):
            req = self.ask("chaukhe", GIVER, READER, "boats", 5)
            self.client("conc").post(
                f"/requests/{req['id']}/offers", json={"commune": READER, "quantity": 1}
            )
        self.read_request = req["id"]

    def ask(self, user: str, commune: str, to: str, resource: str, q: int) -> dict[str, Any]:
        body = {"incident_id": self.incident, "commune": commune, "resource": resource,
                "quantity": q, "to": [to]}  # fmt: skip
        r = self.client(user).post("/requests", json=body)
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    def scenarios(self, n: int) -> dict[str, Callable[[int], bool]]:
        """This round's scenarios: reads, then offers made, accepted and dispatched."""
        req = self.ask("conc", READER, GIVER, "life_jackets", 10**6)["id"]
        ids: list[int] = [0] * n

        def offer(i: int) -> bool:
            r = self.client("chaukhe").post(
                f"/requests/{req}/offers", json={"commune": GIVER, "quantity": 1}
            )
            ids[i] = r.json().get("id", 0)
            return r.status_code == 201

        def move(user: str, action: str) -> Callable[[int], bool]:
            return lambda i: self.client(user).post(f"/offers/{ids[i]}/{action}").status_code == 200

        return {
            "GET /communes/{code}/inventory": lambda i: (
                self.client("conc").get(f"/communes/{READER}/inventory").status_code == 200
            ),
            "GET /requests?direction=incoming": lambda i: (
                self.client("conc")
                .get("/requests", params={"commune": READER, "direction": "incoming"})
                .status_code
                == 200
            ),
            "GET /requests/{id}": lambda i: (
                self.client("conc").get(f"/requests/{self.read_request}").status_code == 200
            ),
            "POST /requests/{id}/offers": offer,
            "POST /offers/{id}/accept": move("conc", "accept"),
            "POST /offers/{id}/dispatch": move("chaukhe", "dispatch"),
        }

    def stop(self) -> None:
        from tests.api.conftest import drop_database

        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        drop_database(self.pg_name)


def rps(args: argparse.Namespace, backend: str) -> int:
    """Drive A (``args.baseline``) and B (this checkout) in turn; write the results."""
    sys.path.insert(0, str(HERE))
    from bench_api import drive

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the servers on a kill too
    tmp = Path(tempfile.mkdtemp(prefix="lienxa-trips-rps-"))
    load_before = os.getloadavg()
    sides = [Side("A", args.baseline.resolve(), backend, tmp), Side("B", HERE, backend, tmp)]
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {"A": {}, "B": {}}
    try:
        for side in sides:
            side.prepare()
        for k in range(args.rounds):
            for side in sides if k % 2 == 0 else sides[::-1]:
                for name, fn in side.scenarios(args.requests).items():
                    if not name.startswith("POST"):
                        fn(0)  # warm the reads
                    cpu0 = cpu_seconds(side.proc.pid)
                    r = drive(fn, args.requests, args.concurrency)
                    r["server_cpu_s"] = round(cpu_seconds(side.proc.pid) - cpu0, 2)
                    r["round"] = k
                    runs[side.name].setdefault(name, []).append(r)
                    print(
                        f"round {k} {side.name} {name:34s} {r['throughput_rps']:7.1f} req/s"
                        f"  cpu {r['server_cpu_s']:5.2f} s  errors {r['errors']}",
                        flush=True,
                    )
    finally:
        for side in sides:
            side.stop()
    result = {
        "backend": backend,
        "A": f"{args.baseline} ({_checkout(args.baseline)})",
        "B": f"{HERE} ({_checkout(HERE)})",
        "rounds": args.rounds,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "server": "uvicorn, 1 worker, per side; the load generator in this process",
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
    }
    out = HERE / f"bench/results/round_trips-rps{'-postgres' if backend == 'postgres' else ''}.json"
    return summarise(result, out)


def _checkout(root: Path) -> str:
    """``root``'s branch and commit (``branch@abc1234``)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True)
        return done.stdout.strip()

    return f"{git('rev-parse', '--abbrev-ref', 'HEAD')}@{git('rev-parse', '--short', 'HEAD')}"


def summarise(result: dict[str, Any], out: Path) -> int:
    """Add the medians, spreads and per-round B/A ratios to ``result``, print, write ``out``."""
    runs = result["runs"]
    result["summary"] = summary = {
        name: {side: _summary(runs[side][name]) for side in ("A", "B")}
        | {"B_over_A": _ratios(runs["A"][name], runs["B"][name])}
        for name in runs["A"]
    }
    out.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(f"{result['backend']}: median req/s (min–max), B/A per round, server CPU ms/request")
    for name, s in summary.items():
        a, b, q = s["A"], s["B"], s["B_over_A"]
        print(
            f"  {name:34s} {a['rps']:6.1f} ({a['rps_min']}–{a['rps_max']}) → "
            f"{b['rps']:6.1f} ({b['rps_min']}–{b['rps_max']})  ×{q['rps']} "
            f"({q['rps_min']}–{q['rps_max']})   cpu {a['cpu_ms_per_request']} → "
            f"{b['cpu_ms_per_request']} ms ×{q['cpu']} ({q['cpu_min']}–{q['cpu_max']})"
        )
    print(f"written to {out}")
    return 0


def _ratios(a: list[dict[str, Any]], b: list[dict[str, Any]]) -> dict[str, float]:
    """B over A in each round (the two ran minutes apart, so machine drift mostly cancels)."""
    rps = [y["throughput_rps"] / x["throughput_rps"] for x, y in zip(a, b, strict=True)]
    cpu = [y["server_cpu_s"] / x["server_cpu_s"] for x, y in zip(a, b, strict=True)]
    return {
        "rps": round(statistics.median(rps), 2),
        "rps_min": round(min(rps), 2),
        "rps_max": round(max(rps), 2),
        "cpu": round(statistics.median(cpu), 2),
        "cpu_min": round(min(cpu), 2),
        "cpu_max": round(max(cpu), 2),
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    rates = [r["throughput_rps"] for r in runs]
    cpu = [1000 * r["server_cpu_s"] / r["requests"] for r in runs]
    return {
        "rps": round(statistics.median(rates), 1),
        "rps_min": min(rates),
        "rps_max": max(rates),
        "p50_ms": round(statistics.median(r["p50_ms"] for r in runs), 1),
        "p99_ms": round(statistics.median(r["p99_ms"] for r in runs), 1),
        "cpu_ms_per_request": round(statistics.median(cpu), 2),
        "cpu_ms_min": round(min(cpu), 2),
        "cpu_ms_max": round(max(cpu), 2),
        "errors": sum(r["errors"] for r in runs),
    }

"""``bench_api.py --workers-ab``: 1 vs 2 workers, before and after TCP_NODELAY (see there)."""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its live children."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def start(kind: str, workers: int, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    if kind == "uvicorn":  # what `lienxa serve --workers N` ran before (uvicorn binds)
        cmd = ["-m", "uvicorn", "--factory", "api.main:app_factory", "--workers", str(workers)]
    else:
        cmd = ["-m", "api.cli", "serve", "--workers", str(workers)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(
        [sys.executable, *cmd],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def drive(url: str, path: str, headers: dict[str, str], n: int, conns: int) -> dict[str, Any]:
    """``n`` GETs of ``path`` over ``conns`` keep-alive connections, from a load generator in
    another process (``bench_multiserver.py --load``: stdlib ``http.client``, ~0.1 ms of CPU a
    request; the ``httpx`` threads this ran in before cost ~0.55 ms, more than the server's
    ``/healthz``, so on 2 cores the client took the core a second worker needed)."""
    from bench_multiserver import run_load

    token = headers.get("Authorization", "").removeprefix("Bearer ")
    out = run_load(url, "GET", path, token, n, conns)
    assert not out["errors"], out
    return out


def wait_ready(url: str) -> None:
    """Wait (at most 2 minutes) until ``url/readyz`` answers 200."""
    for _ in range(600):
        try:
            if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def workers_ab() -> int:
    from tests.api.conftest import PASSWORD, create_database, drop_database, free_port, seed
    from tests.conftest import NGHE_AN

    ap = argparse.ArgumentParser()
    ap.add_argument("--workers-ab", action="store_true")
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    load_before = [round(x, 2) for x in os.getloadavg()]
    tmp = Path(tempfile.mkdtemp(prefix="lienxa-bench-workers-"))
    db_url, name = create_database("postgres", tmp)
    env = {
        **os.environ,
        "LIENXA_DATABASE_URL": db_url,
        "LIENXA_BOUNDARIES": str(NGHE_AN),
        "LIENXA_DATA_DIR": str(tmp),
        "LIENXA_SECRET_KEY": "bench-" + uuid.uuid4().hex,
    }
    configs = [("uvicorn", 1), ("uvicorn", 2), ("serve", 1), ("serve", 2)]
    procs: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        seed(db_url)
        for kind, workers in configs:
            port = free_port()
            procs[f"{kind} x{workers}"] = (
                start(kind, workers, env, port),
                f"http://127.0.0.1:{port}",
            )
            time.sleep(1)
        for _, url in procs.values():
            wait_ready(url)
        url0 = next(iter(procs.values()))[1]
        token = httpx.post(
            url0 + "/api/v1/auth/token", data={"username": "chaukhe", "password": PASSWORD}
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        paths = {
            "/healthz": "/healthz",
            "inventory": "/api/v1/communes/17248/inventory",
            "incoming requests": "/api/v1/requests?commune=17248&direction=incoming",
        }
        rps: dict[str, dict[str, list[float]]] = {c: {p: [] for p in paths} for c in procs}
        cpu: dict[str, list[float]] = {c: [] for c in procs}
        client_cpu: dict[str, list[float]] = {c: [] for c in procs}
        p50: dict[str, dict[str, list[float]]] = {c: {p: [] for p in paths} for c in procs}
        for config in procs:  # warm up every server (not counted)
            for path in paths.values():
                drive(procs[config][1], path, headers, 64, args.concurrency)
        names = list(procs)
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for config in order:
                proc, url = procs[config]
                before = cpu_seconds(proc.pid)
                client = 0.0
                for label, path in paths.items():
                    n = args.requests if label == "/healthz" else args.requests // 2
                    out = drive(url, path, headers, n, args.concurrency)
                    rps[config][label].append(out["rps"])
                    p50[config][label].append(out["p50_ms"])
                    client += out["client_cpu_s"]
                used = cpu_seconds(proc.pid) - before
                total = args.requests + 2 * (args.requests // 2)
                cpu[config].append(1000 * used / total)
                client_cpu[config].append(1000 * client / total)
    finally:
        for proc, _ in procs.values():
            proc.terminate()
        for proc, _ in procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        drop_database(name)
    results: dict[str, Any] = {
        "backend": "postgres",
        "concurrency": args.concurrency,
        "keep_alive": True,
        "rounds": args.rounds,
        "interleaved": "each round drives every server in turn, the order rotated per round",
        "load_generator": "another process: http.client, one thread per keep-alive connection",
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "servers": {},
    }
    for config in procs:
        results["servers"][config] = {
            label: {
                "median_rps": round(statistics.median(xs), 1),
                "min_rps": round(min(xs), 1),
                "max_rps": round(max(xs), 1),
                "median_p50_ms": round(statistics.median(p50[config][label]), 2),
            }
            for label, xs in rps[config].items()
        }
        results["servers"][config]["server_cpu_s_per_1000_requests"] = round(
            statistics.median(cpu[config]), 2
        )
        results["servers"][config]["client_cpu_s_per_1000_requests"] = round(
            statistics.median(client_cpu[config]), 2
        )
    out = ROOT / "bench/results/api-workers.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    for config, r in results["servers"].items():
        cells = "  ".join(
            f"{label} {v['median_rps']:7.1f} [{v['min_rps']:.0f}-{v['max_rps']:.0f}]"
            for label, v in r.items()
            if isinstance(v, dict)
        )
        print(f"{config:12s} {cells}  cpu/1000 {r['server_cpu_s_per_1000_requests']} s")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(workers_ab())

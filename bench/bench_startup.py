"""Benchmark: a fresh server's first overview, over HTTP, with the geodata cache cold and warm.

Each run starts a real ``lienxa serve`` (1 worker, or 2) on a migrated SQLite database with
``LIENXA_BOUNDARIES`` set to the area's file and its own cache directory: empty (cold) or
filled by an earlier run of the same code (warm). From the moment the process is started, the
bench asks ``/maps/overview`` (logged in, the whole area) until it answers 200: that is the
**seconds to the first overview** (wall), and the CPU seconds the server's processes had used
by then (user + system, the supervisor and its workers). Then ``--warm-requests`` more
overviews on a keep-alive connection: the warm latency (p50, p90), the same worker or the
other. Runs are interleaved (cold, warm, cold, warm, ... per configuration in turn, and with
``--baseline DIR`` the same runs of another checkout's code, e.g. ``/work/main``, in between),
so the machine's drift enters every configuration alike. Medians and min–max; the load
average before and after.

Run: ``.venv/bin/python bench/bench_startup.py [--runs 3] [--area nationwide|nghe-an]
[--workers 1 2] [--baseline /work/main]``; writes ``bench/results/startup.json``, with the
one-worker figures of this code under the area's name (``nationwide.first_overview_cold``,
``warm_overview_ms``: the median of the runs' p50) for ``bench/bench_national.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from bench_workers import cpu_seconds  # user + system CPU of a server and its workers

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
FILES = {
    "nghe-an": ROOT.parent / "shared/data/boundaries/nghe-an-2025.geojson",
    "nationwide": ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg",
}
PASSWORD = "mật-khẩu-đủ-dài-cho-bench"


def prepare(tmp: Path) -> tuple[str, str, str]:
    """A migrated SQLite database with one planner; its URL, the secret and a token."""
    from api.auth import Tokens
    from api.db import make_engine, make_sessionmaker, session_scope, upgrade
    from api.services.users import add_user

    db_url = f"sqlite:///{tmp / 'lienxa.db'}"
    secret = "bench-" + uuid.uuid4().hex
    upgrade(db_url)
    engine = make_engine(db_url)
    _, write = make_sessionmaker(engine)
    with session_scope(write) as s:
        user = add_user(s, "planner", PASSWORD, "planner", actor="bench")
        s.flush()
        token = Tokens(secret, 600).issue(user)
    engine.dispose()
    return db_url, secret, token


def one_run(
    code: Path, boundaries: Path, cache: Path, workers: int, env: dict[str, str], token: str
) -> dict[str, Any]:
    """Start ``lienxa serve`` from the checkout ``code``; time its first and warm overviews."""
    from tests.api.conftest import free_port

    port = free_port()
    python = code / ".venv/bin/python"
    run_env = {**env, "LIENXA_BOUNDARIES": str(boundaries), "LIENXA_CACHE_DIR": str(cache)}
    cmd = [str(python), "-m", "api.cli", "serve", "--workers", str(workers)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    url = f"http://127.0.0.1:{port}/maps/overview"
    headers = {"Authorization": f"Bearer {token}"}
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, cwd=code, env=run_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        first = cpu = None
        size = 0
        with httpx.Client(headers=headers, timeout=300) as client:
            while first is None:
                if proc.poll() is not None:
                    raise RuntimeError(f"server exited with {proc.returncode}")
                try:
                    r = client.get(url)
                except httpx.TransportError:
                    time.sleep(0.05)
                    continue
                if r.status_code == 200:
                    first, cpu = time.perf_counter() - t0, cpu_seconds(proc.pid)
                    size = len(r.content)
                else:
                    time.sleep(0.05)
            warm = []
            for _ in range(ARGS.warm_requests):
                t = time.perf_counter()
                r = client.get(url)
                assert r.status_code == 200, r.status_code
                warm.append((time.perf_counter() - t) * 1000)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    warm.sort()
    return {
        "first_overview_s": round(first, 2),
        "server_cpu_s": round(cpu or 0.0, 2),
        "bytes": size,
        "warm_ms_p50": round(warm[len(warm) // 2], 1),
        "warm_ms_p90": round(warm[int(len(warm) * 0.9) - 1], 1),
        "warm_ms_max": round(warm[-1], 1),
    }


def summary(xs: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(xs), 2),
        "min": round(min(xs), 2),
        "max": round(max(xs), 2),
        "runs": [round(x, 2) for x in xs],
    }


ARGS: argparse.Namespace


def main() -> int:
    global ARGS
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--area", choices=sorted(FILES), default="nationwide")
    ap.add_argument("--nationwide", action="store_true", help="the nationwide file (the default)")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--warm-requests", type=int, default=20)
    ap.add_argument("--baseline", type=Path, help="another checkout (with its .venv) to compare")
    ap.add_argument("--out", type=Path, default=ROOT / "bench/results/startup.json")
    ARGS = ap.parse_args()
    boundaries = FILES[ARGS.area]
    if not boundaries.exists():
        print(f"{boundaries} is missing: nothing to measure")
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="lienxa-startup-"))
    db_url, secret, token = prepare(tmp)
    env = {
        **os.environ,
        "LIENXA_DATABASE_URL": db_url,
        "LIENXA_DATA_DIR": str(tmp),
        "LIENXA_SECRET_KEY": secret,
    }
    codes = {"this": ROOT, **({"baseline": ARGS.baseline.resolve()} if ARGS.baseline else {})}
    configs = [(c, w) for c in codes for w in ARGS.workers]
    results: dict[str, Any] = {
        "area": ARGS.area,
        "load_average_before": os.getloadavg(),
        "cpus": os.cpu_count(),
        "runs": ARGS.runs,
        "interleaved": "per round: every configuration cold then warm, in turn",
        "configurations": {},
    }
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for code_name, path in codes.items():  # fill each code's warm cache once
        one_run(path, boundaries, tmp / f"warm-{code_name}", 1, env, token)
    for i in range(ARGS.runs):
        for code_name, workers in configs:
            name = f"{code_name}-{workers}w"
            per = runs.setdefault(name, {"cold": [], "warm": []})
            cold_dir = tmp / f"cold-{name}-{i}"
            path = codes[code_name]
            per["cold"].append(one_run(path, boundaries, cold_dir, workers, env, token))
            shutil.rmtree(cold_dir, ignore_errors=True)
            per["warm"].append(
                one_run(path, boundaries, tmp / f"warm-{code_name}", workers, env, token)
            )
            for kind in ("cold", "warm"):
                r = per[kind][-1]
                print(
                    f"round {i + 1} {name:12s} {kind}: first overview {r['first_overview_s']:6.2f}"
                    f" s, server cpu {r['server_cpu_s']:6.2f} s, warm p50 {r['warm_ms_p50']} ms"
                    f" p90 {r['warm_ms_p90']} ms",
                    flush=True,
                )
    for name, per in runs.items():
        results["configurations"][name] = {
            kind: {key: summary([r[key] for r in rs]) for key in rs[0] if key != "bytes"}
            | {"bytes": rs[0]["bytes"]}
            for kind, rs in per.items()
        }
    # the summary bench/bench_national.py reads: this code, one worker
    one = runs.get("this-1w") or next(iter(runs.values()))
    results[ARGS.area] = {
        "first_overview_cold": {
            "wall_s": summary([r["first_overview_s"] for r in one["cold"]]),
            "cpu_s": summary([r["server_cpu_s"] for r in one["cold"]]),
        },
        "first_overview_warm": {
            "wall_s": summary([r["first_overview_s"] for r in one["warm"]]),
            "cpu_s": summary([r["server_cpu_s"] for r in one["warm"]]),
        },
        "warm_overview_ms": summary([r["warm_ms_p50"] for r in one["cold"] + one["warm"]]),
    }
    results["load_average_after"] = os.getloadavg()
    shutil.rmtree(tmp, ignore_errors=True)
    ARGS.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    for name, per in results["configurations"].items():
        for kind, r in per.items():
            print(
                f"{name:12s} {kind}: first overview {r['first_overview_s']['median']:6.2f} s "
                f"({r['first_overview_s']['min']}–{r['first_overview_s']['max']}), server cpu "
                f"{r['server_cpu_s']['median']:6.2f} s, warm p50 {r['warm_ms_p50']['median']} ms"
                f" p90 {r['warm_ms_p90']['median']} ms"
            )
    print(f"written to {ARGS.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

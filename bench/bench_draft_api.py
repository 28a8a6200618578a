"""Benchmark: ``POST /api/v1/regulations/draft {"province": "40"}`` end to end on a real server
(SQLite, Nghệ An, SAMPLE inventory), and the readiness that follows.

Per round, interleaved: A the draft (the first round creates every draft, later rounds
re-draft them: a new version of each unsigned draft), B ``GET /readiness?province=40``, C
``GET /maps/readiness?province=40&level=L`` with a level not asked before in that round's
state (rendered, not a kept copy). Wall seconds at the client and the server process's CPU
seconds (``/proc/<pid>/stat``) per request; median and spread.

Run: ``.venv/bin/python bench/bench_draft_api.py [--repeat 3]``; writes
bench/results/draft_api.json.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from bench.report import write_results  # noqa: E402  # the one results writer
from tests.api.conftest import (  # noqa: E402
    PASSWORD,
    create_database,
    seed,
    start_server,
    stop_server,
)


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of process ``pid``."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summary(xs: list[float]) -> dict[str, float]:
    return {
        "median": round(statistics.median(xs), 3),
        "min": round(min(xs), 3),
        "max": round(max(xs), 3),
        "spread": round(max(xs) - min(xs), 3),
        "runs": [round(x, 3) for x in xs],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench" / "results" / "draft_api.json"))
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-draft-api-"))
    db_url, _ = create_database("sqlite", tmp)
    seed(db_url)
    proc, url, _ = start_server(db_url, tmp, "sqlite")
    times: dict[str, dict[str, list[float]]] = {
        k: {"wall": [], "cpu": []} for k in ("A_draft", "B_readiness", "C_map")
    }
    first_count = 0
    try:
        token = httpx.post(
            url + "/api/v1/auth/token", data={"username": "planner", "password": PASSWORD}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        for i in range(args.repeat):
            calls = {
                "A_draft": ("POST", "/api/v1/regulations/draft", {"json": {"province": "40"}}),
                "B_readiness": ("GET", "/api/v1/readiness?province=40", {}),
                "C_map": ("GET", f"/maps/readiness?province=40&level={i % 3 + 1}", {}),
            }
            for name, (method, path, kw) in calls.items():
                c0, w0 = cpu_of(proc.pid), time.perf_counter()
                r = httpx.request(method, url + path, headers=h, timeout=600, **kw)
                times[name]["wall"].append(time.perf_counter() - w0)
                times[name]["cpu"].append(cpu_of(proc.pid) - c0)
                assert r.status_code < 400, r.text
                if name == "A_draft" and i == 0:
                    first_count = len(r.json())
    finally:
        stop_server(proc)
    result = {
        "what": "POST /regulations/draft for Nghệ An (130 communes, SAMPLE inventory), SQLite, "
        "real uvicorn; round 1 creates, later rounds re-draft (new versions)",
        "command": f".venv/bin/python bench/bench_draft_api.py --repeat {args.repeat}",
        "drafts": first_count,
        "cpus": os.cpu_count(),
        "results": {
            k: {"wall_s": summary(v["wall"]), "server_cpu_s": summary(v["cpu"])}
            for k, v in times.items()
        },
    }
    write_results(args.out, result)


if __name__ == "__main__":
    main()

"""Issue 15's done-when, in one run of ``bench/``: every check's script run in turn, then each
criterion read off the results they wrote, with its target and whether it is met.

The scripts, in this order (each writes its own file under ``bench/results/``, kept):

1. ``bench_api.py --workers-ab`` (``bench_workers.py``) — 1 and 2 workers on PostgreSQL,
   keep-alive, 8 connections;
2. ``bench_plan_scale.py`` — the 7-commune plan on the Nghệ An and nationwide graphs, the whole
   country, and the whole country against HiGHS's LP optimum;
3. ``bench_startup.py --nationwide`` — a fresh nationwide server's first overview, cold and warm;
4. ``bench_graph_commands.py`` — ``lienxa graph`` against the libpysal script as whole commands;
5. ``bench_border_accuracy.py`` — border lengths against GEOS's exact intersection.

The machine's state (cores, load average before and after each script, the commit) is
recorded with the criteria in ``bench/results/national.json``. A criterion whose script failed
is recorded as not met, with the script's exit status.

Run: ``.venv/bin/python bench/bench_national.py [--rounds 3] [--only NAME ...]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def _workers(d: dict[str, Any]) -> list[tuple[str, float, bool]]:
    one, two = d["servers"]["serve x1"], d["servers"]["serve x2"]
    rows = []
    for path in ("/healthz", "inventory", "incoming requests"):
        r = two[path]["median_rps"] / one[path]["median_rps"]
        rows.append((f"2 workers / 1 worker req/s, {path}", round(r, 2), r >= 1.0))
    return rows


def _plans(d: dict[str, Any]) -> list[tuple[str, float | bool, bool]]:
    by_case = {c["case"]: c for c in d["cases"]}
    ratio = d["seven_vietnam_over_nghe_an_cpu"]["new"]
    whole = by_case["all@vietnam"]["new"]["cpu_s"]["median"]
    lp = d.get("all_vietnam_lp") or {}
    return [
        ("7-commune plan, nationwide / Nghệ An CPU", ratio, ratio <= 1.5),
        ("all-country plan CPU s (3,321 communes, 16 resources, 3 hops)", whole, whole < 1.5),
        (
            "all-country plan equals HiGHS's LP optimum",
            bool(lp.get("equal_to_lp_optimum")),
            bool(lp.get("equal_to_lp_optimum")),
        ),
    ]


def _startup(d: dict[str, Any]) -> list[tuple[str, float | bool, bool]]:
    nat = d["nationwide"]
    cold = nat["first_overview_cold"]["wall_s"]["median"]
    warm = nat["warm_overview_ms"]["median"]
    return [
        ("nationwide cold start to first overview, s wall", cold, cold < 15),
        ("warm nationwide overview, ms", warm, warm < 200),
    ]


def _graph(d: dict[str, Any]) -> list[tuple[str, float | bool, bool]]:
    built = d["built_speedup_cpu"]
    wall = d["built_speedup_wall"]
    cached = d["speedup_cpu"]
    return [
        ("lienxa graph --no-cache vs libpysal script, CPU ratio", built, built >= 10),
        ("lienxa graph --no-cache vs libpysal script, wall ratio", wall, wall >= 10),
        (
            "lienxa graph run again (geodata cache) vs libpysal script, CPU ratio",
            cached,
            cached >= 10,
        ),
    ]


def _borders(d: dict[str, Any]) -> list[tuple[str, float | bool, bool]]:
    n = d["below_coincide_outside_overlaps"]
    raw = d["below_coincide"]
    return [
        (
            "pairs whose border is below where the boundaries exactly coincide (GEOS's "
            f"intersection on the ellipsoid, overlap outlines excluded; {raw} below the raw "
            "intersection, all of them overlaps)",
            n,
            n == 0,
        )
    ]


#: ``name: (command, results file, criteria)``.
STEPS: dict[str, tuple[list[str], str, Callable[[dict[str, Any]], list[Any]]]] = {
    "workers": (
        ["bench/bench_api.py", "--workers-ab", "--rounds", "{rounds}"],
        "api-workers.json",
        _workers,
    ),
    "plans": (["bench/bench_plan_scale.py", "--rounds", "{rounds}"], "plan_scale.json", _plans),
    "startup": (
        ["bench/bench_startup.py", "--nationwide", "--runs", "{rounds}"],
        "startup.json",
        _startup,
    ),
    "graph": (
        ["bench/bench_graph_commands.py", "--rounds", "{rounds}"],
        "graph_commands.json",
        _graph,
    ),
    "borders": (["bench/bench_border_accuracy.py"], "graph_borders.json", _borders),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", nargs="*", choices=list(STEPS), default=list(STEPS))
    ap.add_argument("--out", default=str(RESULTS / "national.json"))
    args = ap.parse_args()
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    record: dict[str, Any] = {
        "bench": "national (issue 15, done-when)",
        "commit": commit,
        "machine": {
            "python": platform.python_version(),
            "cpus": os.cpu_count(),
            "platform": platform.machine(),
        },
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "steps": {},
        "criteria": [],
    }
    for name in args.only:
        cmd, results, criteria = STEPS[name]
        argv = [sys.executable] + [c.format(rounds=args.rounds) for c in cmd]
        load_before = os.getloadavg()
        t = time.perf_counter()
        proc = subprocess.run(argv, cwd=ROOT)
        step = {
            "command": " ".join(argv[1:]),
            "exit": proc.returncode,
            "wall_s": round(time.perf_counter() - t, 1),
            "load_avg_before": [round(x, 2) for x in load_before],
            "load_avg_after": [round(x, 2) for x in os.getloadavg()],
            "results": f"bench/results/{results}",
        }
        record["steps"][name] = step
        if proc.returncode == 0:
            data = json.loads((RESULTS / results).read_text())
            rows = criteria(data)
        else:
            rows = [(f"{name}: script failed (exit {proc.returncode})", False, False)]
        for what, value, met in rows:
            record["criteria"].append({"step": name, "what": what, "value": value, "met": met})
            print(f"{'MET ' if met else 'NOT '} {what}: {value}", flush=True)
    record["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    record["all_met"] = all(c["met"] for c in record["criteria"])
    Path(args.out).write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    return 0 if record["all_met"] else 1


if __name__ == "__main__":
    raise SystemExit(main())

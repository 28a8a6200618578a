"""Benchmark: ``lienxa graph`` against a libpysal script (``bench/libpysal_graph.py``: read,
queen contiguity, write the edge list) as whole commands, which is what a user waits for.

The two commands run interleaved (A B A B ...), each in a fresh process; for each run the wall
time and the CPU seconds of the process (user + system, from ``os.wait4``'s rusage) are kept,
with the machine's load average when it started. Ratios are of medians.

Run: ``.venv/bin/python bench/bench_graph_commands.py [--boundaries FILE] [--rounds 5]``
Writes ``bench/results/graph_commands.json``. ``lienxa graph`` runs twice per round: as a user
runs it again (its graph read from the geodata cache, primed once before the rounds) and with
``--no-cache`` (read, validated and built every time). ``--before LIENXA`` adds another
``lienxa`` (e.g. main's) with ``--no-cache``, in the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def run(cmd: list[str], env: dict[str, str] | None = None) -> dict[str, float]:
    """Run ``cmd`` to completion: wall seconds, CPU seconds, load average at its start."""
    load = os.getloadavg()[0]
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise SystemExit(f"{cmd} failed ({proc.returncode}): {err[-2000:]}")
    return {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "user_s": usage.ru_utime,
        "sys_s": usage.ru_stime,
        "load1": load,
    }


def stats(values: list[float], digits: int = 3) -> dict[str, object]:
    """Median and spread (min, max, interquartile range) of a list of seconds."""
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "median": round(statistics.median(values), digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "iqr": round(q[2] - q[0], digits),
        "runs": [round(v, digits) for v in values],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", default=str(ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg")
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench/results/graph_commands.json"))
    ap.add_argument(
        "--before",
        metavar="LIENXA",
        help="another lienxa executable (e.g. main's) to run in the same rounds, for before/after",
    )
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-graph-"))
    commands = {
        "lienxa_graph": [
            str(VENV_BIN / "lienxa"),
            "graph",
            "--boundaries",
            args.boundaries,
            "--out",
            str(tmp / "lienxa.csv"),
            "--quiet",
        ],
        "libpysal_script": [
            sys.executable,
            str(ROOT / "bench/libpysal_graph.py"),
            args.boundaries,
            str(tmp / "libpysal.csv"),
        ],
    }
    # ``lienxa graph`` reads its graph from the machine's geodata cache when it built it before
    # for the same file (by content), options and code: "lienxa_graph" is that command once the
    # cache holds it (primed by one run before the rounds, reported apart), "lienxa_graph_built"
    # the same command with --no-cache (loads, validates and builds every time)
    commands["lienxa_graph_built"] = [*commands["lienxa_graph"], "--no-cache"]
    commands["lienxa_graph_built"][5] = str(tmp / "built.csv")
    if args.before:  # built every time too: its cache entries are its own (another code)
        commands["lienxa_graph_before"] = [args.before, *commands["lienxa_graph_built"][1:]]
        commands["lienxa_graph_before"][5] = str(tmp / "before.csv")
    env = {**os.environ, "LIENXA_CACHE_DIR": str(tmp / "geocache"), "LIENXA_GEODATA_CACHE": "1"}
    runs: dict[str, list[dict[str, float]]] = {k: [] for k in commands}
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    primed = run(commands["lienxa_graph"], env)  # builds and fills the (empty) cache
    print(
        f"priming run (builds, fills the cache): wall {primed['wall_s']:.2f} s  "
        f"cpu {primed['cpu_s']:.2f} s",
        flush=True,
    )
    for r in range(args.rounds):
        for name, cmd in commands.items():  # A B A B ...
            m = run(cmd, env)
            runs[name].append(m)
            print(
                f"round {r + 1} {name:16s} wall {m['wall_s']:6.2f} s  cpu {m['cpu_s']:6.2f} s "
                f"(user {m['user_s']:.2f}, sys {m['sys_s']:.2f})  "
                f"load {m['load1']:.2f}",
                flush=True,
            )
    result: dict[str, object] = {
        "data": Path(args.boundaries).name,
        "started_utc": started,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}",
        "rounds": args.rounds,
        "order": "interleaved: " + ", ".join(commands) + ", ... (each round in this order)",
        "commands": {k: " ".join(v) for k, v in commands.items()},
        "geodata_cache": str(tmp / "geocache") + " (empty at the start; filled by the priming run)",
        "priming_run": {k: round(v, 3) for k, v in primed.items()},
    }
    for name in commands:
        result[name] = {
            "wall_s": stats([m["wall_s"] for m in runs[name]]),
            "cpu_s": stats([m["cpu_s"] for m in runs[name]]),
            "user_s": stats([m["user_s"] for m in runs[name]]),
            "sys_s": stats([m["sys_s"] for m in runs[name]]),
            "load1_at_start": [round(m["load1"], 2) for m in runs[name]],
        }
    med = {
        (name, kind): statistics.median(m[kind] for m in runs[name])
        for name in commands
        for kind in ("wall_s", "cpu_s")
    }
    result["speedup_wall"] = round(
        med["libpysal_script", "wall_s"] / med["lienxa_graph", "wall_s"], 2
    )
    result["speedup_cpu"] = round(med["libpysal_script", "cpu_s"] / med["lienxa_graph", "cpu_s"], 2)
    # per-round ratios show how much the machine's drift moves a single comparison
    per_round = [
        b["cpu_s"] / a["cpu_s"]
        for a, b in zip(runs["lienxa_graph"], runs["libpysal_script"], strict=True)
    ]
    result["speedup_cpu_per_round"] = [round(x, 2) for x in per_round]
    result["built_speedup_cpu_per_round"] = [
        round(b["cpu_s"] / a["cpu_s"], 2)
        for a, b in zip(runs["lienxa_graph_built"], runs["libpysal_script"], strict=True)
    ]
    loads = [m["load1"] for ms in runs.values() for m in ms]
    result["load1_during_rounds"] = {
        "median": round(statistics.median(loads), 2),
        "min": round(min(loads), 2),
        "max": round(max(loads), 2),
    }
    result["built_speedup_cpu"] = round(
        med["libpysal_script", "cpu_s"] / med["lienxa_graph_built", "cpu_s"], 2
    )
    result["built_speedup_wall"] = round(
        med["libpysal_script", "wall_s"] / med["lienxa_graph_built", "wall_s"], 2
    )
    # the cached and the built command write the same file; against --before, the rows that
    # differ (an accuracy fix changes some border lengths)
    result["same_edge_csv"] = (tmp / "lienxa.csv").read_bytes() == (tmp / "built.csv").read_bytes()
    if args.before:
        ours = set((tmp / "built.csv").read_text().splitlines())
        theirs = set((tmp / "before.csv").read_text().splitlines())
        result["rows_changed_from_before"] = sorted(ours - theirs)
        result["rows_gone_from_before"] = sorted(theirs - ours)
    if args.before:
        result["before_speedup_cpu"] = round(
            med["libpysal_script", "cpu_s"] / med["lienxa_graph_before", "cpu_s"], 2
        )
        result["before_speedup_wall"] = round(
            med["libpysal_script", "wall_s"] / med["lienxa_graph_before", "wall_s"], 2
        )
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(
        f"speed-up (medians): {result['speedup_cpu']}x CPU, {result['speedup_wall']}x wall; "
        f"per round (CPU): {result['speedup_cpu_per_round']}; built every time (--no-cache): "
        f"{result['built_speedup_cpu']}x CPU, {result['built_speedup_wall']}x wall, per round "
        f"(CPU) {result['built_speedup_cpu_per_round']}; load average "
        f"{result['load1_during_rounds']['min']}-{result['load1_during_rounds']['max']}; "
        f"same edge CSV: {result['same_edge_csv']}"
    )
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

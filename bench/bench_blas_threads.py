"""Benchmark: what OpenBLAS's threads cost a ``lienxa`` process (``api.cli.BLAS_SETTING``).

NumPy's OpenBLAS starts one thread per core when it is loaded; each spins before it sleeps.
``lienxa`` sets ``OPENBLAS_NUM_THREADS=1`` unless the environment has a value, so the two
cases are the same command with the variable unset (one BLAS thread, as ``lienxa`` runs) and set
to the number of cores (OpenBLAS's own default). Two commands, each in a fresh process,
interleaved (A B A B ...): ``lienxa graph --no-cache`` on the nationwide file, and a process
that only imports NumPy as ``lienxa`` would (the start of every command and server worker).
CPU seconds (user + system) and wall seconds per run, with median and spread.

Run: ``.venv/bin/python bench/bench_blas_threads.py [--boundaries FILE] [--rounds 7]``
Writes ``bench/results/blas_threads.json``.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench_graph_commands import run, stats
from report import write_results

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent

IMPORT_ONLY = (
    "import sys; sys.path.insert(0, sys.argv[1])\n"
    "from api.cli import apply_process_settings; apply_process_settings()\n"
    "import numpy"
)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", default=str(ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg")
    )
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench/results/blas_threads.json"))
    args = ap.parse_args()
    cores = len(os.sched_getaffinity(0))
    tmp = Path(tempfile.mkdtemp(prefix="bench-blas-"))
    commands = {
        "graph": [
            str(VENV_BIN / "lienxa"),
            *("graph", "--no-cache", "--quiet", "--boundaries", args.boundaries),
            *("--out", str(tmp / "edges.csv")),
        ],
        "import_numpy": [sys.executable, "-c", IMPORT_ONLY, str(ROOT)],
    }
    base = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    cases = {
        "one_blas_thread": base,
        f"openblas_default_{cores}_threads": {**base, "OPENBLAS_NUM_THREADS": str(cores)},
    }
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    runs: dict[tuple[str, str], list[dict[str, float]]] = {
        (c, k): [] for c in commands for k in cases
    }
    for r in range(args.rounds):
        for command, cmd in commands.items():
            for case, env in cases.items():  # A B A B ...
                m = run(cmd, env)
                runs[command, case].append(m)
                print(
                    f"round {r + 1} {command:13s} {case:26s} cpu {m['cpu_s']:6.3f} s "
                    f"(sys {m['sys_s']:.3f})  wall {m['wall_s']:6.3f} s  load {m['load1']:.2f}",
                    flush=True,
                )
    result: dict[str, object] = {
        "data": Path(args.boundaries).name,
        "started_utc": started,
        "machine": f"{platform.machine()}, {cores} cores, Python {platform.python_version()}",
        "rounds": args.rounds,
        "order": "interleaved: per round, each command in each case, in this order",
        "commands": {k: " ".join(v) for k, v in commands.items()},
        "cases": {
            k: f"OPENBLAS_NUM_THREADS={v.get('OPENBLAS_NUM_THREADS', 'unset (lienxa sets 1)')}"
            for k, v in cases.items()
        },
    }
    one, many = cases
    for command in commands:
        entry: dict[str, object] = {}
        for case in cases:
            ms = runs[command, case]
            entry[case] = {
                "cpu_s": stats([m["cpu_s"] for m in ms]),
                "sys_s": stats([m["sys_s"] for m in ms]),
                "wall_s": stats([m["wall_s"] for m in ms]),
                "load1_at_start": [round(m["load1"], 2) for m in ms],
            }
        saved = [
            b["cpu_s"] - a["cpu_s"]
            for a, b in zip(runs[command, one], runs[command, many], strict=True)
        ]
        entry["cpu_saved_s_per_round"] = [round(x, 3) for x in saved]
        entry["cpu_saved_s_median"] = round(statistics.median(saved), 3)
        entry["cpu_ratio_median"] = round(
            statistics.median(m["cpu_s"] for m in runs[command, many])
            / statistics.median(m["cpu_s"] for m in runs[command, one]),
            3,
        )
        result[command] = entry
        print(
            f"{command}: {entry['cpu_saved_s_median']} s CPU saved per process (median of "
            f"per-round differences {entry['cpu_saved_s_per_round']}), "
            f"{entry['cpu_ratio_median']}x"
        )
    write_results(args.out, result, echo=False)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

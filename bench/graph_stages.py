"""Where ``lienxa graph --no-cache`` spends its time: each stage of the nationwide build in a
fresh process, in CPU seconds (user + system), system seconds, wall seconds, minor page faults
and resident memory, as the command runs it (huge pages off, one BLAS thread, malloc tuned as
``api.cli.tune_malloc`` does, the WKB arrays handed to the exact pass), except that the
stages run one after the other: the command starts the exact shared-edge pass as soon as the
geometries are read, beside reading the attributes and validating
(``read_geodata_rings(edges_ahead=True)``), so that its stages overlap and cannot be timed
apart; here each stage has the threads to itself (``bench_graph_commands.py`` times the
command as it runs).

Run: ``.venv/bin/python bench/graph_stages.py [--boundaries FILE] [--rounds 3]`` (each round a
fresh process; ``LIENXA_THREADS=1`` in the environment to see one thread's CPU; ``--malloc
default`` to leave glibc's malloc as it is). Writes
``bench/results/graph_stages.json``: per stage, the median over the rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

from report import write_results  # the one writer of bench/results/*.json

ROOT = Path(__file__).resolve().parent.parent

STAGES = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[2])
out, last = [], None
def mark(name):
    global last
    r = resource.getrusage(resource.RUSAGE_SELF)
    now = (r.ru_utime + r.ru_stime, r.ru_stime, r.ru_minflt, time.perf_counter())
    if last is not None:
        rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        out.append({"stage": name, "cpu_s": now[0] - last[0], "sys_s": now[1] - last[1],
                    "faults": now[2] - last[2], "rss_mb": rss // 2**20,
                    "wall_s": now[3] - last[3]})
    last = now
mark("start")
from api.cli import apply_process_settings
apply_process_settings()  # as the command sets them, before NumPy is imported
if sys.argv[3] == "tuned":
    from api.cli import tune_malloc
    tune_malloc()
import geopandas, numpy, pandas, pyogrio, pyproj, shapely
import geo.adjacency as A
import geo.boundary_schema as S
from geo.adjacency_table import edges_frame, summarise
from geo.boundaries import read_geodata_rings
mark("imports")
raw, rings = read_geodata_rings(sys.argv[1])
mark("reading")
repair = S._repair
def timed_repair(*a, **k):
    mark("normalising (before validity)")
    repair(*a, **k)
    mark("validity (GEOS)")
S._repair = timed_repair
gdf = S.normalise_boundaries(raw, source="bench")
mark("normalising (after validity)")
exact, stretches = A.exact_shared_edges, A.loose_borders
def timed_exact(*a, **k):
    mark("set-up")
    r = exact(*a, **k)
    mark("exact shared edges")
    return r
calls = []
def timed_stretches(*a, **k):
    if not calls:
        mark("near-pair screen, representative points")
    calls.append(1)
    r = stretches(*a, **k)
    if len(calls) == 2:
        mark("border stretches")
    return r
A.exact_shared_edges, A.loose_borders = timed_exact, timed_stretches
adj = A.build_adjacency(gdf, rings=rings)
mark("pairs measured one by one, the rest")
summarise(adj)
edges_frame(adj).to_csv(os.devnull, index=False)
mark("summary and edge CSV")
print(json.dumps(out))
"""


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", default=str(ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg")
    )
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "bench/results/graph_stages.json"))
    ap.add_argument(
        "--malloc",
        choices=("tuned", "default"),
        default="tuned",
        help="tuned: as the command allocates (api.cli.tune_malloc); default: glibc's settings",
    )
    args = ap.parse_args()
    runs = []
    loads = []
    for _ in range(args.rounds):
        loads.append(round(os.getloadavg()[0], 2))
        done = subprocess.run(
            [sys.executable, "-c", STAGES, args.boundaries, str(ROOT), args.malloc],
            capture_output=True,
            text=True,
            check=True,
        )
        runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
    stages = []
    for k, first in enumerate(runs[0]):
        row = {"stage": first["stage"]}
        for key in ("cpu_s", "sys_s", "wall_s", "faults", "rss_mb"):
            row[key] = round(statistics.median(r[k][key] for r in runs), 3)
        stages.append(row)
    result = {
        "data": Path(args.boundaries).name,
        "rounds": args.rounds,
        "threads": os.environ.get("LIENXA_THREADS", "default (the cores)"),
        "malloc": args.malloc,
        "load1_at_start": loads,
        "stages": stages,
        "total_cpu_s": round(sum(s["cpu_s"] for s in stages), 3),
        "total_wall_s": round(sum(s["wall_s"] for s in stages), 3),
    }
    write_results(args.out, result, echo=False)
    for s in stages:
        print(
            f"{s['stage']:42s} {s['cpu_s']:6.3f} s CPU (sys {s['sys_s']:.3f}) "
            f"wall {s['wall_s']:6.3f} s "
            f"faults {s['faults']:>7} rss {s['rss_mb']:>5} MB"
        )
    print(
        f"{'total':42s} {result['total_cpu_s']:6.3f} s CPU, {result['total_wall_s']:.3f} s wall; "
        f"load at start {loads}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

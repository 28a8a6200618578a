"""Benchmark: a worker's start-up (boundaries, graph, overview display geometry) with the
geodata cache cold (an empty cache directory) and warm (filled by an earlier worker).

Each run is a fresh process doing what a worker's lifespan does (``api.main.load_geodata``,
then waiting until the overview geometry is ready, as ``/readyz`` does); cold and warm runs
alternate (cold, warm, cold, warm, ...) so that the machine's drift enters both alike. Wall and
CPU seconds (user + system of the process) per run; median and spread.

Run: ``.venv/bin/python bench/bench_startup.py [--runs 3] [--nationwide]``; writes
``bench/results/startup.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FILES = {
    "nghe-an": ROOT.parent / "shared/data/boundaries/nghe-an-2025.geojson",
    "nationwide": ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg",
}
WORKER = """
from api.main import load_geodata
from api.settings import Settings
geo = load_geodata(Settings())
assert geo.ready.wait(600)
"""


def one_start(boundaries: Path, cache: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one worker's start-up with ``cache`` as its cache directory."""
    env = {
        **os.environ,
        "LIENXA_BOUNDARIES": str(boundaries),
        "LIENXA_CACHE_DIR": str(cache),
        "LIENXA_DATA_DIR": str(cache.parent),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def summary(xs: list[float]) -> dict[str, Any]:
    return {
        "median": round(statistics.median(xs), 2),
        "min": round(min(xs), 2),
        "max": round(max(xs), 2),
        "runs": [round(x, 2) for x in xs],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--nationwide", action="store_true", help="also the nationwide file")
    args = ap.parse_args()
    areas = ["nghe-an", "nationwide"] if args.nationwide else ["nghe-an"]
    results: dict[str, Any] = {"load_average": os.getloadavg(), "cpus": os.cpu_count()}
    for area in areas:
        tmp = Path(tempfile.mkdtemp(prefix="lienxa-startup-"))
        warm_dir = tmp / "warm"
        one_start(FILES[area], warm_dir)  # fills the warm cache
        runs: dict[str, list[tuple[float, float]]] = {"cold": [], "warm": []}
        for i in range(args.runs):
            cold_dir = tmp / f"cold{i}"
            runs["cold"].append(one_start(FILES[area], cold_dir))
            runs["warm"].append(one_start(FILES[area], warm_dir))
            shutil.rmtree(cold_dir, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        results[area] = {
            kind: {
                "wall_s": summary([w for w, _ in rs]),
                "cpu_s": summary([c for _, c in rs]),
            }
            for kind, rs in runs.items()
        }
        r = results[area]
        print(
            f"{area:11s} cold wall {r['cold']['wall_s']['median']:6.2f} s "
            f"cpu {r['cold']['cpu_s']['median']:6.2f} s | warm wall "
            f"{r['warm']['wall_s']['median']:6.2f} s cpu {r['warm']['cpu_s']['median']:6.2f} s"
        )
    out = ROOT / "bench/results/startup.json"
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the nationwide adjacency graph (with border lengths) against libpysal's
``Graph.build_contiguity(rook=False)`` on the same GeoDataFrame, in the same process.

The two builds run interleaved (ours, libpysal's, ours, libpysal's, ...) so that the machine's
drift enters both alike; each run's wall and CPU seconds (this process's user + system time) and
the load average at its start are kept, and the ratios are of medians, with the spread.

Run: ``.venv/bin/python bench/bench_graph.py [--boundaries FILE] [--rounds 5]``
Writes ``bench/results/graph.json`` and prints a table. Reading the file, validating it and
(for reference) projecting it to UTM are timed separately and are not part of either build.
The whole commands, as a user runs them, are in ``bench_graph_commands.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

from geo.adjacency import build_graph, summarise
from geo.boundaries import load_boundaries, read_geodata

ROOT = Path(__file__).resolve().parent.parent


def timed(fn, repeat):
    times, out = [], None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return out, times


def measured(fn):
    """Run ``fn`` once: its result and ``{wall_s, cpu_s, load1}``."""
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c, "load1": load}


def spread(values):
    """Median and spread (min, max, interquartile range) of a list of seconds."""
    q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
    return {
        "median": round(statistics.median(values), 3),
        "min": round(min(values), 3),
        "max": round(max(values), 3),
        "iqr": round(q[2] - q[0], 3),
        "runs": [round(v, 3) for v in values],
    }


#: glibc returns big freed arrays to the OS, and on this VM faulting them back in dominates and
#: scatters timings (1.3-4 s for the same build). Both contenders run under these settings.
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "4294967296",
    "MALLOC_TRIM_THRESHOLD_": "68719476736",
    "MALLOC_TOP_PAD_": "1073741824",
}


def ratio(base, ours, key):
    return round(
        statistics.median(m[key] for m in base) / statistics.median(m[key] for m in ours), 2
    )


def main() -> int:
    if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", default=str(ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg")
    )
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--out", default=str(ROOT / "bench/results/graph.json"))
    args = ap.parse_args()

    _, t_read = timed(lambda: read_geodata(args.boundaries), 1)
    gdf, t_load = timed(lambda: load_boundaries(args.boundaries), 1)
    _, t_proj = timed(lambda: gdf.to_crs(gdf.estimate_utm_crs()), 1)
    vertices = int(gdf.geometry.count_coordinates().sum())

    from libpysal.graph import Graph

    ours, base = [], []
    for _ in range(args.rounds):  # A B A B ...
        G, m = measured(lambda: build_graph(gdf))
        ours.append(m)
        base_graph, m = measured(lambda: Graph.build_contiguity(gdf, rook=False))
        base.append(m)
    s = summarise(G)
    base_pairs = {
        tuple(sorted(p))
        for p in zip(
            base_graph.adjacency.index.get_level_values(0),
            base_graph.adjacency.index.get_level_values(1),
            strict=True,
        )
        if p[0] != p[1]
    }
    base_pairs = {p for p in base_pairs if base_graph.adjacency.loc[p] > 0}
    our_touching = {tuple(sorted((u, v))) for u, v, k in G.edges(data="kind") if k != "near_gap"}

    result = {
        "data": Path(args.boundaries).name,
        "units": len(gdf),
        "vertices": vertices,
        "machine": (
            f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
        ),
        "malloc_env": MALLOC_ENV,
        "read_s": round(t_read[0], 3),
        "read_and_validate_s": round(t_load[0], 3),
        "project_to_utm_s": round(t_proj[0], 3),
        "order": "interleaved: lienxa, libpysal, lienxa, libpysal, ...",
        "rounds": args.rounds,
        "lienxa_build_graph": {k: spread([m[k] for m in ours]) for k in ("wall_s", "cpu_s")},
        "libpysal_build_contiguity_queen": {
            k: spread([m[k] for m in base]) for k in ("wall_s", "cpu_s")
        },
        "load1_at_start": [
            round(m["load1"], 2) for pair in zip(ours, base, strict=True) for m in pair
        ],
        "speedup_wall": ratio(base, ours, "wall_s"),
        "speedup_cpu": ratio(base, ours, "cpu_s"),
        "speedup_cpu_per_round": [
            round(b["cpu_s"] / a["cpu_s"], 2) for a, b in zip(ours, base, strict=True)
        ],
        "edges": s["edges_by_kind"],
        "libpysal_pairs": len(base_pairs),
        "touching_pairs_agree_with_libpysal": our_touching == base_pairs,
        "only_lienxa": len(our_touching - base_pairs),
        "only_libpysal": len(base_pairs - our_touching),
    }
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"{result['data']}: {result['units']} units, {vertices:,} vertices")
    print(
        f"  read {result['read_s']} s; read + validate {result['read_and_validate_s']} s; "
        f"project to UTM {result['project_to_utm_s']} s"
    )
    for name, key in (
        ("lienxa build_graph (borders, gaps, kinds)", "lienxa_build_graph"),
        ("libpysal build_contiguity(rook=False)    ", "libpysal_build_contiguity_queen"),
    ):
        w, c = result[key]["wall_s"], result[key]["cpu_s"]
        print(
            f"  {name}: wall median {w['median']} s ({w['min']}-{w['max']}), "
            f"CPU median {c['median']} s ({c['min']}-{c['max']})"
        )
    print(
        f"  speed-up (interleaved, medians): {result['speedup_cpu']}x CPU, "
        f"{result['speedup_wall']}x wall; per round (CPU) {result['speedup_cpu_per_round']}; "
        f"load {result['load1_at_start']}"
    )
    print(
        "  touching pairs agree with libpysal: "
        f"{result['touching_pairs_agree_with_libpysal']} "
        f"(+{result['only_lienxa']} / -{result['only_libpysal']})"
    )
    print(f"  written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: the nationwide adjacency graph (with border lengths) against libpysal's
``Graph.build_contiguity(rook=False)`` on the same GeoDataFrame, in the same process.

Run: ``.venv/bin/python bench/bench_graph.py [--boundaries FILE] [--repeat 5]
[--baseline-repeat 2]``
Writes ``bench/results/graph.json`` and prints a table. Reading the file, validating it and
(for reference) projecting it to UTM are timed separately and are not part of either build.
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


#: glibc returns big freed arrays to the OS, and on this VM faulting them back in dominates and
#: scatters timings (1.3-4 s for the same build). Both contenders run under these settings.
MALLOC_ENV = {
    "MALLOC_MMAP_THRESHOLD_": "4294967296",
    "MALLOC_TRIM_THRESHOLD_": "68719476736",
    "MALLOC_TOP_PAD_": "1073741824",
}


def main() -> int:
    if any(os.environ.get(k) != v for k, v in MALLOC_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", default=str(ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg")
    )
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--baseline-repeat", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "bench/results/graph.json"))
    args = ap.parse_args()

    _, t_read = timed(lambda: read_geodata(args.boundaries), 1)
    gdf, t_load = timed(lambda: load_boundaries(args.boundaries), 1)
    _, t_proj = timed(lambda: gdf.to_crs(gdf.estimate_utm_crs()), 1)
    vertices = int(gdf.geometry.count_coordinates().sum())

    G, ours = timed(lambda: build_graph(gdf), args.repeat)
    s = summarise(G)

    from libpysal.graph import Graph

    base_graph, base = timed(lambda: Graph.build_contiguity(gdf, rook=False), args.baseline_repeat)
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
        "lienxa_build_graph_s": {
            "median": round(statistics.median(ours), 3),
            "runs": [round(t, 3) for t in ours],
        },
        "libpysal_build_contiguity_queen_s": {
            "median": round(statistics.median(base), 3),
            "runs": [round(t, 3) for t in base],
        },
        "speedup": round(statistics.median(base) / statistics.median(ours), 1),
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
    print(
        "  lienxa build_graph (borders, gaps, kinds): "
        f"median {result['lienxa_build_graph_s']['median']} s"
    )
    print(
        "  libpysal build_contiguity(rook=False):     "
        f"median {result['libpysal_build_contiguity_queen_s']['median']} s"
    )
    print(
        f"  speed-up: {result['speedup']}x; touching pairs agree with libpysal: "
        f"{result['touching_pairs_agree_with_libpysal']} "
        f"(+{result['only_lienxa']} / -{result['only_libpysal']})"
    )
    print(f"  written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

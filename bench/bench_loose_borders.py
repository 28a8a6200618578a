"""Benchmark: :func:`geo.borders.loose_borders` alone, nationwide, against another revision's.

The inputs are the ones :func:`geo.adjacency.build_adjacency` passes it on the file (its two
calls: the pairs with exact edges, and those that also overlap, at a micrometre), caught once.
Then the two implementations run interleaved (this tree's, ``--against``'s, this tree's, ...),
each round both calls, keeping each one's CPU seconds (this process's user + system time), wall
seconds and the load average at its start; the results are compared (same pairs; largest
absolute and relative difference of the lengths).

Run: ``.venv/bin/python bench/bench_loose_borders.py [--boundaries FILE] [--against REV]
[--rounds 7]`` (``REV`` defaults to ``eebc625``, before the border stretches were vectorised;
its ``geo/borders.py`` is read with ``git show``). Writes ``bench/results/loose_borders.json``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_graph_commands import stats  # median, min, max, IQR and the runs

import geo.adjacency
from geo.borders import loose_borders
from geo.boundaries import load_boundaries

ROOT = Path(__file__).resolve().parent.parent


def caught_calls(boundaries: str) -> tuple[list[tuple[Any, ...]], Any]:
    """The arguments of every ``loose_borders`` call of one ``build_adjacency``, and the codes."""
    gdf = load_boundaries(boundaries)
    calls: list[tuple[Any, ...]] = []
    real = geo.adjacency.loose_borders

    def catch(loose: Any, pairs: Any, bounds: Any, **kw: Any) -> Any:
        calls.append((loose, pairs, bounds, kw))
        return real(loose, pairs, bounds, **kw)

    geo.adjacency.loose_borders = catch  # type: ignore[assignment]
    try:
        geo.adjacency.build_adjacency(gdf)
    finally:
        geo.adjacency.loose_borders = real
    return calls, gdf.index.astype(str).to_numpy()


def revision_loose_borders(rev: str) -> Callable[..., dict[tuple[int, int], float]]:
    """``loose_borders`` from ``geo/borders.py`` as it is at ``rev``."""
    source = subprocess.run(
        ["git", "show", f"{rev}:geo/borders.py"], cwd=ROOT, check=True, capture_output=True
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="bench-loose-")) / "borders_at_rev.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("borders_at_rev", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn: Callable[..., dict[tuple[int, int], float]] = module.loose_borders
    return fn


def measured(fn: Callable[[], Any]) -> tuple[Any, dict[str, float]]:
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, {"wall_s": time.perf_counter() - t, "cpu_s": time.process_time() - c, "load1": load}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", default=str(ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg")
    )
    ap.add_argument("--against", default="eebc625")
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--out", default=str(ROOT / "bench/results/loose_borders.json"))
    args = ap.parse_args()
    calls, codes = caught_calls(args.boundaries)
    before = revision_loose_borders(args.against)

    def run(fn: Callable[..., dict[tuple[int, int], float]]) -> dict[tuple[int, int], float]:
        out: dict[tuple[int, int], float] = {}
        for loose, pairs, bounds, kw in calls:
            out.update(fn(loose, pairs, bounds, **kw))
        return out

    ours, theirs = [], []
    for _ in range(args.rounds):  # A B A B ...
        new, m = measured(lambda: run(loose_borders))
        ours.append(m)
        old, m = measured(lambda: run(before))
        theirs.append(m)
    common = sorted(set(new) & set(old))
    diffs = sorted(
        ((abs(new[k] - old[k]), abs(new[k] - old[k]) / old[k], k) for k in common), reverse=True
    )
    by_rel = sorted(diffs, key=lambda d: d[1], reverse=True)

    def pair(k: tuple[int, int]) -> list[str]:
        return [str(codes[k[0]]), str(codes[k[1]])]

    result = {
        "data": Path(args.boundaries).name,
        "calls": [
            {"pairs": len(c[1]), "tolerance_m": c[3]["tolerance_m"], "segments": len(c[0][0])}
            for c in calls
        ],
        "against": args.against,
        "order": "interleaved: this tree, against, this tree, against, ...",
        "rounds": args.rounds,
        "this_tree": {k: stats([m[k] for m in ours], 4) for k in ("cpu_s", "wall_s")},
        "against_rev": {k: stats([m[k] for m in theirs], 4) for k in ("cpu_s", "wall_s")},
        "load1_at_start": [
            round(m["load1"], 2) for ab in zip(ours, theirs, strict=True) for m in ab
        ],
        "speedup_cpu": round(
            statistics.median(m["cpu_s"] for m in theirs)
            / statistics.median(m["cpu_s"] for m in ours),
            1,
        ),
        "pairs_with_length": len(new),
        "same_pairs": set(new) == set(old),
        "only_this_tree": [pair(k) for k in sorted(set(new) - set(old))],
        "only_against": [pair(k) for k in sorted(set(old) - set(new))],
        "max_abs_diff_m": {
            "diff": round(diffs[0][0], 6),
            "pair": pair(diffs[0][2]),
            "this_tree_m": round(new[diffs[0][2]], 4),
            "against_m": round(old[diffs[0][2]], 4),
        },
        "max_rel_diff": {
            "diff": round(by_rel[0][1], 7),
            "pair": pair(by_rel[0][2]),
            "this_tree_m": round(new[by_rel[0][2]], 4),
            "against_m": round(old[by_rel[0][2]], 4),
        },
        "total_m": {
            "this_tree": round(sum(new.values()), 2),
            "against": round(sum(old.values()), 2),
        },
    }
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Accuracy of the graph's border lengths against an independent computation, nationwide.

For every ``shared_edge`` pair, on both units clipped to where they can meet and taken to a local
metric frame on the ellipsoid (:func:`geo.measure.local_metric_frame`):

- ``coincide_m``: GEOS's intersection of the two boundaries (where they exactly coincide), in
  lon/lat, its geodesic length on WGS84 (pyproj);
- ``within_m``: the length of one boundary lying within 0.5 m of the other (mean of both ways);
- ``outside_overlap_m``: ``coincide_m`` less the outline of the units' overlap, if they overlap
  (the polygonal part of GEOS's intersection of the two: boundary with both interiors on one
  side is no border), the reference of ``tests/geo/test_borders_realdata.py``.

Run: ``.venv/bin/python bench/bench_border_accuracy.py [--boundaries FILE] [--out JSON]``
Prints how many pairs differ from ``within_m`` by more than 2 % and how many are below
``coincide_m``; writes the figures to ``bench/results/graph_borders.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import shapely
from pyproj import Geod

from geo.adjacency import build_graph
from geo.boundaries import load_boundaries
from geo.measure import local_metric_frame

GEOD = Geod(ellps="WGS84")
ROOT = Path(__file__).resolve().parent.parent


def reference(
    a: shapely.Geometry, b: shapely.Geometry, near_m: float = 0.5
) -> tuple[float, float, float]:
    """(coincide_m, within_m, outside_overlap_m) for two units, measured independently of
    :mod:`geo.borders`."""
    (ax0, ay0, ax1, ay1), (bx0, by0, bx1, by1) = a.bounds, b.bounds
    x0, y0, x1, y1 = max(ax0, bx0), max(ay0, by0), min(ax1, bx1), min(ay1, by1)
    pad = 1e-4
    box = (x0 - pad, y0 - pad, x1 + pad, y1 + pad)
    ca, cb = shapely.clip_by_rect(a, *box), shapely.clip_by_rect(b, *box)
    # the clip box's own edges are not boundary: drop what lies on them
    frame = shapely.boundary(shapely.box(*box))
    ba = shapely.difference(shapely.boundary(ca), frame)
    bb = shapely.difference(shapely.boundary(cb), frame)
    # exact coincidence does not depend on the frame: GEOS in lon/lat, geodesic lengths
    common = shapely.intersection(ba, bb)
    coincide = GEOD.geometry_length(common)
    overlap = [
        p
        for p in shapely.get_parts(shapely.intersection(ca, cb))
        if p.geom_type in ("Polygon", "MultiPolygon")
    ]
    outside = (
        GEOD.geometry_length(shapely.difference(common, shapely.union_all(overlap)))
        if overlap
        else coincide
    )
    to_m = local_metric_frame((box[1] + box[3]) / 2, (box[0] + box[2]) / 2)
    ba, bb = shapely.transform(ba, to_m), shapely.transform(bb, to_m)
    na = shapely.intersection(ba, shapely.buffer(bb, near_m)).length
    nb = shapely.intersection(bb, shapely.buffer(ba, near_m)).length
    return coincide, float(na + nb) / 2, outside


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--boundaries", default=str(ROOT.parent / "shared/data/boundaries/vietnam-2025.gpkg")
    )
    ap.add_argument("--out", default=str(ROOT / "bench/results/graph_borders.json"))
    args = ap.parse_args()
    gdf = load_boundaries(args.boundaries)
    G = build_graph(gdf)
    geom = gdf.geometry
    t = time.perf_counter()
    rows = []
    for u, v, d in G.edges(data=True):
        if d["kind"] != "shared_edge":
            continue
        coincide, within, outside = reference(geom[u], geom[v])
        rows.append((u, v, d["shared_border_m"], coincide, within, outside))
    ours = np.array([r[2] for r in rows])
    coincide = np.array([r[3] for r in rows])
    within = np.array([r[4] for r in rows])
    rel = np.abs(ours - within) / np.maximum(within, 1e-9)
    outside = np.array([r[5] for r in rows])
    below = ours < coincide * (1 - 1e-5) - 0.01
    below_outside = ours < outside * (1 - 1e-5) - 1e-3
    worst = sorted(zip(rel.tolist(), rows, strict=True), reverse=True)[:15]
    result = {
        "data": Path(args.boundaries).name,
        "shared_edge_pairs": len(rows),
        "differ_from_within_0_5m_by_over_2pct": int((rel > 0.02).sum()),
        "differ_by_over_1pct": int((rel > 0.01).sum()),
        "below_coincide": int(below.sum()),
        "below_coincide_pairs": [list(r[:2]) for r, b in zip(rows, below, strict=True) if b][:20],
        "below_coincide_outside_overlaps": int(below_outside.sum()),
        "below_coincide_outside_overlaps_pairs": [
            list(r[:2]) for r, b in zip(rows, below_outside, strict=True) if b
        ][:20],
        "worst": [
            {
                "a": r[0],
                "b": r[1],
                "ours_m": round(r[2], 1),
                "coincide_m": round(r[3], 1),
                "within_0_5m": round(r[4], 1),
                "rel": round(x, 4),
            }
            for x, r in worst
        ],
        "reference_seconds": round(time.perf_counter() - t, 1),
    }
    Path(args.out).write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "worst"}, ensure_ascii=False))
    for w in result["worst"]:
        print(w)
    return 0


if __name__ == "__main__":
    sys.exit(main())

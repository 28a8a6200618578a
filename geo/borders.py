"""Border measurement for the adjacency graph (see :mod:`geo.adjacency`): exact shared edges
by hashing segments (:mod:`geo.exact_edges`), the stretches those miss where boundaries coincide
without sharing vertices (:mod:`geo.border_stretches`), and GEOS measures of the pairs that share
no exact edge (here)."""

from __future__ import annotations

from typing import Any

import shapely

from geo.border_stretches import loose_borders as loose_borders  # re-exported: the loose part
from geo.exact_edges import ExactEdges, exact_shared_edges
from geo.measure import local_metric_frame

__all__ = ["ExactEdges", "exact_shared_edges", "loose_borders", "measure_pair", "overlap_m2"]


def overlap_m2(a: shapely.Geometry, b: shapely.Geometry, *, pad_deg: float) -> float:
    """The area (m²) where two units overlap: of units that share exact edges, the only
    measure the graph still needs (their border is those edges)."""
    clipped = _clipped_pair(a, b, pad_deg)
    if clipped is None:
        return 0.0
    return float(shapely.intersection(*clipped).area)


def _clipped_pair(
    a: shapely.Geometry, b: shapely.Geometry, pad_deg: float
) -> tuple[shapely.Geometry, shapely.Geometry] | None:
    """Both units clipped to where they can interact (their bounding boxes' intersection,
    padded), in a local metric frame at its centre; None if either has nothing there."""
    ax0, ay0, ax1, ay1 = a.bounds
    bx0, by0, bx1, by1 = b.bounds
    box = (
        max(ax0, bx0) - pad_deg,
        max(ay0, by0) - pad_deg,
        min(ax1, bx1) + pad_deg,
        min(ay1, by1) + pad_deg,
    )
    if box[2] <= box[0] or box[3] <= box[1]:  # no tolerance, boxes only touching: a hair wide
        box = (box[0], box[1], max(box[2], box[0] + 1e-8), max(box[3], box[1] + 1e-8))
    ca, cb = shapely.clip_by_rect(a, *box), shapely.clip_by_rect(b, *box)
    if ca.is_empty or cb.is_empty:
        return None
    lat0, lon0 = (box[1] + box[3]) / 2, (box[0] + box[2]) / 2
    to_m = local_metric_frame(lat0, lon0)
    return shapely.transform(ca, to_m), shapely.transform(cb, to_m)


def measure_pair(
    a: shapely.Geometry, b: shapely.Geometry, *, tolerance_m: float, pad_deg: float
) -> dict[str, Any]:
    """Measure two units that share no exact edge: gap, common line, length within tolerance
    and overlap area, in metres, on both clipped to where they can interact."""
    clipped = _clipped_pair(a, b, pad_deg)
    if clipped is None:
        return {"gap_m": float("inf")}
    ma, mb = clipped
    gap = float(shapely.distance(ma, mb))
    out = {"gap_m": gap}
    if gap > tolerance_m:
        return out
    ba, bb = shapely.boundary(ma), shapely.boundary(mb)
    common = shapely.intersection(ba, bb) if gap == 0 else shapely.LineString()
    near_a = shapely.intersection(ba, shapely.buffer(bb, tolerance_m))
    near_b = shapely.intersection(bb, shapely.buffer(ba, tolerance_m))
    overlap = shapely.intersection(ma, mb) if gap == 0 else shapely.Polygon()
    if overlap.area > 0:
        # boundary that outlines the overlap has both interiors on one side: not a border
        common, near_a, near_b = (shapely.difference(g, overlap) for g in (common, near_a, near_b))
    out.update(
        common_m=float(common.length),
        near_m=float(near_a.length + near_b.length) / 2,
        overlap_m2=float(overlap.area),
    )
    return out

"""Border measurement for the adjacency graph: exact shared edges by hashing segments
(:mod:`geo.exact_edges`), and GEOS measures of the pairs that share no exact edge (see
:mod:`geo.adjacency`)."""

from __future__ import annotations

from typing import Any

import numpy as np
import shapely

from geo.exact_edges import ExactEdges, exact_shared_edges
from geo.measure import local_metric_frame, metres_per_degree

__all__ = ["ExactEdges", "exact_shared_edges", "loose_borders", "measure_pair", "overlap_m2"]


#: Segments are shortened by this much at each end (metres) before their flat-capped buffers
#: are taken, so that a boundary merely *continuing* from a segment's end (along the cap's edge)
#: is never inside it.
_CAP_EPS_M = 1e-5


def _within(lines: np.ndarray, segs: np.ndarray, tolerance_m: float) -> float:
    """Length of ``lines`` lying within ``tolerance_m`` of the interior of some segment of
    ``segs`` (rows ``x0, y0, x1, y1`` in metres), measured perpendicularly: each segment's
    flat-capped buffer, so that two boundaries that only meet at a point (a corner, a triple
    junction) add nothing, while a stretch where they coincide or run side by side counts."""
    d = segs[:, 2:] - segs[:, :2]
    norm = np.hypot(d[:, 0], d[:, 1])
    keep = norm > 4 * _CAP_EPS_M
    segs, d, norm = segs[keep], d[keep], norm[keep]
    if len(segs) == 0:
        return 0.0
    u = d / norm[:, None] * _CAP_EPS_M
    ends = np.stack((segs[:, :2] + u, segs[:, 2:] - u), axis=1)
    rects = shapely.buffer(shapely.linestrings(ends), tolerance_m, cap_style="flat")
    zone = shapely.union_all(rects)
    return float(shapely.intersection(shapely.multilinestrings(lines), zone).length)


def loose_borders(
    loose: tuple[np.ndarray, np.ndarray],
    pairs: list[tuple[int, int]],
    bounds: np.ndarray,
    *,
    tolerance_m: float,
    pad_deg: float,
) -> dict[tuple[int, int], float]:
    """Border the exact edges miss, for the given pairs of units: where the unmatched boundary
    of one runs within ``tolerance_m`` of the other's (the same stretch digitised with other
    vertices, a vertex of one lying on a segment of the other, or a hair's width apart), in
    metres, the mean of the two sides' lengths. Overlap outlines are not in ``loose``."""
    segs, unit = loose
    out: dict[tuple[int, int], float] = {}
    if not pairs or len(segs) == 0:
        return out
    first = np.searchsorted(unit, np.arange(len(bounds) + 1))
    # each segment's bounding box, once (x0, y0, x1, y1)
    seg_box = np.column_stack(
        (
            np.minimum(segs[:, 0], segs[:, 2]),
            np.minimum(segs[:, 1], segs[:, 3]),
            np.maximum(segs[:, 0], segs[:, 2]),
            np.maximum(segs[:, 1], segs[:, 3]),
        )
    )
    for i, j in pairs:
        box = (
            max(bounds[i, 0], bounds[j, 0]) - pad_deg,
            max(bounds[i, 1], bounds[j, 1]) - pad_deg,
            min(bounds[i, 2], bounds[j, 2]) + pad_deg,
            min(bounds[i, 3], bounds[j, 3]) + pad_deg,
        )
        sa, sb = (_in_box(segs, seg_box, first[k], first[k + 1], box) for k in (i, j))
        if len(sa) == 0 or len(sb) == 0:
            continue
        # both end points into the local metric frame of local_metric_frame at once
        lat0, lon0 = (box[1] + box[3]) / 2, (box[0] + box[2]) / 2
        kx, ky = metres_per_degree(lat0)
        origin, scale = np.array([lon0, lat0, lon0, lat0]), np.array([kx, ky, kx, ky])
        ma, mb = (sa - origin) * scale, (sb - origin) * scale
        la = shapely.linestrings(ma.reshape(-1, 2, 2))
        lb = shapely.linestrings(mb.reshape(-1, 2, 2))
        ia, ib = shapely.STRtree(lb).query(la, predicate="dwithin", distance=tolerance_m)
        # a border has the two interiors on opposite sides: the segments run in opposite
        # directions; boundary running the same way outlines an overlap and is no border
        da, db = ma[ia, 2:] - ma[ia, :2], mb[ib, 2:] - mb[ib, :2]
        opposite = (da * db).sum(axis=1) < 0
        ia, ib = ia[opposite], ib[opposite]
        if len(ia) == 0:
            continue
        ia, ib = np.unique(ia), np.unique(ib)
        length = (_within(la[ia], mb[ib], tolerance_m) + _within(lb[ib], ma[ia], tolerance_m)) / 2
        if length > 0:
            out[(i, j)] = length
    return out


def _in_box(
    segs: np.ndarray, seg_box: np.ndarray, lo: int, hi: int, box: tuple[float, float, float, float]
) -> np.ndarray:
    """Segments ``lo:hi`` whose bounding boxes meet ``box``."""
    b = seg_box[lo:hi]
    inside = (b[:, 2] >= box[0]) & (b[:, 0] <= box[2]) & (b[:, 3] >= box[1]) & (b[:, 1] <= box[3])
    result: np.ndarray = segs[lo:hi][inside]
    return result


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

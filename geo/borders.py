"""Border measurement for the adjacency graph: exact shared edges by hashing segments, and
GEOS measures of the pairs that share no exact edge (see :mod:`geo.adjacency`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import shapely

from geo.border_stretches import loose_borders as loose_borders  # re-exported: the loose part
from geo.measure import local_metric_frame, segment_lengths_m


def _ring_layout(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per ring, in ``get_coordinates`` order: its unit, its number of coordinates, and whether
    it is an exterior ring."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    n_interior = shapely.get_num_interior_rings(parts)
    if not n_interior.any():
        return owner, shapely.get_num_coordinates(parts), np.ones(len(parts), bool)
    units, lengths, exterior = [], [], []
    counts = shapely.get_num_coordinates(parts)
    for i in range(len(parts)):
        if n_interior[i] == 0:
            units.append(owner[i])
            lengths.append(counts[i])
            exterior.append(True)
        else:
            rings = shapely.get_rings(parts[i])
            units += [owner[i]] * len(rings)
            lengths += list(shapely.get_num_coordinates(rings))
            exterior += [True] + [False] * (len(rings) - 1)
    return np.asarray(units), np.asarray(lengths), np.asarray(exterior)


#: Rings with a shoelace area below this (square degrees, ~100 m²) are oriented by GEOS.
_TINY_RING_DEG2 = 1e-8

_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)
_C3 = np.uint64(0x165667B19E3779F9)


class ExactEdges(NamedTuple):
    """What :func:`exact_shared_edges` finds (see there)."""

    borders: pd.DataFrame
    same_side: pd.DataFrame
    unmatched: np.ndarray
    loose: tuple[np.ndarray, np.ndarray]


def exact_shared_edges(geoms: np.ndarray) -> ExactEdges:
    """Find segments shared exactly by two units.

    Returns
    -------
    borders
        One row per pair ``(i, j)`` of positions (``i < j``) with ``length_m``, the summed
        length of the segments they share traversed in opposite directions.
    same_side
        Pairs that share segments traversed in the same direction (overlapping units), with the
        length of those segments.
    unmatched
        Per unit, the number of its segments shared with no other unit (outer boundary of the
        data set, or boundary that does not match its neighbour's exactly).
    loose
        Those unmatched segments (less the ones outlining an overlap): ``(segments, unit)``,
        rows ``x0, y0, x1, y1`` in degrees, oriented with the unit's interior on the left, and
        the position of each one's unit, in unit order.
    """
    unit_of_ring, ring_len, exterior = _ring_layout(geoms)
    xy = shapely.get_coordinates(geoms)
    n = len(xy)
    if n == 0:
        empty = pd.DataFrame({"i": [], "j": [], "length_m": []})
        none = (np.empty((0, 4)), np.empty(0, dtype=np.intp))
        return ExactEdges(empty, empty.copy(), np.zeros(len(geoms), int), none)
    ends = np.cumsum(ring_len)
    starts = ends - ring_len
    x, y = xy[:, 0], xy[:, 1]
    # Every array here is as long as the data (7.1 M nationwide, 57 MB at 8 bytes): in a fresh
    # process each new one costs the kernel more to map than numpy to fill, so temporaries are
    # reused in place and dropped as soon as they are done with.
    # segment k goes from vertex k to k + 1; the last vertex of each ring starts none
    seg_ok = np.ones(n - 1, bool)
    seg_ok[ends[:-1] - 1] = False
    # orient rings: signed area (shoelace) per ring; exterior rings should be counter-clockwise
    cross = x[:-1] * y[1:]
    cross -= x[1:] * y[:-1]
    cross[~seg_ok] = 0.0
    area2 = np.add.reduceat(cross, starts)  # every ring starts before the last vertex
    del cross
    # in raw degrees the products (~100° x ~20°) cancel to ~1e-13 each: the sign of a ring a
    # few decimetres across (a sliver part of one unit in a hole of its neighbour) is noise, so
    # rings under ~100 m² ask GEOS's robust orientation test instead
    tiny = np.flatnonzero(np.abs(area2) < _TINY_RING_DEG2)
    if len(tiny):
        rings = [shapely.linearrings(xy[starts[r] : ends[r]]) for r in tiny.tolist()]
        area2[tiny] = np.where(shapely.is_ccw(rings), 1.0, -1.0)
    flip_ring = (area2 > 0) != exterior
    ring_of_seg = np.repeat(np.arange(len(ring_len), dtype=np.int32), ring_len)[:-1]
    unit_of_seg = unit_of_ring.astype(np.int32)[ring_of_seg]
    flip_seg = flip_ring[ring_of_seg]
    del ring_of_seg

    hs, forward, keys, low = _segment_keys(np.ascontiguousarray(xy), seg_ok, flip_seg)
    keys.sort()
    high = keys & ~low
    keys &= low  # the segments' positions, in hash order (below 2**63: the same bits as intp)
    order = keys.view(np.intp)
    dup = high[1:] == high[:-1]
    dup &= high[1:] != 0
    del high
    first = np.flatnonzero(dup)
    a, b = order[first], order[first + 1]
    # A run of three or more equal keys (an overlap outlined three times, or a truncated-hash
    # collision) is rare: compare every pair in it, not just neighbours in the sort.
    long_runs = np.flatnonzero(dup[1:] & dup[:-1])
    if len(long_runs):
        extra: set[tuple[int, int]] = set()
        for k in long_runs.tolist():
            s0 = k
            while s0 > 0 and dup[s0 - 1]:
                s0 -= 1
            e0 = k + 1
            while e0 < len(dup) and dup[e0]:
                e0 += 1
            members = order[s0 : e0 + 1].tolist()
            extra.update((p_, q_) for i_, p_ in enumerate(members) for q_ in members[i_ + 2 :])
        if extra:
            ea, eb = np.asarray(sorted(extra), dtype=np.intp).T
            a, b = np.concatenate((a, ea)), np.concatenate((b, eb))
    del order, keys, dup, first
    # pairs in order of their first segment: the gathers below then walk memory forwards
    # instead of jumping around in hash order (one packed integer sort, ~10x cheaper than them)
    if n < 2**32:
        packed = (a.astype(np.uint64) << np.uint64(32)) | b.astype(np.uint64)
        packed.sort()
        a = (packed >> np.uint64(32)).astype(np.intp)
        b = (packed & np.uint64(0xFFFFFFFF)).astype(np.intp)
    # the full 64-bit hashes agree: the same two exact end points (a false match needs a
    # 64-bit collision among the matched segments, probability ~1e-6 nationwide)
    ua, ub = unit_of_seg[a], unit_of_seg[b]
    valid = (hs[a] == hs[b]) & (ua != ub)
    a, b, ua, ub = a[valid], b[valid], ua[valid], ub[valid]
    opposite = forward[a] != forward[b]
    # lengths of the matched segments only (about half of all: each border segment is carried
    # by two units and measured once)
    a1 = a + 1
    lengths = segment_lengths_m(x[a], y[a], x[a1], y[a1])
    del a1
    lo_u, hi_u = np.minimum(ua, ub), np.maximum(ua, ub)
    matched = np.zeros(n - 1, bool)
    matched[a[opposite]] = True
    matched[b[opposite]] = True
    lone = seg_ok & ~matched
    unmatched = np.bincount(unit_of_seg[lone], minlength=len(geoms))
    outline = np.zeros(n - 1, bool)
    outline[a[~opposite]] = True
    outline[b[~opposite]] = True
    loose = _loose_segments(xy, lone & ~outline, unit_of_seg, flip_seg)
    n_units = len(geoms)

    def per_pair(mask: np.ndarray) -> pd.DataFrame:
        pair = lo_u[mask].astype(np.int64) * n_units + hi_u[mask]
        # summed per pair in the segments' order (np.bincount over the pairs' hashed codes: no
        # sort, and no table of n_units² bins to map), listed by pair
        codes_, uniq = pd.factorize(pair)
        total = np.bincount(codes_, weights=lengths[mask], minlength=len(uniq))
        by_pair = np.argsort(uniq)
        keys_, total = uniq[by_pair], total[by_pair]
        return pd.DataFrame({"i": keys_ // n_units, "j": keys_ % n_units, "length_m": total})

    return ExactEdges(per_pair(opposite), per_pair(~opposite), unmatched, loose)


#: Vertices (or segments) hashed per block by :func:`_segment_keys`: its temporaries stay in the
#: processor's cache instead of each being as long as the data.
_BLOCK = 1 << 16


def _segment_keys(
    xy: np.ndarray, seg_ok: np.ndarray, flip_seg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.uint64]:
    """Hash every segment from the exact bits of its two end points (either way round).

    Returns the 64-bit hashes (0 for the segments ``seg_ok`` excludes, which this also clears
    for zero-length segments), whether each runs forwards along its canonical orientation
    (lower vertex hash first) once its ring has the interior on the left (``flip_seg``), and
    sort keys packing each hash's high bits with the segment's position (``low`` masks the
    position): a plain sort of integers is several times faster than an argsort, and the
    position comes back free.
    """
    n = len(xy)
    bits = xy.view(np.uint64)
    hv = np.empty(n, np.uint64)
    hs = np.empty(n - 1, np.uint64)
    forward = np.empty(n - 1, bool)
    keys = np.empty(n - 1, np.uint64)
    low = (np.uint64(1) << np.uint64(max(1, int(n - 1).bit_length()))) - np.uint64(1)
    with np.errstate(over="ignore"):
        for k in range(0, n, _BLOCK):
            b = bits[k : k + _BLOCK]
            h = np.multiply(b[:, 0], _C1, out=hv[k : k + _BLOCK])
            t = b[:, 1] >> np.uint64(31)
            t += b[:, 1] * _C2
            h ^= t
        for k in range(0, n - 1, _BLOCK):
            s = slice(k, min(k + _BLOCK, n - 1))
            ha, hb = hv[s], hv[k + 1 : s.stop + 1]
            ok = seg_ok[s]
            ok &= ha != hb  # no zero-length segments
            np.less(ha, hb, out=forward[s])
            forward[s] ^= flip_seg[s]
            hi = np.maximum(ha, hb)
            lo = np.minimum(ha, hb, out=hs[s])
            lo *= _C3
            hi ^= hi >> np.uint64(29)
            hi *= _C1
            lo += hi
            lo[~ok] = 0  # parked at 0 and ignored
            np.bitwise_and(lo, ~low, out=keys[s])
            keys[s] |= np.arange(k, s.stop, dtype=np.uint64)
    return hs, forward, keys, low


def _loose_segments(
    xy: np.ndarray, lone: np.ndarray, unit_of_seg: np.ndarray, flip: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The flagged segments as ``(x0, y0, x1, y1)`` rows, oriented with their unit's interior
    on the left, and their units (in unit order)."""
    seg = np.flatnonzero(lone)
    rows = np.column_stack((xy[seg], xy[seg + 1]))
    f = flip[seg]
    rows[f] = rows[f][:, [2, 3, 0, 1]]
    return rows, unit_of_seg[seg].astype(np.intp)


def measure_pair(
    a: shapely.Geometry, b: shapely.Geometry, *, tolerance_m: float, pad_deg: float
) -> dict[str, Any]:
    """Measure two units that share no exact edge: gap, common line, length within tolerance
    and overlap area, in metres, on both clipped to where they can interact."""
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
        return {"gap_m": float("inf")}
    lat0, lon0 = (box[1] + box[3]) / 2, (box[0] + box[2]) / 2
    to_m = local_metric_frame(lat0, lon0)
    ma, mb = shapely.transform(ca, to_m), shapely.transform(cb, to_m)
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

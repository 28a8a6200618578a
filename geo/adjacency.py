"""Build the commune adjacency graph, with border lengths and gaps in metres.

How it works (assumes the polygons form a near-coverage, as official boundaries do):

1. **Exact shared edges.** Every boundary segment of every polygon is hashed from the exact
   bits of its two end points; segments found in two units, traversed in opposite directions
   once each ring is oriented (exterior counter-clockwise), are shared border. Their lengths are
   summed per pair. This is a few vectorised NumPy passes over all vertices (7.1 M nationwide)
   instead of one GEOS overlay per pair. A segment found in two units *in the same direction*
   has both interiors on the same side: it outlines an overlap, not a border, and is not counted
   — that is what keeps overlaps (the Lào Cai triple overlap) from creating border length.
2. **Everything else near.** Pairs whose bounding boxes come within the tolerance but share no
   exact edge (non-matching vertices, slivers, gaps, point contacts) are measured with GEOS on
   both polygons clipped to the area where they can interact, in a local metric frame: the gap,
   the length of common boundary line, and the length of boundary running within the tolerance.

Lengths are measured on the WGS84 ellipsoid with the local radii of curvature at each segment's
mid-latitude (a local tangent-plane approximation): for segments under 10 km the relative error
is below 1e-6, far under the precision of the boundaries themselves. No reprojection of the
whole data set is needed.
"""

from __future__ import annotations

import logging
import time

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from geo.boundaries import BoundaryReport
from geo.errors import GraphError
from geo.measure import local_metric_frame, metres_per_degree, segment_lengths_m

log = logging.getLogger(__name__)

KINDS = ("shared_edge", "point_touch", "near_gap")

_GEOD = Geod(ellps="WGS84")


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


_C1 = np.uint64(0x9E3779B97F4A7C15)
_C2 = np.uint64(0xC2B2AE3D27D4EB4F)
_C3 = np.uint64(0x165667B19E3779F9)


def exact_shared_edges(geoms: np.ndarray) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray]:
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
    """
    unit_of_ring, ring_len, exterior = _ring_layout(geoms)
    xy = shapely.get_coordinates(geoms)
    n = len(xy)
    if n == 0:
        empty = pd.DataFrame({"i": [], "j": [], "length_m": []})
        return empty, empty.copy(), np.zeros(len(geoms), int)
    ends = np.cumsum(ring_len)
    starts = ends - ring_len
    x, y = xy[:, 0], xy[:, 1]
    # segment k goes from vertex k to k + 1; the last vertex of each ring starts none
    seg_ok = np.ones(n - 1, bool)
    seg_ok[ends[:-1] - 1] = False
    # orient rings: signed area (shoelace) per ring; exterior rings should be counter-clockwise
    cross = x[:-1] * y[1:] - x[1:] * y[:-1]
    cross[~seg_ok] = 0.0
    area2 = np.add.reduceat(np.append(cross, 0.0), starts)
    flip_ring = (area2 > 0) != exterior
    ring_of_seg = np.repeat(np.arange(len(ring_len), dtype=np.int32), ring_len)[:-1]
    unit_of_seg = unit_of_ring.astype(np.int32)[ring_of_seg]

    bits = np.ascontiguousarray(xy).view(np.uint64)
    with np.errstate(over="ignore"):
        hv = bits[:, 0] * _C1 ^ (bits[:, 1] * _C2 + (bits[:, 1] >> np.uint64(31)))
        ha, hb = hv[:-1], hv[1:]
        lo = np.minimum(ha, hb)
        hi = np.maximum(ha, hb)
        hs = lo * _C3 + (hi ^ (hi >> np.uint64(29))) * _C1
    seg_ok &= ha != hb  # no zero-length segments
    hs[~seg_ok] = np.uint64(0)  # parked at 0 and ignored below
    # direction along the segment's canonical orientation (lower vertex hash first), once
    # each ring is oriented with the interior on the left
    forward = (ha < hb) ^ flip_ring[ring_of_seg]

    # Sort keys that pack the hash's high bits with the segment's position: a plain sort of
    # integers is several times faster than an argsort, and the position comes back free.
    shift = np.uint64(max(1, int(n - 1).bit_length()))
    low = (np.uint64(1) << shift) - np.uint64(1)
    keys = (hs & ~low) | np.arange(n - 1, dtype=np.uint64)
    keys.sort()
    order = (keys & low).astype(np.intp)
    high = keys & ~low
    dup = (high[1:] == high[:-1]) & (high[1:] != 0)
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
    lengths = segment_lengths_m(x[a], y[a], x[a + 1], y[a + 1])
    lo_u, hi_u = np.minimum(ua, ub), np.maximum(ua, ub)
    matched = np.zeros(n - 1, bool)
    matched[a[opposite]] = True
    matched[b[opposite]] = True
    lone = seg_ok & ~matched
    unmatched = np.bincount(unit_of_seg[lone], minlength=len(geoms))
    n_units = len(geoms)

    def per_pair(mask: np.ndarray) -> pd.DataFrame:
        pair = lo_u[mask].astype(np.int64) * n_units + hi_u[mask]
        # a dense tally is fastest for many segments up to ~7,000 units; a few segments (the
        # same-direction ones) are grouped instead of allocating n_units² bins for them
        if n_units * n_units <= 50_000_000 and len(pair) * 4 >= n_units * n_units:
            total = np.bincount(pair, weights=lengths[mask], minlength=n_units * n_units)
            keys_ = np.flatnonzero(total)
            return pd.DataFrame(
                {"i": keys_ // n_units, "j": keys_ % n_units, "length_m": total[keys_]}
            )
        df = (
            pd.DataFrame({"k": pair, "length_m": lengths[mask]})
            .groupby("k", sort=True)["length_m"]
            .sum()
        )
        k_ = df.index.to_numpy()
        return pd.DataFrame({"i": k_ // n_units, "j": k_ % n_units, "length_m": df.to_numpy()})

    return per_pair(opposite), per_pair(~opposite), unmatched


def measure_pair(
    a: shapely.Geometry, b: shapely.Geometry, *, tolerance_m: float, pad_deg: float
) -> dict:
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


def build_graph(
    gdf: gpd.GeoDataFrame,
    *,
    tolerance_m: float = 10.0,
    min_border_m: float | None = None,
    overlap_warn_m2: float = 100.0,
    check_overlaps: bool = False,
    report: BoundaryReport | None = None,
) -> nx.Graph:
    """Build the adjacency graph of the units in ``gdf``.

    Parameters
    ----------
    gdf
        Boundaries as returned by :func:`geo.boundaries.load_boundaries` (index = commune code,
        EPSG:4326).
    tolerance_m
        Units less than this far apart are neighbours even if they do not touch (``near_gap``).
    min_border_m
        For units that touch without exactly shared edges, the length of boundary running within
        the tolerance above which they count as sharing an edge rather than a point; default
        ``4 * tolerance_m`` (two boundaries crossing at a point run within the tolerance for about
        ``2 * tolerance_m`` each side).
    overlap_warn_m2
        Overlaps between units larger than this are reported as warnings.
    check_overlaps
        Also measure overlaps between units that share exact edges but whose boundaries do not
        match everywhere (slower: a GEOS overlay per such pair, ~4 s more nationwide). Without
        it, overlaps are found between units with no exact edge in common and where the same
        segments outline an overlap (both interiors on one side).
    report
        A report to add overlap warnings to (default: ``gdf.attrs["report"]`` if present).

    Returns
    -------
    networkx.Graph
        Nodes are commune codes with ``name``, ``full_name``, ``name_ascii``, ``unit_type``,
        ``province_code``, ``province_name``, ``population``, ``population_suspect``,
        ``area_km2``, ``lon``, ``lat`` (a representative point inside the polygon). Edges have
        ``shared_border_m``, ``gap_m``, ``kind`` (``shared_edge``, ``point_touch``,
        ``near_gap``) and ``distance_km`` between the representative points (geodesic).
        ``G.graph`` holds ``tolerance_m``, ``islands``, ``overlaps`` and ``seconds``.

    Raises
    ------
    GraphError
        If ``gdf`` has no CRS, is not in EPSG:4326, or its index is not unique.
    """
    started = time.perf_counter()
    if gdf.crs is None or not gdf.crs.equals("EPSG:4326"):
        raise GraphError(
            "build_graph needs boundaries in EPSG:4326 (use geo.boundaries.load_boundaries)"
        )
    if not gdf.index.is_unique:
        raise GraphError("build_graph needs unique commune codes as the index")
    if tolerance_m < 0:
        raise GraphError(f"tolerance_m must be >= 0, got {tolerance_m}")
    min_border = 4 * tolerance_m if min_border_m is None else min_border_m
    report = report if report is not None else gdf.attrs.get("report")
    codes = np.asarray(gdf.index.astype(str))
    geoms = np.asarray(gdf.geometry.values, dtype=object)

    borders, same_side, unmatched = exact_shared_edges(geoms)
    log.debug("exact shared edges: %d pairs (%.2fs)", len(borders), time.perf_counter() - started)

    # candidate pairs: bounding boxes within the tolerance (in degrees, conservatively)
    bounds = shapely.bounds(geoms)
    max_lat = float(np.nanmax(np.abs(bounds[:, [1, 3]]))) if len(bounds) else 0.0
    kx, ky = metres_per_degree(min(max_lat, 89.0))
    pad = tolerance_m / min(float(kx), float(ky)) * 1.01
    boxes = shapely.box(
        bounds[:, 0] - pad, bounds[:, 1] - pad, bounds[:, 2] + pad, bounds[:, 3] + pad
    )
    tree = shapely.STRtree(boxes)
    qi, qj = tree.query(boxes, predicate="intersects")
    sel = qi < qj
    cand = pd.DataFrame({"i": qi[sel], "j": qj[sel]})
    exact = set(zip(borders["i"].tolist(), borders["j"].tolist()))
    overlap_pairs = set(zip(same_side["i"].tolist(), same_side["j"].tolist()))
    rough = unmatched > 0
    rest = [
        (i, j)
        for i, j in zip(cand["i"].tolist(), cand["j"].tolist())
        if (i, j) not in exact
        or (i, j) in overlap_pairs
        or (check_overlaps and rough[i] and rough[j])
    ]
    # quick screen in degrees before measuring in metres: both units clipped to the box where
    # they can come within the tolerance (their padded bounding boxes' intersection)
    if rest:
        ri = np.fromiter((p[0] for p in rest), int, len(rest))
        rj = np.fromiter((p[1] for p in rest), int, len(rest))
        bi, bj = bounds[ri], bounds[rj]
        x0 = np.maximum(bi[:, 0], bj[:, 0]) - pad
        y0 = np.maximum(bi[:, 1], bj[:, 1]) - pad
        x1 = np.minimum(bi[:, 2], bj[:, 2]) + pad
        y1 = np.minimum(bi[:, 3], bj[:, 3]) + pad
        box = np.column_stack((x0, y0, x1, y1)).tolist()
        ci = [shapely.clip_by_rect(geoms[i], *bx) for i, bx in zip(ri.tolist(), box)]
        cj = [shapely.clip_by_rect(geoms[j], *bx) for j, bx in zip(rj.tolist(), box)]
        close = shapely.dwithin(np.asarray(ci, dtype=object), np.asarray(cj, dtype=object), pad)
        rest = [p for p, c in zip(rest, close) if c]

    G = nx.Graph(tolerance_m=float(tolerance_m), crs="EPSG:4326")
    reps = shapely.point_on_surface(geoms)
    rx, ry = shapely.get_x(reps), shapely.get_y(reps)
    cols = [
        "name",
        "full_name",
        "name_ascii",
        "unit_type",
        "province_code",
        "province_name",
        "population",
        "population_suspect",
        "area_km2",
    ]
    present = [c for c in cols if c in gdf.columns]
    records = gdf[present].to_dict("records")
    for k, (code, rec) in enumerate(zip(codes, records)):
        attrs = {c: _plain(rec[c]) for c in present}
        G.add_node(str(code), **attrs, lon=float(rx[k]), lat=float(ry[k]))

    for i, j, length in borders.itertuples(index=False):
        G.add_edge(codes[i], codes[j], shared_border_m=float(length), gap_m=0.0, kind="shared_edge")

    overlaps = []
    for i, j in rest:
        m = measure_pair(geoms[i], geoms[j], tolerance_m=tolerance_m, pad_deg=pad)
        if m["gap_m"] > tolerance_m:
            continue
        a, b = codes[i], codes[j]
        if m.get("overlap_m2", 0.0) > overlap_warn_m2:
            overlaps.append((a, b, m["overlap_m2"]))
        if G.has_edge(a, b):  # exact edges plus an overlap: keep the exact border length
            continue
        if m["gap_m"] > 0:
            G.add_edge(a, b, shared_border_m=m["near_m"], gap_m=m["gap_m"], kind="near_gap")
            continue
        # touching: a common line if there is one; else, without an overlap (whose outline is
        # no border), boundaries that run within the tolerance (digitised apart) beyond what a
        # mere crossing point gives
        overlapping = m["overlap_m2"] > 1.0
        near = m["near_m"] if m["near_m"] > min_border and not overlapping else 0.0
        border = m["common_m"] if m["common_m"] > 0 else near
        kind = "shared_edge" if border > 0 or overlapping else "point_touch"
        G.add_edge(a, b, shared_border_m=border, gap_m=0.0, kind=kind)

    _add_distances(G)
    islands = sorted(nx.isolates(G))
    G.graph.update(islands=islands, overlaps=overlaps, seconds=time.perf_counter() - started)
    if report is not None and overlaps:
        desc = ", ".join(f"{a}/{b} {area / 1e6:.3f} km²" for a, b, area in overlaps[:8])
        report.warn(
            "overlap",
            sorted({c for a, b, _ in overlaps for c in (a, b)}),
            f"{len(overlaps)} pair(s) of units overlap by more than {overlap_warn_m2:g} m²: {desc}",
        )
    log.info(
        "graph: %d nodes, %d edges, %d islands in %.2fs",
        G.number_of_nodes(),
        G.number_of_edges(),
        len(islands),
        G.graph["seconds"],
    )
    return G


def _plain(v: object) -> object:
    """Plain Python values for graph attributes (no numpy scalars, NaN -> None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _add_distances(G: nx.Graph) -> None:
    if G.number_of_edges() == 0:
        return
    edges = list(G.edges())
    lon = G.nodes(data="lon")
    lat = G.nodes(data="lat")
    lon1 = np.array([lon[a] for a, _ in edges])
    lat1 = np.array([lat[a] for a, _ in edges])
    lon2 = np.array([lon[b] for _, b in edges])
    lat2 = np.array([lat[b] for _, b in edges])
    _, _, dist = _GEOD.inv(lon1, lat1, lon2, lat2)
    for (a, b), d in zip(edges, dist):
        G.edges[a, b]["distance_km"] = round(float(d) / 1000, 3)


def edges_frame(G: nx.Graph) -> pd.DataFrame:
    """The edge list as the CSV of CONTRACT.md: ``a,b,shared_border_m,gap_m,kind`` (``a < b``),
    plus ``distance_km``, sorted by ``a, b``."""
    rows = []
    for u, v, d in G.edges(data=True):
        a, b = (u, v) if u < v else (v, u)
        rows.append(
            (
                a,
                b,
                round(d["shared_border_m"], 2),
                round(d["gap_m"], 3),
                d["kind"],
                d.get("distance_km"),
            )
        )
    df = pd.DataFrame(rows, columns=["a", "b", "shared_border_m", "gap_m", "kind", "distance_km"])
    return df.sort_values(["a", "b"], ignore_index=True)


def summarise(G: nx.Graph) -> dict:
    """Counts for reporting: units, provinces, edges by kind, islands, cross-province links."""
    kinds = {k: 0 for k in KINDS}
    cross = 0
    prov = G.nodes(data="province_code")
    for u, v, kind in G.edges(data="kind"):
        kinds[kind] += 1
        cross += prov[u] != prov[v]
    return {
        "units": G.number_of_nodes(),
        "provinces": len({p for _, p in prov}),
        "edges": G.number_of_edges(),
        "edges_by_kind": kinds,
        "islands": list(G.graph.get("islands", [])),
        "cross_province_links": cross,
        "overlaps": len(G.graph.get("overlaps", [])),
        "seconds": round(G.graph.get("seconds", 0.0), 3),
    }

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

The measuring is in :mod:`geo.exact_edges` (``exact_shared_edges``), :mod:`geo.border_stretches`
(``loose_borders``) and :mod:`geo.borders` (``measure_pair``, ``overlap_m2``); GEOS work runs on
all cores (:mod:`geo.parallel`).
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from pyproj import Geod

from geo.adjacency_table import (
    KINDS,
    NODE_COLUMNS,
    Adjacency,
    edges_frame,
    summarise,
    summarise_adjacency,
)
from geo.borders import exact_shared_edges, loose_borders, measure_pair, overlap_m2
from geo.boundaries import BoundaryReport
from geo.errors import GraphError
from geo.exact_edges import ExactEdges
from geo.measure import metres_per_degree, segment_lengths_m
from geo.parallel import each
from geo.points import representative_points
from geo.wkb import RingArrays

if TYPE_CHECKING:
    import geopandas as gpd
    import networkx as nx

__all__ = [
    "KINDS",
    "Adjacency",
    "build_adjacency",
    "build_graph",
    "edges_frame",
    "exact_shared_edges",
    "measure_pair",
    "segment_lengths_m",
    "summarise",
    "summarise_adjacency",
]

log = logging.getLogger(__name__)

_GEOD = Geod(ellps="WGS84")
#: Width (degrees, ~1 mm) given to a clipping rectangle that would be flat.
_HAIR_DEG = 1e-8

#: Boundaries closer than this (metres) coincide: what counts beyond the exact edges between
#: units that overlap elsewhere. A micrometre: at a centimetre, overlaps a few millimetres wide
#: (16177/16186 along 440 m, the Lào Cai triple overlap) would count their outlines.
COINCIDE_M = 1e-6


def build_graph(
    gdf: gpd.GeoDataFrame,
    *,
    tolerance_m: float = 10.0,
    min_border_m: float | None = None,
    overlap_warn_m2: float = 100.0,
    check_overlaps: bool = False,
    report: BoundaryReport | None = None,
    rings: RingArrays | None = None,
) -> nx.Graph:
    """Build the adjacency graph of the units in ``gdf``: :func:`build_adjacency` as a NetworkX
    graph.

    Parameters
    ----------
    gdf, tolerance_m, min_border_m, overlap_warn_m2, check_overlaps, report, rings
        See :func:`build_adjacency`.

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
        See :func:`build_adjacency`.
    """
    import networkx as nx

    started = time.perf_counter()
    adj = build_adjacency(
        gdf,
        tolerance_m=tolerance_m,
        min_border_m=min_border_m,
        overlap_warn_m2=overlap_warn_m2,
        check_overlaps=check_overlaps,
        report=report,
        rings=rings,
    )
    G = nx.Graph(tolerance_m=adj.tolerance_m, crs="EPSG:4326")
    present = list(adj.nodes.columns)
    records = adj.nodes.to_dict("records")
    for k, (code, rec) in enumerate(zip(adj.codes, records, strict=True)):
        attrs = {c: _plain(rec[c]) for c in present}
        G.add_node(str(code), **attrs, lon=float(adj.lon[k]), lat=float(adj.lat[k]))
    codes = adj.codes
    for i, j, border, gap, kind, dist in zip(
        adj.a.tolist(),
        adj.b.tolist(),
        adj.shared_border_m,
        adj.gap_m,
        adj.kind,
        adj.distance_km,
        strict=True,
    ):
        G.add_edge(
            codes[i], codes[j], shared_border_m=border, gap_m=gap, kind=kind, distance_km=dist
        )
    G.graph.update(
        islands=list(adj.islands),
        overlaps=list(adj.overlaps),
        seconds=adj.seconds + time.perf_counter() - started,
    )
    return G


def build_adjacency(
    gdf: gpd.GeoDataFrame,
    *,
    tolerance_m: float = 10.0,
    min_border_m: float | None = None,
    overlap_warn_m2: float = 100.0,
    check_overlaps: bool = False,
    report: BoundaryReport | None = None,
    rings: RingArrays | None = None,
) -> Adjacency:
    """Build the adjacency of the units in ``gdf`` as plain arrays (see :func:`build_graph`).

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
    rings
        The arrays ``gdf``'s geometries were read from
        (:func:`geo.boundaries.load_boundaries_and_rings`): the shared-edge pass takes its
        coordinates from them instead of from GEOS, when they still describe these very
        geometries (else they are ignored).

    Returns
    -------
    Adjacency
        The units (codes, attributes, a representative point inside each polygon) and the
        edges with their border, gap, kind and geodesic distance, as :func:`build_graph` puts
        them on the graph.

    Raises
    ------
    GraphError
        If ``gdf`` has no CRS, is not in EPSG:4326, or its index is not unique.
    """
    started = time.perf_counter()
    if gdf.crs is None or not gdf.crs.equals("EPSG:4326"):
        raise GraphError(
            "build_graph needs boundaries in EPSG:4326 (use geo.boundaries.load_boundaries)",
            code="graph_needs_lonlat",
        )
    if not gdf.index.is_unique:
        raise GraphError(
            "build_graph needs unique commune codes as the index", code="graph_codes_not_unique"
        )
    if tolerance_m < 0:
        raise GraphError(
            f"tolerance_m must be >= 0, got {tolerance_m}",
            code="tolerance_negative",
            field="tolerance_m",
            params={"value": tolerance_m},
        )
    min_border = 4 * tolerance_m if min_border_m is None else min_border_m
    report = report if report is not None else gdf.attrs.get("report")
    codes = np.asarray(gdf.index.astype(str))
    geoms = np.asarray(gdf.geometry.values, dtype=object)

    borders, same_side, unmatched, loose = _exact_edges(geoms, rings)
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
    exact = set(zip(borders["i"].tolist(), borders["j"].tolist(), strict=True))
    overlap_pairs = set(zip(same_side["i"].tolist(), same_side["j"].tolist(), strict=True))
    rough = unmatched > 0
    rest = [
        (i, j)
        for i, j in zip(cand["i"].tolist(), cand["j"].tolist(), strict=True)
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
        # with no tolerance, boxes that only touch give a flat rectangle GEOS refuses to clip
        # by: widened by a hair (only then; with a tolerance the rectangles are never flat)
        x1, y1 = np.maximum(x1, x0 + _HAIR_DEG), np.maximum(y1, y0 + _HAIR_DEG)

        def screen(gi: np.ndarray, gj: np.ndarray, *box: np.ndarray) -> np.ndarray:
            # the ufunc under shapely.clip_by_rect, which takes one rectangle per geometry
            # (the wrapper only takes scalars)
            ci, cj = shapely.lib.clip_by_rect(gi, *box), shapely.lib.clip_by_rect(gj, *box)
            return np.asarray(shapely.dwithin(ci, cj, pad))

        # on one thread: nationwide the screen is ~0.1 s of short GEOS calls, and shared
        # between two threads it took 0.035 s more CPU for 0.01 s less wall time
        # (bench/results/graph_stages-0b7f656-1-thread.json against -2-threads.json)
        close = screen(geoms[ri], geoms[rj], x0, y0, x1, y1)
        rest = [p for p, c in zip(rest, close, strict=True) if c]

    rx, ry = representative_points(geoms)  # as loading computed them, for these geometries
    present = [c for c in NODE_COLUMNS if c in gdf.columns]

    # pairs with exact edges whose boundaries also coincide elsewhere without matching vertices,
    # or run within the tolerance in opposite directions; for overlapping pairs (with segments
    # carried the same way by both), where boundary running close outlines the overlap, only
    # where the boundaries coincide (within a micrometre), which no outline of an overlap does
    rough = unmatched > 0
    extra = loose_borders(
        loose,
        [(i, j) for i, j in sorted(exact - overlap_pairs) if rough[i] and rough[j]],
        bounds,
        tolerance_m=tolerance_m,
        pad_deg=pad,
    )
    extra.update(
        loose_borders(
            loose,
            [(i, j) for i, j in sorted(exact & overlap_pairs) if rough[i] and rough[j]],
            bounds,
            tolerance_m=min(tolerance_m, COINCIDE_M),
            pad_deg=pad,
        )
    )
    ea: list[int] = borders["i"].tolist()
    eb: list[int] = borders["j"].tolist()
    e_border = [
        float(length) + extra.get((i, j), 0.0)
        for i, j, length in zip(ea, eb, borders["length_m"].tolist(), strict=True)
    ]
    e_gap = [0.0] * len(ea)
    e_kind = ["shared_edge"] * len(ea)

    overlaps = []

    def measure(p: tuple[int, int]) -> dict[str, float]:
        if p in exact:  # touching along exact edges: whether they also overlap is all to know
            return {"gap_m": 0.0, "overlap_m2": overlap_m2(geoms[p[0]], geoms[p[1]], pad_deg=pad)}
        return measure_pair(geoms[p[0]], geoms[p[1]], tolerance_m=tolerance_m, pad_deg=pad)

    # the pairs are hundreds of short GEOS calls with Python between them: in threads they
    # wait on each other for the interpreter (nationwide 0.08 s more CPU and 0.02 s more wall
    # time than on one thread, the same files as the screen's); the overlays of
    # ``check_overlaps`` (seconds of GEOS each) are worth sharing among the cores
    measured = each(measure, rest) if check_overlaps else [measure(p) for p in rest]
    for (i, j), m in zip(rest, measured, strict=True):
        if m["gap_m"] > tolerance_m:
            continue
        if m.get("overlap_m2", 0.0) > overlap_warn_m2:
            overlaps.append((str(codes[i]), str(codes[j]), m["overlap_m2"]))
        if (i, j) in exact:  # exact edges plus an overlap: keep the exact border length
            continue
        ea.append(i)
        eb.append(j)
        if m["gap_m"] > 0:
            e_border.append(m["near_m"])
            e_gap.append(m["gap_m"])
            e_kind.append("near_gap")
            continue
        # touching: a common line if there is one; else, without an overlap (whose outline is
        # no border), boundaries that run within the tolerance (digitised apart) beyond what a
        # mere crossing point gives
        overlapping = m["overlap_m2"] > 1.0
        near = m["near_m"] if m["near_m"] > min_border and not overlapping else 0.0
        border = m["common_m"] if m["common_m"] > 0 else near
        e_border.append(border)
        e_gap.append(0.0)
        e_kind.append("shared_edge" if border > 0 or overlapping else "point_touch")

    a = np.asarray(ea, dtype=np.intp)
    b = np.asarray(eb, dtype=np.intp)
    linked = np.zeros(len(codes), bool)
    linked[a] = linked[b] = True
    islands = sorted(str(c) for c in codes[~linked])
    adj = Adjacency(
        codes=codes,
        nodes=gdf[present],
        lon=rx,
        lat=ry,
        a=a,
        b=b,
        shared_border_m=e_border,
        gap_m=e_gap,
        kind=e_kind,
        distance_km=_distances_km(rx, ry, a, b),
        tolerance_m=float(tolerance_m),
        islands=islands,
        overlaps=overlaps,
        seconds=time.perf_counter() - started,
    )
    if report is not None and overlaps:
        desc = ", ".join(f"{u}/{v} {area / 1e6:.3f} km²" for u, v, area in overlaps[:8])
        report.warn(
            "overlap",
            sorted({c for u, v, _ in overlaps for c in (u, v)}),
            f"{len(overlaps)} pair(s) of units overlap by more than {overlap_warn_m2:g} m²: {desc}",
        )
    log.info(
        "graph: %d nodes, %d edges, %d islands in %.2fs",
        len(codes),
        len(a),
        len(islands),
        adj.seconds,
    )
    return adj


def _exact_edges(geoms: np.ndarray, rings: RingArrays | None) -> ExactEdges:
    """The shared-edge pass over ``geoms``: from the arrays they were read from when these are
    still the very geometries, taken as started when they were read if it was
    (``rings.exact``)."""
    if rings is None or not rings.describes(geoms):
        return exact_shared_edges(geoms)
    if rings.exact is not None:
        return rings.exact.result()
    return exact_shared_edges(geoms, rings=rings)


def _plain(v: object) -> object:
    """Plain Python values for graph attributes (no numpy scalars, NaN -> None)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and np.isnan(v):
        return None
    return v


def _distances_km(lon: np.ndarray, lat: np.ndarray, a: np.ndarray, b: np.ndarray) -> list[float]:
    """Geodesic distances (km, to the metre) between the points ``a`` and ``b``, pairwise."""
    if len(a) == 0:
        return []
    _, _, dist = _GEOD.inv(lon[a], lat[a], lon[b], lat[b])
    return [round(d / 1000, 3) for d in dist.tolist()]

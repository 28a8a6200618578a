"""Polygon coordinates snapped to a grid, vectorised over a whole coverage, shared edges kept."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import shapely

#: at most this many rounds of spike removal (a chain of nested spikes loses one level a round)
MAX_ROUNDS = 200


def snap_to_grid(geoms: npt.NDArray[np.object_], grid: float) -> npt.NDArray[np.object_]:
    """``geoms`` (polygons) with every vertex rounded to a ``grid`` (in their units), repeated
    vertices and zero-width spikes (``A B A``) removed, and rings left with fewer than three
    vertices dropped (a polygon whose shell goes, with its holes).

    Each vertex is rounded by itself and each removal depends only on a vertex and its two
    neighbours, whichever way and wherever a ring starts: two neighbours whose common edge has
    the same vertices keep one common edge, vertex for vertex. This is how a nationwide
    coverage of millions of vertices becomes a coverage of a quarter of them in a fraction of a
    second, before :func:`shapely.coverage_simplify`, whose time grows with the vertices.

    Assumes polygonal geometries (Polygon or MultiPolygon). Not a full repair: rounding can
    make a ring touch or cross itself (the caller makes those few valid), and where a vertex of
    one polygon lay on a segment of another (not a vertex of it), the rounded vertex moves off
    it by up to half a ``grid``: a sliver that narrow is left.

    Returns
    -------
    numpy.ndarray
        MultiPolygons, in order; an empty one where everything collapsed.

    Raises
    ------
    ValueError
        ``grid`` not positive, or a geometry that is not polygonal.
    """
    if not grid > 0:
        raise ValueError(f"grid must be positive, not {grid}")
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 0:
        return geoms
    kinds = set(shapely.get_type_id(geoms).tolist())
    if not kinds <= {3, 6}:
        raise ValueError("snap_to_grid takes polygons only")
    if kinds == {3}:
        geoms = shapely.multipolygons(shapely.get_parts(geoms), indices=np.arange(len(geoms)))
    typ, coords, (ring_off, poly_off, multi_off) = shapely.to_ragged_array(geoms)
    n_rings = len(ring_off) - 1
    q = np.round(coords / grid).astype(np.int64)
    ring_of = np.repeat(np.arange(n_rings), np.diff(ring_off))
    # one integer per vertex (x and y in grid units), compared at once
    low = q.min(axis=0)
    span = int(q[:, 1].max() - low[1]) + 1
    if (int(q[:, 0].max() - low[0]) + 1) * span >= 2**62:
        raise ValueError(f"grid {grid} is too fine for these coordinates")
    key = (q[:, 0] - low[0]) * span + (q[:, 1] - low[1])
    keep = np.ones(len(q), dtype=bool)
    keep[ring_off[1:] - 1] = False  # rings without their closing vertex: cyclic below
    keep[1:] &= key[1:] != key[:-1]  # repeats in a row, the cheap first pass
    keep[ring_off[:-1]] = True
    keep[ring_off[1:] - 1] = False
    key, ring_of = _clean(key[keep], ring_of[keep], n_rings)
    q = np.column_stack([key // span + low[0], key % span + low[1]])
    size = np.bincount(ring_of, minlength=n_rings)
    ring_ok = size >= 3
    poly_of_ring = np.repeat(np.arange(len(poly_off) - 1), np.diff(poly_off))
    poly_ok = ring_ok[poly_off[:-1]]  # a polygon lives while its shell does
    ring_kept = ring_ok & poly_ok[poly_of_ring]
    sel = ring_kept[ring_of]
    q = q[sel]
    kept_sizes = size[ring_kept]
    starts = np.concatenate([[0], np.cumsum(kept_sizes)[:-1]]).astype(np.int64)
    closed = np.insert(q, starts + kept_sizes, q[starts], axis=0)  # close each ring again
    new_ring_off = np.concatenate([[0], np.cumsum(kept_sizes + 1)])
    rings_per_poly = np.bincount(poly_of_ring[ring_kept], minlength=len(poly_off) - 1)
    new_poly_off = np.concatenate([[0], np.cumsum(rings_per_poly[poly_ok])])
    multi_of_poly = np.repeat(np.arange(len(multi_off) - 1), np.diff(multi_off))
    polys_per_multi = np.bincount(multi_of_poly[poly_ok], minlength=len(multi_off) - 1)
    new_multi_off = np.concatenate([[0], np.cumsum(polys_per_multi)])
    out: npt.NDArray[np.object_] = shapely.from_ragged_array(
        typ, closed.astype(float) * grid, (new_ring_off, new_poly_off, new_multi_off)
    )
    return out


def _neighbours(ring_of: npt.NDArray[np.int64], n_rings: int) -> tuple[np.ndarray, np.ndarray]:
    """The previous and next vertex of each vertex in its (open, cyclic) ring."""
    size = np.bincount(ring_of, minlength=n_rings)
    ends = np.cumsum(size)
    starts = ends - size
    idx = np.arange(len(ring_of))
    prv, nxt = idx - 1, idx + 1
    has = size > 0
    prv[starts[has]] = ends[has] - 1
    nxt[ends[has] - 1] = starts[has]
    return prv, nxt


def _step(key: np.ndarray, ring_of: np.ndarray, n_rings: int) -> np.ndarray:
    """The vertices to drop this round: repeats of their previous vertex; else spike tips."""
    prv, nxt = _neighbours(ring_of, n_rings)
    count = np.bincount(ring_of, minlength=n_rings)[ring_of]
    drop: np.ndarray = (key == key[prv]) & (count > 1)
    if not drop.any():
        drop = (key[prv] == key[nxt]) & (count > 2)
    return drop


def _clean(key: np.ndarray, ring_of: np.ndarray, n_rings: int) -> tuple[np.ndarray, np.ndarray]:
    """Repeated vertices and spikes removed until none is left, working on the rings that
    still change (a few hundred after the first rounds)."""
    for _ in range(MAX_ROUNDS):
        drop = _step(key, ring_of, n_rings)
        if not drop.any():
            return key, ring_of
        key, ring_of = key[~drop], ring_of[~drop]
        changed = np.zeros(n_rings, dtype=bool)
        changed[ring_of[_step(key, ring_of, n_rings)]] = True
        if not changed.any():
            return key, ring_of
        if changed.sum() * 4 < n_rings:  # few rings still change: clean them on their own
            inside = changed[ring_of]
            sub_key, sub_rings = _clean(key[inside], ring_of[inside], n_rings)
            key = np.concatenate([key[~inside], sub_key])
            ring_of = np.concatenate([ring_of[~inside], sub_rings])
            order = np.argsort(ring_of, kind="stable")
            return key[order], ring_of[order]
    return key, ring_of

"""Polygons straight from the WKB a file reader gives: the coordinates and ring layout the
exact shared-edge pass needs, and the GEOS geometries made from them, in one pass over the
bytes.

``shapely.from_wkb`` reads every coordinate through GEOS's byte stream (~25 ns each), and the
shared-edge pass then copies them all out again (``get_coordinates``) and clones every part to
count its rings (``get_parts``). Here each ring's coordinates are one NumPy copy out of the
bytes, and ``shapely.from_ragged_array`` builds the same geometries from those arrays: for the
nationwide file, ~0.3 s of CPU becomes ~0.12 s. Only 2-D polygons and multipolygons (all of
one kind) are read this way; anything else returns None, and the caller reads it with
``shapely.from_wkb`` as before.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import shapely

if TYPE_CHECKING:
    from geo.exact_edges import ExactEdges
    from geo.parallel import Ahead

_POLYGON, _MULTIPOLYGON = 3, 6
_UINT = {0: struct.Struct(">I"), 1: struct.Struct("<I")}
_DOUBLE = {0: np.dtype(">f8"), 1: np.dtype("<f8")}


class RingArrays(NamedTuple):
    """Geometries with the arrays they were made from: every coordinate in
    ``shapely.get_coordinates`` order, and per ring its length, its geometry's position and
    whether it is its polygon's exterior."""

    geoms: np.ndarray
    xy: np.ndarray
    ring_len: np.ndarray
    unit_of_ring: np.ndarray
    exterior: np.ndarray
    #: The shared-edge pass over these arrays, started ahead of its need
    #: (:func:`geo.parallel.ahead` of :func:`geo.exact_edges.exact_shared_edges`), or None.
    exact: Ahead[ExactEdges] | None = None

    def describes(self, geoms: np.ndarray) -> bool:
        """Whether ``geoms`` are still these very geometries, in this order (not repaired,
        reprojected, reordered or subset since)."""
        return len(geoms) == len(self.geoms) and all(
            a is b for a, b in zip(geoms.tolist(), self.geoms.tolist(), strict=True)
        )


def polygons_from_wkb(wkbs: np.ndarray, *, consume: bool = False) -> RingArrays | None:
    """Read 2-D (multi)polygon WKB, all of one kind, either byte order; None for anything else
    (other types, Z or M, a missing geometry, truncated bytes), which ``shapely.from_wkb``
    should then read (and refuse, where it is broken).

    ``consume``: once the coordinates are copied out (the WKB is then no longer needed), set
    every element of ``wkbs`` to None, so that the bytes are freed before GEOS makes the
    geometries and their memory is what GEOS's takes instead of fresh pages (nationwide ~114 MB,
    ~28,000 page faults less). Only when it returns arrays: returning None, ``wkbs`` is left
    whole for ``shapely.from_wkb``."""
    kinds: set[int] = set()
    sources: list[tuple[bytes, int, int, int]] = []  # (wkb, byte order, offset, points)
    rings_per_part: list[int] = []
    parts_per_geom: list[int] = []
    try:
        for w in wkbs.tolist():
            if not isinstance(w, bytes) or len(w) < 9 or w[0] not in _UINT:
                return None
            order = w[0]
            kind = _UINT[order].unpack_from(w, 1)[0]
            kinds.add(kind)
            if kind == _POLYGON:
                end = _read_polygon(w, order, 5, sources, rings_per_part)
            elif kind == _MULTIPOLYGON:  # each part has its own header
                before, end = len(rings_per_part), 9
                for _ in range(_UINT[order].unpack_from(w, 5)[0]):
                    part = w[end]
                    if part not in _UINT or _UINT[part].unpack_from(w, end + 1)[0] != _POLYGON:
                        return None
                    end = _read_polygon(w, part, end + 5, sources, rings_per_part)
                parts_per_geom.append(len(rings_per_part) - before)
            else:
                return None
            if end != len(w):
                return None
    except (struct.error, IndexError):
        return None
    if len(kinds) > 1 or not sources:
        return None
    ring_len = np.fromiter((s[3] for s in sources), np.int64, len(sources))
    if (ring_len < 4).any():
        return None
    ends = np.cumsum(ring_len)
    xy = np.empty((int(ends[-1]), 2))
    for (w, order, offset, n), stop in zip(sources, ends.tolist(), strict=True):
        xy[stop - n : stop] = np.frombuffer(w, _DOUBLE[order], 2 * n, offset).reshape(n, 2)
    if consume:
        del w
        sources.clear()
        wkbs[...] = None
    ring_offsets = np.concatenate(([0], ends))
    polygon_offsets = np.concatenate(([0], np.cumsum(rings_per_part)))
    exterior = np.zeros(len(ring_len), bool)
    exterior[polygon_offsets[:-1]] = True
    if kinds == {_MULTIPOLYGON}:
        geom_offsets = np.concatenate(([0], np.cumsum(parts_per_geom)))
        rings_per_geom = polygon_offsets[geom_offsets[1:]] - polygon_offsets[geom_offsets[:-1]]
        geoms = shapely.from_ragged_array(
            shapely.GeometryType.MULTIPOLYGON, xy, (ring_offsets, polygon_offsets, geom_offsets)
        )
    else:
        rings_per_geom = np.asarray(rings_per_part)
        geoms = shapely.from_ragged_array(
            shapely.GeometryType.POLYGON, xy, (ring_offsets, polygon_offsets)
        )
    unit_of_ring = np.repeat(np.arange(len(geoms)), rings_per_geom)
    return RingArrays(np.asarray(geoms, dtype=object), xy, ring_len, unit_of_ring, exterior)


def _read_polygon(
    w: bytes,
    order: int,
    offset: int,
    sources: list[tuple[bytes, int, int, int]],
    rings_per_part: list[int],
) -> int:
    """Note where a polygon's rings lie in ``w`` (its ring count at ``offset``); the offset
    after it."""
    uint = _UINT[order]
    n_rings = uint.unpack_from(w, offset)[0]
    offset += 4
    for _ in range(n_rings):
        n = uint.unpack_from(w, offset)[0]
        offset += 4
        if offset + 16 * n > len(w):
            raise IndexError("truncated ring")
        sources.append((w, order, offset, n))
        offset += 16 * n
    rings_per_part.append(n_rings)
    return offset

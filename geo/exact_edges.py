"""Exact shared edges: segments carried by two units, found by hashing their end points.

Every boundary segment of every polygon is keyed by a hash of the exact bits of its two end
points (either way round); a sort brings equal keys together, and the candidates are confirmed
on the coordinates themselves. Once each ring is oriented (exterior counter-clockwise), a
segment found in two units traversed in opposite directions is shared border; traversed in the
same direction, it outlines an overlap (both interiors on one side).

Nationwide that is 7.1 M vertices. In a fresh process every new array as long as the data costs
the kernel more to map than NumPy to fill (about 0.3 s per GB here), so apart from the
coordinates and one array of sort keys, the passes run in cache-sized blocks: areas, keys,
neighbour comparison and the measuring of matched segments each keep only a block's
temporaries, and what is kept per segment is one byte or two.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd
import shapely

from geo.measure import segment_lengths_m
from geo.parallel import each
from geo.wkb import RingArrays

#: Segments (or vertices) handled per block: temporaries stay in the processor's cache instead
#: of each being as long as the data.
BLOCK = 1 << 16

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


def exact_shared_edges(geoms: np.ndarray, rings: RingArrays | None = None) -> ExactEdges:
    """Find segments shared exactly by two units (``rings``: the arrays ``geoms`` were made
    from, see :mod:`geo.wkb`, which then need not be copied out of GEOS).

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
    if rings is not None:
        xy, ring_len, unit_of_ring, exterior = (
            rings.xy,
            rings.ring_len,
            rings.unit_of_ring,
            rings.exterior,
        )
    else:
        unit_of_ring, ring_len, exterior = _ring_layout(geoms)
        xy = np.ascontiguousarray(shapely.get_coordinates(geoms))
    n = len(xy)
    n_units = len(geoms)
    if n >= 2**32:  # candidate pairs are packed two positions to a 64-bit integer
        raise ValueError("more than 4 billion vertices: positions do not pack in 32 bits")
    if n == 0:
        empty = pd.DataFrame({"i": [], "j": [], "length_m": []})
        none = (np.empty((0, 4)), np.empty(0, dtype=np.intp))
        return ExactEdges(empty, empty.copy(), np.zeros(n_units, int), none)
    ends = np.cumsum(ring_len)
    # segment k goes from vertex k to k + 1; the last vertex of each ring starts none
    seg_ok = np.ones(n - 1, bool)
    seg_ok[ends[:-1] - 1] = False
    # one pass over the coordinates: each segment's sort key, and each ring's signed area
    keys, low, area2 = _keys_and_areas(xy, seg_ok, ends - ring_len, ends)
    # orient rings: exterior rings should be counter-clockwise
    flip_ring = (area2 > 0) != exterior
    unit_of_seg = np.repeat(unit_of_ring.astype(_index_type(n_units)), ring_len)[:-1]
    flip_seg = np.repeat(flip_ring, ring_len)[:-1]

    keys.sort()
    dup = _equal_neighbours(keys, low)
    keys &= low  # the segments' positions, in hash order (below 2**63: the same bits as intp)
    order = keys.view(np.intp)
    pairs = _candidate_pairs(order, dup)
    del keys, order, dup

    matched = np.zeros(n - 1, bool)
    outline = np.zeros(n - 1, bool)
    z = xy.view(np.complex128).ravel()  # a vertex as one number: one gather, one comparison

    def match(k: int) -> list[tuple[np.ndarray, np.ndarray]]:
        a, b = _unpack(pairs[k : k + BLOCK])
        # the hashes agree; the coordinates decide: the same two end points, either way round
        pa0, pa1, pb0, pb1 = z[a], z[a + 1], z[b], z[b + 1]
        reverse = pa0 == pb1
        reverse &= pa1 == pb0
        same = pa0 == pb0
        same &= pa1 == pb1
        ua, ub = unit_of_seg[a], unit_of_seg[b]
        valid = (reverse | same) & (ua != ub)
        if not valid.all():
            a, b, ua, ub, reverse = a[valid], b[valid], ua[valid], ub[valid], reverse[valid]
            pa0, pa1 = pa0[valid], pa1[valid]
        # traversed in opposite directions once both rings have their interior on the left
        opposite = reverse ^ flip_seg[a] ^ flip_seg[b]
        lengths = segment_lengths_m(pa0.real, pa0.imag, pa1.real, pa1.imag)
        pair = np.minimum(ua, ub).astype(np.int64) * n_units + np.maximum(ua, ub)
        sums = []
        for mask, seen in ((opposite, matched), (~opposite, outline)):
            # blocks in other threads may set the same flags: each only ever writes True
            seen[a[mask]] = True
            seen[b[mask]] = True
            sums.append(_run_sums(pair[mask], lengths[mask]))
        return sums

    runs = each(match, range(0, len(pairs), BLOCK))
    lone = seg_ok & ~matched
    unmatched = np.bincount(unit_of_seg[lone], minlength=n_units)
    loose = _loose_segments(xy, lone & ~outline, unit_of_seg, flip_seg)
    return ExactEdges(
        _per_pair([r[0] for r in runs], n_units),
        _per_pair([r[1] for r in runs], n_units),
        unmatched,
        loose,
    )


def _index_type(count: int) -> type[np.unsignedinteger]:
    """The smallest unsigned integer type that numbers ``count`` things."""
    return np.uint16 if count <= 1 << 16 else np.uint32


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


def _keys_and_areas(
    xy: np.ndarray, seg_ok: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.uint64, np.ndarray]:
    """Every segment's sort key and every ring's orientation (:func:`_ring_areas`), in one
    pass over the coordinates, block by block.

    A key is the high bits of a hash of the exact bits of the segment's two end points (either
    way round) packed with the segment's position (``low`` masks the position), so that a plain
    sort of integers, several times faster than an argsort, brings equal segments together and
    gives their positions back free. Segments ``seg_ok`` excludes, and zero-length ones (which
    this also clears in ``seg_ok``), are parked at hash 0."""
    n = len(xy)
    keys = np.empty(n - 1, np.uint64)
    low = _position_mask(n - 1)

    def block(k: int) -> tuple[int, np.ndarray]:
        stop = min(k + BLOCK, n - 1)
        _block_keys(xy, seg_ok, keys, low, k, stop)
        return _block_area(xy, seg_ok, starts, ends, k, stop)

    return keys, low, _ring_areas(xy, each(block, range(0, n - 1, BLOCK)), starts, ends)


def _block_area(
    xy: np.ndarray, seg_ok: np.ndarray, starts: np.ndarray, ends: np.ndarray, k: int, stop: int
) -> tuple[int, np.ndarray]:
    """Twice the signed area (shoelace) of the rings' parts in segments ``k:stop``: the first
    ring there, and the partial sums from it on."""
    p, q = xy[k:stop], xy[k + 1 : stop + 1]
    cross = p[:, 0] * q[:, 1]
    cross -= q[:, 0] * p[:, 1]
    cross[~seg_ok[k:stop]] = 0.0
    # the rings with segments here: from the one holding segment k to the one holding stop - 1
    r0 = int(np.searchsorted(ends, k, side="right"))
    r1 = int(np.searchsorted(ends, stop - 1, side="right"))
    cuts = starts[r0 + 1 : r1 + 1] - k
    return r0, np.add.reduceat(cross, np.concatenate(([0], cuts)))


def _ring_areas(
    xy: np.ndarray, partials: list[tuple[int, np.ndarray]], starts: np.ndarray, ends: np.ndarray
) -> np.ndarray:
    """Per ring, twice its signed area (square degrees; positive counter-clockwise) from the
    blocks' partial sums, or ±1 from GEOS's robust test for rings under ~100 m²."""
    area2 = np.zeros(len(starts))
    for r0, partial in partials:
        area2[r0 : r0 + len(partial)] += partial  # a ring across blocks: its parts add up
    # in raw degrees the products (~100° x ~20°) cancel to ~1e-13 each: the sign of a ring a
    # few decimetres across (a sliver part of one unit in a hole of its neighbour) is noise, so
    # rings under ~100 m² ask GEOS's robust orientation test instead
    tiny = np.flatnonzero(np.abs(area2) < _TINY_RING_DEG2)
    if len(tiny):
        rings_ = [shapely.linearrings(xy[starts[r] : ends[r]]) for r in tiny.tolist()]
        area2[tiny] = np.where(shapely.is_ccw(rings_), 1.0, -1.0)
    return area2


def _position_mask(count: int) -> np.uint64:
    """The low bits of a sort key that hold a segment's position (``count`` segments)."""
    return (np.uint64(1) << np.uint64(max(1, int(count).bit_length()))) - np.uint64(1)


def _block_keys(
    xy: np.ndarray, seg_ok: np.ndarray, keys: np.ndarray, low: np.uint64, k: int, stop: int
) -> None:
    """The sort keys (see :func:`_keys_and_areas`) of segments ``k:stop``, written to
    ``keys[k:stop]`` (and ``seg_ok[k:stop]``)."""
    b = xy.view(np.uint64)[k : stop + 1]  # the block's vertices and the next block's first
    with np.errstate(over="ignore"):
        h = b[:, 0] * _C1
        t = b[:, 1] >> np.uint64(31)
        t += b[:, 1] * _C2
        h ^= t
        ha, hb = h[:-1], h[1:]
        ok = seg_ok[k:stop]
        ok &= ha != hb  # zero-length segments are cleared from seg_ok too
        hi = np.maximum(ha, hb)
        lo = np.minimum(ha, hb)
        lo *= _C3
        hi ^= hi >> np.uint64(29)
        hi *= _C1
        lo += hi
    lo[~ok] = 0
    np.bitwise_and(lo, ~low, out=keys[k:stop])
    keys[k:stop] |= np.arange(k, stop, dtype=np.uint64)


def _equal_neighbours(keys: np.ndarray, low: np.uint64) -> np.ndarray:
    """For sorted ``keys``, whether each one's hash bits equal the next one's (and are not the
    parked 0): ``(k[i] ^ k[i + 1]) <= low``, in blocks."""
    dup = np.empty(max(len(keys) - 1, 0), bool)
    for k in range(0, len(dup), BLOCK):
        stop = min(k + BLOCK, len(dup))
        nxt = keys[k + 1 : stop + 1]
        np.less_equal(keys[k:stop] ^ nxt, low, out=dup[k:stop])
        dup[k:stop] &= nxt > low
    return dup


def _candidate_pairs(order: np.ndarray, dup: np.ndarray) -> np.ndarray:
    """The pairs of segment positions whose hashes agree, each packed in one integer (``a``
    in the high 32 bits, ``b`` in the low; :func:`_unpack` parts a block), sorted by ``a`` so
    that the gathers that follow walk memory forwards instead of jumping around in hash order
    (one packed integer sort, ~10x cheaper than those gathers in hash order). Positions must be
    below 2**32 (4 billion vertices)."""
    # A run of three or more equal keys (an overlap outlined three times, or a truncated-hash
    # collision) is rare: compare every pair in it, not just neighbours in the sort.
    extra: set[tuple[int, int]] = set()
    for k in np.flatnonzero(dup[1:] & dup[:-1]).tolist():
        s0 = k
        while s0 > 0 and dup[s0 - 1]:
            s0 -= 1
        e0 = k + 1
        while e0 < len(dup) and dup[e0]:
            e0 += 1
        members = order[s0 : e0 + 1].tolist()
        extra.update((p_, q_) for i_, p_ in enumerate(members) for q_ in members[i_ + 2 :])
    ea, eb = np.asarray(sorted(extra), dtype=np.uint64).reshape(-1, 2).T
    blocks = []
    for k in range(0, len(dup), BLOCK):  # the positions of equal neighbours, block by block
        f = np.flatnonzero(dup[k : k + BLOCK])
        f += k
        packed = order[f].view(np.uint64) << np.uint64(32)
        packed |= order[f + 1].view(np.uint64)
        blocks.append(packed)
    blocks.append((ea << np.uint64(32)) | eb)
    packed = np.concatenate(blocks)
    del blocks
    packed.sort()
    return packed


def _unpack(packed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions ``(a, b)`` of packed pairs."""
    return (packed >> np.uint64(32)).astype(np.intp), (packed & np.uint64(0xFFFFFFFF)).astype(
        np.intp
    )


def _run_sums(pair: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lengths summed over runs of the same pair (consecutive segments along one border): a
    block's thousands of matches become the few pairs they belong to."""
    if len(pair) == 0:
        return pair, lengths
    starts = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
    return pair[starts], np.add.reduceat(lengths, starts)


def _per_pair(runs: list[tuple[np.ndarray, np.ndarray]], n_units: int) -> pd.DataFrame:
    """The summed length per pair ``(i, j)``, listed by pair."""
    pair = np.concatenate([p for p, _ in runs]) if runs else np.empty(0, np.int64)
    lengths = np.concatenate([s for _, s in runs]) if runs else np.empty(0)
    keys, inverse = np.unique(pair, return_inverse=True)
    total = np.bincount(inverse, weights=lengths, minlength=len(keys))
    return pd.DataFrame({"i": keys // n_units, "j": keys % n_units, "length_m": total})


def _loose_segments(
    xy: np.ndarray, lone: np.ndarray, unit_of_seg: np.ndarray, flip: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The flagged segments as ``(x0, y0, x1, y1)`` rows, oriented with their unit's interior
    on the left, and their units (in unit order)."""
    seg = np.flatnonzero(lone)
    f = flip[seg]
    rows = np.empty((len(seg), 4))
    rows[:, :2] = xy[seg + f]  # a flipped segment starts at its end
    rows[:, 2:] = xy[seg + ~f]
    return rows, unit_of_seg[seg].astype(np.intp)

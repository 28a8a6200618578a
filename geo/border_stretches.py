"""Border stretches the exact edges miss, measured for many pairs of units in a few NumPy passes."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from geo.measure import metres_per_degree

#: Segments are shortened by this much at each end (metres) before their flat-capped
#: rectangles are taken, so that a boundary merely *continuing* from a segment's end (along the
#: cap's edge) is never inside it.
_CAP_EPS_M = 1e-5

#: The candidate search's hierarchy of boxes: chunks of so many consecutive segments.
_SIZES = (8, 64, 512)


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
    metres, the mean of the two sides' lengths. Overlap outlines are not in ``loose``.

    Parameters
    ----------
    loose
        ``(segments, unit)`` as :func:`geo.borders.exact_shared_edges` gives them: rows
        ``x0, y0, x1, y1`` in degrees, oriented with the unit's interior on the left, and the
        position of each one's unit, sorted.
    pairs
        Pairs ``(i, j)`` of unit positions to measure.
    bounds
        Every unit's bounding box (``shapely.bounds``), by position.
    tolerance_m
        How close (metres) the two boundaries must run.
    pad_deg
        ``tolerance_m`` in degrees or more, wherever the units lie (the screening in degrees
        keeps every segment pair closer than ``tolerance_m``; a larger pad only screens less).

    Returns
    -------
    dict
        ``(i, j) -> length_m`` for the pairs with a positive length, in the order of ``pairs``.

    Notes
    -----
    For each pair, the candidates are the segment pairs (one of ``i``, one of ``j``) within
    ``tolerance_m`` of each other; those running in opposite directions (the two interiors on
    opposite sides: boundary running the same way outlines an overlap, no border) select the
    segments ``IA`` of ``i`` and ``IB`` of ``j``. The length of ``IA`` lying within the
    flat-capped rectangles of half-width ``tolerance_m`` around ``IB``'s segments (each
    shortened by ``_CAP_EPS_M`` at both ends; one shorter than ``4 * _CAP_EPS_M`` gives none),
    so that boundaries meeting only at a point (a corner, a triple junction) add nothing, and
    the same of ``IB`` within ``IA``'s rectangles, are averaged.

    Each pair is measured in metres in one tangent frame, at the centre of the box where the
    two units can meet (their bounding boxes' intersection, padded by ``pad_deg``), as GEOS
    measured it before: the lengths are GEOS's to ~3e-7 relative nationwide, and ``lienxa
    graph``'s output is unchanged. (Metres per degree at each candidate's own latitude would
    be closer to the ellipsoid on long boxes, by up to 5e-4 relative nationwide, 0.24 m on one
    574 m stretch: within the boundaries' precision, not worth moving every figure.)

    A rectangle covers a segment over an interval of the segment's parameter (Liang-Barsky
    clipping by the rectangle's four sides), and a rectangle can only cover segments within
    ``tolerance_m`` of its own: a segment's covered length is the length of the union of its
    intervals from the candidates, with no GEOS overlay. All pairs are measured together in a
    few NumPy passes: the candidate search descends a hierarchy of bounding boxes
    (:func:`_candidates`), then distances, directions, intervals and their unions are computed
    for all candidates at once and summed per pair. With ``pad_deg`` at least the tolerance
    in degrees this finds what a GEOS ``dwithin`` query in each pair's box finds; nationwide
    (1,286 pairs, 524,518 loose segments) it costs ~0.03 s of CPU, a GEOS buffer, union and
    intersection per pair ~0.4 s (``bench/bench_loose_borders.py``).
    """
    segs, unit = loose
    out: dict[tuple[int, int], float] = {}
    if not pairs or len(segs) == 0:
        return out
    pi = np.fromiter((p[0] for p in pairs), np.intp, len(pairs))
    pj = np.fromiter((p[1] for p in pairs), np.intp, len(pairs))
    p, a, b = _candidates(segs, unit, pi, pj, len(bounds), pad_deg)
    if len(p) == 0:
        return out
    # each pair in one tangent frame, at the centre of its box
    lat0 = (
        (np.maximum(bounds[pi, 1], bounds[pj, 1]) - pad_deg)
        + (np.minimum(bounds[pi, 3], bounds[pj, 3]) + pad_deg)
    ) / 2
    length = _stretch_lengths(segs, p, a, b, np.column_stack(metres_per_degree(lat0)), tolerance_m)
    for k in np.flatnonzero(length > 0).tolist():
        out[pairs[k]] = float(length[k])
    return out


def _candidates(
    segs: np.ndarray,
    unit: np.ndarray,
    pi: np.ndarray,
    pj: np.ndarray,
    n_units: int,
    pad_deg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segment pairs ``(a of pi[p], b of pj[p])`` whose bounding boxes come within ``pad_deg``
    of each other, each once: ``(p, a, b)``, positions in ``segs``.

    Descends a hierarchy of boxes over each unit's segments in their order along its boundary
    (where consecutive segments lie close together): chunks of ``_SIZES[-1]`` of them, then of
    ``_SIZES[-2]``, ... then the segments; at each level only the pairs of boxes within
    ``pad_deg`` of each other are split into their children's pairs. Nationwide (1,275 pairs)
    the 5,000 pairs of top chunks become ~2,000 pairs of chunks of 8 and 3,795 segment pairs,
    with no sort and no tree of all segments (a GEOS STRtree of the 524,518 loose segments
    queried with themselves within ``pad_deg`` finds 3.1 M pairs, all but 7,108 of them of one
    unit, in ~5 s)."""
    first = np.searchsorted(unit, np.arange(n_units + 1))
    units = np.union1d(pi, pj)
    count = first[units + 1] - first[units]
    if 4 * int(count.sum()) < len(segs):
        # the pairs' units hold few of the segments: theirs alone, the units numbered afresh
        seg = np.repeat(first[units], count) + _ramp(count)
        unit_of = np.repeat(np.arange(len(units)), count)
        li, lj = np.searchsorted(units, pi), np.searchsorted(units, pj)
        p, a, b = _candidates(segs[seg], unit_of, li, lj, len(units), pad_deg)
        return p, seg[a], seg[b]
    seg_box, levels = _box_hierarchy(segs, first, units)
    # the top level: every chunk of one unit with every chunk of the other
    top = np.searchsorted(levels[-1].start, first)
    p, a, b = _pairs_of_ranges(np.arange(len(pi)), top[pi], top[pi + 1], top[pj], top[pj + 1])
    for level in levels[::-1]:
        near = _boxes_near(level.box, a, b, pad_deg)
        p, a, b = p[near], a[near], b[near]
        p, a, b = _pairs_of_ranges(p, level.lo[a], level.hi[a], level.lo[b], level.hi[b])
    near = _boxes_near(seg_box, a, b, pad_deg)
    return p[near], a[near], b[near]


class _Level(NamedTuple):
    """One level of :func:`_box_hierarchy`."""

    box: np.ndarray  # rows x0, y0, x1, y1 (each contiguous), one column per chunk
    start: np.ndarray  # each chunk's first segment
    lo: np.ndarray  # each chunk's children in the level below: lo:hi
    hi: np.ndarray


def _box_hierarchy(
    segs: np.ndarray, first: np.ndarray, units: np.ndarray
) -> tuple[np.ndarray, list[_Level]]:
    """The bounding boxes of all segments (rows x0, y0, x1, y1), then the levels of chunks of
    ``_SIZES`` consecutive segments of each of ``units`` (unit ``u``'s are
    ``first[u]:first[u + 1]``), counted from the unit's first segment."""
    n = len(segs)
    seg_box = np.empty((4, n))
    np.minimum(segs[:, 0], segs[:, 2], out=seg_box[0])
    np.minimum(segs[:, 1], segs[:, 3], out=seg_box[1])
    np.maximum(segs[:, 0], segs[:, 2], out=seg_box[2])
    np.maximum(segs[:, 1], segs[:, 3], out=seg_box[3])
    count = first[units + 1] - first[units]
    units, count = units[count > 0], count[count > 0]
    levels: list[_Level] = []
    for level, size in enumerate(_SIZES, start=1):
        chunks = -(-count // size)
        start = np.repeat(first[units], chunks) + _ramp(chunks) * size
        if level == 1:
            # children: the segments, up to the unit's end; reduced over from the chunks'
            # starts, with a stop at each unit's end that starts no chunk (unused units after)
            below = seg_box
            lo = start
            ends = first[units + 1]
            hi = np.minimum(start + size, np.repeat(ends, chunks))
            at = np.searchsorted(start, ends)
            stops = ends[(ends < n) & (start[np.minimum(at, len(start) - 1)] != ends)]
            at = np.searchsorted(start, stops)
            cuts = np.insert(start, at, stops)
            keep = np.ones(len(cuts), bool)
            keep[at + np.arange(len(stops))] = False
        else:
            below = levels[-1].box
            lo = np.searchsorted(levels[-1].start, start)
            hi = np.append(lo[1:], len(levels[-1].start))
            cuts, keep = lo, np.ones(len(lo), bool)
        box = np.empty((4, len(start)))
        for k, f in enumerate((np.minimum, np.minimum, np.maximum, np.maximum)):
            box[k] = f.reduceat(below[k], cuts)[keep]
        levels.append(_Level(box, start, lo, hi))
    return seg_box, levels


def _pairs_of_ranges(
    p: np.ndarray, a_lo: np.ndarray, a_hi: np.ndarray, b_lo: np.ndarray, b_hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ``(p[k], a, b)`` with ``a`` in ``a_lo[k]:a_hi[k]`` and ``b`` in ``b_lo[k]:b_hi[k]``."""
    nb = b_hi - b_lo
    rep = (a_hi - a_lo) * nb
    k = _ramp(rep)
    row = np.repeat(np.arange(len(p)), rep)
    nb_r = nb[row]
    return p[row], a_lo[row] + k // nb_r, b_lo[row] + k % nb_r


def _ramp(counts: np.ndarray) -> np.ndarray:
    """``0, 1, ..., c - 1`` for each ``c`` in ``counts``, concatenated."""
    ramp: np.ndarray = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    return ramp


def _boxes_near(box: np.ndarray, a: np.ndarray, b: np.ndarray, pad: float) -> np.ndarray:
    """Whether boxes ``a`` and ``b`` (columns of ``box``) come within ``pad`` of each other."""
    x0, y0, x1, y1 = box
    near = x0[a] - pad <= x1[b]
    near &= x0[b] - pad <= x1[a]
    near &= y0[a] - pad <= y1[b]
    near &= y0[b] - pad <= y1[a]
    result: np.ndarray = near
    return result


def _stretch_lengths(
    segs: np.ndarray, p: np.ndarray, a: np.ndarray, b: np.ndarray, scale: np.ndarray, tol: float
) -> np.ndarray:
    """Per pair, the mean of the two sides' lengths lying within the other's rectangles (see
    :func:`loose_borders`), from the candidate segment pairs ``(p, a, b)``, each pair in its
    frame (``scale[p]``: metres per degree of longitude and latitude)."""
    n_pairs = len(scale)
    sa, sb = segs[a], segs[b]
    # origin at a's start
    k = scale[p]
    av = (sa[:, 2:] - sa[:, :2]) * k
    b0 = (sb[:, :2] - sa[:, :2]) * k
    b1 = (sb[:, 2:] - sa[:, :2]) * k
    bv = b1 - b0
    close = segment_distance(av, b0, b1) <= tol
    p, a, b, av, b0, bv = p[close], a[close], b[close], av[close], b0[close], bv[close]
    # a border has the two interiors on opposite sides: the segments run in opposite directions
    opposite = (av * bv).sum(axis=1) < 0
    ka, kb = p.astype(np.int64) * len(segs) + a, p.astype(np.int64) * len(segs) + b
    chosen = np.isin(ka, ka[opposite]) & np.isin(kb, kb[opposite])
    ka, kb, av, b0, bv = ka[chosen], kb[chosen], av[chosen], b0[chosen], bv[chosen]
    # a within b's rectangle (a from the origin along av), and b (from b0 along bv) within a's
    ta0, ta1 = clip_to_rectangle(np.zeros_like(b0), av, b0, bv, tol)
    tb0, tb1 = clip_to_rectangle(b0, bv, np.zeros_like(b0), av, tol)
    side_a = union_lengths(ka, ta0, ta1, np.hypot(av[:, 0], av[:, 1]))
    side_b = union_lengths(kb, tb0, tb1, np.hypot(bv[:, 0], bv[:, 1]))
    n = np.int64(len(segs))
    total = np.bincount(side_a[0] // n, side_a[1], minlength=n_pairs)
    total += np.bincount(side_b[0] // n, side_b[1], minlength=n_pairs)
    result: np.ndarray = total / 2
    return result


def union_lengths(
    key: np.ndarray, t0: np.ndarray, t1: np.ndarray, length: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct ``key`` (a segment of a pair), the length of the union of its intervals
    ``[t0, t1]`` of ``[0, 1]`` times its ``length``: ``(keys, covered_m)``."""
    ok = t1 > t0
    key, t0, t1, length = key[ok], t0[ok], t1[ok], length[ok]
    keys, group = np.unique(key, return_inverse=True)
    order = np.lexsort((t0, group))
    g, s, e = group[order], t0[order], t1[order]
    # union by a running maximum of the ends, sorted by (group, start); each group shifted by
    # 2 * its rank so that no group's ends reach into the next (t stays exact to ~1e-12)
    shift = 2.0 * g
    reach = np.maximum.accumulate(e + shift)
    before = np.concatenate(([-np.inf], reach[:-1])) - shift
    gained = np.maximum(e - np.maximum(s, before), 0.0)
    covered = (
        np.bincount(g, gained, minlength=len(keys))
        * length[order][np.searchsorted(g, np.arange(len(keys)))]
    )
    return keys, covered


def segment_distance(av: np.ndarray, b0: np.ndarray, b1: np.ndarray) -> np.ndarray:
    """Distance between segments ``0 -> av`` and ``b0 -> b1`` (rows of 2-vectors, metres)."""
    bv = b1 - b0
    origin = np.zeros_like(av)
    d = np.minimum(
        np.minimum(_point_segment(b0, origin, av), _point_segment(b1, origin, av)),
        np.minimum(_point_segment(origin, b0, bv), _point_segment(av, b0, bv)),
    )
    # segments that properly cross: each one's ends strictly on both sides of the other
    c0, c1 = _cross(av, b0), _cross(av, b1)
    c2, c3 = _cross(bv, -b0), _cross(bv, av - b0)
    crossing = (np.sign(c0) * np.sign(c1) < 0) & (np.sign(c2) * np.sign(c3) < 0)
    result: np.ndarray = np.where(crossing, 0.0, d)
    return result


def _cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    result: np.ndarray = u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]
    return result


def _point_segment(q: np.ndarray, s0: np.ndarray, sv: np.ndarray) -> np.ndarray:
    """Distance from points ``q`` to segments ``s0 -> s0 + sv``."""
    rel = q - s0
    norm2 = (sv * sv).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip((rel * sv).sum(axis=1) / norm2, 0.0, 1.0)
    t[norm2 == 0] = 0.0
    off = rel - t[:, None] * sv
    result: np.ndarray = np.hypot(off[:, 0], off[:, 1])
    return result


def clip_to_rectangle(
    s0: np.ndarray, sv: np.ndarray, r0: np.ndarray, rv: np.ndarray, half_width: float
) -> tuple[np.ndarray, np.ndarray]:
    """Where segments ``s0 + t sv`` (``0 <= t <= 1``) lie in the flat-capped rectangles of
    half-width ``half_width`` around segments ``r0 -> r0 + rv`` shortened by ``_CAP_EPS_M`` at
    each end (none for one shorter than ``4 * _CAP_EPS_M``): the interval ``(t0, t1)`` of each,
    empty when ``t1 <= t0`` (Liang-Barsky clipping by the rectangle's four sides; rows of
    2-vectors, metres)."""
    length = np.hypot(rv[:, 0], rv[:, 1])
    with np.errstate(invalid="ignore", divide="ignore"):
        u = rv / length[:, None]
    n = np.column_stack((-u[:, 1], u[:, 0]))
    rel = s0 - r0
    t0 = np.zeros(len(s0))
    t1 = np.where(length > 4 * _CAP_EPS_M, 1.0, -1.0)
    for axis, lo, hi in ((u, _CAP_EPS_M, length - _CAP_EPS_M), (n, -half_width, half_width)):
        c0 = (rel * axis).sum(axis=1)
        c1 = (sv * axis).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            ta, tb = (lo - c0) / c1, (hi - c0) / c1
        flat = c1 == 0
        inside = (lo <= c0) & (c0 <= hi)
        t0 = np.maximum(t0, np.where(flat, np.where(inside, 0.0, 2.0), np.minimum(ta, tb)))
        t1 = np.minimum(t1, np.where(flat, np.where(inside, 1.0, -1.0), np.maximum(ta, tb)))
    return t0, t1

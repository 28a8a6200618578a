"""The analytic measure of border stretches (geo.border_stretches): a segment's part inside a
flat-capped rectangle, unions of such parts, segment distances, and loose_borders over many
pairs at once, on hand-made segments whose answers are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pyproj import Geod

from geo.border_stretches import (
    _CAP_EPS_M,
    _box_hierarchy,
    clip_to_rectangle,
    loose_borders,
    segment_distance,
    union_lengths,
)
from geo.borders import loose_borders as reexported

EPS = _CAP_EPS_M
GEOD = Geod(ellps="WGS84")


def covered_m(s0, s1, r0, r1, half_width):
    """Length of segment s0 -> s1 inside the rectangle around r0 -> r1 (metres)."""
    s0, s1, r0, r1 = (np.array([v], float) for v in (s0, s1, r0, r1))
    t0, t1 = clip_to_rectangle(s0, s1 - s0, r0, r1 - r0, half_width)
    return max(float(t1[0] - t0[0]), 0.0) * float(np.hypot(*(s1 - s0)[0]))


def test_parallel_overlap_is_covered_up_to_the_shortened_end():
    # s runs along y = 0 from 0 to 10; the rectangle's segment along y = 1 from 5 to 20:
    # shortened by EPS, it starts at 5 + EPS
    assert covered_m((0, 0), (10, 0), (5, 1), (20, 1), 2.0) == pytest.approx(5 - EPS, abs=1e-12)
    # reversed directions change nothing
    assert covered_m((10, 0), (0, 0), (20, 1), (5, 1), 2.0) == pytest.approx(5 - EPS, abs=1e-12)


def test_coinciding_segments_cover_all_but_the_two_ends():
    assert covered_m((0, 0), (10, 0), (10, 0), (0, 0), 1e-6) == pytest.approx(10 - 2 * EPS)


def test_parallel_beyond_the_half_width_is_not_covered():
    assert covered_m((0, 0), (10, 0), (0, 3), (10, 3), 2.0) == 0.0


def test_crossing_at_a_right_angle_covers_the_rectangles_width():
    assert covered_m((0, -10), (0, 10), (-10, 0), (10, 0), 1.0) == pytest.approx(2.0)


def test_crossing_at_45_degrees_covers_the_width_over_the_sine():
    assert covered_m((-10, -10), (10, 10), (-20, 0), (20, 0), 1.0) == pytest.approx(
        2 * math.sqrt(2)
    )


def test_touching_only_at_an_end_covers_nothing():
    # continuing the rectangle's segment, and at a right angle from its end (a corner)
    assert covered_m((10, 0), (20, 0), (0, 0), (10, 0), 5.0) == 0.0
    assert covered_m((0, 0), (10, 0), (10, 0), (10, 10), 1.0) == 0.0
    # the same corner, the segment going on past it: only the part beside the rectangle
    assert covered_m((0, 0), (20, 0), (10, 0), (10, 10), 1.0) == 0.0
    assert covered_m((0, 0.5), (20, 0.5), (10, 0), (10, 10), 1.0) == pytest.approx(2.0)


def test_rectangle_of_a_segment_shorter_than_four_eps_is_none():
    short = 3 * EPS
    assert covered_m((0, 0), (1, 0), (0, 0), (short, 0), 1.0) == 0.0
    # just longer: a rectangle 2 * EPS long (minus its shortened ends) covers that much
    assert covered_m((0, 0), (1, 0), (0, 0), (5 * EPS, 0), 1.0) == pytest.approx(3 * EPS)


def test_union_of_intervals_counts_overlaps_once_per_segment():
    key = np.array([7, 7, 7, 3, 3])
    t0 = np.array([0.25, 0.0, 0.9, 0.5, 0.1])
    t1 = np.array([0.75, 0.5, 1.0, 0.6, 0.2])
    length = np.array([10.0, 10.0, 10.0, 2.0, 2.0])
    keys, covered = union_lengths(key, t0, t1, length)
    assert keys.tolist() == [3, 7]
    assert covered == pytest.approx([0.4, 8.5])


def test_empty_intervals_cover_nothing():
    keys, covered = union_lengths(
        np.array([1, 1]), np.array([0.5, 1.0]), np.array([0.5, 0.2]), np.ones(2)
    )
    assert len(keys) == 0 and len(covered) == 0


@pytest.mark.parametrize(
    ("b0", "b1", "expected"),
    [
        ((5, -1), (5, 1), 0.0),  # crossing
        ((0, 3), (10, 3), 3.0),  # parallel
        ((13, 4), (20, 4), 5.0),  # end to end, 3-4-5
        ((10, 0), (20, 0), 0.0),  # touching at an end
        ((5, 2), (5, 8), 2.0),  # an end above the middle
    ],
)
def test_segment_distance(b0, b1, expected):
    av, b0_, b1_ = np.array([[10.0, 0.0]]), np.array([b0], float), np.array([b1], float)
    assert segment_distance(av, b0_, b1_)[0] == pytest.approx(expected)
    # either way round
    assert segment_distance(b1_ - b0_, -b0_, av - b0_)[0] == pytest.approx(expected)


# loose_borders on segments in degrees: a wiggly border north from (105.0, 20.0), digitised by
# unit 1 with its own vertices and by unit 2 with vertices halfway between (a T-junction at each)


def border(n, x0=105.0, y0=20.0, step=1e-4):
    """``n + 1`` vertices of a zigzag going north, and the midpoints between them."""
    k = np.arange(n + 1)
    xy = np.column_stack((x0 + np.where(k % 2, 3e-5, 0.0), y0 + k * step))
    return xy, (xy[:-1] + xy[1:]) / 2


def polyline_m(xy):
    return sum(GEOD.inv(*xy[k], *xy[k + 1])[2] for k in range(len(xy) - 1))


def segments(xy):
    return np.column_stack((xy[:-1], xy[1:]))


def two_sides(n):
    """The east unit's side of an ``n``-segment border (going south: interior on the left),
    the west unit's (going north, with a vertex at every midpoint of the east side's segments:
    its segments are their halves) and the border's expected length.

    Every rectangle stops ``EPS`` short of its segment's ends: the east side loses ``2 * EPS``
    of cover around each of the west side's ``2n + 1`` vertices but its own ends, the west side
    around the east side's ``n + 1``: the mean of the two is ``3 * n * EPS`` short of the
    border's geodesic length (exactly so with GEOS's buffers and intersections, as before)."""
    xy, mid = border(n)
    both = np.empty((2 * n + 1, 2))
    both[0::2], both[1::2] = xy, mid
    return segments(xy[::-1]), segments(both), polyline_m(xy) - 3 * n * EPS


def bounds_of(*groups):
    return np.array(
        [
            [g[:, [0, 2]].min(), g[:, [1, 3]].min(), g[:, [0, 2]].max(), g[:, [1, 3]].max()]
            for g in groups
        ]
    )


PAD = 1e-4  # degrees, > 10 m anywhere here


def test_a_border_digitised_differently_on_each_side_counts_its_whole_length():
    # 1,500 segments: more than the largest chunk of the candidate search
    east_side, west_side, length = two_sides(1500)
    segs = np.concatenate((east_side, west_side))
    unit = np.repeat([0, 1], [len(east_side), len(west_side)])
    out = loose_borders(
        (segs, unit), [(0, 1)], bounds_of(east_side, west_side), tolerance_m=10, pad_deg=PAD
    )
    # in one tangent frame for the pair's 17 km: 0.2 mm off the ellipsoid (3 * n * EPS = 4.5 cm)
    assert out[(0, 1)] == pytest.approx(length, rel=1e-7)
    assert reexported is loose_borders


def test_boundaries_running_the_same_way_are_no_border():
    east_side, west_side, _ = two_sides(40)
    segs = np.concatenate((east_side, west_side[::-1, [2, 3, 0, 1]]))
    unit = np.repeat([0, 1], [len(east_side), len(west_side)])
    bounds = bounds_of(east_side, west_side)
    assert loose_borders((segs, unit), [(0, 1)], bounds, tolerance_m=10, pad_deg=PAD) == {}


def test_many_pairs_at_once_measure_as_each_alone():
    # three borders far apart, each between its own two units, and a pair of units far apart
    sides, lengths = [], []
    for n, dx in ((30, 0.0), (700, 0.1), (5, 0.2)):
        east_side, west_side, length = two_sides(n)
        for s in (east_side, west_side):
            sides.append(s + np.array([dx, 0.0, dx, 0.0]))
        lengths.append(length)
    segs = np.concatenate(sides)
    unit = np.repeat(np.arange(6), [len(s) for s in sides])
    bounds = bounds_of(*sides)
    pairs = [(0, 1), (2, 3), (4, 5), (1, 4)]
    together = loose_borders((segs, unit), pairs, bounds, tolerance_m=10, pad_deg=PAD)
    alone = {}
    for p in pairs:
        alone.update(loose_borders((segs, unit), [p], bounds, tolerance_m=10, pad_deg=PAD))
    assert together == alone
    assert list(together) == [(0, 1), (2, 3), (4, 5)]
    assert [together[p] for p in pairs[:3]] == pytest.approx(lengths, rel=1e-7)


def test_a_unit_in_no_pair_between_two_that_are_changes_nothing():
    # the pairs' units are 0 and 2; unit 1's segments (listed between theirs) lie on the border
    east_side, west_side, length = two_sides(100)
    segs = np.concatenate((east_side, west_side, west_side))
    unit = np.repeat([0, 1, 2], [len(east_side), len(west_side), len(west_side)])
    bounds = bounds_of(east_side, west_side, west_side)
    out = loose_borders((segs, unit), [(0, 2)], bounds, tolerance_m=10, pad_deg=PAD)
    assert out == {(0, 2): pytest.approx(length, abs=1e-6)}


def test_nothing_to_measure():
    segs = np.empty((0, 4))
    unit = np.empty(0, dtype=np.intp)
    assert (
        loose_borders((segs, unit), [(0, 1)], np.zeros((2, 4)), tolerance_m=10, pad_deg=PAD) == {}
    )
    east_side, west_side, _ = two_sides(3)
    segs = np.concatenate((east_side, west_side))
    unit = np.repeat([0, 1], [len(east_side), len(west_side)])
    assert (
        loose_borders(
            (segs, unit), [], bounds_of(east_side, west_side), tolerance_m=10, pad_deg=PAD
        )
        == {}
    )


def test_same_way_boundaries_stay_no_border_beside_opposite_ones_beyond_the_tolerance():
    # unit 0's segment a and unit 1's b run east 1 m apart (an overlap's outline); each unit
    # also has a segment running west 15 m from the other's (c of unit 1 from a, d of unit 0
    # from b), within the (generous) pad but not the tolerance: nothing is border
    m = 1 / 111_000  # about a metre of latitude, in degrees
    x0, x1, y = 105.0, 105.001, 20.0
    a = [x0, y, x1, y]
    d = [x1, y - 14 * m, x0, y - 14 * m]
    b = [x0, y + m, x1, y + m]
    c = [x1, y + 15 * m, x0, y + 15 * m]
    segs = np.array([a, d, b, c])
    unit = np.array([0, 0, 1, 1])
    bounds = bounds_of(segs[:2], segs[2:])
    assert loose_borders((segs, unit), [(0, 1)], bounds, tolerance_m=10, pad_deg=1e-3) == {}
    # turned round, b runs opposite to a: 1 km of border
    segs[2] = [x1, y + m, x0, y + m]
    out = loose_borders((segs, unit), [(0, 1)], bounds, tolerance_m=10, pad_deg=1e-3)
    assert out[(0, 1)] == pytest.approx(GEOD.inv(x0, y, x1, y)[2], rel=1e-6)


def test_chunk_boxes_hold_only_their_units_segments():
    # unit 0's last chunk ends at its last segment, though unit 1 (in no pair) follows
    east_side, west_side, _ = two_sides(20)
    far = west_side + np.array([1.0, 1.0, 1.0, 1.0])
    segs = np.concatenate((east_side, far, west_side))
    unit = np.repeat([0, 1, 2], [len(east_side), len(far), len(west_side)])
    first = np.searchsorted(unit, np.arange(4))
    _, levels = _box_hierarchy(segs, first, np.array([0, 2]))
    x0, y0, x1, y1 = bounds_of(np.concatenate((east_side, west_side)))[0]
    for level in levels:
        assert (level.box[0] >= x0).all() and (level.box[1] >= y0).all()
        assert (level.box[2] <= x1).all() and (level.box[3] <= y1).all()

"""The exact shared-edge pass (:mod:`geo.exact_edges`) against a plain reference: segments
compared as sets of end points, pair by pair, on hand-made units."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon, box

import geo.exact_edges as exact_edges
from geo import parallel
from geo.exact_edges import exact_shared_edges
from geo.measure import segment_lengths_m


def _grid(n: int = 5, step: float = 0.01) -> list[shapely.Geometry]:
    """``n`` x ``n`` squares whose edges are split in three (shared vertices, exact edges), one
    square with a repeated vertex (a zero-length segment) on its shared edge, and rings of
    both orientations."""

    def at(i: int, j: int) -> tuple[float, float]:  # one lattice: neighbours' bits agree
        return (105.0 + i * step / 3, 20.0 + j * step / 3)

    units = []
    for r in range(n):
        for c in range(n):
            i0, j0 = 3 * c, 3 * r
            ring = [at(i0 + t, j0) for t in range(3)]
            ring += [at(i0 + 3, j0 + t) for t in range(3)]
            ring += [at(i0 + 3 - t, j0 + 3) for t in range(3)]
            ring += [at(i0, j0 + 3 - t) for t in range(3)]
            if (r, c) == (2, 2):
                ring.insert(1, ring[1])  # a repeated vertex on the bottom edge
            poly = Polygon(ring)
            units.append(poly if (r + c) % 2 else shapely.reverse(poly))
    return units


def _reference(geoms: list[shapely.Geometry]) -> dict[tuple[int, int], float]:
    """Border length per pair: the segments (as unordered end-point pairs) two units share."""
    segs = []
    for g in geoms:
        xy = shapely.get_coordinates(g)
        segs.append(
            {
                frozenset((tuple(p), tuple(q)))
                for p, q in itertools.pairwise(xy)
                if tuple(p) != tuple(q)
            }
        )
    out = {}
    for i in range(len(geoms)):
        for j in range(i + 1, len(geoms)):
            common = segs[i] & segs[j]
            if common:
                pts = np.array([sorted(s) for s in common])  # (k, 2, 2)
                out[(i, j)] = float(
                    segment_lengths_m(pts[:, 0, 0], pts[:, 0, 1], pts[:, 1, 0], pts[:, 1, 1]).sum()
                )
    return out


@pytest.mark.parametrize(("block", "threads"), [(3, "1"), (7, "1"), (1 << 16, "1"), (3, "2")])
def test_borders_match_the_reference_whatever_the_block(monkeypatch, block, threads):
    """Blocks of 3 or 7 segments cut every pass mid-ring: nothing may be lost at their edges,
    also with the blocks shared among threads."""
    monkeypatch.setattr(exact_edges, "BLOCK", block)
    monkeypatch.setattr(parallel, "MIN_ITEMS", 1)
    monkeypatch.setenv("LIENXA_THREADS", threads)
    geoms = np.array(_grid(), dtype=object)
    found = exact_shared_edges(geoms)
    got = {
        (int(i), int(j)): float(m)
        for i, j, m in found.borders[["i", "j", "length_m"]].itertuples(index=False)
    }
    expected = _reference(list(geoms))
    assert got.keys() == expected.keys()
    for pair, length in expected.items():
        assert got[pair] == pytest.approx(length, rel=1e-12)
    assert found.same_side.empty


def test_zero_length_segments_are_neither_border_nor_loose():
    """The repeated vertex makes a zero-length segment: it is not counted as unmatched and not
    listed among the loose segments measured against the neighbours."""
    geoms = np.array(_grid(), dtype=object)
    found = exact_shared_edges(geoms)
    segs, _unit = found.loose
    assert len(segs) and not ((segs[:, 0] == segs[:, 2]) & (segs[:, 1] == segs[:, 3])).any()
    # unit 12 (the middle one, with the repeated vertex) shares all 12 segments of its ring
    assert found.unmatched[12] == 0
    assert found.unmatched.sum() == len(segs) == 4 * 5 * 3  # the grid's outer boundary


def test_same_direction_segments_outline_an_overlap():
    """Two units carrying the same segments the same way round (one lies over the other):
    ``same_side``, and not border."""
    a = box(105.0, 20.0, 105.01, 20.01)
    b = Polygon([(105.0, 20.0), (105.01, 20.0), (105.01, 20.01), (105.005, 20.02), (105.0, 20.01)])
    found = exact_shared_edges(np.array([a, b], dtype=object))
    assert found.borders.empty
    assert list(found.same_side[["i", "j"]].itertuples(index=False, name=None)) == [(0, 1)]
    assert found.same_side["length_m"].iloc[0] > 2000


def test_a_segment_carried_by_three_units_pairs_all_three():
    """Three units on the same square: every segment's key comes three times in a row after
    the sort, and every pair of the three is found, not only neighbours in the sort."""
    sq = box(105.0, 20.0, 105.01, 20.01)
    found = exact_shared_edges(np.array([sq, sq, shapely.reverse(sq)], dtype=object))
    pairs = set(found.same_side[["i", "j"]].itertuples(index=False, name=None))
    assert pairs == {(0, 1), (0, 2), (1, 2)}
    assert found.borders.empty

"""Border lengths where two boundaries coincide without sharing vertices (T-junctions) or run a
hair's width apart, next to exactly shared segments: hand-made units, exact expected lengths."""

from __future__ import annotations

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon

from geo.adjacency import build_adjacency, build_graph, edges_frame, summarise
from geo.boundaries import normalise_boundaries

GEOD = Geod(ellps="WGS84")
X = 105.01  # the meridian the borders below run along
METRE_DEG = 1 / 104_650  # about one metre of longitude at 20° N


def geodesic(p, q):
    return GEOD.inv(p[0], p[1], q[0], q[1])[2]


def graph(units, **kw):
    raw = gpd.GeoDataFrame(
        {"ma_xa": list(units), "ten_xa": [f"Xã {c}" for c in units], "ma_tinh": "40"},
        geometry=list(units.values()),
        crs="EPSG:4326",
    )
    return build_graph(normalise_boundaries(raw), **kw)


WEST = Polygon([(105.00, 20.00), (X, 20.00), (X, 20.01), (X, 20.02), (105.00, 20.02)])


def test_t_junction_stretch_counts_with_the_exact_one():
    # the lower half is an exactly shared segment; on the upper half the east unit has a vertex
    # (20.015) lying on the west unit's single segment: no segment in common there
    east = Polygon(
        [(X, 20.00), (105.02, 20.00), (105.02, 20.02), (X, 20.02), (X, 20.015), (X, 20.01)]
    )
    G = graph({"10001": WEST, "10002": east})
    e = G.edges["10001", "10002"]
    assert e["kind"] == "shared_edge"
    assert e["shared_border_m"] == pytest.approx(geodesic((X, 20.0), (X, 20.02)), rel=1e-5)


def test_t_junctions_on_both_sides():
    # west has vertices at 20.012 and 20.018 the east lacks, the east one at 20.015 the west lacks
    west = Polygon(
        [
            (105.00, 20.00),
            (X, 20.00),
            (X, 20.01),
            (X, 20.012),
            (X, 20.018),
            (X, 20.02),
            (105.00, 20.02),
        ]
    )
    east = Polygon(
        [(X, 20.00), (105.02, 20.00), (105.02, 20.02), (X, 20.02), (X, 20.015), (X, 20.01)]
    )
    G = graph({"10001": west, "10002": east})
    assert G.edges["10001", "10002"]["shared_border_m"] == pytest.approx(
        geodesic((X, 20.0), (X, 20.02)), rel=1e-5
    )


def test_one_metre_sliver_counts_as_border():
    # the upper kilometre of the east unit's west side runs 1 m east of the west unit's
    east = Polygon(
        [
            (X, 20.00),
            (105.02, 20.00),
            (105.02, 20.02),
            (X + METRE_DEG, 20.02),
            (X + METRE_DEG, 20.01),
            (X, 20.01),
        ]
    )
    G = graph({"10001": WEST, "10002": east})
    e = G.edges["10001", "10002"]
    exact = geodesic((X, 20.0), (X, 20.01))
    sliver = geodesic((X, 20.01), (X, 20.02))  # both sides of the sliver are 1 km long
    assert e["kind"] == "shared_edge"
    assert e["shared_border_m"] == pytest.approx(exact + sliver, rel=1e-4)


def test_sliver_wider_than_the_tolerance_does_not_count():
    east = Polygon(
        [
            (X, 20.00),
            (105.02, 20.00),
            (105.02, 20.02),
            (X + 20 * METRE_DEG, 20.02),
            (X + 20 * METRE_DEG, 20.01),
            (X, 20.01),
        ]
    )
    G = graph({"10001": WEST, "10002": east})
    assert G.edges["10001", "10002"]["shared_border_m"] == pytest.approx(
        geodesic((X, 20.0), (X, 20.01)), rel=1e-5
    )


def test_outer_boundaries_meeting_at_a_corner_add_nothing():
    # the two units' northern sides (the edge of the data set) meet end to end at (X, 20.02)
    # and the lower half is shared exactly: a buffer would add ~tolerance there, we add nothing
    east = Polygon([(X, 20.00), (105.02, 20.00), (105.02, 20.02), (X, 20.02), (X, 20.01)])
    G = graph({"10001": WEST, "10002": east})
    assert G.edges["10001", "10002"]["shared_border_m"] == pytest.approx(
        geodesic((X, 20.0), (X, 20.02)), rel=1e-5
    )


def test_third_unit_at_a_t_junction_gets_only_its_own_border():
    # a south unit under both, its north side one segment: the west/east border ends on it
    south = Polygon([(105.00, 19.99), (105.02, 19.99), (105.02, 20.00), (105.00, 20.00)])
    east = Polygon(
        [(X, 20.00), (105.02, 20.00), (105.02, 20.02), (X, 20.02), (X, 20.015), (X, 20.01)]
    )
    G = graph({"10001": WEST, "10002": east, "10003": south})
    assert G.edges["10001", "10002"]["shared_border_m"] == pytest.approx(
        geodesic((X, 20.0), (X, 20.02)), rel=1e-5
    )
    assert G.edges["10001", "10003"]["shared_border_m"] == pytest.approx(
        geodesic((105.0, 20.0), (X, 20.0)), rel=1e-4
    )
    assert G.edges["10002", "10003"]["shared_border_m"] == pytest.approx(
        geodesic((X, 20.0), (105.02, 20.0)), rel=1e-4
    )


def test_overlap_outlined_with_other_vertices_is_no_border():
    # F and G overlap on [105.06, 105.07] x [20.00, 20.01]; both outline it, G with an extra
    # vertex on its south side: the shared stretch runs the same way in both, so it is an
    # overlap's outline, not a border (the exact segments on it count nothing either)
    f = Polygon([(105.05, 20.0), (105.06, 20.0), (105.07, 20.0), (105.07, 20.01), (105.05, 20.01)])
    g = Polygon(
        [
            (105.06, 20.0),
            (105.065, 20.0),
            (105.07, 20.0),
            (105.08, 20.0),
            (105.08, 20.01),
            (105.07, 20.01),
            (105.06, 20.01),
        ]
    )
    G = graph({"10006": f, "10007": g})
    assert G.edges["10006", "10007"]["shared_border_m"] == 0.0


# 00958's 0.2 m triangle, which sits in a hole of 01075 (Cao Bằng): in raw degrees the
# shoelace cannot tell which way it turns
TRIANGLE = [(104.769563, 22.650315), (104.769563091, 22.650314875), (104.769562, 22.650315)]


def test_tiny_part_in_a_hole_of_the_neighbour_is_border():
    # the north unit shares its south side with the south unit exactly and has a second part,
    # the triangle, in a hole of the south unit: its whole outline is border too
    x0, x1, y0, y1, y2 = 104.7690, 104.7700, 22.6495, 22.6510, 22.6520
    south = Polygon([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], [TRIANGLE[::-1]])
    north = MultiPolygon([Polygon([(x0, y1), (x1, y1), (x1, y2), (x0, y2)]), Polygon(TRIANGLE)])
    G = graph({"10011": south, "10012": north})
    perimeter = sum(
        geodesic(p, q) for p, q in zip(TRIANGLE, TRIANGLE[1:] + TRIANGLE[:1], strict=True)
    )
    assert 0.2 < perimeter < 0.3
    assert G.edges["10011", "10012"]["shared_border_m"] == pytest.approx(
        geodesic((x0, y1), (x1, y1)) + perimeter, rel=1e-6
    )


def test_t_junction_stretch_counts_for_units_that_also_overlap():
    # the T-junction of the first test, and both units also hold the same small square far
    # east (an overlap outlined by segments both carry the same way): the T-junction stretch
    # still counts, the square's outline does not
    square = Polygon([(105.05, 20.0), (105.051, 20.0), (105.051, 20.001), (105.05, 20.001)])
    east = Polygon(
        [(X, 20.00), (105.02, 20.00), (105.02, 20.02), (X, 20.02), (X, 20.015), (X, 20.01)]
    )
    G = graph({"10001": MultiPolygon([WEST, square]), "10002": MultiPolygon([east, square])})
    e = G.edges["10001", "10002"]
    assert e["kind"] == "shared_edge"
    assert e["shared_border_m"] == pytest.approx(geodesic((X, 20.0), (X, 20.02)), rel=1e-5)
    assert ("10001", "10002", pytest.approx(square_m2(square), rel=0.01)) in G.graph["overlaps"]


def square_m2(p: Polygon) -> float:
    return abs(GEOD.geometry_area_perimeter(p)[0])


def test_adjacency_is_the_graph_as_arrays():
    # what `lienxa graph --no-cache` prints and writes (from build_adjacency) is what the graph
    # gives: the same edge CSV and summary
    south = Polygon([(105.00, 19.99), (105.02, 19.99), (105.02, 20.00), (105.00, 20.00)])
    east = Polygon(
        [(X, 20.00), (105.02, 20.00), (105.02, 20.02), (X, 20.02), (X, 20.015), (X, 20.01)]
    )
    far = Polygon([(105.5, 20.5), (105.51, 20.5), (105.51, 20.51)])
    raw = gpd.GeoDataFrame(
        {"ma_xa": ["10001", "10002", "10003", "10004"], "ten_xa": ["A", "B", "C", "D"]},
        geometry=[WEST, east, south, far],
        crs="EPSG:4326",
    )
    gdf = normalise_boundaries(raw)
    G, adj = build_graph(gdf), build_adjacency(gdf)
    assert edges_frame(adj).equals(edges_frame(G))
    assert {**summarise(adj), "seconds": 0} == {**summarise(G), "seconds": 0}
    assert summarise(adj)["islands"] == ["10004"]

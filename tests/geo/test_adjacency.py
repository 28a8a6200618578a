"""The adjacency graph on tiny hand-made geometries with exact expected neighbours."""

from __future__ import annotations

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import Polygon, box

from geo.adjacency import build_graph, edges_frame, segment_lengths_m, summarise
from geo.boundaries import normalise_boundaries
from geo.errors import GraphError

GEOD = Geod(ellps="WGS84")
GAP_DEG = 3 / 110_700  # about 3 m of latitude at 20° N


def geodesic(p, q):
    return GEOD.inv(p[0], p[1], q[0], q[1])[2]


UNITS = {
    "10001": box(105.00, 20.00, 105.01, 20.01),  # A
    "10002": box(105.01, 20.00, 105.02, 20.01),  # B: shares A's east edge exactly
    "10003": box(105.02, 20.01, 105.03, 20.02),  # C: touches B at one corner only
    "10004": box(105.00, 19.99, 105.009, 20.00 - GAP_DEG),  # D: 3 m south of A, 100 m from B
    "10005": box(106.50, 21.00, 106.51, 21.01),  # E: an island
    # F and G overlap on [105.06, 105.07]; the overlap is outlined by segments both carry
    "10006": Polygon(
        [
            (105.05, 20.0),
            (105.06, 20.0),
            (105.07, 20.0),
            (105.07, 20.01),
            (105.06, 20.01),
            (105.05, 20.01),
        ]
    ),
    "10007": Polygon(
        [
            (105.06, 20.0),
            (105.07, 20.0),
            (105.08, 20.0),
            (105.08, 20.01),
            (105.07, 20.01),
            (105.06, 20.01),
        ]
    ),
    # H and I share a line but I has an extra vertex on it: no exactly equal segment
    "10008": box(105.10, 20.00, 105.11, 20.01),
    "10009": Polygon(
        [(105.11, 20.0), (105.12, 20.0), (105.12, 20.01), (105.11, 20.01), (105.11, 20.005)]
    ),
}


@pytest.fixture(scope="module")
def G():
    raw = gpd.GeoDataFrame(
        {
            "ma_xa": list(UNITS),
            "ten_xa": [f"Xã {c}" for c in UNITS],
            "ma_tinh": "40",
            "dan_so": 5000,
            "area_km2": 1.2,
        },
        geometry=list(UNITS.values()),
        crs="EPSG:4326",
    )
    return build_graph(normalise_boundaries(raw))


def test_exact_neighbour_set(G):
    assert sorted(tuple(sorted(e)) for e in G.edges()) == [
        ("10001", "10002"),
        ("10001", "10004"),
        ("10002", "10003"),
        ("10006", "10007"),
        ("10008", "10009"),
    ]


def test_shared_edge_length_is_geodesic(G):
    e = G.edges["10001", "10002"]
    assert e["kind"] == "shared_edge"
    assert e["gap_m"] == 0
    assert e["shared_border_m"] == pytest.approx(
        geodesic((105.01, 20.0), (105.01, 20.01)), rel=1e-5
    )


def test_point_touch(G):
    e = G.edges["10002", "10003"]
    assert (e["kind"], e["shared_border_m"], e["gap_m"]) == ("point_touch", 0.0, 0.0)


def test_three_metre_gap_is_a_near_neighbour(G):
    e = G.edges["10001", "10004"]
    assert e["kind"] == "near_gap"
    assert e["gap_m"] == pytest.approx(geodesic((105.0, 20.0), (105.0, 20.0 - GAP_DEG)), rel=1e-3)
    # the boundaries run within the tolerance along the whole 1 km side
    assert e["shared_border_m"] == pytest.approx(geodesic((105.0, 20.0), (105.009, 20.0)), rel=0.03)


def test_gap_wider_than_tolerance_is_no_neighbour():
    raw = gpd.GeoDataFrame(
        {"ma_xa": ["10001", "10004"], "ten_xa": ["a", "b"]},
        geometry=[UNITS["10001"], UNITS["10004"]],
        crs="EPSG:4326",
    )
    assert build_graph(normalise_boundaries(raw), tolerance_m=2.0).number_of_edges() == 0
    assert build_graph(normalise_boundaries(raw), tolerance_m=4.0).number_of_edges() == 1


def test_island_is_a_node_without_edges(G):
    assert "10005" in G
    assert G.degree["10005"] == 0
    assert G.graph["islands"] == ["10005"]
    assert summarise(G)["islands"] == ["10005"]


def test_overlap_creates_no_false_border_length(G):
    e = G.edges["10006", "10007"]
    # naively, the two 1.1 km segments outlining the overlap would count as border
    assert e["kind"] == "shared_edge"
    assert e["shared_border_m"] == 0.0
    ((a, b, area),) = G.graph["overlaps"]
    assert (a, b) == ("10006", "10007")
    assert area == pytest.approx(1.16e6, rel=0.02)


def test_non_matching_vertices_still_share_an_edge(G):
    e = G.edges["10008", "10009"]
    assert e["kind"] == "shared_edge"
    assert e["shared_border_m"] == pytest.approx(
        geodesic((105.11, 20.0), (105.11, 20.01)), rel=0.01
    )


def test_nodes_carry_a_point_inside_and_attributes(G):
    n = G.nodes["10006"]
    assert UNITS["10006"].contains(__import__("shapely").Point(n["lon"], n["lat"]))
    assert n["province_code"] == "40"
    assert n["population"] == 5000
    assert isinstance(n["population"], float) and not hasattr(n["population"], "dtype")
    e = G.edges["10001", "10002"]
    assert e["distance_km"] == pytest.approx(
        geodesic(
            (G.nodes["10001"]["lon"], G.nodes["10001"]["lat"]),
            (G.nodes["10002"]["lon"], G.nodes["10002"]["lat"]),
        )
        / 1000,
        abs=1e-3,
    )


def test_edge_csv_has_contract_columns_and_sorted_pairs(G):
    df = edges_frame(G)
    assert list(df.columns[:5]) == ["a", "b", "shared_border_m", "gap_m", "kind"]
    assert (df["a"] < df["b"]).all()
    assert len(df) == G.number_of_edges()


def test_segment_lengths_agree_with_geodesic():
    import numpy as np

    lon0 = np.array([102.0, 105.5, 109.0, 114.2])
    lat0 = np.array([22.5, 20.0, 12.0, 8.6])
    lon1, lat1 = lon0 + 0.003, lat0 - 0.002
    ours = segment_lengths_m(lon0, lat0, lon1, lat1)
    ref = GEOD.inv(lon0, lat0, lon1, lat1)[2]
    assert np.allclose(ours, ref, rtol=1e-6)


def test_metres_per_degree_on_the_ellipsoid_for_scalars_and_arrays():
    """Both factors against geodesics a hair long (north and south, east and west of each
    latitude, either hemisphere); a scalar gives scalars, an array its shape, integers
    work, and the lengths of segments given as integers too."""
    import numpy as np

    from geo.measure import metres_per_degree

    lats = np.array([[-80.0, -23.5, 0.0], [8.6, 21.0, 66.0]])
    kx, ky = metres_per_degree(lats)
    assert kx.shape == ky.shape == lats.shape
    h, lat, zero = 1e-5, lats.ravel(), np.zeros(lats.size)
    ref_x = GEOD.inv(zero - h / 2, lat, zero + h / 2, lat)[2] / h
    ref_y = GEOD.inv(zero, lat - h / 2, zero, lat + h / 2)[2] / h
    assert np.allclose(kx.ravel(), ref_x, rtol=1e-7)
    assert np.allclose(ky.ravel(), ref_y, rtol=1e-7)
    x, y = metres_per_degree(21.0)
    assert np.ndim(x) == np.ndim(y) == 0
    assert (float(x), float(y)) == (kx[1, 1], ky[1, 1])
    assert metres_per_degree(np.array([21]))[0][0] == kx[1, 1]
    assert metres_per_degree(90.0)[0] < 1e-9  # no degree of longitude at the pole
    ints = segment_lengths_m(np.array([105]), np.array([20]), np.array([106]), np.array([20]))
    assert ints[0] == pytest.approx(metres_per_degree(20.0)[0], rel=1e-12)


def test_bad_input_is_refused():
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[UNITS["10001"]], crs=None)
    with pytest.raises(GraphError, match="EPSG:4326"):
        build_graph(g)
    g = gpd.GeoDataFrame({"a": [1]}, geometry=[UNITS["10001"]], crs="EPSG:4326")
    with pytest.raises(GraphError, match="tolerance_m must be >= 0"):
        build_graph(g, tolerance_m=-1)

"""Polygons read straight from WKB (:mod:`geo.wkb`) against GEOS's own reader, and the two-pass
read of a GeoPackage against GeoPandas's."""

from __future__ import annotations

import struct

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely.geometry import MultiPolygon, Point, Polygon, box

from geo.adjacency import build_adjacency, edges_frame
from geo.boundaries import read_geodata_rings
from geo.errors import BoundaryError
from geo.exact_edges import _ring_layout
from geo.wkb import polygons_from_wkb

HOLED = Polygon(
    [(105, 20), (105.1, 20), (105.1, 20.1), (105, 20.1)],
    [
        [(105.02, 20.02), (105.04, 20.02), (105.04, 20.04)],
        [(105.06, 20.06), (105.08, 20.06), (105.08, 20.08)],
    ],
)
MULTI = [
    MultiPolygon([HOLED, box(106, 21, 106.1, 21.1)]),
    MultiPolygon([box(107, 22, 107.2, 22.2)]),
    MultiPolygon(
        [box(108, 23, 108.1, 23.1), box(108.2, 23, 108.3, 23.1), box(108.4, 23, 108.5, 23.1)]
    ),
]


@pytest.mark.parametrize("byte_order", [0, 1])
@pytest.mark.parametrize("geoms", [MULTI, [HOLED, box(1, 2, 3, 4)]], ids=["multi", "polygons"])
def test_the_same_geometries_and_arrays_as_geos(geoms, byte_order):
    wkbs = shapely.to_wkb(np.array(geoms, dtype=object), byte_order=byte_order)
    got = polygons_from_wkb(wkbs)
    assert got is not None
    expected = shapely.from_wkb(wkbs)
    assert shapely.equals_exact(got.geoms, expected).all()
    assert list(shapely.get_type_id(got.geoms)) == list(shapely.get_type_id(expected))
    assert np.array_equal(got.xy, shapely.get_coordinates(expected))
    unit, length, exterior = _ring_layout(expected)
    assert np.array_equal(got.unit_of_ring, unit)
    assert np.array_equal(got.ring_len, length)
    assert np.array_equal(got.exterior, exterior)
    assert got.describes(got.geoms)
    assert not got.describes(got.geoms[::-1])  # another order
    assert not got.describes(expected)  # equal geometries, but not these


def test_consumed_wkb_is_let_go_once_read_and_kept_when_left_to_geos():
    """``consume=True``: read, the array's bytes are dropped (freed for GEOS's geometries);
    not read (None), the array is left whole for ``shapely.from_wkb``; without it, untouched."""
    wkbs = shapely.to_wkb(np.array(MULTI, dtype=object))
    kept = wkbs.copy()
    got = polygons_from_wkb(wkbs, consume=True)
    assert got is not None and shapely.equals_exact(got.geoms, shapely.from_wkb(kept)).all()
    assert wkbs.tolist() == [None] * len(MULTI)
    assert polygons_from_wkb(kept) is not None and kept.tolist() == list(
        shapely.to_wkb(np.array(MULTI, dtype=object))
    )
    mixed = np.array([shapely.to_wkb(HOLED), shapely.to_wkb(MULTI[0])], dtype=object)
    before = mixed.tolist()
    assert polygons_from_wkb(mixed, consume=True) is None
    assert mixed.tolist() == before


def test_anything_else_is_left_to_geos():
    """Other types, Z, a missing geometry, mixed kinds, truncated or trailing bytes: None."""
    poly, multi = shapely.to_wkb(HOLED), shapely.to_wkb(MULTI[0])
    cases = {
        "point": [shapely.to_wkb(Point(1, 2))],
        "z": [shapely.to_wkb(Polygon([(0, 0, 1), (1, 0, 1), (1, 1, 1)]), output_dimension=3)],
        "missing": [poly, None],
        "mixed": [poly, multi],
        "truncated": [multi[:-9]],
        "trailing": [poly + b"\0"],
        "empty": [],
    }
    # a ring of three points (GEOS refuses it: let it say so)
    three = struct.pack("<BIII", 1, 3, 1, 3) + struct.pack("<6d", 0, 0, 1, 0, 0, 0)
    cases["short ring"] = [three]
    for name, wkbs in cases.items():
        assert polygons_from_wkb(np.array(wkbs, dtype=object)) is None, name


def test_a_geopackage_reads_as_geopandas_reads_it(nghe_an_gdf, tmp_path):
    """Nghệ An written to a GeoPackage: the two-pass read gives GeoPandas's frame, and the graph
    built with the arrays is the graph built without them."""
    from geo.boundaries import load_boundaries_and_rings

    path = tmp_path / "nghe-an.gpkg"
    nghe_an_gdf.reset_index().to_file(path)
    got, rings = read_geodata_rings(path)
    expected = gpd.read_file(path)
    assert rings is not None
    pd.testing.assert_frame_equal(
        pd.DataFrame(got.drop(columns="geometry")), pd.DataFrame(expected.drop(columns="geometry"))
    )
    assert got.crs == expected.crs
    assert shapely.equals_exact(got.geometry.values, expected.geometry.values).all()

    gdf, rings = load_boundaries_and_rings(path)
    with_rings = edges_frame(build_adjacency(gdf, rings=rings))
    without = edges_frame(build_adjacency(gdf))
    assert len(without) > 300 and with_rings.equals(without)


def test_the_shared_edge_pass_started_at_reading_is_the_graphs(nghe_an_gdf, tmp_path, monkeypatch):
    """Loading for a graph starts the shared-edge pass as soon as the arrays are read
    (``rings.exact``); the graph takes that result when validation left the geometries as read,
    and makes its own when they were replaced (here, one geometry swapped for a copy)."""
    from geo import adjacency
    from geo.boundaries import load_boundaries_and_rings

    monkeypatch.setenv("LIENXA_THREADS", "2")
    path = tmp_path / "nghe-an.gpkg"
    nghe_an_gdf.reset_index().to_file(path)
    gdf, rings = load_boundaries_and_rings(path)
    assert rings is not None and rings.exact is not None
    expected = edges_frame(build_adjacency(gdf))

    passes: list[bool] = []
    real = adjacency.exact_shared_edges

    def counted(geoms, rings=None):
        passes.append(rings is not None)
        return real(geoms, rings=rings)

    monkeypatch.setattr(adjacency, "exact_shared_edges", counted)
    assert edges_frame(build_adjacency(gdf, rings=rings)).equals(expected)
    assert passes == []  # the result started at reading
    replaced = gdf.copy()
    first = replaced.index[0]
    replaced.loc[first, "geometry"] = shapely.from_wkb(replaced.geometry.loc[first].wkb)
    assert edges_frame(build_adjacency(replaced, rings=rings)).equals(expected)
    assert passes == [False]  # the arrays no longer describe the geometries: its own pass


def test_a_broken_geopackage_is_not_geodata(tmp_path):
    path = tmp_path / "broken.gpkg"
    path.write_bytes(b"SQLite format 3\0" + b"\x07" * 200)
    with pytest.raises(BoundaryError) as err:
        read_geodata_rings(path)
    assert err.value.code == "not_geodata"

"""Representative points (:mod:`geo.points`): GEOS's points inside the polygons, computed once
for the same geometries, whether loading or building the graph asks."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

from geo import points
from geo.adjacency import build_adjacency
from geo.boundaries import normalise_boundaries


def counting(monkeypatch) -> list[int]:
    """Count the geometries handed to ``shapely.point_on_surface``."""
    calls: list[int] = []
    real = shapely.point_on_surface

    def spy(geoms, *args, **kwargs):
        calls.append(len(geoms))
        return real(geoms, *args, **kwargs)

    monkeypatch.setattr(shapely, "point_on_surface", spy)
    return calls


def test_points_are_geos_points_on_surface_and_asked_again_are_not_recomputed(monkeypatch):
    calls = counting(monkeypatch)
    geoms = np.array([box(0, 0, 1, 1), box(2, 0, 5, 1), box(0, 3, 1, 9)], dtype=object)
    x, y = points.representative_points(geoms)
    expected = shapely.points(np.column_stack([x, y]))
    assert shapely.equals(expected, shapely.point_on_surface(geoms)).all()
    calls.clear()
    x2, y2 = points.representative_points(geoms.copy())  # another array, the same objects
    assert calls == [] and x2 is x and y2 is y
    assert not x.flags.writeable  # shared: nobody may change them


def test_other_geometry_objects_are_measured_again(monkeypatch):
    calls = counting(monkeypatch)
    geoms = np.array([box(0, 0, 1, 1), box(2, 0, 5, 1)], dtype=object)
    points.representative_points(geoms)
    equal_copies = np.array([box(0, 0, 1, 1), box(2, 0, 5, 1)], dtype=object)
    x, _ = points.representative_points(equal_copies)
    reordered = equal_copies[::-1].copy()
    x_rev, _ = points.representative_points(reordered)
    assert calls == [2, 2, 2]
    assert x_rev.tolist() == x[::-1].tolist()


def test_loading_and_building_the_graph_compute_the_points_once(monkeypatch):
    units = {"10001": box(105.0, 20.0, 105.01, 20.01), "10002": box(105.01, 20.0, 105.02, 20.01)}
    raw = gpd.GeoDataFrame(
        {"ma_xa": list(units), "ten_xa": ["A", "B"], "ma_tinh": "40"},
        geometry=list(units.values()),
        crs="EPSG:4326",
    )
    calls = counting(monkeypatch)
    gdf = normalise_boundaries(raw)  # the far-units check needs them
    adj = build_adjacency(gdf)
    assert calls == [2]
    assert (adj.lon[0], adj.lat[0]) == pytest.approx((105.005, 20.005))

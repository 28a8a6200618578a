"""Display geometry: simplified with shared edges kept, rounded, cached per area and zoom."""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import lru_cache
from typing import Any, Protocol, TypeVar

import geopandas as gpd
import numpy as np
import shapely

from maps.snap import snap_to_grid

_T = TypeVar("_T")


class Store(Protocol):
    """Where computed geometry is kept across processes (``api.geocache.DiskCache``)."""

    def cached(
        self,
        name: str,
        compute: Callable[[], _T],
        encode: Callable[[_T], object],
        decode: Callable[[Any], _T],
    ) -> _T: ...


#: Simplification tolerance in degrees per display level (about 20 m, 100 m, 500 m).
TOLERANCE = {"detail": 0.0002, "province": 0.001, "country": 0.005}
#: Decimal places kept per level (1 m, 10 m, 100 m).
PRECISION = {"detail": 1e-5, "province": 1e-4, "country": 1e-3}
#: Levels whose vertices are first snapped to their precision's grid (vectorised, shared edges
#: kept) so that ``coverage_simplify`` works on about a quarter of them: nationwide 7.1 million
#: vertices become 1.7 million, and the country level's 17 s of CPU about 4 s.
SNAP_FIRST = frozenset({"country"})


def display_geometry(gdf: gpd.GeoDataFrame, *, level: str = "province") -> gpd.GeoDataFrame:
    """``gdf`` with geometry for display: ``shapely.coverage_simplify`` (neighbours keep one
    common, simplified edge: no slivers or gaps appear between communes) at the level's
    tolerance, coordinates on the level's grid.

    At the levels of :data:`SNAP_FIRST` the vertices are snapped to the grid first
    (:func:`maps.snap.snap_to_grid`: identical shared edges stay identical) and the few rings
    that rounding made touch or cross themselves are made valid, so the simplification runs on
    far fewer vertices; the other levels round after simplifying. A commune that would vanish
    at its level keeps its own geometry, simplified.

    Raises
    ------
    KeyError
        An unknown level (one of ``detail``, ``province``, ``country``).
    """
    tol, prec = TOLERANCE[level], PRECISION[level]
    out = gdf.copy()
    src = np.asarray(gdf.geometry.values, dtype=object)
    if level in SNAP_FIRST and len(src):
        geoms = snap_to_grid(src, prec)
        gone = shapely.is_empty(geoms)
        geoms[gone] = src[gone]
        bad = ~shapely.is_valid(geoms)
        geoms[bad] = shapely.make_valid(geoms[bad], method="structure", keep_collapsed=False)
        geoms = shapely.coverage_simplify(geoms, tol)
        bad = ~shapely.is_valid(geoms)
        geoms[bad] = shapely.set_precision(geoms[bad], prec, mode="valid_output")
    else:
        geoms = shapely.coverage_simplify(src, tol)
        geoms = shapely.set_precision(geoms, prec, mode="valid_output")
    out["geometry"] = geoms
    return out[~out.geometry.is_empty]


def level_for(n_units: int) -> str:
    """The display level for a map of ``n_units`` communes."""
    return "detail" if n_units <= 40 else "province" if n_units <= 400 else "country"


class DisplayCache:
    """Display geometries and province outlines per (area, level), computed once.

    Thread-safe: callers asking for the same (area, level) while it is being computed (the
    start-up warm-up and a first request, several first requests) wait for that one
    computation instead of repeating it (seconds nationwide).

    With a ``store`` (the geodata cache on disk), a computation is first looked up there, and
    what is computed is kept there: the workers of a machine compute each (area, level) once.
    """

    def __init__(self, gdf: gpd.GeoDataFrame, store: Store | None = None) -> None:
        self.gdf = gdf
        self.store = store
        self._cached = lru_cache(maxsize=64)(self._compute)
        self._locks: dict[tuple[str | None, str], threading.Lock] = {}
        self._guard = threading.Lock()
        self.computed = 0  # how many (area, level) computations ran: for tests

    def _get(self, province: str | None, level: str) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        with self._guard:
            lock = self._locks.setdefault((province, level), threading.Lock())
        with lock:
            return self._cached(province, level)

    def _compute(
        self, province: str | None, level: str
    ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        if self.store is None:
            return self._compute_now(province, level)
        return self.store.cached(
            f"display-{province or 'all'}-{level}",
            lambda: self._compute_now(province, level),
            _encode,
            lambda raw: self._decode(raw, province),
        )

    def _decode(
        self, data: dict[str, Any], province: str | None
    ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        src = self.gdf if province is None else self.gdf[self.gdf["province_code"] == province]
        shown = src.loc[list(data["index"])].copy()
        shown["geometry"] = shapely.from_wkb(data["wkb"])
        provinces = gpd.GeoDataFrame(
            {k: list(v) for k, v in data["provinces"].items()},
            geometry=shapely.from_wkb(data["province_wkb"]),
            crs=self.gdf.crs,
        )
        return shown, provinces[list(data["province_columns"])]

    def _compute_now(
        self, province: str | None, level: str
    ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        self.computed += 1
        src = self.gdf if province is None else self.gdf[self.gdf["province_code"] == province]
        shown = display_geometry(src, level=level)
        provinces = shown[["province_code", "province_name", "geometry"]].dissolve(
            "province_code", as_index=False
        )
        provinces["geometry"] = provinces.geometry.boundary
        return shown, provinces

    def get(
        self, province: str | None = None, level: str | None = None
    ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
        """``(communes, province borders)`` for ``province`` (None: all) at ``level``
        (default: by the number of communes)."""
        n = (
            len(self.gdf)
            if province is None
            else int((self.gdf["province_code"] == province).sum())
        )
        return self._get(province, level or level_for(n))


def _encode(value: tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]) -> dict[str, Any]:
    """Display geometry for the cache, in plain values: the rows shown, geometry as WKB."""
    shown, provinces = value
    data: dict[str, Any] = {
        "index": [str(i) for i in shown.index],
        "wkb": list(shapely.to_wkb(shown.geometry.values)),
        "provinces": {
            c: provinces[c].tolist() for c in provinces.columns if c != provinces.geometry.name
        },
        "province_wkb": list(shapely.to_wkb(provinces.geometry.values)),
        "province_columns": list(provinces.columns),
    }
    return data

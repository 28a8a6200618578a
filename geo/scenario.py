"""Flood scenarios as records (:class:`Scenario`, :class:`AffectedCommune`), and the communes a
flood extent covers (:func:`extent_affected`). Reading and checking a scenario is in
:mod:`geo.scenario_parse`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from geo.errors import LienXaError


class ScenarioError(LienXaError):
    """A flood scenario is invalid; the message names the entry, ``field`` the input."""

    default_code = "scenario_invalid"


def scenario_error(
    message: str, code: str, field: str | None = None, **params: Any
) -> ScenarioError:
    return ScenarioError(message, code=code, field=field, params=params)


@dataclass(frozen=True)
class AffectedCommune:
    """One affected commune of a scenario."""

    commune: str
    displaced: int
    needs: Mapping[str, int] = field(default_factory=dict)
    covered_share: float | None = None


@dataclass(frozen=True)
class Scenario:
    """A validated flood scenario."""

    name: str
    hazard: str
    risk_level: int
    duration_days: int
    affected: tuple[AffectedCommune, ...]
    closed_links: tuple[tuple[str, str], ...] = ()
    flood_extent: Any = None

    @property
    def affected_codes(self) -> list[str]:
        """The affected communes' codes, in the scenario's order."""
        return [a.commune for a in self.affected]

    def to_dict(self) -> dict[str, Any]:
        """The scenario as CONTRACT.md JSON (flood extent left out; its results are in
        ``affected``)."""
        return {
            "name": self.name,
            "hazard": self.hazard,
            "risk_level": self.risk_level,
            "duration_days": self.duration_days,
            "affected": [
                {
                    "commune": a.commune,
                    "displaced": a.displaced,
                    **({"needs": dict(a.needs)} if a.needs else {}),
                }
                for a in self.affected
            ],
            "closed_links": [list(p) for p in self.closed_links],
        }


def extent_affected(
    extent: Any, gdf: Any, *, displaced_rate: float = 1.0, min_share: float = 0.01
) -> list[AffectedCommune]:
    """Communes covered by a flood extent (GeoJSON geometry, Feature or FeatureCollection in
    EPSG:4326), with displaced people from the covered share of their population.

    Shares are areas in an equal-area CRS (EPSG:6933); a commune with less than ``min_share``
    covered is left out; ``displaced = round(share × population × displaced_rate)`` (a missing
    population counts as 0).

    Returns
    -------
    list of AffectedCommune
        Sorted by commune code, each with its ``covered_share``.

    Raises
    ------
    ScenarioError
        If the extent is not GeoJSON (``extent_not_geojson`` {detail}), holds no polygons
        (``extent_not_polygons``), or its coordinates are not lon/lat (``extent_not_lonlat``).
    """
    import geopandas as gpd
    import shapely
    from shapely.geometry import shape

    try:
        if isinstance(extent, Mapping) and extent.get("type") == "FeatureCollection":
            geoms = [shape(f["geometry"]) for f in extent.get("features", [])]
        elif isinstance(extent, Mapping) and extent.get("type") == "Feature":
            geoms = [shape(extent["geometry"])]
        else:
            geoms = [shape(extent)]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise scenario_error(
            f"flood_extent is not a GeoJSON geometry or FeatureCollection ({exc})",
            "extent_not_geojson",
            "flood_extent",
            detail=str(exc),
        ) from exc
    geoms = [g for g in geoms if not g.is_empty]
    if not geoms or not all(g.geom_type in ("Polygon", "MultiPolygon") for g in geoms):
        raise scenario_error(
            "flood_extent must hold polygons", "extent_not_polygons", "flood_extent"
        )
    area = shapely.make_valid(shapely.union_all(geoms))
    minx, miny, maxx, maxy = area.bounds
    if not (
        -180 <= minx <= 180 and -90 <= miny <= 90 and -180 <= maxx <= 180 and -90 <= maxy <= 90
    ):
        raise scenario_error(
            "flood_extent coordinates must be lon/lat (EPSG:4326)",
            "extent_not_lonlat",
            "flood_extent",
        )
    hits = gdf.iloc[gdf.sindex.query(area, predicate="intersects")]
    if hits.empty:
        return []
    equal_area = "EPSG:6933"
    parts = gpd.GeoSeries(hits.geometry.values, index=hits.index, crs=gdf.crs).to_crs(equal_area)
    cover = gpd.GeoSeries([area], crs=gdf.crs).to_crs(equal_area).iloc[0]
    shares = parts.intersection(cover).area / parts.area
    out = []
    for code in hits.index:
        share = float(shares[code])
        if share < min_share:
            continue
        pop = hits.at[code, "population"]
        pop = (
            0.0 if pop is None or math.isnan(pop) else float(pop)
        )  # a missing population counts as 0
        out.append(
            AffectedCommune(str(code), round(share * pop * displaced_rate), {}, round(share, 4))
        )
    return sorted(out, key=lambda a: a.commune)

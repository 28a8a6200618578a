"""Flood scenarios as records (:class:`Scenario`, :class:`AffectedCommune`), and the communes a
flood extent covers (:func:`extent_affected`). Reading and checking a scenario is in
:mod:`geo.scenario_parse`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from geo.errors import LienXaError, Problem

#: The isolation modes of an affected commune (CONTRACT.md): ``full`` — nothing by road in or
#: out, no path enters, leaves or crosses it; ``partial`` — it receives over the links still open
#: but gives nothing.
ISOLATION_MODES = ("full", "partial")

#: Days over which recovery labour is spread when a scenario with damaged houses gives no
#: ``recovery_days``: four, as Châu Khê's 900 people worked in Con Cuông from 26 to 29 July 2025
#: (a planning assumption drawn from that event; set it per scenario).
DEFAULT_RECOVERY_DAYS = 4

#: Share of the people inside a flood extent counted as displaced when the extent's feature
#: does not give its own (``displaced_share``, or a ``hazard_class`` of
#: :data:`DISPLACED_SHARE_BY_CLASS`). A planning assumption, stated: most people inside a
#: mapped flood outline stay in their houses or with neighbours; in the western Nghệ An floods
#: of July 2025, 7,439 houses were damaged in a province of some 3.4 million people, far from
#: all the population inside the flooded valleys. 15 % leaves the evacuation of a large share
#: to the deep-water classes below.
DEFAULT_DISPLACED_SHARE = 0.15

#: Displaced share by hazard (depth) class of a flood extent feature. Planning assumptions
#: after the depth classes of flood-hazard maps (shallow < 0.5 m, moderate 0.5–1.5 m, deep
#: > 1.5 m, where houses flood to the roof and people must leave): to be set per province.
DISPLACED_SHARE_BY_CLASS: dict[str, float] = {
    "shallow": 0.02,
    "moderate": 0.15,
    "deep": 0.5,
}


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
    #: ``"full"``, ``"partial"`` (:data:`ISOLATION_MODES`) or None
    isolated: str | None = None
    #: houses deeply flooded, and collapsed or swept away: needs of the recovery phase
    houses_flooded: int = 0
    houses_collapsed: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The entry as scenario JSON (optional parts only when set)."""
        out: dict[str, Any] = {"commune": self.commune, "displaced": self.displaced}
        if self.needs:
            out["needs"] = dict(self.needs)
        if self.houses_flooded:
            out["houses_flooded"] = self.houses_flooded
        if self.houses_collapsed:
            out["houses_collapsed"] = self.houses_collapsed
        if self.isolated:
            out["isolated"] = self.isolated
        return out


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
    #: days the recovery labour is spread over (None: not given)
    recovery_days: int | None = None
    #: what the plan and the pages must warn about (a displaced count above a suspect population)
    warnings: tuple[Problem, ...] = ()

    def isolated(self, mode: str) -> set[str]:
        """The affected communes isolated in ``mode`` (``"full"`` or ``"partial"``)."""
        return {a.commune for a in self.affected if a.isolated == mode}

    @property
    def days_of_recovery(self) -> int:
        """``recovery_days``, or :data:`DEFAULT_RECOVERY_DAYS`."""
        return self.recovery_days or DEFAULT_RECOVERY_DAYS

    @property
    def affected_codes(self) -> list[str]:
        """The affected communes' codes, in the scenario's order."""
        return [a.commune for a in self.affected]

    def to_dict(self) -> dict[str, Any]:
        """The scenario as CONTRACT.md JSON (flood extent left out; its results are in
        ``affected``)."""
        out: dict[str, Any] = {
            "name": self.name,
            "hazard": self.hazard,
            "risk_level": self.risk_level,
            "duration_days": self.duration_days,
        }
        if self.recovery_days is not None:
            out["recovery_days"] = self.recovery_days
        out["affected"] = [a.to_dict() for a in self.affected]
        out["closed_links"] = [list(p) for p in self.closed_links]
        return out


def _feature_share(props: Any, default: float) -> float:
    """A feature's displaced share: its ``displaced_share``, its ``hazard_class``'s, or
    ``default``."""
    props = props if isinstance(props, Mapping) else {}
    if props.get("displaced_share") is not None:
        share = props["displaced_share"]
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise scenario_error(
                f"flood_extent: displaced_share must be a number between 0 and 1, got {share!r}",
                "extent_share_invalid",
                "flood_extent",
                value=repr(share),
            )
        return float(share)
    if props.get("hazard_class") is not None:
        cls = props["hazard_class"]
        if cls not in DISPLACED_SHARE_BY_CLASS:
            raise scenario_error(
                f"flood_extent: hazard_class must be one of "
                f"{', '.join(DISPLACED_SHARE_BY_CLASS)}, got {cls!r}",
                "extent_class_invalid",
                "flood_extent",
                value=repr(cls),
                classes=", ".join(DISPLACED_SHARE_BY_CLASS),
            )
        return DISPLACED_SHARE_BY_CLASS[cls]
    return default


def _extent_parts(extent: Any, default: float) -> list[tuple[Any, float]]:
    """``[(geometry, displaced share)]`` of a GeoJSON geometry, Feature or FeatureCollection."""
    from shapely.geometry import shape

    try:
        if isinstance(extent, Mapping) and extent.get("type") == "FeatureCollection":
            return [
                (shape(f["geometry"]), _feature_share(f.get("properties"), default))
                for f in extent.get("features", [])
            ]
        if isinstance(extent, Mapping) and extent.get("type") == "Feature":
            return [(shape(extent["geometry"]), _feature_share(extent.get("properties"), default))]
        return [(shape(extent), default)]
    except ScenarioError:  # a feature's share or class: its own error
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise scenario_error(
            f"flood_extent is not a GeoJSON geometry or FeatureCollection ({exc})",
            "extent_not_geojson",
            "flood_extent",
            detail=str(exc),
        ) from exc


def _check_extent(parts: list[tuple[Any, float]]) -> Any:
    """The union of the parts, checked: polygons, in lon/lat."""
    import shapely

    geoms = [g for g, _ in parts]
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
    return area


def _weighted_shares(parts: list[tuple[Any, float]], polys: Any, crs: Any) -> Any:
    """Per commune, the sum over the extent's classes of covered share × displaced share, each
    place counted once at the highest share covering it."""
    import geopandas as gpd
    import shapely

    equal_area = "EPSG:6933"
    total = polys.area
    weighted = total * 0.0
    done = None
    for share in sorted({s for _, s in parts}, reverse=True):
        cls = shapely.make_valid(shapely.union_all([g for g, s in parts if s == share]))
        if done is not None:
            cls = cls.difference(done)
        done = cls if done is None else shapely.union_all([done, cls])
        cover = gpd.GeoSeries([cls], crs=crs).to_crs(equal_area).iloc[0]
        weighted = weighted + polys.intersection(cover).area / total * share
    return weighted


def extent_affected(
    extent: Any,
    gdf: Any,
    *,
    displaced_rate: float = DEFAULT_DISPLACED_SHARE,
    min_share: float = 0.01,
) -> list[AffectedCommune]:
    """Communes covered by a flood extent (GeoJSON geometry, Feature or FeatureCollection in
    EPSG:4326), with displaced people from the covered share of their population.

    Shares are areas in an equal-area CRS (EPSG:6933); a commune with less than ``min_share``
    covered is left out. Not everyone inside a flood outline is displaced: each feature's
    area counts with its displaced share — its ``displaced_share`` property, the share of its
    ``hazard_class`` (:data:`DISPLACED_SHARE_BY_CLASS`), else ``displaced_rate``
    (:data:`DEFAULT_DISPLACED_SHARE`, a stated planning assumption); where features overlap,
    the highest share counts. ``displaced = round(Σ covered share × displaced share ×
    population)`` (a missing population counts as 0).

    Returns
    -------
    list of AffectedCommune
        Sorted by commune code, each with its ``covered_share``.

    Raises
    ------
    ScenarioError
        If the extent is not GeoJSON (``extent_not_geojson`` {detail}), holds no polygons
        (``extent_not_polygons``), its coordinates are not lon/lat (``extent_not_lonlat``), or
        a feature's share or class is wrong (``extent_share_invalid`` {value},
        ``extent_class_invalid`` {value, classes}).
    """
    import geopandas as gpd

    parts = [(g, s) for g, s in _extent_parts(extent, displaced_rate) if not g.is_empty]
    area = _check_extent(parts)
    hits = gdf.iloc[gdf.sindex.query(area, predicate="intersects")]
    if hits.empty:
        return []
    equal_area = "EPSG:6933"
    polys = gpd.GeoSeries(hits.geometry.values, index=hits.index, crs=gdf.crs).to_crs(equal_area)
    cover = gpd.GeoSeries([area], crs=gdf.crs).to_crs(equal_area).iloc[0]
    shares = polys.intersection(cover).area / polys.area
    weighted = _weighted_shares(parts, polys, gdf.crs)
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
            AffectedCommune(str(code), round(float(weighted[code]) * pop), {}, round(share, 4))
        )
    return sorted(out, key=lambda a: a.commune)

"""Flood scenarios and needs profiles: displaced people into integer needs per resource."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from geo.errors import LienXaError
from geo.resources import Resource, load_catalogue


class ScenarioError(LienXaError):
    """A flood scenario is invalid; the message names the entry."""


class NeedsProfileError(LienXaError):
    """A needs profile file is invalid."""


#: Default needs profile. ``per_person_day`` is multiplied by displaced people and days;
#: ``per_person`` by displaced people once (people, equipment, places do not multiply by days).
#: Sources: MISSION.md — rice 0.5 kg/person/day (Decree 20/2021/NĐ-CP Art. 12: 15 kg a month),
#: drinking water 3 L/person/day (Sphere: 2.5-3 L), one shelter place per displaced person
#: (Sphere: 3.5 m² covered space). The forces and equipment ratios are planning assumptions,
#: to be set per province: one militia member per 25 displaced people, one boat per 25 flooded
#: households (~100 people), one life jacket per 10 people evacuated by water, etc.
DEFAULT_PROFILE: dict[str, dict[str, float]] = {
    "per_person_day": {
        "rice_kg": 0.5,
        "drinking_water_l": 3.0,
    },
    "per_person": {
        "shelter_places": 1.0,
        "militia": 1 / 25,
        "shock_team": 1 / 50,
        "police": 1 / 250,
        "youth_volunteers": 1 / 50,
        "medical_staff": 1 / 400,
        "boats": 1 / 100,
        "trucks": 1 / 500,
        "generators": 1 / 1000,
        "life_jackets": 1 / 10,
        "tarpaulins": 1 / 4.5,
        "medicine_kits": 1 / 50,
        "sandbags": 2.0,
        "excavators": 1 / 3000,
    },
}


@dataclass(frozen=True)
class NeedsProfile:
    """Ratios turning displaced people into needs (see :data:`DEFAULT_PROFILE`)."""

    per_person_day: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PROFILE["per_person_day"])
    )
    per_person: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PROFILE["per_person"])
    )
    name: str = "default"

    def needs_for(self, displaced: int, days: int) -> dict[str, int]:
        """Integer needs (rounded up) for ``displaced`` people over ``days`` days."""
        out: dict[str, int] = {}
        for key, ratio in self.per_person_day.items():
            out[key] = math.ceil(displaced * days * ratio - 1e-9)
        for key, ratio in self.per_person.items():
            out[key] = math.ceil(displaced * ratio - 1e-9)
        return {k: v for k, v in out.items() if v > 0}


def load_needs_profile(
    path: str | os.PathLike[str] | None = None,
    *,
    province: str | None = None,
    catalogue: Mapping[str, Resource] | None = None,
) -> NeedsProfile:
    """The default profile, overridden by a JSON/YAML file.

    The file holds ``{"default": {"per_person_day": {...}, "per_person": {...}},
    "provinces": {"40": {...}}}`` (or just one profile); for ``province`` its entries override
    the default's, key by key.

    Raises
    ------
    NeedsProfileError
        Unknown resource keys, negative ratios, or a malformed file.
    """
    catalogue = catalogue or load_catalogue()
    day = dict(DEFAULT_PROFILE["per_person_day"])
    once = dict(DEFAULT_PROFILE["per_person"])
    name = "default"
    if path is not None:
        p = Path(path)
        import yaml

        try:
            text = p.read_text(encoding="utf-8")
            data = (
                yaml.safe_load(text) if p.suffix.lower() in (".yaml", ".yml") else json.loads(text)
            )
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise NeedsProfileError(f"cannot read needs profile {p}: {exc}") from exc
        if not isinstance(data, dict):
            raise NeedsProfileError(f"{p}: a needs profile is a mapping")
        layers = [data.get("default", data if "provinces" not in data else {})]
        provinces = data.get("provinces") or {}
        if not isinstance(provinces, dict):
            raise NeedsProfileError(f"{p}: provinces must map a province code to a profile")
        # YAML reads an unquoted 40 as a number: province codes are compared as 2-digit strings
        by_code = {str(k).zfill(2): v for k, v in provinces.items()}
        code = str(province).zfill(2) if province else None
        if code and code in by_code:
            layers.append(by_code[code])
            name = f"province {code}"
        for layer in layers:
            if not isinstance(layer, dict):
                raise NeedsProfileError(
                    f"{p}: a profile is a mapping with per_person_day and per_person"
                )
            for section, target in (("per_person_day", day), ("per_person", once)):
                for key, value in (layer.get(section) or {}).items():
                    if key not in catalogue:
                        raise NeedsProfileError(f"{p}: {section}.{key}: unknown resource")
                    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                        raise NeedsProfileError(
                            f"{p}: {section}.{key}: ratio must be a number >= 0"
                        )
                    # a resource lives in one section only
                    day.pop(key, None)
                    once.pop(key, None)
                    target[key] = float(value)
    return NeedsProfile(per_person_day=day, per_person=once, name=name)


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


def _int(value: Any, what: str, *, minimum: int = 0) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise ScenarioError(f"{what} must be an integer, got {value!r}")
    if value < minimum:
        raise ScenarioError(f"{what} must be >= {minimum}, got {value!r}")
    return int(value)


def parse_scenario(
    data: Mapping[str, Any],
    *,
    communes: Collection[str] | None = None,
    gdf: Any = None,
    catalogue: Mapping[str, Resource] | None = None,
    max_affected: int = 5000,
    displaced_rate: float = 1.0,
    min_covered_share: float = 0.01,
) -> Scenario:
    """Validate a scenario mapping (CONTRACT.md) and return a :class:`Scenario`.

    Parameters
    ----------
    communes
        Known commune codes (default: ``gdf``'s index). Unknown ones are errors.
    gdf
        Boundaries, needed for ``flood_extent``: each commune the extent covers (at least
        ``min_covered_share`` of its area) is affected with ``displaced = round(share ×
        population × displaced_rate)``, unless listed explicitly in ``affected``.
    max_affected
        More affected entries than this are refused (protects the planner and the service).

    Raises
    ------
    ScenarioError
        Naming the field or the entry (by index and commune) that is wrong.
    """
    if not isinstance(data, Mapping):
        raise ScenarioError("a scenario is a JSON object")
    catalogue = catalogue or load_catalogue()
    known = set(communes) if communes is not None else (set(gdf.index) if gdf is not None else None)
    name = data.get("name", "unnamed scenario")
    if not isinstance(name, str) or not name.strip():
        raise ScenarioError("name must be a non-empty string")
    hazard = data.get("hazard", "flood")
    if not isinstance(hazard, str):
        raise ScenarioError("hazard must be a string")
    risk = _int(data.get("risk_level", 1), "risk_level", minimum=1)
    if risk > 5:
        raise ScenarioError(f"risk_level must be 1-5 (Decision 18/2021/QĐ-TTg), got {risk}")
    days = _int(data.get("duration_days", 1), "duration_days", minimum=1)
    raw_affected = data.get("affected", [])
    if not isinstance(raw_affected, list):
        raise ScenarioError("affected must be a list")
    if len(raw_affected) > max_affected:
        raise ScenarioError(
            f"affected has {len(raw_affected)} entries; at most {max_affected} are accepted"
        )
    affected: list[AffectedCommune] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw_affected):
        where = f"affected[{i}]"
        if not isinstance(entry, Mapping):
            raise ScenarioError(f"{where} must be an object with commune and displaced")
        code = entry.get("commune")
        if isinstance(code, int):
            code = f"{code:05d}"
        if not isinstance(code, str):
            raise ScenarioError(f"{where}.commune must be a 5-digit code string, got {code!r}")
        where = f"affected[{i}] ({code})"
        if known is not None and code not in known:
            raise ScenarioError(f"{where}: unknown commune {code!r}")
        if code in seen:
            raise ScenarioError(f"{where}: commune {code} is listed twice")
        seen.add(code)
        displaced = _int(entry.get("displaced", 0), f"{where}.displaced")
        needs_raw = entry.get("needs") or {}
        if not isinstance(needs_raw, Mapping):
            raise ScenarioError(f"{where}.needs must be an object of resource: quantity")
        needs = {}
        for key, value in needs_raw.items():
            if key not in catalogue:
                raise ScenarioError(f"{where}.needs: unknown resource {key!r}")
            needs[key] = _int(value, f"{where}.needs.{key}")
        affected.append(AffectedCommune(code, displaced, needs))
    closed: list[tuple[str, str]] = []
    raw_closed = data.get("closed_links", [])
    if not isinstance(raw_closed, list):
        raise ScenarioError("closed_links must be a list of [a, b] pairs")
    for i, pair in enumerate(raw_closed):
        if (
            not isinstance(pair, (list, tuple))
            or len(pair) != 2
            or not all(isinstance(c, str) for c in pair)
        ):
            raise ScenarioError(f"closed_links[{i}] must be a pair of commune codes, got {pair!r}")
        a, b = pair
        if a == b:
            raise ScenarioError(f"closed_links[{i}]: a link from {a} to itself")
        for c in (a, b):
            if known is not None and c not in known:
                raise ScenarioError(f"closed_links[{i}]: unknown commune {c!r}")
        closed.append((a, b) if a < b else (b, a))
    extent = data.get("flood_extent")
    if extent is not None:
        if gdf is None:
            raise ScenarioError("flood_extent needs the boundaries to find the communes it covers")
        for entry in extent_affected(
            extent, gdf, displaced_rate=displaced_rate, min_share=min_covered_share
        ):
            if entry.commune not in seen:
                affected.append(entry)
                seen.add(entry.commune)
        if len(affected) > max_affected:
            raise ScenarioError(
                f"flood_extent covers {len(affected)} communes; at most {max_affected} are accepted"
            )
    if not affected:
        raise ScenarioError("no affected commune: give affected entries or a flood_extent")
    return Scenario(name.strip(), hazard, risk, days, tuple(affected), tuple(closed), extent)


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
        If the extent is not GeoJSON, holds no polygons, or its coordinates are not lon/lat.
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
        raise ScenarioError(
            f"flood_extent is not a GeoJSON geometry or FeatureCollection ({exc})"
        ) from exc
    geoms = [g for g in geoms if not g.is_empty]
    if not geoms or not all(g.geom_type in ("Polygon", "MultiPolygon") for g in geoms):
        raise ScenarioError("flood_extent must hold polygons")
    area = shapely.make_valid(shapely.union_all(geoms))
    minx, miny, maxx, maxy = area.bounds
    if not (
        -180 <= minx <= 180 and -90 <= miny <= 90 and -180 <= maxx <= 180 and -90 <= maxy <= 90
    ):
        raise ScenarioError("flood_extent coordinates must be lon/lat (EPSG:4326)")
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
            AffectedCommune(
                str(code), int(round(share * pop * displaced_rate)), {}, round(share, 4)
            )
        )
    return sorted(out, key=lambda a: a.commune)


def load_scenario(path: str | os.PathLike[str], **kwargs: Any) -> Scenario:
    """Read a scenario JSON file and validate it (see :func:`parse_scenario`).

    Raises
    ------
    ScenarioError
        If the file does not exist, is not valid JSON, or the scenario is invalid (the entry
        named).
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ScenarioError(f"scenario file {p} does not exist") from exc
    except ValueError as exc:
        raise ScenarioError(f"{p.name} is not valid JSON: {exc}") from exc
    return parse_scenario(data, **kwargs)


def compute_needs(
    scenario: Scenario, profile: NeedsProfile | None = None
) -> dict[str, dict[str, int]]:
    """Integer needs per affected commune and resource; explicit ``needs`` override."""
    profile = profile or NeedsProfile()
    out = {}
    for a in scenario.affected:
        needs = profile.needs_for(a.displaced, scenario.duration_days)
        needs.update(a.needs)
        out[a.commune] = {k: v for k, v in needs.items() if v > 0}
    return out

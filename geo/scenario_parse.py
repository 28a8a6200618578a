"""Flood scenarios (CONTRACT.md) read and validated into a :class:`~geo.scenario.Scenario`,
each error with its code and the field it concerns (``"affected[2].commune"``)."""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from typing import Any

from geo.catalogue import Resource, load_catalogue
from geo.errors import Problem
from geo.io import read_structured
from geo.scenario import (
    DEFAULT_DISPLACED_SHARE,
    ISOLATION_MODES,
    AffectedCommune,
    Scenario,
    ScenarioError,
    extent_affected,
    scenario_error,
)
from geo.scenario_people import (
    MAX_DISPLACED,
    MAX_DURATION_DAYS,
    MAX_HOUSES,
    MAX_RECOVERY_DAYS,
    Populations,
    check_people,
    populations_of,
)


def _int(
    value: Any,
    what: str,
    *,
    field: str | None = None,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    field = field or what
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (isinstance(value, float) and not value.is_integer())
    ):
        raise scenario_error(
            f"{what} must be an integer, got {value!r}", "not_an_integer", field, value=str(value)
        )
    if value < minimum:
        raise scenario_error(
            f"{what} must be >= {minimum}, got {value!r}",
            "below_minimum",
            field,
            value=str(value),
            minimum=minimum,
        )
    if maximum is not None and value > maximum:
        raise scenario_error(
            f"{what} must be <= {maximum}, got {value!r}",
            "above_maximum",
            field,
            value=str(value),
            maximum=maximum,
        )
    return int(value)


def _header(data: Mapping[str, Any]) -> tuple[str, str, int, int, int | None]:
    """The scenario's name, hazard, risk level, duration and recovery days (None: not given)."""
    name = data.get("name", "unnamed scenario")
    if not isinstance(name, str) or not name.strip():
        raise scenario_error("name must be a non-empty string", "name_invalid", "name")
    hazard = data.get("hazard", "flood")
    if not isinstance(hazard, str):
        raise scenario_error("hazard must be a string", "hazard_invalid", "hazard")
    given = data.get("risk_level")
    risk = 1 if given is None else _int(given, "risk_level", minimum=1)  # missing: refused below
    if risk > 5:
        raise scenario_error(
            f"risk_level must be 1-5 (Decision 18/2021/QĐ-TTg), got {risk}",
            "risk_level_out_of_range",
            "risk_level",
            value=risk,
        )
    days = _int(data.get("duration_days", 1), "duration_days", minimum=1, maximum=MAX_DURATION_DAYS)
    recovery = data.get("recovery_days")
    if recovery is not None:
        recovery = _int(recovery, "recovery_days", minimum=1, maximum=MAX_RECOVERY_DAYS)
    return name.strip(), hazard, risk, days, recovery


def _entry_code(entry: Any, i: int, known: set[str] | None, seen: set[str]) -> str:
    """The commune code of ``affected[i]``, checked: known, not listed before."""
    where = f"affected[{i}]"
    if not isinstance(entry, Mapping):
        raise scenario_error(
            f"{where} must be an object with commune and displaced", "affected_entry_invalid", where
        )
    code = entry.get("commune")
    if isinstance(code, int):
        code = f"{code:05d}"
    if not isinstance(code, str):
        raise scenario_error(
            f"{where}.commune must be a 5-digit code string, got {code!r}",
            "commune_code_invalid",
            f"{where}.commune",
            value=str(code),
        )
    if known is not None and code not in known:
        raise scenario_error(
            f"{where} ({code}): unknown commune {code!r}",
            "unknown_commune",
            f"{where}.commune",
            commune=code,
        )
    if code in seen:
        raise scenario_error(
            f"{where} ({code}): commune {code} is listed twice",
            "commune_listed_twice",
            f"{where}.commune",
            commune=code,
        )
    return code


def _entry_needs(
    entry: Mapping[str, Any], i: int, code: str, catalogue: Mapping[str, Resource]
) -> dict[str, int]:
    where, field = f"affected[{i}] ({code})", f"affected[{i}].needs"
    raw = entry.get("needs") or {}
    if not isinstance(raw, Mapping):
        raise scenario_error(
            f"{where}.needs must be an object of resource: quantity", "needs_invalid", field
        )
    needs = {}
    for key, value in raw.items():
        if key not in catalogue:
            raise scenario_error(
                f"{where}.needs: unknown resource {key!r}",
                "unknown_resource",
                field,
                resource=str(key),
            )
        needs[key] = _int(value, f"{where}.needs.{key}", field=f"{field}.{key}")
    return needs


def _isolated(entry: Mapping[str, Any], i: int, code: str) -> str | None:
    value = entry.get("isolated")
    if value is None or value is False or value == "none":
        return None
    if value not in ISOLATION_MODES:
        raise scenario_error(
            f"affected[{i}] ({code}).isolated must be one of {', '.join(ISOLATION_MODES)}, "
            f"got {value!r}",
            "isolated_invalid",
            f"affected[{i}].isolated",
            value=repr(value),
        )
    return str(value)


def _entry(
    entry: Mapping[str, Any], i: int, code: str, catalogue: Mapping[str, Resource]
) -> AffectedCommune:
    where = f"affected[{i}] ({code})"
    displaced = _int(
        entry.get("displaced", 0),
        f"{where}.displaced",
        field=f"affected[{i}].displaced",
        maximum=MAX_DISPLACED,
    )
    flooded, collapsed = (
        _int(entry.get(key, 0), f"{where}.{key}", field=f"affected[{i}].{key}", maximum=MAX_HOUSES)
        for key in ("houses_flooded", "houses_collapsed")
    )
    return AffectedCommune(
        code,
        displaced,
        _entry_needs(entry, i, code, catalogue),
        isolated=_isolated(entry, i, code),
        houses_flooded=flooded,
        houses_collapsed=collapsed,
    )


def _affected(
    raw: Any,
    known: set[str] | None,
    catalogue: Mapping[str, Resource],
    max_affected: int,
    populations: Populations | None,
    warnings: list[Problem],
) -> list[AffectedCommune]:
    if not isinstance(raw, list):
        raise scenario_error("affected must be a list", "affected_not_a_list", "affected")
    if len(raw) > max_affected:
        raise scenario_error(
            f"affected has {len(raw)} entries; at most {max_affected} are accepted",
            "too_many_affected",
            "affected",
            count=len(raw),
            max=max_affected,
        )
    affected: list[AffectedCommune] = []
    seen: set[str] = set()
    for i, entry in enumerate(raw):
        code = _entry_code(entry, i, known, seen)
        seen.add(code)
        a = _entry(entry, i, code, catalogue)
        check_people(a, i, populations, warnings)
        affected.append(a)
    return affected


def _closed_link(pair: Any, i: int, known: set[str] | None) -> tuple[str, str]:
    where = f"closed_links[{i}]"
    if (
        not isinstance(pair, (list, tuple))
        or len(pair) != 2
        or not all(isinstance(c, str) for c in pair)
    ):
        raise scenario_error(
            f"{where} must be a pair of commune codes, got {pair!r}",
            "closed_link_invalid",
            where,
            value=repr(pair),
        )
    a, b = pair
    if a == b:
        raise scenario_error(f"{where}: a link from {a} to itself", "self_link", where, commune=a)
    for c in (a, b):
        if known is not None and c not in known:
            raise scenario_error(
                f"{where}: unknown commune {c!r}", "unknown_commune", where, commune=c
            )
    return (a, b) if a < b else (b, a)


def _closed_links(raw: Any, known: set[str] | None) -> list[tuple[str, str]]:
    if not isinstance(raw, list):
        raise scenario_error(
            "closed_links must be a list of [a, b] pairs", "closed_links_not_a_list", "closed_links"
        )
    return [_closed_link(pair, i, known) for i, pair in enumerate(raw)]


def _add_extent(
    affected: list[AffectedCommune],
    extent: Any,
    gdf: Any,
    *,
    displaced_rate: float,
    min_share: float,
    max_affected: int,
) -> None:
    """Append the communes ``extent`` covers that ``affected`` does not list yet."""
    if gdf is None:
        raise scenario_error(
            "flood_extent needs the boundaries to find the communes it covers",
            "extent_needs_boundaries",
            "flood_extent",
        )
    seen = {a.commune for a in affected}
    for entry in extent_affected(extent, gdf, displaced_rate=displaced_rate, min_share=min_share):
        if entry.commune not in seen:
            affected.append(entry)
            seen.add(entry.commune)
    if len(affected) > max_affected:
        raise scenario_error(
            f"flood_extent covers {len(affected)} communes; at most {max_affected} are accepted",
            "too_many_affected",
            "flood_extent",
            count=len(affected),
            max=max_affected,
        )


def parse_scenario(
    data: Mapping[str, Any],
    *,
    communes: Collection[str] | None = None,
    gdf: Any = None,
    catalogue: Mapping[str, Resource] | None = None,
    max_affected: int = 5000,
    displaced_rate: float = DEFAULT_DISPLACED_SHARE,
    min_covered_share: float = 0.01,
    populations: Populations | None = None,
) -> Scenario:
    """Validate a scenario mapping (CONTRACT.md) and return a :class:`Scenario`.

    Parameters
    ----------
    communes
        Known commune codes (default: ``gdf``'s index). Unknown ones are errors.
    gdf
        Boundaries, needed for ``flood_extent``: each commune the extent covers (at least
        ``min_covered_share`` of its area) is affected with ``displaced = round(share ×
        population × displaced share)``, unless listed explicitly in ``affected`` (the share
        per feature, else ``displaced_rate``: see :func:`geo.scenario.extent_affected`).
    populations
        ``{commune: (population, suspect)}`` to check ``displaced`` against (default: ``gdf``'s
        ``population`` and ``population_suspect`` columns; none without either). More
        displaced than a trusted population is an error; than a suspect one, a warning in the
        scenario's ``warnings`` (the plan carries it).
    max_affected
        More affected entries than this are refused (protects the planner and the service).

    Raises
    ------
    ScenarioError
        Naming the field or the entry (by index and commune) that is wrong; ``field`` is the
        input's path (``"affected[2].commune"``). Codes: ``scenario_not_an_object``,
        ``name_invalid``, ``hazard_invalid``, ``not_an_integer`` {value}, ``below_minimum``
        {value, minimum}, ``above_maximum`` {value, maximum}, ``risk_level_missing``,
        ``risk_level_out_of_range`` {value}, ``isolated_invalid`` {value},
        ``displaced_above_population`` {commune, displaced, population},
        ``houses_above_population`` {commune, houses, population}, ``affected_not_a_list``,
        ``too_many_affected`` {count, max}, ``affected_entry_invalid``,
        ``commune_code_invalid`` {value}, ``unknown_commune`` {commune},
        ``commune_listed_twice`` {commune}, ``needs_invalid``, ``unknown_resource``
        {resource}, ``closed_links_not_a_list``, ``closed_link_invalid`` {value},
        ``self_link`` {commune}, ``extent_needs_boundaries``, the flood extent's (see
        :func:`extent_affected`), ``no_affected``.
    """
    if not isinstance(data, Mapping):
        raise scenario_error("a scenario is a JSON object", "scenario_not_an_object")
    catalogue = catalogue or load_catalogue()
    known = set(communes) if communes is not None else (set(gdf.index) if gdf is not None else None)
    name, hazard, risk, days, recovery = _header(data)
    if populations is None and gdf is not None and "population" in gdf:
        populations = populations_of(gdf)
    warnings: list[Problem] = []
    affected = _affected(
        data.get("affected", []), known, catalogue, max_affected, populations, warnings
    )
    closed = _closed_links(data.get("closed_links", []), known)
    extent = data.get("flood_extent")
    if extent is not None:
        _add_extent(
            affected,
            extent,
            gdf,
            displaced_rate=displaced_rate,
            min_share=min_covered_share,
            max_affected=max_affected,
        )
    if not affected:
        raise scenario_error(
            "no affected commune: give affected entries or a flood_extent",
            "no_affected",
            "affected",
        )
    if data.get("risk_level") is None:  # it decides who commands: never a silent default
        raise scenario_error(
            "risk_level is required (1-5, Decision 18/2021/QĐ-TTg): it decides who commands",
            "risk_level_missing",
            "risk_level",
        )
    return Scenario(
        name,
        hazard,
        risk,
        days,
        tuple(affected),
        tuple(closed),
        extent,
        recovery_days=recovery,
        warnings=tuple(warnings),
    )


def load_scenario(path: str | os.PathLike[str], **kwargs: Any) -> Scenario:
    """Read a scenario JSON file and validate it (see :func:`parse_scenario`).

    Raises
    ------
    ScenarioError
        If the file does not exist (``file_not_found``), cannot be read or is not valid JSON
        (``file_unreadable``, ``invalid_syntax``; see :func:`geo.io.read_structured`), or the
        scenario is invalid (the entry named).
    """
    data = read_structured(path, what="scenario file", error_type=ScenarioError, allow_yaml=False)
    return parse_scenario(data, **kwargs)

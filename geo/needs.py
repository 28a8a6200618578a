"""Needs profiles: displaced people into integer needs per resource, over a scenario.

Scenarios themselves are in :mod:`geo.scenario` and :mod:`geo.scenario_parse` (re-exported
here).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from geo.catalogue import Resource, load_catalogue
from geo.errors import LienXaError
from geo.io import read_structured
from geo.scenario import AffectedCommune, Scenario, ScenarioError, extent_affected
from geo.scenario_parse import load_scenario, parse_scenario

__all__ = [
    "DEFAULT_PROFILE",
    "AffectedCommune",
    "NeedsProfile",
    "NeedsProfileError",
    "Scenario",
    "ScenarioError",
    "compute_needs",
    "compute_recovery_needs",
    "extent_affected",
    "load_needs_profile",
    "load_scenario",
    "parse_scenario",
]


class NeedsProfileError(LienXaError):
    """A needs profile file is invalid."""

    default_code = "needs_profile_invalid"


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
    # The recovery phase, per damaged house, over the scenario's recovery_days. Forces (the
    # catalogue's "forces" pillar) in person-days, spread over the days; the rest in units,
    # once. No published ratio was found for labour per house (Decree 20/2021/NĐ-CP Art. 15
    # supports repairs in money, not labour): these are planning assumptions, to be set per
    # province. A deeply flooded house: mud clearing, washing and drying out, about two people
    # for two days (4 person-days: the Châu Khê brigade in Con Cuông, 900 people over 26-29 July
    # 2025, is some 3,600 person-days, on the order of a thousand flooded houses), and one
    # tarpaulin to cover what the water broke. A collapsed or swept-away house: clearing the
    # debris and raising a temporary shelter, about five people for four days (20 person-days),
    # two tarpaulins (Sphere shelter standard 2 / the IFRC emergency shelter kit: two 4×6 m
    # tarpaulins per household) and an excavator for every 20 such houses.
    "per_house_flooded": {
        "militia": 2.0,
        "youth_volunteers": 2.0,
        "tarpaulins": 1.0,
    },
    "per_house_collapsed": {
        "militia": 10.0,
        "youth_volunteers": 10.0,
        "tarpaulins": 2.0,
        "excavators": 1 / 20,
    },
}

#: The sections of a profile: relief (a resource in one of the two only) and recovery.
RELIEF_SECTIONS = ("per_person_day", "per_person")
RECOVERY_SECTIONS = ("per_house_flooded", "per_house_collapsed")


@dataclass(frozen=True)
class NeedsProfile:
    """Ratios turning displaced people into needs (see :data:`DEFAULT_PROFILE`)."""

    per_person_day: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PROFILE["per_person_day"])
    )
    per_person: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PROFILE["per_person"])
    )
    per_house_flooded: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PROFILE["per_house_flooded"])
    )
    per_house_collapsed: Mapping[str, float] = field(
        default_factory=lambda: dict(DEFAULT_PROFILE["per_house_collapsed"])
    )
    name: str = "default"

    def recovery_for(
        self, flooded: int, collapsed: int, days: int, *, forces: frozenset[str] | None = None
    ) -> dict[str, int]:
        """Integer recovery needs (rounded up) of ``flooded`` deeply flooded and ``collapsed``
        collapsed houses over ``days``: the ``forces`` resources (default: the catalogue's
        forces pillar) as people, person-days spread over the days; the others once."""
        if forces is None:
            forces = frozenset(k for k, r in load_catalogue().items() if r.pillar == "forces")
        total: dict[str, float] = {}
        for houses, ratios in (
            (flooded, self.per_house_flooded),
            (collapsed, self.per_house_collapsed),
        ):
            for key, ratio in ratios.items():
                total[key] = total.get(key, 0.0) + houses * ratio
        out = {k: math.ceil((v / days if k in forces else v) - 1e-9) for k, v in total.items()}
        return {k: v for k, v in out.items() if v > 0}

    def needs_for(self, displaced: int, days: int) -> dict[str, int]:
        """Integer needs (rounded up) for ``displaced`` people over ``days`` days."""
        out: dict[str, int] = {}
        for key, ratio in self.per_person_day.items():
            out[key] = math.ceil(displaced * days * ratio - 1e-9)
        for key, ratio in self.per_person.items():
            out[key] = math.ceil(displaced * ratio - 1e-9)
        return {k: v for k, v in out.items() if v > 0}


def _profile_error(
    message: str, code: str, field: str | None = None, **params: Any
) -> NeedsProfileError:
    return NeedsProfileError(message, code=code, field=field, params=params)


def _layers(data: Any, where: str, province: str | None) -> tuple[list[Any], str]:
    """The profile layers that apply (the default, then the province's), and the name."""
    if not isinstance(data, dict):
        raise _profile_error(f"{where}: a needs profile is a mapping", "profile_not_a_mapping")
    layers = [data.get("default", data if "provinces" not in data else {})]
    provinces = data.get("provinces") or {}
    if not isinstance(provinces, dict):
        raise _profile_error(
            f"{where}: provinces must map a province code to a profile",
            "provinces_invalid",
            "provinces",
        )
    # YAML reads an unquoted 40 as a number: province codes are compared as 2-digit strings
    by_code = {str(k).zfill(2): v for k, v in provinces.items()}
    code = str(province).zfill(2) if province else None
    if code and code in by_code:
        return [*layers, by_code[code]], f"province {code}"
    return layers, "default"


def _apply_layer(
    layer: Any,
    where: str,
    day: dict[str, float],
    once: dict[str, float],
    catalogue: Mapping[str, Resource],
    houses: Mapping[str, dict[str, float]] | None = None,
) -> None:
    if not isinstance(layer, dict):
        raise _profile_error(
            f"{where}: a profile is a mapping with per_person_day and per_person",
            "profile_layer_invalid",
        )
    sections = [("per_person_day", day), ("per_person", once), *(houses or {}).items()]
    for section, target in sections:
        for key, value in (layer.get(section) or {}).items():
            if key not in catalogue:
                raise _profile_error(
                    f"{where}: {section}.{key}: unknown resource",
                    "unknown_resource",
                    f"{section}.{key}",
                    resource=str(key),
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise _profile_error(
                    f"{where}: {section}.{key}: ratio must be a number >= 0",
                    "ratio_invalid",
                    f"{section}.{key}",
                    value=str(value),
                )
            if section in RELIEF_SECTIONS:  # a resource lives in one relief section only
                day.pop(key, None)
                once.pop(key, None)
            target[key] = float(value)


def load_needs_profile(
    path: str | os.PathLike[str] | None = None,
    *,
    province: str | None = None,
    catalogue: Mapping[str, Resource] | None = None,
) -> NeedsProfile:
    """The default profile, overridden by a JSON/YAML file.

    The file holds ``{"default": {"per_person_day": {...}, "per_person": {...},
    "per_house_flooded": {...}, "per_house_collapsed": {...}}, "provinces": {"40": {...}}}``
    (or just one profile); for ``province`` its entries override the default's, key by key.
    The house sections are the recovery phase (:meth:`NeedsProfile.recovery_for`).

    Raises
    ------
    NeedsProfileError
        Unknown resource keys (``unknown_resource`` {resource}), negative ratios
        (``ratio_invalid`` {value}), or a malformed file (``profile_not_a_mapping``,
        ``provinces_invalid``, ``profile_layer_invalid``, and the reader's
        ``file_not_found``, ``file_unreadable``, ``invalid_syntax``: see
        :func:`geo.io.read_structured`).
    """
    catalogue = catalogue or load_catalogue()
    day = dict(DEFAULT_PROFILE["per_person_day"])
    once = dict(DEFAULT_PROFILE["per_person"])
    houses = {key: dict(DEFAULT_PROFILE[key]) for key in RECOVERY_SECTIONS}
    name = "default"
    if path is not None:
        data = read_structured(path, what="needs profile", error_type=NeedsProfileError)
        where = str(Path(path))
        layers, name = _layers(data, where, province)
        for layer in layers:
            _apply_layer(layer, where, day, once, catalogue, houses)
    return NeedsProfile(
        per_person_day=day,
        per_person=once,
        per_house_flooded=houses["per_house_flooded"],
        per_house_collapsed=houses["per_house_collapsed"],
        name=name,
    )


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


def needs_less(scenario: Scenario, taken: Mapping[tuple[str, str], int]) -> Scenario:
    """``scenario`` with each affected commune's needs (:func:`compute_needs`, made explicit)
    less what ``taken[(commune, resource)]`` already provides, never below zero: what offers
    or fired regulation cards already cover is not asked for again."""
    needs = compute_needs(scenario)
    affected = tuple(
        replace(
            a,
            needs={
                r: max(0, n - taken.get((a.commune, r), 0))
                for r, n in needs.get(a.commune, {}).items()
            },
        )
        for a in scenario.affected
    )
    return replace(scenario, affected=affected)


def compute_recovery_needs(
    scenario: Scenario, profile: NeedsProfile | None = None
) -> dict[str, dict[str, int]]:
    """Integer needs of the recovery phase per affected commune with damaged houses, over the
    scenario's recovery days (:meth:`NeedsProfile.recovery_for`); communes without any left
    out."""
    profile = profile or NeedsProfile()
    days = scenario.days_of_recovery
    out = {}
    for a in scenario.affected:
        if a.houses_flooded or a.houses_collapsed:
            needs = profile.recovery_for(a.houses_flooded, a.houses_collapsed, days)
            if needs:
                out[a.commune] = needs
    return out

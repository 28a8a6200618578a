"""Needs profiles: displaced people into integer needs per resource, over a scenario.

Scenarios themselves are in :mod:`geo.scenario` and :mod:`geo.scenario_parse` (re-exported
here).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
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
) -> None:
    if not isinstance(layer, dict):
        raise _profile_error(
            f"{where}: a profile is a mapping with per_person_day and per_person",
            "profile_layer_invalid",
        )
    for section, target in (("per_person_day", day), ("per_person", once)):
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
            # a resource lives in one section only
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

    The file holds ``{"default": {"per_person_day": {...}, "per_person": {...}},
    "provinces": {"40": {...}}}`` (or just one profile); for ``province`` its entries override
    the default's, key by key.

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
    name = "default"
    if path is not None:
        data = read_structured(path, what="needs profile", error_type=NeedsProfileError)
        where = str(Path(path))
        layers, name = _layers(data, where, province)
        for layer in layers:
            _apply_layer(layer, where, day, once, catalogue)
    return NeedsProfile(per_person_day=day, per_person=once, name=name)


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

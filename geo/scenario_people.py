"""People counts a scenario is checked against: populations (``{commune: (population,
suspect)}``), the bounds of a scenario's numbers, and :func:`check_people`."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from geo.errors import Problem
from geo.scenario import AffectedCommune, scenario_error

#: The longest relief phase a scenario may plan (days). Mutual aid between communes covers
#: the emergency and the first weeks; beyond three months it is a reconstruction programme.
MAX_DURATION_DAYS = 90

#: The longest recovery phase (days), for the same reason.
MAX_RECOVERY_DAYS = 90

#: The most people one entry may displace when the commune's population is unknown or suspect:
#: above the population of any commune-level unit of Viet Nam after the 2025 merger (the
#: largest wards have a few hundred thousand people).
MAX_DISPLACED = 1_000_000

#: The most houses of one kind one entry may list (same reasoning, a few people per house).
MAX_HOUSES = 300_000

#: ``{commune: (population or None, suspect)}`` the displaced counts are checked against.
Populations = Mapping[str, tuple[float | None, bool]]


def _population_of(code: str, populations: Populations | None) -> tuple[float | None, bool]:
    if populations is None or code not in populations:
        return None, True
    pop, suspect = populations[code]
    if pop is None or (isinstance(pop, float) and math.isnan(pop)):
        return None, True
    return float(pop), bool(suspect)


def check_people(
    entry: AffectedCommune, i: int, populations: Populations | None, warnings: list[Problem]
) -> None:
    """``displaced`` (and the houses) against the commune's population: above a trusted one is
    an error naming the commune; above a suspect one, a warning on the plan."""
    if populations is None:
        return
    pop, suspect = _population_of(entry.commune, populations)
    params = {"commune": entry.commune, "displaced": entry.displaced, "population": pop}
    if pop is not None and not suspect:
        if entry.displaced > pop:
            raise scenario_error(
                f"affected[{i}] ({entry.commune}): displaced {entry.displaced} is more than the "
                f"commune's population {pop:.0f}",
                "displaced_above_population",
                f"affected[{i}].displaced",
                **params,
            )
        houses = entry.houses_flooded + entry.houses_collapsed
        if houses > pop:
            raise scenario_error(
                f"affected[{i}] ({entry.commune}): {houses} damaged houses is more than the "
                f"commune's population {pop:.0f}",
                "houses_above_population",
                f"affected[{i}].houses_flooded",
                commune=entry.commune,
                houses=houses,
                population=pop,
            )
    elif (pop is None and entry.displaced > 0) or (pop is not None and entry.displaced > pop):
        warnings.append(
            Problem(
                code="displaced_above_suspect_population",
                field=f"affected[{i}].displaced",
                params=params,
                message=(
                    f"{entry.commune}: displaced {entry.displaced} is more than its population "
                    f"{'(unknown)' if pop is None else f'{pop:.0f}'}, which is flagged suspect: "
                    "check the figure, or load an official population table"
                ),
            )
        )


def populations_of(gdf: Any) -> dict[str, tuple[float | None, bool]]:
    """``{commune: (population, suspect)}`` of a boundaries GeoDataFrame (suspect when the
    ``population_suspect`` column says so or the population is missing)."""
    pop = gdf["population"]
    flag = gdf.get("population_suspect", None)
    out: dict[str, tuple[float | None, bool]] = {}
    for code, value in pop.items():
        v = None if value is None or (isinstance(value, float) and math.isnan(value)) else value
        out[str(code)] = (
            None if v is None else float(v),
            v is None or (flag is not None and bool(flag[code])),
        )
    return out

"""Official population tables: a CSV ``code,population,source,date`` that replaces the
boundaries file's figures and clears their suspect flag (:func:`apply_population`)."""

from __future__ import annotations

import csv
import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd

from geo.errors import LienXaError, Problem

#: The header a population table must have (in this order; more columns are ignored).
POPULATION_COLUMNS = ("code", "population", "source", "date")


class PopulationError(LienXaError):
    """A population table cannot be used; ``problems`` name its bad lines."""

    default_code = "population_table_invalid"


@dataclass(frozen=True)
class OfficialPopulation:
    """One commune's official population, with where and when it was published."""

    code: str
    population: int
    source: str
    date: dt.date


def _row(row: dict[str, str], line: int, seen: set[str]) -> OfficialPopulation | Problem:
    code = (row.get("code") or "").strip()
    if not (len(code) == 5 and code.isdigit()):
        return Problem(
            "commune_code_invalid",
            f"line {line}: code {code!r} is not 5 digits",
            "code",
            {"value": code},
            line,
        )
    if code in seen:
        return Problem(
            "commune_listed_twice",
            f"line {line}: {code} is listed twice",
            "code",
            {"commune": code},
            line,
        )
    text = (row.get("population") or "").strip().replace("_", "")
    if not text.isdigit():
        return Problem(
            "not_an_integer",
            f"line {line}: population {text!r} is not an integer >= 0",
            "population",
            {"value": text},
            line,
        )
    source = (row.get("source") or "").strip()
    if not source:
        return Problem(
            "population_source_missing",
            f"line {line}: no source",
            "source",
            {"commune": code},
            line,
        )
    try:
        day = dt.date.fromisoformat((row.get("date") or "").strip())
    except ValueError:
        return Problem(
            "population_date_invalid",
            f"line {line}: date is not YYYY-MM-DD",
            "date",
            {"value": row.get("date") or ""},
            line,
        )
    return OfficialPopulation(code, int(text), source, day)


def load_population_table(path: str | os.PathLike[str]) -> dict[str, OfficialPopulation]:
    """Read an official population table (CSV, UTF-8, header ``code,population,source,date``).

    Returns
    -------
    dict
        ``{code: OfficialPopulation}``.

    Raises
    ------
    PopulationError
        ``file_not_found``, ``population_header_invalid`` {expected}, or
        ``population_table_invalid`` with one problem per bad line (``commune_code_invalid``,
        ``commune_listed_twice``, ``not_an_integer``, ``population_source_missing``,
        ``population_date_invalid``): nothing is used from a table with errors.
    """
    p = Path(path)
    if not p.is_file():
        raise PopulationError(
            f"population table {p} not found",
            code="file_not_found",
            field="population",
            params={"path": str(p)},
        )
    with p.open(encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        if tuple(reader.fieldnames or ())[:4] != POPULATION_COLUMNS:
            raise PopulationError(
                f"{p}: the header must be {','.join(POPULATION_COLUMNS)}",
                code="population_header_invalid",
                field="population",
                params={"expected": ",".join(POPULATION_COLUMNS)},
            )
        out: dict[str, OfficialPopulation] = {}
        problems: list[Problem] = []
        for line, row in enumerate(reader, start=2):
            got = _row(row, line, set(out))
            if isinstance(got, Problem):
                problems.append(got)
            else:
                out[got.code] = got
    if problems:
        raise PopulationError(
            f"{p}: {len(problems)} bad line(s): {problems[0].message}",
            field="population",
            params={"count": len(problems)},
            problems=problems,
        )
    return out


def apply_population(
    gdf: gpd.GeoDataFrame, table: dict[str, OfficialPopulation]
) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` with the table's populations, their ``population_source`` and
    ``population_date``, and the suspect flag cleared for them.

    Raises
    ------
    PopulationError
        ``unknown_commune`` {commune} for a code not in ``gdf`` (nothing applied).
    """
    unknown = sorted(set(table) - set(gdf.index))
    if unknown:
        raise PopulationError(
            f"the population table names commune {unknown[0]}, which is not in the boundaries",
            code="unknown_commune",
            field="population",
            params={"commune": unknown[0]},
        )
    out = gdf.copy()
    if "population_source" not in out:
        out["population_source"] = None
        out["population_date"] = None
    for code, row in table.items():
        out.at[code, "population"] = float(row.population)
        out.at[code, "population_suspect"] = False
        out.at[code, "population_source"] = row.source
        out.at[code, "population_date"] = row.date.isoformat()
    return out

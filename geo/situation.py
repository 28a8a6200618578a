"""A commune's situation report (displaced people, damaged houses, isolation, explicit needs)
checked as one affected entry of a scenario, with the report's own field names."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from geo.catalogue import Resource, load_catalogue
from geo.errors import Problem
from geo.scenario import AffectedCommune, ScenarioError
from geo.scenario_parse import _entry, _entry_code
from geo.scenario_people import Populations, check_people

#: What a report may carry (CONTRACT.md, second round).
REPORT_KEYS = (
    "commune",
    "displaced",
    "houses_flooded",
    "houses_collapsed",
    "isolated",
    "needs",
    "note",
)

_PREFIX = "affected[0]."


def _field(field: str | None) -> str | None:
    """``affected[0].displaced`` -> ``displaced``: a report is one entry."""
    return field[len(_PREFIX) :] if field and field.startswith(_PREFIX) else field


def parse_report(
    data: Mapping[str, Any],
    *,
    known: Collection[str],
    populations: Populations | None,
    catalogue: Mapping[str, Resource] | None = None,
) -> tuple[AffectedCommune, list[Problem]]:
    """The report as an :class:`AffectedCommune` and its warnings (more displaced than a
    population flagged suspect).

    Raises
    ------
    ScenarioError
        The scenario's codes for one entry (``unknown_commune`` {commune}, ``below_minimum``
        {value, minimum}, ``not_an_integer`` {value}, ``above_maximum`` {value, maximum},
        ``displaced_above_population`` {commune, displaced, population}, ``isolated_invalid``
        {value}, ``unknown_resource`` {resource}, ...) with the report's field names
        (``displaced``, ``needs.water``).
    """
    catalogue = catalogue or load_catalogue()
    warnings: list[Problem] = []
    try:
        code = _entry_code(data, 0, set(known), set())
        entry = _entry(data, 0, code, catalogue)
        check_people(entry, 0, populations, warnings)
    except ScenarioError as exc:
        raise ScenarioError(
            exc.message.replace("affected[0] ", "", 1),
            code=exc.code,
            field=_field(exc.field),
            params=exc.params,
        ) from None
    return entry, [dataclasses.replace(w, field=_field(w.field)) for w in warnings]

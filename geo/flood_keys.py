"""The catalogue keys of the flood rules (isolation, recovery, people counts): the error codes
geo raises for them and the words plans use, marked for extraction (``geo/locale``)."""

from __future__ import annotations

from geo.i18n import N_

#: Error codes of scenarios and population tables (``error.<code>``, with the error's params).
ERRORS = (
    N_("error.above_maximum"),  # {value}, {maximum}
    N_("error.risk_level_missing"),
    N_("error.isolated_invalid"),  # {value}
    N_("error.displaced_above_population"),  # {commune}, {displaced}, {population}
    N_("error.houses_above_population"),  # {commune}, {houses}, {population}
    N_("error.displaced_above_suspect_population"),  # a plan's warning; same params
    N_("error.extent_share_invalid"),  # {value}
    N_("error.extent_class_invalid"),  # {value}, {classes}
    N_("error.population_table_invalid"),  # {count}
    N_("error.population_header_invalid"),  # {expected}
    N_("error.population_source_missing"),  # {commune}
    N_("error.population_date_invalid"),  # {value}
    N_("error.commune_not_affected"),  # {commune}
)

#: A plan's phases and a fully isolated commune's mode of supply.
PHASES = {"relief": N_("plan.phase.relief"), "recovery": N_("plan.phase.recovery")}
BY_AIR_OR_BOAT = N_("plan.by_air_or_boat")

#: The isolation modes as the command page offers them (None: not cut off).
ISOLATION_LABELS = {
    "full": N_("command.isolation.full"),
    "partial": N_("command.isolation.partial"),
    None: N_("command.isolation.none"),
}

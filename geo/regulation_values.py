"""The value checks of a regulation's JSON (:func:`geo.regulation.parse_regulation`): unknown
keys, texts, dates, positive quantities, catalogue resources and parties, each problem recorded
with its stable code, field and parameters rather than raised, so that one answer lists them all.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from geo.errors import Problem


@dataclass
class ValueCheck:
    """Collects the problems of one regulation: each method checks one value (at the JSON path
    ``at``), records a :class:`geo.errors.Problem` with a stable code when it is wrong and returns
    the value cleaned, or None."""

    problems: list[Problem] = field(default_factory=list)

    def add_error(self, code: str, at: str, message: str, **params: Any) -> None:
        self.problems.append(Problem(code=code, message=message, field=at, params=params))

    def keys(self, item: Mapping[str, Any], allowed: frozenset[str], at: str) -> None:
        for k in sorted(set(item) - allowed, key=str):
            self.add_error(
                "regulation_unknown_field",
                f"{at}.{k}" if at else str(k),
                f"unknown field {k!r}: remove it or use one of {', '.join(sorted(allowed))}",
                field=f"{at}.{k}" if at else str(k),
            )

    def bad(self, at: str, value: Any, what: str) -> None:
        self.add_error(
            "regulation_value_invalid", at, f"{at}: {what}, got {value!r}", field=at,
            value=repr(value)[:80],
        )  # fmt: skip

    def text(self, item: Mapping[str, Any], key: str, at: str, *, required: bool) -> str | None:
        value = item.get(key)
        if value is None:
            if required:
                self.add_error("regulation_field_missing", at, f"{at} is required", field=at)
            return None
        if not isinstance(value, str) or (required and not value.strip()):
            self.bad(at, value, "must be a non-empty string")
            return None
        return value.strip()

    def day(self, item: Mapping[str, Any], key: str) -> dt.date | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
            return value  # YAML gives dates
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.bad(key, value, "must be a date YYYY-MM-DD")
            return None

    def positive(self, value: Any, at: str) -> int | None:
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            self.add_error(
                "regulation_quantity_invalid", at, f"{at} must be a positive integer, got "
                f"{value!r}", field=at, value=repr(value)[:80],
            )  # fmt: skip
            return None
        return value

    def resources(self, value: Any, at: str, catalogue: Collection[str]) -> dict[str, int]:
        if not isinstance(value, Mapping):
            self.bad(at, value, "must map catalogue resources to quantities")
            return {}
        out: dict[str, int] = {}
        for r, q in value.items():
            if r not in catalogue:
                self.add_error(
                    "unknown_resource", f"{at}.{r}", f"{at}: unknown resource {r!r}", resource=r
                )
                continue
            n = self.positive(q, f"{at}.{r}")
            if n is not None:
                out[str(r)] = n
        return out

    def commune(self, value: Any, at: str, parties: Collection[str]) -> str | None:
        if not isinstance(value, str) or value not in parties:
            self.add_error(
                "regulation_not_a_party", at, f"{at}: {value!r} is not a party of the regulation",
                field=at, commune=str(value),
            )  # fmt: skip
            return None
        return value

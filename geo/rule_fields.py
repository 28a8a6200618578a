"""One rule mapping checked field by field (:func:`rule_from_dict`), each error with its code,
the rule key it concerns and the rule's position."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from geo.catalogue import load_catalogue
from geo.errors import Problem
from geo.rule_model import RULE_TYPES, Rule, RuleError, RuleType


@dataclass(frozen=True)
class _Where:
    """The rule being read: how messages name it, and its position in a list."""

    label: str
    ref: str
    index: int | None

    def error(self, code: str, field: str | None, message: str, **params: Any) -> RuleError:
        """A :class:`RuleError` ``"<label>: <message>"`` with its code, field and params."""
        full = f"{self.label}: {message}"
        values = {"rule": self.ref, **params}
        problem = Problem(code, full, field, values, line=self.index)
        return RuleError(full, code=code, field=field, params=values, problems=[problem])


def _date(value: Any, where: _Where, key: str) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise where.error(
        "date_invalid", key, f"{key} must be a date YYYY-MM-DD, got {value!r}", value=str(value)
    )


def _where(data: Any, index: int | None) -> _Where:
    if isinstance(data, Mapping) and data.get("id") is not None:
        return _Where(f"rule {data.get('id')}", str(data.get("id")), index)
    ref = f"#{index if index is not None else '?'}"
    return _Where(f"rule {ref}", ref, index)


def _kind(data: Mapping[str, Any], where: _Where) -> RuleType:
    kind = data.get("type")
    if kind not in RULE_TYPES:
        raise where.error(
            "unknown_rule_type",
            "type",
            f"type must be one of {', '.join(RULE_TYPES)}, got {kind!r}",
            type=str(kind),
        )
    return RuleType(kind)


def _parties(
    data: Mapping[str, Any], where: _Where, communes: Collection[str] | None
) -> tuple[str, str]:
    a, b = data.get("a"), data.get("b")
    if not isinstance(a, str) or not isinstance(b, str):
        raise where.error(
            "commune_not_string",
            "a" if not isinstance(a, str) else "b",
            f"a and b must be commune codes as strings, got {a!r} and {b!r} "
            "(in YAML, quote them: a: '17248')",
            a=str(a),
            b=str(b),
        )
    if a == b:
        raise where.error("self_link", "b", f"a link from {a} to itself", commune=a)
    known = set(communes) if communes is not None else None
    for key, c in (("a", a), ("b", b)):
        if known is not None and c not in known:
            raise where.error("unknown_commune", key, f"unknown commune {c!r}", commune=c)
    return a, b


def _period(data: Mapping[str, Any], where: _Where) -> tuple[dt.date | None, dt.date | None]:
    valid_from = _date(data.get("valid_from"), where, "valid_from")
    valid_to = _date(data.get("valid_to"), where, "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise where.error(
            "valid_to_before_valid_from",
            "valid_to",
            f"valid_to {valid_to} is before valid_from {valid_from}",
            valid_from=valid_from.isoformat(),
            valid_to=valid_to.isoformat(),
        )
    return valid_from, valid_to


def _minutes(data: Mapping[str, Any], kind: RuleType, where: _Where) -> float | None:
    if kind not in (RuleType.ADD_LINK, RuleType.TRAVEL_MINUTES):
        return None
    minutes = data.get("travel_minutes", data.get("minutes"))
    if (
        isinstance(minutes, bool)
        or not isinstance(minutes, (int, float))
        or not math.isfinite(minutes)
        or minutes <= 0
    ):
        raise where.error(
            "travel_minutes_invalid",
            "travel_minutes",
            f"travel_minutes must be a positive number, got {minutes!r}",
            value=str(minutes),
        )
    return float(minutes)


def _side_commitments(
    side: Any, items: Any, parties: tuple[str, str], where: _Where
) -> dict[str, int]:
    if not isinstance(side, str):
        raise where.error(
            "commitment_commune_not_string",
            "commitments",
            f"commitments name {side!r}: commune codes must be strings "
            "(in YAML, quote them: '17248': {boats: 4})",
            commune=str(side),
        )
    if side not in parties:
        raise where.error(
            "commitment_not_a_party",
            "commitments",
            f"commitments name {side!r}, which is not a party ({parties[0]}, {parties[1]})",
            commune=side,
            a=parties[0],
            b=parties[1],
        )
    if not isinstance(items, Mapping):
        raise where.error(
            "commitments_invalid",
            "commitments",
            f"commitments of {side} must be {{resource: quantity}}",
            commune=side,
        )
    catalogue = load_catalogue()
    for key, q in items.items():
        if key not in catalogue:
            raise where.error(
                "unknown_resource",
                "commitments",
                f"commitments of {side}: unknown resource {key!r}",
                commune=side,
                resource=str(key),
            )
        if isinstance(q, bool) or not isinstance(q, int) or q < 0:
            raise where.error(
                "quantity_not_integer",
                "commitments",
                f"commitments of {side}.{key} must be an integer >= 0, got {q!r}",
                commune=side,
                resource=key,
                value=str(q),
            )
    return {k: int(v) for k, v in items.items()}


def _commitments(
    data: Mapping[str, Any], parties: tuple[str, str], where: _Where
) -> dict[str, dict[str, int]]:
    raw = data.get("commitments") or {}
    if not isinstance(raw, Mapping):
        raise where.error(
            "commitments_invalid",
            "commitments",
            "commitments must map a commune to {resource: quantity}",
        )
    return {side: _side_commitments(side, items, parties, where) for side, items in raw.items()}


def _factor(data: Mapping[str, Any], kind: RuleType, where: _Where) -> float | None:
    """An agreement's checked factor; another rule's is kept as given when it is a number
    (it is never used)."""
    factor = data.get("factor")
    if factor is None:
        return None
    if kind != RuleType.AGREEMENT:
        return (
            None
            if isinstance(factor, bool) or not isinstance(factor, (int, float))
            else float(factor)
        )
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not 0 < factor <= 1:
        raise where.error(
            "factor_invalid",
            "factor",
            f"factor must be in (0, 1], got {factor!r}",
            value=str(factor),
        )
    return float(factor)


def rule_from_dict(
    data: Mapping[str, Any], *, communes: Collection[str] | None = None, index: int | None = None
) -> Rule:
    """Validate one rule mapping.

    Parameters
    ----------
    data
        The rule (see the module docstring).
    communes
        Known commune codes; a rule naming another is an error.
    index
        The rule's position in its list, counted from 1 (names the rule without an ``id``,
        and is the ``line`` of the error's problem).

    Raises
    ------
    RuleError
        Naming the rule (its id, or its index) and the field: codes ``not_an_object``,
        ``unknown_rule_type`` {type}, ``commune_not_string`` {a, b}, ``self_link`` {commune},
        ``unknown_commune`` {commune}, ``date_invalid`` {value},
        ``valid_to_before_valid_from`` {valid_from, valid_to}, ``travel_minutes_invalid``
        {value}, ``commitments_invalid``, ``commitment_commune_not_string`` {commune},
        ``commitment_not_a_party`` {commune, a, b}, ``unknown_resource`` {commune, resource},
        ``quantity_not_integer`` {commune, resource, value}, ``factor_invalid`` {value}; every
        one with ``rule`` in its params.
    """
    where = _where(data, index)
    if not isinstance(data, Mapping):
        raise where.error("not_an_object", None, "a rule is an object")
    kind = _kind(data, where)
    a, b = _parties(data, where, communes)
    valid_from, valid_to = _period(data, where)
    minutes = _minutes(data, kind, where)
    agreement = kind == RuleType.AGREEMENT
    commitments = _commitments(data, (a, b), where) if agreement else {}
    factor = _factor(data, kind, where)
    return Rule(
        type=kind,
        a=a,
        b=b,
        id=None if data.get("id") is None else str(data["id"]),
        valid_from=valid_from,
        valid_to=valid_to,
        document=data.get("document"),
        date=_date(data.get("date"), where, "date"),
        reason=data.get("reason"),
        via=data.get("via"),
        travel_minutes=minutes,
        commitments=commitments,
        cap=bool(data.get("cap", False)),
        factor=factor,
        note=data.get("note"),
    )

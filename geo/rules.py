"""Adjacency rules — the planners' edits — as data, and the plan graph they give.

Rule types (a JSON/YAML list, or ``{"rules": [...]}``; each rule may carry an ``id``):

- ``agreement``: a coordination regulation between communes ``a`` and ``b`` (``document``,
  ``date``, ``valid_from``/``valid_to``, ``commitments``: ``{code: {resource: quantity}}`` what
  each side commits to the other, ``cap``: limit aid between them to the commitments,
  ``factor``: its travel-cost factor, default the planner's ``agreement_factor``);
- ``add_link``: a bridge, ferry or road between communes whose polygons do not touch (or a
  point-touch pair made usable), with ``travel_minutes`` and ``via``;
- ``close_link``: no crossing, a landslide: permanent, or for ``valid_from``/``valid_to``;
- ``travel_minutes``: the travel time of an existing link (``minutes``).
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import asdict
from typing import Any

from geo.errors import Problem
from geo.io import read_structured
from geo.rule_fields import rule_from_dict
from geo.rule_graph import apply_rules, default_travel_minutes
from geo.rule_model import (
    DEFAULT_AGREEMENT_FACTOR,
    DEFAULT_DETOUR,
    DEFAULT_SPEED_KMH,
    RULE_TYPES,
    Rule,
    RuleError,
    RuleType,
)

__all__ = [
    "DEFAULT_AGREEMENT_FACTOR",
    "DEFAULT_DETOUR",
    "DEFAULT_SPEED_KMH",
    "RULE_TYPES",
    "Rule",
    "RuleError",
    "RuleType",
    "apply_rules",
    "default_travel_minutes",
    "load_rules",
    "parse_rules",
    "rule_from_dict",
    "rule_to_dict",
]


def rule_to_dict(rule: Rule) -> dict[str, Any]:
    """A rule as a JSON-ready mapping (round-trips through :func:`rule_from_dict`)."""
    out = {
        k: v
        for k, v in asdict(rule).items()
        if v not in (None, {}, False) or k in ("type", "a", "b")
    }
    for k in ("valid_from", "valid_to", "date"):
        if out.get(k) is not None:
            out[k] = out[k].isoformat()
    out["type"] = str(rule.type)
    if "commitments" in out:
        out["commitments"] = {s: dict(v) for s, v in out["commitments"].items()}
    return out


#: Rule types that contradict each other on one pair over overlapping periods.
_CLASH = {
    (RuleType.ADD_LINK, RuleType.CLOSE_LINK),
    (RuleType.TRAVEL_MINUTES, RuleType.TRAVEL_MINUTES),
    (RuleType.AGREEMENT, RuleType.AGREEMENT),
    (RuleType.ADD_LINK, RuleType.ADD_LINK),
}


def _check_ids(rules: list[Rule]) -> None:
    ids: dict[str, int] = {}
    for i, r in enumerate(rules, 1):
        if r.id is None:
            continue
        if r.id in ids:
            message = f"rule #{i} repeats id {r.id!r} of rule #{ids[r.id]}"
            params = {"rule": f"#{i}", "id": r.id, "first": ids[r.id]}
            raise RuleError(
                message,
                code="duplicate_rule_id",
                field="id",
                params=params,
                problems=[Problem("duplicate_rule_id", message, "id", params, line=i)],
            )
        ids[r.id] = i


def _check_contradictions(rules: list[Rule]) -> None:
    by_pair: dict[tuple[str, str], list[tuple[int, Rule]]] = {}
    for i, r in enumerate(rules, 1):
        by_pair.setdefault(r.pair, []).append((i, r))
    for pair, group in by_pair.items():
        for k, (_, r) in enumerate(group):
            for i, s in group[k + 1 :]:
                if tuple(sorted((r.type, s.type))) in _CLASH and r.overlaps(s):
                    message = (
                        f"{r.label} and {s.label} contradict each other on {pair[0]}-{pair[1]} "
                        "over overlapping periods"
                    )
                    params = {"rule": s.label, "other": r.label, "a": pair[0], "b": pair[1]}
                    raise RuleError(
                        message,
                        code="rules_contradict",
                        params=params,
                        problems=[Problem("rules_contradict", message, None, params, line=i)],
                    )


def parse_rules(data: Any, *, communes: Collection[str] | None = None) -> list[Rule]:
    """Validate a list of rules (or ``{"rules": [...]}``) and check they do not contradict.

    Raises
    ------
    RuleError
        A malformed rule (as :func:`rule_from_dict`, with the rule's position as its
        problem's ``line``), or two rules that contradict each other over overlapping periods
        (``add_link`` and ``close_link`` on one pair, two ``travel_minutes`` or two
        ``agreement`` rules on one pair: ``rules_contradict`` {rule, other, a, b}, a
        duplicated id: ``duplicate_rule_id`` {rule, id, first}), naming both; a document that
        is no list: ``rules_not_a_list``.
    """
    items = data.get("rules") if isinstance(data, Mapping) else data
    if items is None:
        items = []
    if not isinstance(items, list):
        raise RuleError("rules must be a list", code="rules_not_a_list")
    rules = [
        rule_from_dict(item, communes=communes, index=i) for i, item in enumerate(items, 1)
    ]  # counted as people count
    _check_ids(rules)
    _check_contradictions(rules)
    return rules


def load_rules(
    path: str | os.PathLike[str], *, communes: Collection[str] | None = None
) -> list[Rule]:
    """Read rules from a JSON or YAML file (``.yaml``/``.yml``; see :func:`parse_rules`).

    Parameters
    ----------
    path
        The rules file.
    communes
        Known commune codes; a rule naming another is an error.

    Returns
    -------
    list of Rule

    Raises
    ------
    RuleError
        If the file does not exist (``file_not_found``), cannot be read (``file_unreadable``),
        is not valid JSON/YAML (``invalid_syntax``; see :func:`geo.io.read_structured`), or
        holds an invalid or contradictory rule (named; see :func:`parse_rules`).
    """
    data = read_structured(path, what="rules file", error_type=RuleError)
    return parse_rules(data, communes=communes)

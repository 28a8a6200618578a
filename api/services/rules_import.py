"""Importing many adjacency rules at once (a province's coordination regulation): parsing
the file, checking every rule together with the rules in force, all or nothing."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.models import RuleVersion, utcnow
from api.services import audit
from api.services.rules import current_rules, lock_rule_writes, require_reason, version_dict
from geo.errors import Problem
from geo.rules import Rule, RuleError, parse_rules, rule_from_dict, rule_to_dict


class RulesImportError(RuleError):
    """An import with invalid or contradictory rules: code ``rules_invalid`` (params
    ``count``), one problem per error with ``line`` the rule's position in the imported list
    (1 is the first); ``errors`` lists the messages, each naming the rule (``rule #1``)."""

    default_code = "rules_invalid"

    def __init__(self, problems: list[Problem]) -> None:
        self.errors = [p.message for p in problems]
        n = len(self.errors)
        super().__init__(
            f"{n} error{'s' if n > 1 else ''} in the rules, nothing imported: "
            + "; ".join(self.errors),
            params={"count": n},
            problems=problems,
        )


def _problem_at(position: int, exc: RuleError) -> Problem:
    """Rule error ``exc`` as the problem of the rule at ``position`` (its code, field, params
    and message, which names the rule)."""
    return Problem(exc.code, str(exc), field=exc.field, params=exc.params, line=position)


def rules_document(raw: bytes, *, name: str | None = None, content_type: str | None = None) -> Any:
    """Parse a rules file's bytes: YAML for a ``.yaml``/``.yml`` name or a YAML content type,
    JSON otherwise (the shapes :func:`geo.rules.load_rules` reads).

    Raises
    ------
    RuleError
        If the bytes are not UTF-8 or not valid JSON/YAML.
    """
    from geo.io import is_yaml_name, parse_structured

    label = name or "the rules file"
    is_yaml = is_yaml_name(name) or "yaml" in (content_type or "").lower()
    try:
        body = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RuleError(
            f"{label} is not UTF-8 text: {exc}",
            code="not_utf8",
            field="file",
            params={"byte": exc.start},
        ) from exc
    return parse_structured(body, yaml=is_yaml, label=label, error_type=RuleError)


def check_import(
    session: Session, items: Any, communes: Collection[str]
) -> list[tuple[int, dict[str, Any]]]:
    """Validate rules to import, together with the rules in force, all-or-nothing.

    Every rule is checked on its own (fields, communes, self links), then against the stored
    rules and the rules before it in the list (contradictions as in
    :func:`geo.rules.parse_rules`). A rule is named by its position, ``rule #1`` being the
    first (with its ``id`` from the file, if any, in brackets); a stored rule by its id,
    ``rule 12 (stored)``. Ids in the file are not kept: each rule gets a new id when stored.

    Returns
    -------
    list of (position, rule data ready to store)

    Raises
    ------
    RulesImportError
        Listing every problem found, not just the first.
    """
    if isinstance(items, Mapping):
        items = items.get("rules")
    if not isinstance(items, list):
        raise RuleError(
            'rules: a list of rules (or {"rules": [...]}), got ' + type(items).__name__,
            code="rules_not_a_list",
            field="rules",
            params={"type": type(items).__name__},
        )
    if not items:
        raise RuleError(
            "rules: the list is empty, nothing to import", code="rules_empty", field="rules"
        )
    errors: list[tuple[int, Problem]] = []
    valid: list[tuple[int, Rule]] = []
    for i, item in enumerate(items, 1):
        label = (
            f"#{i}"
            if not isinstance(item, Mapping) or item.get("id") is None
            else f"#{i} ({item['id']})"
        )
        try:
            data = {**item, "id": label} if isinstance(item, Mapping) else item
            valid.append((i, rule_from_dict(data, communes=communes, index=i)))
        except RuleError as exc:
            errors.append((i, _problem_at(i, exc)))
    by_pair: dict[tuple[str, str], list[Rule]] = {}
    for v, r in current_rules(session):
        by_pair.setdefault(r.pair, []).append(dataclasses.replace(r, id=f"{v.rule_id} (stored)"))
    accepted: list[tuple[int, dict[str, Any]]] = []
    for i, rule in valid:
        group = by_pair.setdefault(rule.pair, [])
        try:  # the same check as one rule at a time, on the pair's rules only
            parse_rules([rule_to_dict(r) for r in (*group, rule)])
        except RuleError as exc:
            errors.append((i, _problem_at(i, exc)))
            continue
        group.append(rule)
        data = rule_to_dict(rule)
        data.pop("id", None)
        accepted.append((i, data))
    if errors:
        raise RulesImportError([p for _, p in sorted(errors, key=lambda e: e[0])])
    return accepted


def import_rules(
    session: Session,
    items: Any,
    *,
    reason: str,
    author: str,
    actor: str,
    communes: Collection[str],
    dry_run: bool = False,
) -> list[dict[str, Any]]:
    """Create many rules at once (a province's coordination regulation), all or nothing.

    The caller checks the role (the route: planner or admin; the CLI runs as the operator).
    Each rule becomes a new rule (version 1) with ``reason`` and ``author``, audited as
    ``rule.create`` by ``actor``. With ``dry_run`` nothing is stored and the versions that
    would be created are returned with ``id`` and ``created_at`` None.

    Returns
    -------
    list of dict
        The created versions (as :func:`version_dict`), each with its ``position`` in
        ``items``.

    Raises
    ------
    BadInput
        Without a reason.
    RuleError
        The list is malformed or empty; :class:`RulesImportError` with every invalid or
        contradictory rule (see :func:`check_import`).
    """
    require_reason(reason, "importing rules")
    if not dry_run:
        lock_rule_writes(session)
    accepted = check_import(session, items, communes)
    if dry_run:
        return [
            {
                "position": i,
                "id": None,
                "version": 1,
                "rule": data,
                "retired": False,
                "author": author,
                "reason": reason,
                "created_at": None,
            }
            for i, data in accepted
        ]
    first = (session.scalar(select(func.max(RuleVersion.rule_id))) or 0) + 1
    created = []
    for n, (i, data) in enumerate(accepted):
        v = RuleVersion(
            rule_id=first + n,
            version=1,
            data=data,
            author=author,
            reason=reason,
            created_at=utcnow(),
        )
        session.add(v)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="rule.create",
            entity="rule",
            entity_id=v.rule_id,
            after={**data, "reason": reason, "import": {"position": i, "of": len(accepted)}},
        )
        created.append({**version_dict(v), "position": i})
    return created

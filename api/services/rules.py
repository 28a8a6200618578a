"""Adjacency rules in the database: every change a new version, rules as of any time."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.auth import Principal, require_role
from api.errors import BadInput, Conflict, NotFound
from api.models import RuleVersion, utcnow
from api.services import audit
from geo.rules import Rule, RuleError, parse_rules, rule_from_dict, rule_to_dict

#: PostgreSQL advisory lock taken by every rule write that checks consistency, so that two
#: concurrent writes cannot each pass the check against the other's absence.
RULE_WRITE_LOCK = 7244


class RulesImportError(RuleError):
    """An import with invalid or contradictory rules; ``errors`` lists every problem, each
    naming the rule by its position in the imported list (``rule #1`` is the first)."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = list(errors)
        n = len(self.errors)
        super().__init__(
            f"{n} error{'s' if n > 1 else ''} in the rules, nothing imported: "
            + "; ".join(self.errors)
        )


def _lock_rule_writes(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RULE_WRITE_LOCK})


def _latest_versions(session: Session, at: dt.datetime | None = None) -> list[RuleVersion]:
    stmt = select(RuleVersion).order_by(RuleVersion.rule_id, RuleVersion.version)
    if at is not None:
        stmt = stmt.where(RuleVersion.created_at <= at)
    latest: dict[int, RuleVersion] = {}
    for v in session.scalars(stmt):
        latest[v.rule_id] = v
    return list(latest.values())


def current_rules(
    session: Session, at: dt.datetime | None = None
) -> list[tuple[RuleVersion, Rule]]:
    """The rules in force (not retired) as they stood at ``at`` (default: now)."""
    out = []
    for v in _latest_versions(session, at):
        if not v.retired:
            out.append((v, rule_from_dict({**v.data, "id": str(v.rule_id)})))
    return out


def version_dict(v: RuleVersion) -> dict[str, Any]:
    return {
        "id": v.rule_id,
        "version": v.version,
        "rule": {**v.data, "id": str(v.rule_id)},
        "retired": v.retired,
        "author": v.author,
        "reason": v.reason,
        "created_at": v.created_at,
    }


def _check_consistent(
    session: Session, candidate: dict[str, Any], rule_id: int, communes: Collection[str]
) -> dict[str, Any]:
    rule = rule_from_dict({**candidate, "id": str(rule_id)}, communes=communes)
    others = [rule_to_dict(r) for v, r in current_rules(session) if v.rule_id != rule_id]
    parse_rules(others + [rule_to_dict(rule)], communes=communes)  # contradictions name both rules
    data = rule_to_dict(rule)
    data.pop("id", None)
    return data


def create_rule(
    session: Session,
    principal: Principal,
    data: dict[str, Any],
    reason: str,
    communes: Collection[str],
) -> dict[str, Any]:
    require_role(principal, "planner", "admin", action="creating a rule")
    _require_reason(reason, "every rule change")
    _lock_rule_writes(session)
    rule_id = (session.scalar(select(func.max(RuleVersion.rule_id))) or 0) + 1
    clean = _check_consistent(session, data, rule_id, communes)
    v = RuleVersion(
        rule_id=rule_id, version=1, data=clean, author=principal.username, reason=reason
    )
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=principal.describe(),
        action="rule.create",
        entity="rule",
        entity_id=rule_id,
        after={**clean, "reason": reason},
    )
    return version_dict(v)


def _require_reason(reason: str | None, what: str) -> None:
    if not reason or not reason.strip():
        raise BadInput(f"reason: {what} needs a reason")


def _latest(session: Session, rule_id: int) -> RuleVersion:
    v = session.scalars(
        select(RuleVersion)
        .where(RuleVersion.rule_id == rule_id)
        .order_by(RuleVersion.version.desc())
        .limit(1)
    ).first()
    if v is None:
        raise NotFound(f"rule {rule_id} not found")
    return v


def update_rule(
    session: Session,
    principal: Principal,
    rule_id: int,
    changes: dict[str, Any],
    reason: str,
    communes: Collection[str],
) -> dict[str, Any]:
    require_role(principal, "planner", "admin", action="editing a rule")
    _require_reason(reason, "every rule change")
    _lock_rule_writes(session)
    last = _latest(session, rule_id)
    if last.retired:
        raise Conflict({"message": f"rule {rule_id} is retired", "status": "retired"})
    clean = _check_consistent(session, {**last.data, **changes}, rule_id, communes)
    v = RuleVersion(
        rule_id=rule_id,
        version=last.version + 1,
        data=clean,
        author=principal.username,
        reason=reason,
        created_at=utcnow(),
    )
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=principal.describe(),
        action="rule.update",
        entity="rule",
        entity_id=rule_id,
        before=last.data,
        after={**clean, "reason": reason},
    )
    return version_dict(v)


def retire_rule(
    session: Session, principal: Principal, rule_id: int, reason: str
) -> dict[str, Any]:
    require_role(principal, "planner", "admin", action="retiring a rule")
    _require_reason(reason, "retiring a rule")
    last = _latest(session, rule_id)
    if last.retired:
        raise Conflict({"message": f"rule {rule_id} is already retired", "status": "retired"})
    v = RuleVersion(
        rule_id=rule_id,
        version=last.version + 1,
        data=last.data,
        retired=True,
        author=principal.username,
        reason=reason,
    )
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=principal.describe(),
        action="rule.retire",
        entity="rule",
        entity_id=rule_id,
        before=last.data,
        after={"retired": True, "reason": reason},
    )
    return version_dict(v)


def rule_history(session: Session, rule_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(RuleVersion).where(RuleVersion.rule_id == rule_id).order_by(RuleVersion.version)
    ).all()
    if not rows:
        raise NotFound(f"rule {rule_id} not found")
    return [version_dict(v) for v in rows]


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
        raise RuleError(f"{label} is not UTF-8 text: {exc}") from exc
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
        raise RuleError('rules: a list of rules (or {"rules": [...]}), got ' + type(items).__name__)
    if not items:
        raise RuleError("rules: the list is empty, nothing to import")
    errors: list[tuple[int, str]] = []
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
            errors.append((i, str(exc)))
    by_pair: dict[tuple[str, str], list[Rule]] = {}
    for v, r in current_rules(session):
        by_pair.setdefault(r.pair, []).append(dataclasses.replace(r, id=f"{v.rule_id} (stored)"))
    accepted: list[tuple[int, dict[str, Any]]] = []
    for i, rule in valid:
        group = by_pair.setdefault(rule.pair, [])
        try:  # the same check as one rule at a time, on the pair's rules only
            parse_rules([rule_to_dict(r) for r in (*group, rule)])
        except RuleError as exc:
            errors.append((i, str(exc)))
            continue
        group.append(rule)
        data = rule_to_dict(rule)
        data.pop("id", None)
        accepted.append((i, data))
    if errors:
        raise RulesImportError([message for _, message in sorted(errors, key=lambda e: e[0])])
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
    _require_reason(reason, "importing rules")
    if not dry_run:
        _lock_rule_writes(session)
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

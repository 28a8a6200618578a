"""Adjacency rules in the database: every change a new version, rules as of any time.

Importing many rules at once is :mod:`api.services.rules_import`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.auth import Principal, require_role
from api.enums import Role
from api.errors import BadInput, Conflict, NotFound
from api.models import RuleVersion, utcnow
from api.services import audit
from geo.rules import Rule, parse_rules, rule_from_dict, rule_to_dict

#: PostgreSQL advisory lock taken by every rule write that checks consistency, so that two
#: concurrent writes cannot each pass the check against the other's absence.
RULE_WRITE_LOCK = 7244


def lock_rule_writes(session: Session) -> None:
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
    parse_rules([*others, rule_to_dict(rule)], communes=communes)  # contradictions name both rules
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
    require_role(principal, Role.PLANNER, Role.ADMIN, action="creating a rule")
    require_reason(reason, "every rule change")
    lock_rule_writes(session)
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


def require_reason(reason: str | None, what: str) -> None:
    """Refuse (``reason_required``) a change without a reason."""
    if not reason or not reason.strip():
        raise BadInput(f"reason: {what} needs a reason", code="reason_required", field="reason")


def _latest(session: Session, rule_id: int) -> RuleVersion:
    v = session.scalars(
        select(RuleVersion)
        .where(RuleVersion.rule_id == rule_id)
        .order_by(RuleVersion.version.desc())
        .limit(1)
    ).first()
    if v is None:
        raise _rule_not_found(rule_id)
    return v


def _rule_not_found(rule_id: int) -> NotFound:
    return NotFound(f"rule {rule_id} not found", code="rule_not_found", params={"rule_id": rule_id})


def update_rule(
    session: Session,
    principal: Principal,
    rule_id: int,
    changes: dict[str, Any],
    reason: str,
    communes: Collection[str],
) -> dict[str, Any]:
    require_role(principal, Role.PLANNER, Role.ADMIN, action="editing a rule")
    require_reason(reason, "every rule change")
    lock_rule_writes(session)
    last = _latest(session, rule_id)
    if last.retired:
        raise Conflict(
            {"message": f"rule {rule_id} is retired", "status": "retired"},
            code="rule_retired",
            params={"rule_id": rule_id, "status": "retired"},
        )
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
    require_role(principal, Role.PLANNER, Role.ADMIN, action="retiring a rule")
    require_reason(reason, "retiring a rule")
    last = _latest(session, rule_id)
    if last.retired:
        raise Conflict(
            {"message": f"rule {rule_id} is already retired", "status": "retired"},
            code="rule_already_retired",
            params={"rule_id": rule_id, "status": "retired"},
        )
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
        raise _rule_not_found(rule_id)
    return [version_dict(v) for v in rows]

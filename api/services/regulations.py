"""Coordination regulations in the database: every edit, signature and retirement a new version.

The record and its validation are :mod:`geo.regulation`'s; this module stores versions
(``regulation_versions``), checks who may do what, and knows which version is in force: the
newest signed one, unless a newer version retired the regulation. A signed regulation is changed
only through a new draft version, which is in force once signed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import Any

import networkx as nx
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import Principal, require_role
from api.enums import Role
from api.errors import BadInput, Conflict, Forbidden, NotFound
from api.models import RegulationVersion
from api.services import audit
from api.services.rules import current_rules
from geo.i18n import TIMEZONE
from geo.regulation import Regulation, parse_regulation
from geo.resources import load_catalogue
from geo.rules import apply_rules

#: Keys set by the service only: a create or PATCH that carries them is refused.
SERVICE_KEYS = ("id", "version", "status", "signed_on", "signers")
WRITERS = (Role.PLANNER, Role.ADMIN, Role.DEFENCE_COMMAND)


def today() -> dt.date:
    """Today in Vietnam."""
    return dt.datetime.now(TIMEZONE).date()


def linked_in(G: nx.Graph | None, session: Session) -> Any:
    """``linked(a, b)`` on the plan graph of the rules in force today (adjacent, or linked by
    an open rule, and not closed by one); None without a graph (nothing checked)."""
    if G is None:
        return None
    H = apply_rules(G, [r for _, r in current_rules(session)], at=today())
    return lambda a, b: H.has_edge(a, b)


def _not_found(regulation_id: int) -> NotFound:
    return NotFound(
        f"regulation {regulation_id} not found",
        code="regulation_not_found",
        params={"regulation_id": regulation_id},
    )


def versions_of(session: Session, regulation_id: int) -> list[RegulationVersion]:
    rows = list(
        session.scalars(
            select(RegulationVersion)
            .where(RegulationVersion.regulation_id == regulation_id)
            .order_by(RegulationVersion.version)
        )
    )
    if not rows:
        raise _not_found(regulation_id)
    return rows


def as_regulation(v: RegulationVersion) -> Regulation:
    """A stored version as the typed record (stored data was validated when written)."""
    return parse_regulation(
        {**v.data, "id": v.regulation_id, "version": v.version, "status": v.status},
        catalogue=load_catalogue(),
    )


def version_json(v: RegulationVersion) -> dict[str, Any]:
    return {
        **as_regulation(v).to_dict(),
        "author": v.author,
        "action": v.action,
        "created_at": v.created_at,
    }


def in_force(versions: list[RegulationVersion]) -> RegulationVersion | None:
    """The version in force: the newest signed one, unless a newer version retired it."""
    if versions and versions[-1].status == "retired":
        return None
    signed = [v for v in versions if v.status == "signed"]
    return signed[-1] if signed else None


def regulation_json(session: Session, regulation_id: int) -> dict[str, Any]:
    """The newest version, with ``in_force_version`` and the list of ``versions``."""
    versions = versions_of(session, regulation_id)
    current = in_force(versions)
    return {
        **version_json(versions[-1]),
        "in_force_version": current.version if current else None,
        "versions": [
            {"version": v.version, "status": v.status, "author": v.author, "action": v.action,
             "created_at": v.created_at}
            for v in versions
        ],
    }  # fmt: skip


def _check_writer(principal: Principal, parties: Collection[str], action: str) -> None:
    """Planners and admins; a defence command for regulations whose parties are all in its
    area."""
    require_role(principal, *WRITERS, action=action)
    if principal.role == Role.DEFENCE_COMMAND:
        outside = [c for c in parties if not principal.in_area(c)]
        if outside:
            raise Forbidden(
                f"{action}: commune {outside[0]} is outside your area",
                code="outside_area",
                field="parties",
                params={"commune": outside[0], "action": action},
            )


def _refuse_service_keys(data: Any) -> None:
    """Refuse a service key that claims anything (a status other than draft, signers, a
    signature date, an id or version); their empty values, as a draft's JSON carries them
    (the drafting helper's output, an export), pass."""
    if isinstance(data, dict):
        for key in SERVICE_KEYS:
            if key in data and data[key] not in (None, [], "draft"):
                raise BadInput(
                    f"{key}: set by the service (sign or retire the regulation instead)",
                    code="regulation_field_readonly",
                    field=key,
                    params={"field": key},
                )


def _add_version(
    session: Session,
    principal: Principal,
    regulation_id: int,
    version: int,
    reg: Regulation,
    *,
    status: str,
    action: str,
    before: dict[str, Any] | None = None,
) -> RegulationVersion:
    data = reg.to_dict()
    for key in ("id", "version", "status"):
        data.pop(key, None)
    v = RegulationVersion(
        regulation_id=regulation_id,
        version=version,
        status=status,
        data=data,
        author=principal.username,
        action=action,
    )
    session.add(v)
    session.flush()
    audit.record(
        session,
        actor=principal.describe(),
        action=f"regulation.{action}",
        entity="regulation",
        entity_id=regulation_id,
        before=before,
        after={"version": version, "status": status, "number": reg.number},
    )
    return v


def create_regulation(
    session: Session,
    principal: Principal,
    data: Any,
    *,
    G: nx.Graph | None = None,
    communes: Collection[str] | None = None,
) -> Regulation:
    """Store a new regulation (CONTRACT JSON) as version 1, a draft.

    Raises
    ------
    Forbidden
        Not a planner, admin or the command of every party's area.
    BadInput
        ``regulation_field_readonly`` {field}; :class:`geo.regulation.RegulationError`
        ``regulation_invalid`` (with every problem; with ``G``, each pair of parties must be
        linked in the plan graph).
    """
    _refuse_service_keys(data)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k not in SERVICE_KEYS}
    reg = parse_regulation(
        data, catalogue=load_catalogue(), communes=communes, linked=linked_in(G, session)
    )
    _check_writer(principal, reg.parties, "creating a regulation")
    regulation_id = (session.scalar(select(func.max(RegulationVersion.regulation_id))) or 0) + 1
    v = _add_version(session, principal, regulation_id, 1, reg, status="draft", action="create")
    return as_regulation(v)


def list_regulations(session: Session, principal: Principal) -> list[dict[str, Any]]:
    """The newest version of every regulation (a leader: those its commune is party to)."""
    latest: dict[int, RegulationVersion] = {}
    for v in session.scalars(select(RegulationVersion).order_by(RegulationVersion.version)):
        latest[v.regulation_id] = v
    out = [version_json(v) for _, v in sorted(latest.items())]
    if principal.role == Role.COMMUNE_LEADER:
        out = [r for r in out if principal.commune in r["parties"]]
    return out


def update_regulation(
    session: Session,
    principal: Principal,
    regulation_id: int,
    changes: Any,
    *,
    G: nx.Graph | None = None,
    communes: Collection[str] | None = None,
    action: str = "edit",
) -> dict[str, Any]:
    """A new draft version with ``changes`` (top-level keys replaced); a signed version stays
    in force until the new draft is signed.

    Raises
    ------
    Conflict
        ``regulation_retired`` {regulation_id}.
    BadInput
        As :func:`create_regulation`.
    """
    _refuse_service_keys(changes)
    if not isinstance(changes, dict):
        raise BadInput("a regulation change is a JSON object", code="not_an_object", field="body")
    versions = versions_of(session, regulation_id)
    last = versions[-1]
    if last.status == "retired":
        raise Conflict(
            f"regulation {regulation_id} is retired",
            code="regulation_retired",
            params={"regulation_id": regulation_id},
        )
    _check_writer(principal, last.data.get("parties", []), "editing a regulation")
    changes = {k: v for k, v in changes.items() if k not in SERVICE_KEYS}
    merged = {**last.data, **changes, "signers": [], "signed_on": None}
    reg = parse_regulation(
        merged, catalogue=load_catalogue(), communes=communes, linked=linked_in(G, session)
    )
    _check_writer(principal, reg.parties, "editing a regulation")
    _add_version(
        session, principal, regulation_id, last.version + 1, reg, status="draft", action=action,
        before={"version": last.version, "status": last.status},
    )  # fmt: skip
    return regulation_json(session, regulation_id)


def sign_regulation(
    session: Session, principal: Principal, regulation_id: int, *, signed_on: dt.date | None
) -> dict[str, Any]:
    """Sign the newest version, a draft: it is in force from then on (within its validity).

    Raises
    ------
    Conflict
        ``regulation_not_draft`` {regulation_id, status}: only a draft is signed.
    """
    versions = versions_of(session, regulation_id)
    last = versions[-1]
    _check_writer(principal, last.data.get("parties", []), "signing a regulation")
    if last.status != "draft":
        raise Conflict(
            f"regulation {regulation_id} is {last.status}: only a draft can be signed",
            code="regulation_not_draft",
            params={"regulation_id": regulation_id, "status": last.status},
        )
    reg = as_regulation(last)
    day = signed_on or today()
    signed = Regulation(
        **{
            **{f: getattr(reg, f) for f in Regulation.__dataclass_fields__},
            "signed_on": day,
            "signers": (*reg.signers, principal.username),
            "status": "signed",
        }
    )
    _add_version(
        session, principal, regulation_id, last.version + 1, signed, status="signed",
        action="sign", before={"version": last.version, "status": last.status},
    )  # fmt: skip
    return regulation_json(session, regulation_id)


def retire_regulation(session: Session, principal: Principal, regulation_id: int) -> dict[str, Any]:
    """Retire the regulation (a new version): none of its cards fires any more.

    Raises
    ------
    Conflict
        ``regulation_retired`` {regulation_id}: already retired.
    """
    versions = versions_of(session, regulation_id)
    last = versions[-1]
    _check_writer(principal, last.data.get("parties", []), "retiring a regulation")
    if last.status == "retired":
        raise Conflict(
            f"regulation {regulation_id} is retired",
            code="regulation_retired",
            params={"regulation_id": regulation_id},
        )
    base = in_force(versions) or last
    _add_version(
        session, principal, regulation_id, last.version + 1, as_regulation(base),
        status="retired", action="retire", before={"version": last.version, "status": last.status},
    )  # fmt: skip
    return regulation_json(session, regulation_id)


def regulations_in_force(session: Session, day: dt.date) -> list[Regulation]:
    """The regulations in force on ``day``: signed, not retired, ``day`` within validity."""
    by_id: dict[int, list[RegulationVersion]] = {}
    for v in session.scalars(
        select(RegulationVersion).order_by(
            RegulationVersion.regulation_id, RegulationVersion.version
        )
    ):
        by_id.setdefault(v.regulation_id, []).append(v)
    out = []
    for versions in by_id.values():
        found = in_force(versions)
        if found is not None:
            reg = as_regulation(found)
            if reg.valid_on(day):
                out.append(reg)
    return out

"""Notifications: what happened that a person must know, one row per event per person, and
its SMS in the outbox, written in the transaction of the change that causes it.

The request and offer services call :func:`notify` with an :class:`Event` right after their
change; nothing is written when the change is rolled back, and nothing is written twice: the
key ``<event>:<entity id>[:<extra>]:u<user>`` is unique. An event costs one look-up of its
recipients and one ``INSERT ... ON CONFLICT (key) DO NOTHING`` of all their notifications
(and one of their SMS), however many they are: the unique index itself skips what was already
written, so there is no look-up before the insert to race with another writer of the same
event (the request or offer row is locked meanwhile anyway: ``FOR UPDATE`` on PostgreSQL,
SQLite's write transaction holds the database).

Who is told:

- ``request_addressed``: the leaders of each commune a request is addressed to;
- ``offer_made``, ``offer_dispatched``: the leaders of the requesting commune;
- ``offer_accepted``, ``offer_declined``, ``offer_arrived``: the leaders of the giving commune;
- ``escalated``: the defence commands over a commune whose need no neighbour can cover (their
  region holds it or their province is its province).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from api.enums import Role
from api.models import Notification, Region, SmsOutgoing, User, utcnow

_Keyed = TypeVar("_Keyed", Notification, SmsOutgoing)


class EventKind(StrEnum):
    """What a notification tells (its catalogue text is ``notice.<kind>``, its SMS
    ``sms.<kind>``)."""

    REQUEST_ADDRESSED = "request_addressed"
    OFFER_MADE = "offer_made"
    OFFER_ACCEPTED = "offer_accepted"
    OFFER_DECLINED = "offer_declined"
    OFFER_DISPATCHED = "offer_dispatched"
    OFFER_ARRIVED = "offer_arrived"
    ESCALATED = "escalated"


@dataclass(frozen=True)
class Event:
    """One thing that happened: its kind, the request or offer it is about, the communes whose
    leaders are told (or, for ``escalated``, the commune and province whose commands are), and
    the params its texts are worded with (commune codes, ids, quantities)."""

    kind: EventKind
    entity: str
    entity_id: int
    communes: tuple[str, ...]
    params: Mapping[str, Any] = field(default_factory=dict)
    #: what makes the key unique beyond kind and entity (e.g. the resource of an escalation)
    extra: str = ""
    province: str | None = None


def _leaders(session: Session, communes: Iterable[str]) -> list[User]:
    codes = sorted(set(communes))
    if not codes:
        return []
    return list(
        session.scalars(
            select(User)
            .where(
                User.role == Role.COMMUNE_LEADER,
                User.commune_code.in_(codes),
                User.active.is_(True),
            )
            .order_by(User.id)
        )
    )


def _commands(session: Session, commune: str, province: str | None) -> list[User]:
    regions = [r.id for r in session.scalars(select(Region)) if commune in (r.communes or [])]
    over: list[ColumnElement[bool]] = [User.region_id.in_(regions)] if regions else []
    if province:
        over.append(User.province_code == province)
    if not over:
        return []
    return list(
        session.scalars(
            select(User)
            .where(User.role == Role.DEFENCE_COMMAND, User.active.is_(True), or_(*over))
            .order_by(User.id)
        )
    )


def recipients(session: Session, event: Event) -> list[User]:
    """The people ``event`` is for (see the module docstring)."""
    if event.kind == EventKind.ESCALATED:
        return _commands(session, event.communes[0], event.province)
    return _leaders(session, event.communes)


def notify(session: Session, event: Event) -> list[Notification]:
    """Write ``event``'s notification for each of its recipients, and queue its SMS to those
    with a phone, in ``session``'s transaction; an event already notified adds nothing.

    Returns
    -------
    list of Notification
        The rows added (empty for an event already notified, or one nobody is to hear of).
    """
    users = recipients(session, event)
    if not users:
        return []
    keys = {
        u.id: f"{event.kind}:{event.entity_id}{':' + event.extra if event.extra else ''}:u{u.id}"
        for u in users
    }
    added: list[Notification] = _insert_new(
        session,
        Notification,
        [
            {
                "user_id": u.id,
                "key": keys[u.id],
                "event": event.kind.value,
                "entity": event.entity,
                "entity_id": event.entity_id,
                "params": dict(event.params),
            }
            for u in users
        ],
    )
    new = {n.key for n in added}
    sms = [
        {"key": keys[u.id], "to_phone": u.phone, "message": f"sms.{event.kind}"}
        | {"params": dict(event.params)}
        for u in users
        if u.phone and keys[u.id] in new
    ]
    if sms:
        _insert_new(session, SmsOutgoing, sms)
    return sorted(added, key=lambda n: n.id)


def _insert_new(session: Session, model: type[_Keyed], rows: list[dict[str, Any]]) -> list[_Keyed]:
    """Insert ``rows`` of ``model`` in one statement, skipping those whose unique ``key`` is
    already there (``ON CONFLICT (key) DO NOTHING``); the rows inserted.

    One statement however many people are told, and no look-up before it: a row another
    transaction inserted first is skipped by the database, not refused by it."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(model).on_conflict_do_nothing(index_elements=["key"])
    return list(session.scalars(stmt.returning(model), rows))


def queue_sms(session: Session, *, key: str, to: str, message: str, **params: Any) -> None:
    """Put an SMS in the outbox (worded from ``message`` and ``params`` when it is sent); one
    already queued under ``key`` is left as it is."""
    if session.scalar(select(SmsOutgoing.id).where(SmsOutgoing.key == key)) is not None:
        return
    session.add(SmsOutgoing(key=key, to_phone=to, message=message, params=dict(params)))


def inbox(session: Session, user_id: int, *, limit: int = 50) -> list[Notification]:
    """The user's newest notifications, newest first."""
    return list(
        session.scalars(
            select(Notification)
            .where(Notification.user_id == user_id)
            .order_by(Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(session: Session, user_id: int) -> int:
    """How many of the user's notifications are not read yet."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        or 0
    )


def mark_read(session: Session, user_id: int, ids: list[int] | None) -> int:
    """Mark the user's notifications ``ids`` (all, for ``None``) read; how many changed."""
    now: dt.datetime = utcnow()
    stmt = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if ids is not None:
        stmt = stmt.where(Notification.id.in_(ids))
    result = session.execute(stmt.values(read_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def notify_escalations(
    session: Session, incident_id: int, unmet: Iterable[Any], provinces: Mapping[str, str]
) -> None:
    """Tell the commands over each commune what of its need a plan escalates to them (the
    plan's ``unmet`` rows with an ``escalate_to``), once per incident, commune and resource:
    a re-plan that still escalates it tells nobody again. ``provinces`` maps commune codes to
    province codes."""
    for row in unmet:
        if not row.escalate_to:
            continue
        notify(
            session,
            Event(
                EventKind.ESCALATED,
                "incident",
                incident_id,
                (row.commune,),
                {
                    "incident": incident_id,
                    "commune": row.commune,
                    "resource": row.resource,
                    "quantity": row.quantity,
                },
                extra=f"{row.commune}:{row.resource}",
                province=provinces.get(row.commune),
            ),
        )

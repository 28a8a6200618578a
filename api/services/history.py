"""An incident's history: one timeline of what was asked, promised, sent and received, and when,
read back from the tables (requests, offers, ledger, audit_log), kept after the aid arrived.

Each kind of event comes from one small function of :data:`SOURCES` (``timeline -> events``,
a :class:`Reading` that reads each table once per timeline): a new kind is one more function
appended there. Who sees what:
a commune leader the events its commune takes part in, a defence command those touching its
area, planners and admins all of them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.enums import Role
from api.models import AuditEntry, LedgerEntry, Offer, SituationReport, SupportRequest, as_utc
from api.services.incidents import get_incident


@dataclass(frozen=True)
class HistoryEvent:
    """One thing that happened in an incident.

    ``giver`` is the commune that gives (or is asked to), ``receiver`` the one that asks and
    receives; a request has no giver yet but its ``addressees``.
    """

    at: dt.datetime
    kind: str
    incident_id: int
    resource: str | None = None
    quantity: int | None = None
    giver: str | None = None
    receiver: str | None = None
    addressees: tuple[str, ...] = ()
    request_id: int | None = None
    offer_id: int | None = None
    actor: str | None = None
    note: str | None = None

    @property
    def communes(self) -> set[str]:
        """Every commune the event concerns."""
        return {c for c in (self.giver, self.receiver, *self.addressees) if c}


class Reading:
    """What the sources of one timeline read, each table once: the incident's requests and its
    offers (with their request) are read on first use and shared by every source."""

    def __init__(self, session: Session, incident_id: int) -> None:
        self.session = session
        self.incident_id = incident_id

    @cached_property
    def requests(self) -> list[SupportRequest]:
        """The incident's support requests, by id."""
        return list(
            self.session.scalars(
                select(SupportRequest)
                .where(SupportRequest.incident_id == self.incident_id)
                .order_by(SupportRequest.id)
            )
        )

    @cached_property
    def offers(self) -> list[tuple[Offer, SupportRequest]]:
        """The offers made to the incident's requests, each with its request, by offer id."""
        return _offers_of(self.session, self.incident_id)


#: ``timeline -> events`` of one kind
Source = Callable[[Reading], Iterable[HistoryEvent]]
#: the order of events at the same instant
KIND_ORDER = (
    "report",
    "request",
    "request_decline",
    "offer",
    "accept",
    "decline",
    "dispatch",
    "arrive",
    "cancel",
    "request_cancel",
)
#: the offer changes the audit log records (arrivals come from the ledger, with what arrived)
OFFER_CHANGES = ("accept", "decline", "dispatch", "cancel")


def _at(value: dt.datetime) -> dt.datetime:
    out = as_utc(value)
    assert out is not None
    return out


def _offers_of(session: Session, incident_id: int) -> list[tuple[Offer, SupportRequest]]:
    rows = session.execute(
        select(Offer, SupportRequest)
        .join(SupportRequest, Offer.request_id == SupportRequest.id)
        .where(SupportRequest.incident_id == incident_id)
        .order_by(Offer.id)
    ).all()
    return [(o, r) for o, r in rows]


def _audit(session: Session, entity: str, actions: Iterable[str], ids: list[int]) -> Iterator[Any]:
    """The audit entries of ``entity`` rows ``ids`` with one of ``actions``, oldest first."""
    for k in range(0, len(ids), 500):
        yield from session.scalars(
            select(AuditEntry)
            .where(
                AuditEntry.entity == entity,
                AuditEntry.action.in_(list(actions)),
                AuditEntry.entity_id.in_([str(i) for i in ids[k : k + 500]]),
            )
            .order_by(AuditEntry.id)
        )


def request_events(t: Reading) -> Iterator[HistoryEvent]:
    """A commune asked for support (from the named communes, or its neighbours)."""
    for r in t.requests:
        yield HistoryEvent(
            at=_at(r.created_at),
            kind="request",
            incident_id=t.incident_id,
            resource=r.resource,
            quantity=r.quantity,
            receiver=r.commune_code,
            addressees=tuple(r.to_communes or ()),
            request_id=r.id,
            actor=r.created_by,
            note=r.note,
        )


def request_change_events(t: Reading) -> Iterator[HistoryEvent]:
    """A request cancelled by its commune, or declined by one it was addressed to."""
    rows = {r.id: r for r in t.requests}
    for e in _audit(t.session, "request", ("request.cancel", "request.decline"), list(rows)):
        r, after = rows[int(e.entity_id)], e.after or {}
        yield HistoryEvent(
            at=_at(e.at),
            kind="request_cancel" if e.action == "request.cancel" else "request_decline",
            incident_id=t.incident_id,
            resource=r.resource,
            quantity=r.quantity,
            giver=after.get("commune"),
            receiver=r.commune_code,
            request_id=r.id,
            actor=e.actor,
            note=after.get("reason"),
        )


def offer_events(t: Reading) -> Iterator[HistoryEvent]:
    """A commune promised (offered) part or all of a request."""
    for o, r in t.offers:
        yield HistoryEvent(
            at=_at(o.created_at),
            kind="offer",
            incident_id=t.incident_id,
            resource=r.resource,
            quantity=o.quantity,
            giver=o.commune_code,
            receiver=r.commune_code,
            request_id=r.id,
            offer_id=o.id,
            actor=o.created_by,
            note=o.note,
        )


def offer_change_events(t: Reading) -> Iterator[HistoryEvent]:
    """An offer accepted, declined, sent on its way or cancelled (from the audit log)."""
    offers = {o.id: (o, r) for o, r in t.offers}
    actions = [f"offer.{a}" for a in OFFER_CHANGES]
    for e in _audit(t.session, "offer", actions, list(offers)):
        o, r = offers[int(e.entity_id)]
        yield HistoryEvent(
            at=_at(e.at),
            kind=e.action.removeprefix("offer."),
            incident_id=t.incident_id,
            resource=r.resource,
            quantity=o.quantity,
            giver=o.commune_code,
            receiver=r.commune_code,
            request_id=r.id,
            offer_id=o.id,
            actor=e.actor,
            note=(e.after or {}).get("reason"),
        )


def arrival_events(t: Reading) -> Iterator[HistoryEvent]:
    """Aid received (the ledger: what arrived where, from whom)."""
    requests = {o.id: r.id for o, r in t.offers}
    for e in t.session.scalars(select(LedgerEntry).where(LedgerEntry.incident_id == t.incident_id)):
        yield HistoryEvent(
            at=_at(e.created_at),
            kind="arrive",
            incident_id=t.incident_id,
            resource=e.resource,
            quantity=e.quantity,
            giver=e.from_commune,
            receiver=e.commune_code,
            request_id=requests.get(e.offer_id),
            offer_id=e.offer_id,
        )


def report_events(t: Reading) -> Iterator[HistoryEvent]:
    """Situation reports (every one kept): the commune, its displaced people (``quantity``) and
    what else it said, as the note."""
    for r in t.session.scalars(
        select(SituationReport)
        .where(SituationReport.incident_id == t.incident_id)
        .order_by(SituationReport.id)
    ):
        yield HistoryEvent(
            at=_at(r.created_at),
            kind="report",
            incident_id=t.incident_id,
            quantity=r.displaced,
            receiver=r.commune_code,
            actor=r.created_by,
            note=r.note,
        )


#: every kind of event; append a function to add a kind
SOURCES: list[Source] = [
    report_events,
    request_events,
    request_change_events,
    offer_events,
    offer_change_events,
    arrival_events,
]


def may_see(principal: Principal, event: HistoryEvent) -> bool:
    """A leader sees its commune's events, a defence command its area's, others all."""
    if principal.role not in (Role.COMMUNE_LEADER, Role.DEFENCE_COMMAND):
        return True
    return any(principal.in_area(c) for c in event.communes)


def incident_history(
    session: Session, principal: Principal, incident_id: int, *, commune: str | None = None
) -> list[HistoryEvent]:
    """The incident's events that ``principal`` may see (and that concern ``commune``, when
    given), oldest first.

    Raises
    ------
    NotFound
        ``incident_not_found`` (params ``incident_id``).
    """
    get_incident(session, incident_id)
    reading = Reading(session, incident_id)
    events = [
        e
        for source in SOURCES
        for e in source(reading)
        if may_see(principal, e) and (commune is None or commune in e.communes)
    ]
    order = {k: n for n, k in enumerate(KIND_ORDER)}
    return sorted(
        events,
        key=lambda e: (e.at, order.get(e.kind, len(order)), e.request_id or 0, e.offer_id or 0),
    )


#: the CSV's columns, in order
CSV_COLUMNS = (
    "at",
    "incident_id",
    "kind",
    "request_id",
    "offer_id",
    "resource",
    "quantity",
    "giver",
    "giver_name",
    "receiver",
    "receiver_name",
    "addressees",
    "actor",
    "note",
)


def history_csv(events: Iterable[HistoryEvent], names: Callable[[str], str]) -> str:
    """The events as CSV (:data:`CSV_COLUMNS`; times in UTC, ISO 8601; addressees' codes
    separated by spaces), with a UTF-8 byte order mark so that a spreadsheet shows the
    Vietnamese names right; ``names`` gives a commune's name from its code."""
    out = io.StringIO()
    out.write("\ufeff")
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for e in events:
        w.writerow(
            [
                e.at.isoformat(timespec="seconds"),
                e.incident_id,
                e.kind,
                e.request_id or "",
                e.offer_id or "",
                e.resource or "",
                "" if e.quantity is None else e.quantity,
                e.giver or "",
                names(e.giver) if e.giver else "",
                e.receiver or "",
                names(e.receiver) if e.receiver else "",
                " ".join(e.addressees),
                _cell(e.actor or ""),
                _cell(e.note or ""),
            ]
        )
    return out.getvalue()


def _cell(text: str) -> str:
    """Free text as a spreadsheet shows it, never as a formula (``=``, ``+``, ``-``, ``@``)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text

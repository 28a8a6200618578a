"""The rows requests and offers are made of: how they are shown, who may read them, the errors
about them, and how a write locks them.

Every write of requests, offers and stock takes its row locks in one order, so two writers
never wait on each other in a circle (PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises
writers anyway). A write may skip a step, never go back up the list:

1. the request (:func:`lock_request`), when what the write decides depends on the request's
   other offers: a new offer (what is left to offer), an arrival (whether all arrived),
   cancelling or declining the request;
2. the request's offers, by id (:func:`lock_offers`; a move of one offer that needs no
   request lock locks the offer and reads its request in one statement, :func:`lock_move`);
3. stock rows, by ``(commune, resource)``, all in one statement (:func:`lock_stock`);
4. the audit log's advisory lock (:func:`api.services.audit.record`), last, after the
   notifications are written, so the lock every audited write queues on is held for as
   little as possible (nothing waits for a row lock after it).

A lock is one ``SELECT ... FOR UPDATE`` per step, whatever the number of rows; the request's
incident is read by the same statement as the request (only whether it is an exercise: its
scenario is not loaded), so :func:`is_exercise` costs nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.orm import Session

from api.auth import Principal
from api.enums import ACTIVE_OFFER, OfferStatus, Role
from api.errors import Conflict, NotFound
from api.models import Incident, InventoryItem, Offer, SupportRequest
from api.services.notify import Event, EventKind

_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])
#: the ``session.info`` key of ``{request id: its incident is an exercise}`` read with locks
_EXERCISE = "lienxa_request_exercise"


def offer_dict(o: Offer) -> dict[str, Any]:
    """The offer as the API shows it."""
    return {
        "id": o.id,
        "request_id": o.request_id,
        "commune": o.commune_code,
        "quantity": o.quantity,
        "status": o.status,
        "note": o.note,
        "cancel_reason": o.cancel_reason,
        "created_by": o.created_by,
        "created_at": o.created_at,
        "updated_at": o.updated_at,
    }


def may_read_offer(principal: Principal, o: Offer, r: SupportRequest) -> bool:
    """Whether ``principal`` may read offer ``o`` (made to request ``r``): the giving and the
    requesting commune's leaders and commands, planners and admins."""
    if principal.role not in (Role.COMMUNE_LEADER, Role.DEFENCE_COMMAND):
        return True
    return principal.in_area(o.commune_code) or principal.in_area(r.commune_code)


def not_addressed(request_id: int, commune: str) -> Conflict:
    """The 409 for a commune acting on a request not addressed to it."""
    return Conflict(
        f"request {request_id} is not addressed to {commune}",
        code="not_addressed",
        field="commune",
        params={"request_id": request_id, "commune": commune},
    )


def not_open(r: SupportRequest) -> Conflict:
    """The 409 for acting on a request that is no longer open."""
    return Conflict(
        {"message": f"request {r.id} is {r.status}", "status": r.status},
        code="request_not_open",
        params={"request_id": r.id, "status": r.status},
    )


def request_not_found(request_id: int) -> NotFound:
    """The 404 for an unknown request."""
    return NotFound(
        f"request {request_id} not found",
        code="request_not_found",
        params={"request_id": request_id},
    )


def offer_not_found(offer_id: int) -> NotFound:
    """The 404 for an unknown offer."""
    return NotFound(
        f"offer {offer_id} not found", code="offer_not_found", params={"offer_id": offer_id}
    )


def _for_update(session: Session, stmt: _S, *of: Any) -> _S:
    """``stmt`` locking the rows of ``of`` where the database has row locks (PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        return stmt.with_for_update(of=list(of))
    return stmt


def _remember(session: Session, request_id: int, exercise: Any) -> None:
    session.info.setdefault(_EXERCISE, {})[request_id] = bool(exercise)


def lock_request(
    session: Session, request_id: int | None = None, *, offer_id: int | None = None
) -> SupportRequest | None:
    """The request ``request_id`` (or the one offer ``offer_id`` was made to), locked, with
    whether its incident is an exercise read by the same statement; None when there is no such
    request or offer."""
    key = (
        SupportRequest.id == request_id
        if offer_id is None
        else SupportRequest.id
        == select(Offer.request_id).where(Offer.id == offer_id).scalar_subquery()
    )
    stmt = (
        select(SupportRequest, Incident.exercise)
        .join(Incident, Incident.id == SupportRequest.incident_id)
        .where(key)
    )
    row = session.execute(_for_update(session, stmt, SupportRequest)).first()
    if row is None:
        return None
    _remember(session, row[0].id, row[1])
    return row[0]


def lock_move(session: Session, offer_id: int) -> tuple[Offer, SupportRequest] | None:
    """Offer ``offer_id``, locked, and its request (not locked: what a move reads of it, the
    communes, resource and incident, never changes), in one statement; None for no such offer."""
    stmt = (
        select(Offer, SupportRequest, Incident.exercise)
        .join(SupportRequest, SupportRequest.id == Offer.request_id)
        .join(Incident, Incident.id == SupportRequest.incident_id)
        .where(Offer.id == offer_id)
    )
    row = session.execute(_for_update(session, stmt, Offer)).first()
    if row is None:
        return None
    _remember(session, row[1].id, row[2])
    return row[0], row[1]


def lock_offers(session: Session, r: SupportRequest) -> list[Offer]:
    """All of ``r``'s offers, locked, by id."""
    stmt = select(Offer).where(Offer.request_id == r.id).order_by(Offer.id)
    return list(session.scalars(_for_update(session, stmt)))


def lock_offer(session: Session, r: SupportRequest, offer_id: int) -> tuple[Offer | None, int]:
    """Offer ``offer_id`` of ``r``, locked, and how much of ``r`` has arrived by its other
    offers (exact: every move of ``r``'s offers holds ``r``'s lock), in one statement."""
    arrived = (
        select(func.coalesce(func.sum(Offer.quantity), 0))
        .where(Offer.request_id == r.id, Offer.status == OfferStatus.ARRIVED, Offer.id != offer_id)
        .scalar_subquery()
    )
    stmt = select(Offer, arrived).where(Offer.id == offer_id, Offer.request_id == r.id)
    row = session.execute(_for_update(session, stmt, Offer)).first()
    return (None, 0) if row is None else (row[0], int(row[1] or 0))


def lock_stock(
    session: Session, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], InventoryItem]:
    """The stock rows of ``(commune, resource)`` ``keys`` that exist, locked in one statement
    in ``(commune, resource)`` order."""
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    stmt = (
        select(InventoryItem)
        .where(tuple_(InventoryItem.commune_code, InventoryItem.resource).in_(wanted))
        .order_by(InventoryItem.commune_code, InventoryItem.resource)
    )
    return {(i.commune_code, i.resource): i for i in session.scalars(_for_update(session, stmt))}


def lock_stock_offered(
    session: Session, r: SupportRequest, commune: str
) -> tuple[InventoryItem | None, int]:
    """``commune``'s stock row of ``r``'s resource, locked, and how much ``r``'s active offers
    already hold, in one statement when the row exists.

    Taken with ``r`` locked (every new offer locks its request first), so the sum, read after
    that lock, counts every offer made before; an offer cancelled meanwhile can only make it
    larger than the truth (an offer refused that could have been made, never the reverse).
    """
    offered = select(func.coalesce(func.sum(Offer.quantity), 0)).where(
        Offer.request_id == r.id, Offer.status.in_(ACTIVE_OFFER)
    )
    stmt = select(InventoryItem, offered.scalar_subquery()).where(
        InventoryItem.commune_code == commune, InventoryItem.resource == r.resource
    )
    row = session.execute(_for_update(session, stmt, InventoryItem)).first()
    if row is not None:
        return row[0], int(row[1] or 0)
    return None, int(session.scalar(offered) or 0)


def is_exercise(session: Session, r: SupportRequest) -> bool:
    """Whether ``r`` belongs to an exercise (diễn tập): its offers reserve and move no stock
    (known without a query when ``r`` was read by :func:`lock_request` or :func:`lock_move`)."""
    known = session.info.get(_EXERCISE, {})
    if r.id in known:
        return bool(known[r.id])
    incident = session.get(Incident, r.incident_id)
    return bool(incident is not None and incident.exercise)


def offer_event(kind: EventKind, o: Offer, r: SupportRequest) -> Event:
    """The notice of ``kind`` about offer ``o`` (made to ``r``), to the side it concerns: the
    requester for a new or dispatched offer, the giver otherwise."""
    to_requester = kind in (EventKind.OFFER_MADE, EventKind.OFFER_DISPATCHED)
    return Event(
        kind,
        "offer",
        o.id,
        (r.commune_code if to_requester else o.commune_code,),
        {
            "offer": o.id,
            "request": r.id,
            "commune": o.commune_code if to_requester else r.commune_code,
            "resource": r.resource,
            "quantity": o.quantity,
        },
    )

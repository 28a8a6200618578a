"""Offers made to support requests, and their state machine.

Offer states and who moves them (anything else is 409 with the current state)::

    offered --accept (requester)--> accepted --dispatch (giver)--> dispatched
        --arrive (requester)--> arrived
    offered --decline (requester)--> declined
    offered | accepted --cancel (either side, with a reason)--> cancelled

Stock is never promised twice: an offer reserves its quantity from the giver's inventory in
the same transaction, with the inventory row locked (``SELECT ... FOR UPDATE`` on PostgreSQL;
on SQLite every write transaction holds the database write lock from its ``BEGIN IMMEDIATE``).
Declining or cancelling releases the reservation; dispatch takes the stock out of the giver's
inventory; arrival writes it into the receiver's ledger for the incident. The locks a write
takes, and the one order they are taken in, are in :mod:`api.services.offer_rows`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_act_for
from api.enums import OfferAction, OfferStatus, RequestStatus
from api.errors import BadInput, Conflict, Forbidden, NotFound
from api.models import InventoryItem, LedgerEntry, Offer, SupportRequest, utcnow
from api.services import audit
from api.services.notify import EventKind, notify
from api.services.offer_rows import (
    is_exercise,
    lock_move,
    lock_offer,
    lock_request,
    lock_stock,
    lock_stock_offered,
    may_read_offer,
    not_addressed,
    not_open,
    offer_dict,
    offer_event,
    offer_not_found,
    request_not_found,
)
from geo.plan_settings import HOME_RESERVE_SHARE, home_reserve

__all__ = [  # the rows' helpers too, for the modules that import them from here
    "NOTICES",
    "TRANSITIONS",
    "create_offer",
    "get_offer",
    "is_exercise",
    "ledger_of",
    "may_read_offer",
    "not_addressed",
    "not_open",
    "offer_dict",
    "offer_event",
    "release",
    "request_not_found",
    "transition_offer",
]

#: For each action, the states it moves an offer from and to.
TRANSITIONS: dict[OfferAction, dict[OfferStatus, OfferStatus]] = {
    OfferAction.ACCEPT: {OfferStatus.OFFERED: OfferStatus.ACCEPTED},
    OfferAction.DECLINE: {OfferStatus.OFFERED: OfferStatus.DECLINED},
    OfferAction.DISPATCH: {OfferStatus.ACCEPTED: OfferStatus.DISPATCHED},
    OfferAction.ARRIVE: {OfferStatus.DISPATCHED: OfferStatus.ARRIVED},
    OfferAction.CANCEL: {
        OfferStatus.OFFERED: OfferStatus.CANCELLED,
        OfferStatus.ACCEPTED: OfferStatus.CANCELLED,
    },
}
#: The actions that are the requesting commune's to take (dispatch is the giver's, cancel
#: either side's).
REQUESTER_ACTIONS = (OfferAction.ACCEPT, OfferAction.DECLINE, OfferAction.ARRIVE)


def create_offer(
    session: Session,
    principal: Principal,
    request_id: int,
    *,
    commune: str,
    quantity: int,
    note: str | None,
    confirm_below_reserve: bool | None = None,
) -> dict[str, Any]:
    """Offer ``quantity`` from ``commune`` to a request addressed to it, reserving the stock.

    An offer that would leave the giver less at home than its reserve (⌈30 %⌉ of its stock,
    :func:`home_reserve`) is a choice the leader makes knowingly: with
    ``confirm_below_reserve=False`` (the commune page's first post) it is refused with
    ``below_home_reserve`` so the page can ask; with ``True`` it goes ahead; with ``None`` (API
    clients that do not ask) it goes ahead too. Either way the answer carries ``below_reserve``
    with ``reserve_kept`` and ``left_at_home``, and the audit entry records it and whether the
    leader confirmed.

    Raises
    ------
    Forbidden, NotFound, BadInput
        ``quantity_not_positive``, ``own_request`` (field ``commune``).
    Conflict
        The request is not open (``request_not_open``) or not addressed to ``commune``
        (``not_addressed``), or outdated by a re-plan that can no longer reach ``commune``
        (``addressee_unreachable``); the offer exceeds what is left to offer (``over_offer``, params
        ``quantity``, ``remaining``) or what the commune has available, stock minus what is
        already promised (``over_stock``, params ``quantity``, ``available``); or it would go
        below the home reserve and ``confirm_below_reserve`` is ``False``
        (``below_home_reserve``, params ``quantity``, ``left``, ``keep``, ``stock``).
    """
    require_act_for(principal, commune, action="offering support")
    if quantity <= 0:
        raise BadInput(
            "quantity: must be a positive integer",
            code="quantity_not_positive",
            field="quantity",
            params={"quantity": quantity},
        )
    r = lock_request(session, request_id)
    if r is None:
        raise request_not_found(request_id)
    if commune == r.commune_code:
        raise BadInput(
            "commune: a commune cannot offer to its own request",
            code="own_request",
            field="commune",
            params={"commune": commune, "request_id": request_id},
        )
    if commune not in r.to_communes:
        raise not_addressed(request_id, commune)
    if r.status != RequestStatus.OPEN:
        raise not_open(r)
    if r.outdated and commune in (r.unreachable or []):
        raise Conflict(
            f"request {request_id} is outdated: the latest plan cannot reach {commune} "
            f"from {r.commune_code}",
            code="addressee_unreachable",
            field="commune",
            params={"request_id": request_id, "commune": commune},
        )
    item, offered = lock_stock_offered(session, r, commune)
    left = r.quantity - offered
    if quantity > left:
        raise Conflict(
            f"offer of {quantity} is larger than what is left to offer ({left} of {r.quantity})",
            code="over_offer",
            field="quantity",
            params={"quantity": quantity, "remaining": left, "requested": r.quantity},
        )
    available = 0 if item is None else item.quantity - item.reserved
    if item is None or quantity > available:
        raise Conflict(
            f"{commune} has {available} {r.resource} available (stock minus open offers), "
            f"cannot offer {quantity}",
            code="over_stock",
            field="quantity",
            params={
                "quantity": quantity,
                "available": available,
                "commune": commune,
                "resource": r.resource,
            },
        )
    home = home_reserve(item.quantity, item.quantity - item.reserved - quantity)
    if home["below_reserve"] and confirm_below_reserve is False:
        raise Conflict(
            f"offer of {quantity} would leave {home['left_at_home']} {r.resource} at home, "
            f"below the reserve of {home['reserve_kept']} ({round(HOME_RESERVE_SHARE * 100)}% "
            f"of {item.quantity}): confirm to send it anyway",
            code="below_home_reserve",
            field="quantity",
            params={
                "quantity": quantity,
                "left": home["left_at_home"],
                "keep": home["reserve_kept"],
                "stock": item.quantity,
                "resource": r.resource,
                "commune": commune,
            },
        )
    if not is_exercise(session, r):  # a drill reserves nothing
        item.reserved += quantity
        item.updated_at = utcnow()
    o = Offer(
        request_id=r.id,
        commune_code=commune,
        quantity=quantity,
        status=OfferStatus.OFFERED,
        note=note,
        created_by=principal.username,
    )
    session.add(o)
    session.flush()
    notify(session, offer_event(EventKind.OFFER_MADE, o, r))
    audit.record(  # last: see the lock order in api.services.offer_rows
        session,
        actor=principal.describe_for(commune),
        action="offer.create",
        entity="offer",
        entity_id=o.id,
        after={
            "request_id": r.id,
            "commune": commune,
            "resource": r.resource,
            "quantity": quantity,
            "reserved_now": item.reserved,
            **(
                {"below_reserve": True, "confirmed": bool(confirm_below_reserve), **home}
                if home["below_reserve"]
                else {}
            ),
        },
    )
    return offer_dict(o) | home


def get_offer(session: Session, principal: Principal, offer_id: int) -> dict[str, Any]:
    """One offer, for the communes on either side of it (and commands over them)."""
    row = session.execute(
        select(Offer, SupportRequest)
        .join(SupportRequest, SupportRequest.id == Offer.request_id)
        .where(Offer.id == offer_id)
    ).first()
    if row is None:
        raise offer_not_found(offer_id)
    o, r = row
    if not may_read_offer(principal, o, r):
        raise Forbidden(
            f"offer {offer_id} involves none of your communes",
            code="offer_not_yours",
            params={"offer_id": offer_id},
        )
    return offer_dict(o)


def release(
    session: Session,
    o: Offer,
    r: SupportRequest,
    stock: dict[tuple[str, str], InventoryItem] | None = None,
) -> None:
    """Give back to the giver's free stock what offer ``o`` (made to ``r``) reserved.

    ``stock`` holds the giver's row when the caller locked it already (:func:`lock_stock`);
    otherwise it is locked here."""
    key = (o.commune_code, r.resource)
    item = (stock if stock is not None else lock_stock(session, [key])).get(key)
    if item is not None and not is_exercise(session, r):
        item.reserved = max(0, item.reserved - o.quantity)


def _acting_side(
    principal: Principal, o: Offer, r: SupportRequest, action: OfferAction, reason: str | None
) -> str:
    """The commune in whose name ``principal`` takes ``action`` (403 if it may not)."""
    if action in REQUESTER_ACTIONS:
        side = r.commune_code
        require_act_for(principal, side, action=f"{action} an offer (the requesting commune's act)")
    elif action == OfferAction.DISPATCH:
        side = o.commune_code
        require_act_for(principal, side, action="dispatch an offer (the offering commune's act)")
    else:
        side = r.commune_code if principal.may_act_for(r.commune_code) else o.commune_code
        require_act_for(principal, side, action="cancel an offer (either side's act)")
        if not reason:
            raise BadInput(
                "reason: cancelling needs a reason", code="reason_required", field="reason"
            )
    return side


def _dispatch(session: Session, o: Offer, r: SupportRequest) -> None:
    """Take the offer's quantity out of the giver's stock (and its reservation).

    Raises
    ------
    Conflict
        ``inventory_row_missing``: the giver's inventory no longer has the resource's row
        (nothing is changed).
    """
    item = lock_stock(session, [(o.commune_code, r.resource)]).get((o.commune_code, r.resource))
    if item is None:
        raise Conflict(
            f"cannot dispatch offer {o.id}: {o.commune_code} has no {r.resource} in its "
            "inventory any more (set its inventory first)",
            code="inventory_row_missing",
            params={"offer_id": o.id, "commune": o.commune_code, "resource": r.resource},
        )
    if is_exercise(session, r):  # a drill moves no real stock
        return
    item.reserved -= o.quantity
    item.quantity -= o.quantity
    item.updated_at = utcnow()


def _arrive(session: Session, o: Offer, r: SupportRequest, arrived: int) -> None:
    """Write the offer into the receiver's ledger; the request is fulfilled when all arrived
    (``arrived``: what ``r``'s other offers brought)."""
    session.add(
        LedgerEntry(
            incident_id=r.incident_id,
            commune_code=r.commune_code,
            resource=r.resource,
            quantity=o.quantity,
            from_commune=o.commune_code,
            offer_id=o.id,
        )
    )
    if arrived + o.quantity >= r.quantity:
        r.status, r.updated_at = RequestStatus.FULFILLED, utcnow()


def transition_offer(
    session: Session, principal: Principal, offer_id: int, action: str, reason: str | None = None
) -> dict[str, Any]:
    """Move an offer along its state machine (see the module docstring).

    Raises
    ------
    NotFound
        ``unknown_action`` (field ``action``) or ``offer_not_found``.
    Forbidden
        Not the side whose act it is.
    BadInput
        ``reason_required``: cancelling without a reason.
    Conflict
        ``illegal_transition`` (params ``action``, ``status``, ``allowed``);
        ``inventory_row_missing`` on dispatch (see :func:`_dispatch`).
    """
    if action not in TRANSITIONS:
        raise NotFound(
            f"no action {action!r} on offers",
            code="unknown_action",
            field="action",
            params={"action": action, "allowed": list(TRANSITIONS)},
        )
    act = OfferAction(action)
    # the lock order of api.services.offer_rows: an arrival locks the request first (whether
    # all arrived must count every other arrival); the other moves only lock the offer
    arrived = 0
    if act == OfferAction.ARRIVE:
        r = lock_request(session, offer_id=offer_id)
        o, arrived = (None, 0) if r is None else lock_offer(session, r, offer_id)
    else:
        found = lock_move(session, offer_id)
        o, r = (None, None) if found is None else found
    if r is None or o is None:
        raise offer_not_found(offer_id)
    side = _acting_side(principal, o, r, act, reason)
    to = TRANSITIONS[act].get(o.status)
    if to is None:
        allowed = [a for a, m in TRANSITIONS.items() if o.status in m]
        raise Conflict(
            {
                "message": f"cannot {act} an offer that is {o.status}",
                "status": o.status,
                "allowed": allowed,
            },
            code="illegal_transition",
            params={"action": act, "status": o.status, "allowed": allowed},
        )
    before = o.status
    if act in (OfferAction.DECLINE, OfferAction.CANCEL):
        release(session, o, r)
    elif act == OfferAction.DISPATCH:
        _dispatch(session, o, r)
    elif act == OfferAction.ARRIVE:
        _arrive(session, o, r, arrived)
    o.status, o.updated_at = to, utcnow()
    if reason:
        o.cancel_reason = reason
    session.flush()
    if act in NOTICES:
        notify(session, offer_event(NOTICES[act], o, r))
    audit.record(  # last: see the lock order in api.services.offer_rows
        session,
        actor=principal.describe_for(side),
        action=f"offer.{act}",
        entity="offer",
        entity_id=o.id,
        before={"status": before},
        after={"status": to, **({"reason": reason} if reason else {})},
    )
    return offer_dict(o)


#: The notice each move of an offer sends (to the other side: see :mod:`api.services.notify`).
NOTICES = {
    OfferAction.ACCEPT: EventKind.OFFER_ACCEPTED,
    OfferAction.DECLINE: EventKind.OFFER_DECLINED,
    OfferAction.DISPATCH: EventKind.OFFER_DISPATCHED,
    OfferAction.ARRIVE: EventKind.OFFER_ARRIVED,
}


def ledger_of(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """What arrived where for an incident."""
    rows = session.scalars(
        select(LedgerEntry).where(LedgerEntry.incident_id == incident_id).order_by(LedgerEntry.id)
    )
    return [
        {
            "commune": e.commune_code,
            "resource": e.resource,
            "quantity": e.quantity,
            "from": e.from_commune,
            "offer_id": e.offer_id,
            "at": e.created_at,
        }
        for e in rows
    ]

"""The after-action report of an incident (an exercise above all): the time from declaration to
each offer, and the share of each fired box card that offers filled."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_role
from api.enums import ACTIVE_OFFER, OfferStatus, Role
from api.models import Offer, SupportRequest, as_utc
from api.services.activation import activations_of, notices_json
from api.services.incidents import get_incident


def _minutes(later: Any, earlier: Any) -> float:
    a, b = as_utc(later), as_utc(earlier)
    assert a is not None and b is not None
    return round((a - b).total_seconds() / 60, 1)


def after_action(session: Session, principal: Principal, incident_id: int) -> dict[str, Any]:
    """``{"incident_id", "exercise", "declared_at", "offers": [...], "cards": [...],
    "backfill": [...]}``: every offer with ``minutes_after_declaration``; every card request
    with what was offered and arrived, ``share_filled`` (offered, in any live state, over the
    card's quantity, at most 1), ``first_offer_minutes`` and ``on_time`` (the first offer within
    the card's ``within_minutes``).

    Raises
    ------
    Forbidden
        Not a defence command, planner or admin.
    NotFound
        ``incident_not_found``.
    """
    require_role(
        principal,
        Role.DEFENCE_COMMAND,
        Role.PLANNER,
        Role.ADMIN,
        action="reading an after-action report",
    )
    i = get_incident(session, incident_id)
    requests = {
        r.id: r
        for r in session.scalars(select(SupportRequest).where(SupportRequest.incident_id == i.id))
    }
    offers: dict[int, list[Offer]] = {rid: [] for rid in requests}
    for o in session.scalars(
        select(Offer).where(Offer.request_id.in_(list(requests) or [-1])).order_by(Offer.id)
    ):
        offers[o.request_id].append(o)
    offer_rows = [
        {
            "offer_id": o.id,
            "request_id": o.request_id,
            "from": o.commune_code,
            "to": requests[o.request_id].commune_code,
            "resource": requests[o.request_id].resource,
            "quantity": o.quantity,
            "status": o.status,
            "from_card": requests[o.request_id].source == "regulation",
            "minutes_after_declaration": _minutes(o.created_at, i.created_at),
        }
        for rid in sorted(offers)
        for o in offers[rid]
    ]
    cards = []
    for a in activations_of(session, i.id):
        if a.request_id is None:
            continue
        live = [o for o in offers.get(a.request_id, []) if o.status in ACTIVE_OFFER]
        quantity = int(a.data.get("quantity", 0)) or 1
        offered = sum(o.quantity for o in live)
        first = _minutes(live[0].created_at, i.created_at) if live else None
        within = a.data.get("within_minutes")
        cards.append(
            {
                "regulation_id": a.regulation_id,
                "number": a.data.get("number"),
                "hazard": a.data.get("hazard"),
                "level": a.level,
                "from": a.giver,
                "to": a.receiver,
                "order": a.data.get("order"),
                "resource": a.resource,
                "quantity": a.data.get("quantity"),
                "request_id": a.request_id,
                "offered": offered,
                "arrived": sum(o.quantity for o in live if o.status == OfferStatus.ARRIVED),
                "share_filled": round(min(1.0, offered / quantity), 3),
                "first_offer_minutes": first,
                "within_minutes": within,
                "on_time": None if first is None or within is None else first <= within,
            }
        )
    return {
        "incident_id": i.id,
        "name": i.name,
        "exercise": bool(i.exercise),
        "declared_at": i.created_at,
        "offers": offer_rows,
        "cards": cards,
        "backfill": notices_json(session, i.id),
    }

"""Support requests: a commune asks its neighbours; who may read them; withdrawing, declining.

The offers made to a request, and their state machine, are in :mod:`api.services.offers`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session

from api.auth import Principal, require_act_for, require_role
from api.enums import (
    ACTIVE_OFFER,
    RESERVING_OFFER,
    IncidentStatus,
    OfferStatus,
    RequestStatus,
    Role,
    Urgency,
)
from api.errors import BadInput, Conflict, Forbidden, NotFound
from api.models import Incident, Offer, PlanRecord, SupportRequest, utcnow
from api.services import audit
from api.services.notify import Event, EventKind, notify
from api.services.offer_rows import (
    lock_offers,
    lock_request,
    lock_stock,
    not_addressed,
    not_open,
    offer_dict,
    request_not_found,
)
from api.services.offers import release
from api.services.reach import check_reachable
from geo.resources import load_catalogue

URGENCIES: tuple[Urgency, ...] = tuple(Urgency)


def request_dict(
    session: Session, r: SupportRequest, offers: list[Offer] | None = None
) -> dict[str, Any]:
    """The request as the API shows it; ``offers`` are its offers when already loaded."""
    if offers is None:
        offers = list(
            session.scalars(select(Offer).where(Offer.request_id == r.id).order_by(Offer.id))
        )
    offered = sum(o.quantity for o in offers if o.status in ACTIVE_OFFER)
    return {
        "id": r.id,
        "incident_id": r.incident_id,
        "commune": r.commune_code,
        "resource": r.resource,
        "quantity": r.quantity,
        "urgency": r.urgency,
        "note": r.note,
        "to": list(r.to_communes),
        "status": r.status,
        "declined_by": list(r.declined_by or []),
        "cancel_reason": r.cancel_reason,
        "created_by": r.created_by,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "offered": offered,
        "remaining": max(0, r.quantity - offered),
        "arrived": sum(o.quantity for o in offers if o.status == OfferStatus.ARRIVED),
        "offers": [offer_dict(o) for o in offers],
        "source": r.source,
        "regulation_id": r.regulation_id,
        "card": r.card,
        "asks": [dict(a) for a in (r.asks or [])],
        "outdated": bool(r.outdated),
        "unreachable": list(r.unreachable or []),
        "plan_id": r.plan_id,
    }


def latest_plan_record(session: Session, incident_id: int) -> PlanRecord | None:
    """The incident's newest stored plan, or None before any."""
    return session.scalars(
        select(PlanRecord)
        .where(PlanRecord.incident_id == incident_id)
        .order_by(PlanRecord.id.desc())
        .limit(1)
    ).first()


def suggested_givers(session: Session, incident_id: int, commune: str, resource: str) -> list[str]:
    """The givers the incident's latest plan suggests for ``commune`` and ``resource``."""
    rec = latest_plan_record(session, incident_id)
    if rec is None:
        return []
    return sorted(
        {
            t["from"]
            for t in rec.plan.get("transfers", [])
            if t["to"] == commune and t["resource"] == resource
        }
    )


def _check_request(
    session: Session,
    *,
    incident_id: int,
    commune: str,
    resource: str,
    to: list[str] | None,
    urgency: str,
    known: set[str],
) -> Incident:
    """Refuse a request to an unknown or closed incident, of an unknown resource or urgency,
    or to unknown communes or to the requesting commune itself; the incident otherwise."""
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(
            f"incident {incident_id} not found",
            code="incident_not_found",
            field="incident_id",
            params={"incident_id": incident_id},
        )
    if incident.status != IncidentStatus.ACTIVE:
        raise Conflict(
            f"incident {incident_id} is {incident.status}",
            code="incident_not_active",
            field="incident_id",
            params={"incident_id": incident_id, "status": incident.status},
        )
    if resource not in load_catalogue():
        raise BadInput(
            f"resource: unknown resource {resource!r}",
            code="unknown_resource",
            field="resource",
            params={"resource": resource},
        )
    if urgency not in URGENCIES:
        raise BadInput(
            f"urgency: must be one of {', '.join(URGENCIES)}",
            code="unknown_urgency",
            field="urgency",
            params={"urgency": urgency, "allowed": list(URGENCIES)},
        )
    if not to:
        return incident
    unknown = [c for c in to if c not in known]
    if unknown:
        raise BadInput(
            f"to: unknown commune(s) {', '.join(unknown)}",
            code="unknown_commune",
            field="to",
            params={"commune": ", ".join(unknown), "communes": unknown},
        )
    if commune in to:
        raise BadInput(
            "to: a commune cannot request support from itself",
            code="self_request",
            field="to",
            params={"commune": commune},
        )
    return incident


def create_request(
    session: Session,
    principal: Principal,
    *,
    incident_id: int,
    commune: str,
    resource: str,
    quantity: int,
    to: list[str] | None,
    urgency: str,
    note: str | None,
    known: set[str],
    neighbours: list[str],
    graph: Any = None,
    asks: list[dict[str, Any]] | None = None,
    plan_id: int | None = None,
) -> dict[str, Any]:
    """Create a support request from ``commune`` (default addressees: the plan's suggestion,
    else the commune's usable neighbours).

    Raises
    ------
    Forbidden
        Not acting for ``commune``.
    NotFound, Conflict, BadInput
        ``incident_not_found``, ``incident_not_active``, ``unknown_resource``,
        ``unknown_urgency``, ``unknown_commune`` (field ``to``), ``self_request``;
        with ``graph``, ``unreachable_commune`` (field ``to``): addressees no path of at most
        ``MAX_HOPS`` links, open in the incident's scenario, reaches.

    A request made from a plan (:mod:`api.services.replan`) carries ``asks``, the plan's
    quantity for each addressee, and ``plan_id``; a hand-made one has ``asks == []``.
    """
    require_act_for(principal, commune, action="requesting support")
    incident = _check_request(
        session,
        incident_id=incident_id,
        commune=commune,
        resource=resource,
        to=to,
        urgency=urgency,
        known=known,
    )
    if to and graph is not None:
        check_reachable(incident, commune, to, graph)
    if not to:
        to = suggested_givers(session, incident_id, commune, resource) or neighbours
    r = SupportRequest(
        incident_id=incident_id,
        commune_code=commune,
        resource=resource,
        quantity=quantity,
        urgency=Urgency(urgency),
        note=note,
        to_communes=sorted(set(to)),
        status=RequestStatus.OPEN,
        created_by=principal.username,
        asks=list(asks or []),
        plan_id=plan_id,
    )
    session.add(r)
    session.flush()
    out = request_dict(session, r, [])  # a new request has no offers yet
    notify(session, request_event(r))
    audit.record(  # last: see the lock order in api.services.offer_rows
        session,
        actor=principal.describe_for(commune),
        action="request.create",
        entity="request",
        entity_id=r.id,
        after={
            k: out[k]
            for k in (
                "incident_id",
                "commune",
                "resource",
                "quantity",
                "to",
                "urgency",
                "status",
                "asks",
            )
        },
    )
    return out


def request_event(r: SupportRequest) -> Event:
    """The notice to the communes a request is addressed to."""
    return Event(
        EventKind.REQUEST_ADDRESSED,
        "request",
        r.id,
        tuple(r.to_communes),
        {
            "request": r.id,
            "commune": r.commune_code,
            "resource": r.resource,
            "quantity": r.quantity,
        },
    )


def may_read_request(principal: Principal, r: SupportRequest) -> bool:
    """Whether ``principal`` may read request ``r``: a leader when its commune asks or is asked,
    a defence command when either side is in its area, planners and admins always."""
    if principal.role not in (Role.COMMUNE_LEADER, Role.DEFENCE_COMMAND):
        return True
    return any(principal.in_area(c) for c in (r.commune_code, *r.to_communes))


def list_requests(
    session: Session,
    principal: Principal,
    *,
    commune: str | None,
    direction: str | None,
    status: str | None,
    incident_id: int | None,
) -> list[dict[str, Any]]:
    """Requests visible to ``principal``: a leader sees its own outgoing ones and those
    addressed to it; a defence command those touching its area; planners and admins all."""
    # the requests and their offers in one statement (an outer join: a request without
    # offers comes once, with None)
    stmt = (
        select(SupportRequest, Offer)
        .outerjoin(Offer, Offer.request_id == SupportRequest.id)
        .order_by(SupportRequest.id.desc(), Offer.id)
    )
    if incident_id is not None:
        stmt = stmt.where(SupportRequest.incident_id == incident_id)
    if status:
        stmt = stmt.where(SupportRequest.status == status)
    if commune:
        # the database narrows the rows (the JSON list of addressees holds each code quoted, on
        # SQLite and PostgreSQL alike); the exact test below decides
        addressed = cast(SupportRequest.to_communes, String).like(f'%"{commune}"%')
        if direction == "outgoing":
            stmt = stmt.where(SupportRequest.commune_code == commune)
        elif direction == "incoming":
            stmt = stmt.where(addressed)
        else:
            stmt = stmt.where(or_(SupportRequest.commune_code == commune, addressed))
    found: dict[int, tuple[SupportRequest, list[Offer]]] = {}
    for r, o in session.execute(stmt):
        offers = found.setdefault(r.id, (r, []))[1]
        if o is not None:
            offers.append(o)
    rows = [r for r, _ in found.values()]
    if commune and direction == "incoming":
        rows = [
            r for r in rows if commune in r.to_communes and commune not in (r.declined_by or [])
        ]
    elif commune and direction != "outgoing":
        rows = [r for r in rows if r.commune_code == commune or commune in r.to_communes]
    rows = [r for r in rows if may_read_request(principal, r)]
    return [request_dict(session, r, found[r.id][1]) for r in rows]


def offers_of(session: Session, rows: list[SupportRequest]) -> list[list[Offer]]:
    """The offers of each request, in a few queries instead of one per request."""
    by_request: dict[int, list[Offer]] = {r.id: [] for r in rows}
    ids = list(by_request)
    for k in range(0, len(ids), 500):
        for o in session.scalars(
            select(Offer).where(Offer.request_id.in_(ids[k : k + 500])).order_by(Offer.id)
        ):
            by_request[o.request_id].append(o)
    return [by_request[r.id] for r in rows]


def get_request(session: Session, principal: Principal, request_id: int) -> dict[str, Any]:
    """One request with its offers, for the communes it involves (and commands over them)."""
    rows = session.execute(  # the request and its offers in one statement
        select(SupportRequest, Offer)
        .outerjoin(Offer, Offer.request_id == SupportRequest.id)
        .where(SupportRequest.id == request_id)
        .order_by(Offer.id)
    ).all()
    if not rows:
        raise request_not_found(request_id)
    r = rows[0][0]
    if not may_read_request(principal, r):
        raise Forbidden(
            f"request {request_id} involves none of your communes",
            code="request_not_yours",
            params={"request_id": request_id},
        )
    return request_dict(session, r, [o for _, o in rows if o is not None])


def cancel_request(
    session: Session, principal: Principal, request_id: int, reason: str
) -> dict[str, Any]:
    """The requester withdraws a request; its open offers are cancelled and their stock freed.

    Locks the request, then all its offers, then the givers' stock rows (one statement each,
    the order of :mod:`api.services.offer_rows`)."""
    r = lock_request(session, request_id)
    if r is None:
        raise request_not_found(request_id)
    require_act_for(principal, r.commune_code, action="cancelling a request")
    if r.status != RequestStatus.OPEN:
        raise not_open(r)
    offers = lock_offers(session, r)
    freed = [o for o in offers if o.status in RESERVING_OFFER]
    stock = lock_stock(session, [(o.commune_code, r.resource) for o in freed])
    for o in freed:
        release(session, o, r, stock)
        o.status, o.cancel_reason, o.updated_at = (
            OfferStatus.CANCELLED,
            f"request cancelled: {reason}",
            utcnow(),
        )
    r.status, r.cancel_reason, r.updated_at = RequestStatus.CANCELLED, reason, utcnow()
    session.flush()
    audit.record(
        session,
        actor=principal.describe_for(r.commune_code),
        action="request.cancel",
        entity="request",
        entity_id=r.id,
        before={"status": RequestStatus.OPEN},
        after={"status": RequestStatus.CANCELLED, "reason": reason},
    )
    return request_dict(session, r, offers)


def decline_request(
    session: Session, principal: Principal, request_id: int, commune: str, reason: str | None
) -> dict[str, Any]:
    """A commune the request is addressed to declines it (it leaves that commune's incoming
    list)."""
    require_act_for(principal, commune, action="declining a request")
    r = lock_request(session, request_id)
    if r is None:
        raise request_not_found(request_id)
    if commune not in r.to_communes:
        raise not_addressed(request_id, commune)
    if commune in (r.declined_by or []):
        raise Conflict(
            {"message": f"{commune} already declined request {request_id}", "status": r.status},
            code="already_declined",
            field="commune",
            params={"request_id": request_id, "commune": commune, "status": r.status},
        )
    r.declined_by = sorted({*(r.declined_by or []), commune})
    r.updated_at = utcnow()
    session.flush()
    audit.record(
        session,
        actor=principal.describe_for(commune),
        action="request.decline",
        entity="request",
        entity_id=r.id,
        after={"commune": commune, "reason": reason},
    )
    return request_dict(session, r)


def check_leader_scope(principal: Principal, commune: str | None) -> None:
    """A leader may only list its own commune's tasks."""
    if principal.role == Role.COMMUNE_LEADER and commune and commune != principal.commune:
        require_role(
            principal,
            Role.DEFENCE_COMMAND,
            Role.PLANNER,
            Role.ADMIN,
            action=f"reading commune {commune}'s tasks",
        )

"""Inventories, support requests and offers: the commune-to-commune workflow.

Offer states and who moves them (anything else is 409 with the current state)::

    offered --accept (requester)--> accepted --dispatch (giver)--> dispatched --arrive (requester)--> arrived
    offered --decline (requester)--> declined
    offered | accepted --cancel (either side, with a reason)--> cancelled

Stock is never promised twice: an offer reserves its quantity from the giver's inventory in
the same transaction, with the inventory row locked (``SELECT ... FOR UPDATE`` on PostgreSQL;
on SQLite every write transaction holds the database write lock from its ``BEGIN IMMEDIATE``).
Declining or cancelling releases the reservation; dispatch takes the stock out of the giver's
inventory; arrival writes it into the receiver's ledger for the incident.
"""

from __future__ import annotations

import io
from collections.abc import Collection, Mapping
from typing import Any

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.orm import Session

from api.auth import Principal, require_act_for, require_role
from api.errors import BadInput, Conflict, Forbidden, NotFound
from api.models import (
    Incident,
    InventoryItem,
    LedgerEntry,
    Offer,
    PlanRecord,
    SupportRequest,
    as_utc,
    utcnow,
)
from api.services import audit
from geo.resources import (
    InventoryError,
    load_catalogue,
    read_inventory_csv,
    validate_inventory_items,
)

ACTIVE_OFFER = ("offered", "accepted", "dispatched", "arrived")
TRANSITIONS: dict[str, dict[str, str]] = {
    "accept": {"offered": "accepted"},
    "decline": {"offered": "declined"},
    "dispatch": {"accepted": "dispatched"},
    "arrive": {"dispatched": "arrived"},
    "cancel": {"offered": "cancelled", "accepted": "cancelled"},
}
URGENCIES = ("low", "normal", "high", "critical")


def _locked(session: Session, stmt):
    """``stmt`` with a row lock where the database has them (SQLite locks the whole file)."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt)


# --- inventories ------------------------------------------------------------------------------


def inventory_of(session: Session, commune: str) -> dict[str, Any]:
    """A commune's inventory as the API returns it."""
    rows = session.scalars(
        select(InventoryItem)
        .where(InventoryItem.commune_code == commune)
        .order_by(InventoryItem.resource)
    ).all()
    order = {k: i for i, k in enumerate(load_catalogue())}
    rows = sorted(rows, key=lambda r: order.get(r.resource, 999))
    return {
        "commune": commune,
        "items": {r.resource: r.quantity for r in rows},
        "reserved": {r.resource: r.reserved for r in rows if r.reserved},
        "available": {r.resource: r.quantity - r.reserved for r in rows},
        "sample": any(r.sample for r in rows),
        "sample_resources": [r.resource for r in rows if r.sample],
        "updated_at": max((as_utc(r.updated_at) for r in rows), default=None),
    }


def set_inventory(
    session: Session,
    principal: Principal,
    commune: str,
    items: Mapping[str, Any],
    *,
    sample: bool = False,
) -> dict[str, Any]:
    """Set the listed resources of ``commune``'s inventory (others unchanged).

    Raises
    ------
    Forbidden
        Not a leader of that commune nor a defence command over it.
    InventoryError
        Unknown resources, negative or non-integer quantities (nothing is changed).
    Conflict
        A quantity below what open offers already promise.
    """
    require_act_for(principal, commune, action="editing an inventory")
    clean = validate_inventory_items(items, catalogue=load_catalogue())
    before = inventory_of(session, commune)["items"]
    rows = {
        r.resource: r
        for r in _locked(
            session, select(InventoryItem).where(InventoryItem.commune_code == commune)
        )
    }
    for key, q in clean.items():
        row = rows.get(key)
        if row is None:
            row = InventoryItem(commune_code=commune, resource=key, quantity=0, reserved=0)
            session.add(row)
        if q < row.reserved:
            raise Conflict(f"cannot set {key} to {q}: {row.reserved} are promised in open offers")
        row.quantity, row.sample, row.updated_at, row.updated_by = (
            q,
            sample,
            utcnow(),
            principal.username,
        )
    session.flush()
    after = inventory_of(session, commune)
    audit.record(
        session,
        actor=principal.describe_for(commune),
        action="inventory.update",
        entity="inventory",
        entity_id=commune,
        before=before,
        after=after["items"],
    )
    return after


#: How many problems an answer lists before saying how many more there are.
MAX_LISTED = 50


def _listed(items: list[str]) -> str:
    """``items`` joined, cut at ``MAX_LISTED`` with how many more there are."""
    more = len(items) - MAX_LISTED
    return ", ".join(items[:MAX_LISTED]) + (f" and {more} more" if more > 0 else "")


def _short(message: str, limit: int = 300) -> str:
    """A problem as listed back: a line pasted by mistake (a megabyte of digits) is cut."""
    return message if len(message) <= limit else message[:limit] + "…"


def parse_inventory_csv(raw: bytes, *, communes: Collection[str]) -> dict[str, dict[str, int]]:
    """An uploaded inventory file (CONTRACT.md long form, UTF-8) as ``{commune: {resource: q}}``.

    Raises
    ------
    BadInput
        Not UTF-8, no header, or bad lines: ``detail`` is ``{"message", "errors", "more"}``,
        ``errors`` the first ``MAX_LISTED`` problems, each naming its line, ``more`` how many
        were left out.
    """
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadInput(
            {
                "message": f"file: not UTF-8 text (byte {exc.start}); nothing was imported",
                "errors": [f"file: not UTF-8 text (byte {exc.start})"],
                "more": 0,
            }
        ) from exc
    try:  # a file object, never the text itself: one line without a newline would be taken for a path
        buf = io.StringIO(text)
        buf.name = "file"  # what the messages call it
        return read_inventory_csv(buf, communes=communes)
    except InventoryError as exc:
        errors = [_short(e) for e in exc.errors]
        head = (
            f"{len(errors)} bad line(s), nothing was imported"
            if len(errors) > 1 or errors[0].startswith("line ")
            else f"{errors[0]}; nothing was imported"
        )
        raise BadInput(
            {
                "message": head,
                "errors": errors[:MAX_LISTED],
                "more": max(0, len(errors) - MAX_LISTED),
            }
        ) from exc


def import_inventory(
    session: Session, principal: Principal, inventory: Mapping[str, Mapping[str, int]]
) -> dict[str, Any]:
    """Store a surveyed inventory (a parsed CSV, :func:`geo.resources.read_inventory_csv`) in
    one transaction: all of it, or nothing.

    Each listed value replaces the stored one and is no longer ``sample``; resources a
    commune's rows do not list keep their quantities and their flag, so an estimate never shows
    as surveyed (the inventory's ``sample_resources`` says which are still estimates). One audit
    entry (before/after) per commune whose values or ``sample`` flags changed.

    Raises
    ------
    Forbidden
        Not a defence command or admin; or communes outside the command's area (all named).
    Conflict
        Quantities below what open offers reserve (each commune and resource named).
    """
    require_role(principal, "defence_command", "admin", action="importing an inventory file")
    communes = sorted(inventory)
    outside = [c for c in communes if principal.role != "admin" and not principal.may_act_for(c)]
    if outside:
        raise Forbidden(
            {
                "message": f"importing an inventory file: commune(s) {_listed(outside)} outside your area; "
                "nothing was imported",
                "communes": outside,
            }
        )
    rows: dict[str, dict[str, InventoryItem]] = {c: {} for c in communes}
    for k in range(0, len(communes), 500):  # locked, so no offer reserves stock meanwhile
        for r in _locked(
            session,
            select(InventoryItem).where(InventoryItem.commune_code.in_(communes[k : k + 500])),
        ):
            rows[r.commune_code][r.resource] = r
    conflicts = [
        {"commune": c, "resource": key, "quantity": q, "reserved": rows[c][key].reserved}
        for c in communes
        for key, q in inventory[c].items()
        if key in rows[c] and q < rows[c][key].reserved
    ]
    if conflicts:
        named = [
            f"{x['commune']}/{x['resource']} ({x['quantity']} < {x['reserved']} promised)"
            for x in conflicts
        ]
        raise Conflict(
            {
                "message": f"quantities below what open offers reserve: {_listed(named)}; nothing was imported",
                "conflicts": conflicts[:MAX_LISTED],
                "more": max(0, len(conflicts) - MAX_LISTED),
            }
        )
    order = {k: i for i, k in enumerate(load_catalogue())}
    changed_values, changed_communes, now = 0, [], utcnow()
    for c in communes:
        have = rows[c]
        before = {
            "items": {k: r.quantity for k, r in have.items()},
            "sample": any(r.sample for r in have.values()),
        }
        changed = [
            key for key, q in inventory[c].items() if key not in have or have[key].quantity != q
        ]
        surveyed = [key for key in inventory[c] if key in have and have[key].sample]
        if not changed and not surveyed:
            continue
        for key, q in inventory[c].items():
            row = have.get(key)
            if row is None:
                row = have[key] = InventoryItem(
                    commune_code=c, resource=key, quantity=q, reserved=0
                )
                session.add(row)
            if key in changed:
                row.quantity, row.updated_at, row.updated_by = q, now, principal.username
            row.sample = False
        after = {
            "items": {k: have[k].quantity for k in sorted(have, key=lambda k: order.get(k, 999))},
            "sample": any(r.sample for r in have.values()),
        }
        before["items"] = {
            k: before["items"][k] for k in sorted(before["items"], key=lambda k: order.get(k, 999))
        }
        audit.record(
            session,
            actor=principal.describe_for(c),
            action="inventory.import",
            entity="inventory",
            entity_id=c,
            before=before,
            after=after,
        )
        changed_values += len(changed)
        changed_communes.append(c)
    session.flush()
    return {
        "communes": len(communes),
        "rows": sum(len(v) for v in inventory.values()),
        "changed": changed_values,
        "communes_changed": len(changed_communes),
        "changed_communes": changed_communes,
    }


def available_inventory(session: Session) -> dict[str, dict[str, int]]:
    """Every commune's stock minus what open offers reserve (what a new plan may use)."""
    out: dict[str, dict[str, int]] = {}
    for r in session.scalars(select(InventoryItem)):
        out.setdefault(r.commune_code, {})[r.resource] = max(0, r.quantity - r.reserved)
    return out


# --- requests ---------------------------------------------------------------------------------


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
        "arrived": sum(o.quantity for o in offers if o.status == "arrived"),
        "offers": [offer_dict(o) for o in offers],
    }


def offer_dict(o: Offer) -> dict[str, Any]:
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


def suggested_givers(session: Session, incident_id: int, commune: str, resource: str) -> list[str]:
    """The givers the incident's latest plan suggests for ``commune`` and ``resource``."""
    rec = session.scalars(
        select(PlanRecord)
        .where(PlanRecord.incident_id == incident_id)
        .order_by(PlanRecord.id.desc())
        .limit(1)
    ).first()
    if rec is None:
        return []
    return sorted(
        {
            t["from"]
            for t in rec.plan.get("transfers", [])
            if t["to"] == commune and t["resource"] == resource
        }
    )


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
) -> dict[str, Any]:
    """Create a support request from ``commune`` (default addressees: the plan's suggestion,
    else the commune's usable neighbours)."""
    require_act_for(principal, commune, action="requesting support")
    incident = session.get(Incident, incident_id)
    if incident is None:
        raise NotFound(f"incident {incident_id} not found")
    if incident.status != "active":
        raise Conflict(f"incident {incident_id} is {incident.status}")
    if resource not in load_catalogue():
        raise BadInput(f"resource: unknown resource {resource!r}")
    if urgency not in URGENCIES:
        raise BadInput(f"urgency: must be one of {', '.join(URGENCIES)}")
    if to:
        unknown = [c for c in to if c not in known]
        if unknown:
            raise BadInput(f"to: unknown commune(s) {', '.join(unknown)}")
        if commune in to:
            raise BadInput("to: a commune cannot request support from itself")
    else:
        to = suggested_givers(session, incident_id, commune, resource) or neighbours
    r = SupportRequest(
        incident_id=incident_id,
        commune_code=commune,
        resource=resource,
        quantity=quantity,
        urgency=urgency,
        note=note,
        to_communes=sorted(set(to)),
        status="open",
        created_by=principal.username,
    )
    session.add(r)
    session.flush()
    out = request_dict(session, r)
    audit.record(
        session,
        actor=principal.describe_for(commune),
        action="request.create",
        entity="request",
        entity_id=r.id,
        after={
            k: out[k]
            for k in ("incident_id", "commune", "resource", "quantity", "to", "urgency", "status")
        },
    )
    return out


def may_read_request(principal: Principal, r: SupportRequest) -> bool:
    """Whether ``principal`` may read request ``r``: a leader when its commune asks or is asked,
    a defence command when either side is in its area, planners and admins always."""
    if principal.role not in ("commune_leader", "defence_command"):
        return True
    return any(principal.in_area(c) for c in (r.commune_code, *r.to_communes))


def may_read_offer(principal: Principal, o: Offer, r: SupportRequest) -> bool:
    """Whether ``principal`` may read offer ``o`` (made to request ``r``): the giving and the
    requesting commune's leaders and commands, planners and admins."""
    if principal.role not in ("commune_leader", "defence_command"):
        return True
    return principal.in_area(o.commune_code) or principal.in_area(r.commune_code)


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
    stmt = select(SupportRequest).order_by(SupportRequest.id.desc())
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
    rows = session.scalars(stmt).all()
    if commune and direction == "incoming":
        rows = [
            r for r in rows if commune in r.to_communes and commune not in (r.declined_by or [])
        ]
    elif commune and direction != "outgoing":
        rows = [r for r in rows if r.commune_code == commune or commune in r.to_communes]
    rows = [r for r in rows if may_read_request(principal, r)]
    return [request_dict(session, r, offers) for r, offers in zip(rows, offers_of(session, rows))]


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
    r = session.get(SupportRequest, request_id)
    if r is None:
        raise NotFound(f"request {request_id} not found")
    if not may_read_request(principal, r):
        raise Forbidden(f"request {request_id} involves none of your communes")
    return request_dict(session, r)


def cancel_request(
    session: Session, principal: Principal, request_id: int, reason: str
) -> dict[str, Any]:
    """The requester withdraws a request; its open offers are cancelled and their stock freed."""
    r = _locked(session, select(SupportRequest).where(SupportRequest.id == request_id)).first()
    if r is None:
        raise NotFound(f"request {request_id} not found")
    require_act_for(principal, r.commune_code, action="cancelling a request")
    if r.status != "open":
        raise Conflict({"message": f"request {request_id} is {r.status}", "status": r.status})
    for o in session.scalars(
        select(Offer).where(Offer.request_id == r.id, Offer.status.in_(("offered", "accepted")))
    ):
        _release(session, o)
        o.status, o.cancel_reason, o.updated_at = (
            "cancelled",
            f"request cancelled: {reason}",
            utcnow(),
        )
    r.status, r.cancel_reason, r.updated_at = "cancelled", reason, utcnow()
    session.flush()
    audit.record(
        session,
        actor=principal.describe_for(r.commune_code),
        action="request.cancel",
        entity="request",
        entity_id=r.id,
        before={"status": "open"},
        after={"status": "cancelled", "reason": reason},
    )
    return request_dict(session, r)


def decline_request(
    session: Session, principal: Principal, request_id: int, commune: str, reason: str | None
) -> dict[str, Any]:
    """A commune the request is addressed to declines it (it leaves that commune's incoming list)."""
    require_act_for(principal, commune, action="declining a request")
    r = _locked(session, select(SupportRequest).where(SupportRequest.id == request_id)).first()
    if r is None:
        raise NotFound(f"request {request_id} not found")
    if commune not in r.to_communes:
        raise Conflict(f"request {request_id} is not addressed to {commune}")
    if commune in (r.declined_by or []):
        raise Conflict(
            {"message": f"{commune} already declined request {request_id}", "status": r.status}
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


# --- offers -----------------------------------------------------------------------------------


def create_offer(
    session: Session,
    principal: Principal,
    request_id: int,
    *,
    commune: str,
    quantity: int,
    note: str | None,
) -> dict[str, Any]:
    """Offer ``quantity`` from ``commune`` to a request addressed to it, reserving the stock.

    Raises
    ------
    Forbidden, NotFound, BadInput
    Conflict
        The request is not open, the offer exceeds what is left to offer, or the commune has
        not that much available (stock minus what is already promised).
    """
    require_act_for(principal, commune, action="offering support")
    if quantity <= 0:
        raise BadInput("quantity: must be a positive integer")
    r = _locked(session, select(SupportRequest).where(SupportRequest.id == request_id)).first()
    if r is None:
        raise NotFound(f"request {request_id} not found")
    if commune == r.commune_code:
        raise BadInput("commune: a commune cannot offer to its own request")
    if commune not in r.to_communes:
        raise Conflict(f"request {request_id} is not addressed to {commune}")
    if r.status != "open":
        raise Conflict({"message": f"request {request_id} is {r.status}", "status": r.status})
    offered = (
        session.scalar(
            select(func.coalesce(func.sum(Offer.quantity), 0)).where(
                Offer.request_id == r.id, Offer.status.in_(ACTIVE_OFFER)
            )
        )
        or 0
    )
    left = r.quantity - int(offered)
    if quantity > left:
        raise Conflict(
            f"offer of {quantity} is larger than what is left to offer ({left} of {r.quantity})"
        )
    item = _locked(
        session,
        select(InventoryItem).where(
            InventoryItem.commune_code == commune, InventoryItem.resource == r.resource
        ),
    ).first()
    available = 0 if item is None else item.quantity - item.reserved
    if item is None or quantity > available:
        raise Conflict(
            f"{commune} has {available} {r.resource} available (stock minus open offers), "
            f"cannot offer {quantity}"
        )
    item.reserved += quantity
    item.updated_at = utcnow()
    o = Offer(
        request_id=r.id,
        commune_code=commune,
        quantity=quantity,
        status="offered",
        note=note,
        created_by=principal.username,
    )
    session.add(o)
    session.flush()
    audit.record(
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
        },
    )
    return offer_dict(o)


def get_offer(session: Session, principal: Principal, offer_id: int) -> dict[str, Any]:
    """One offer, for the communes on either side of it (and commands over them)."""
    o = session.get(Offer, offer_id)
    if o is None:
        raise NotFound(f"offer {offer_id} not found")
    r = session.get(SupportRequest, o.request_id)
    if not may_read_offer(principal, o, r):
        raise Forbidden(f"offer {offer_id} involves none of your communes")
    return offer_dict(o)


def _release(session: Session, o: Offer) -> None:
    r = session.get(SupportRequest, o.request_id)
    item = _locked(
        session,
        select(InventoryItem).where(
            InventoryItem.commune_code == o.commune_code, InventoryItem.resource == r.resource
        ),
    ).first()
    if item is not None:
        item.reserved = max(0, item.reserved - o.quantity)


def transition_offer(
    session: Session, principal: Principal, offer_id: int, action: str, reason: str | None = None
) -> dict[str, Any]:
    """Move an offer along its state machine (see the module docstring)."""
    if action not in TRANSITIONS:
        raise NotFound(f"no action {action!r} on offers")
    o = _locked(session, select(Offer).where(Offer.id == offer_id)).first()
    if o is None:
        raise NotFound(f"offer {offer_id} not found")
    r = session.get(SupportRequest, o.request_id)
    if action in ("accept", "decline", "arrive"):
        side = r.commune_code
        require_act_for(principal, side, action=f"{action} an offer (the requesting commune's act)")
    elif action == "dispatch":
        side = o.commune_code
        require_act_for(principal, side, action="dispatch an offer (the offering commune's act)")
    else:
        side = r.commune_code if principal.may_act_for(r.commune_code) else o.commune_code
        require_act_for(principal, side, action="cancel an offer (either side's act)")
        if not reason:
            raise BadInput("reason: cancelling needs a reason")
    to = TRANSITIONS[action].get(o.status)
    if to is None:
        allowed = [a for a, m in TRANSITIONS.items() if o.status in m]
        raise Conflict(
            {
                "message": f"cannot {action} an offer that is {o.status}",
                "status": o.status,
                "allowed": allowed,
            }
        )
    before = o.status
    if action in ("decline", "cancel"):
        _release(session, o)
    elif action == "dispatch":
        item = _locked(
            session,
            select(InventoryItem).where(
                InventoryItem.commune_code == o.commune_code, InventoryItem.resource == r.resource
            ),
        ).first()
        item.reserved -= o.quantity
        item.quantity -= o.quantity
        item.updated_at = utcnow()
    elif action == "arrive":
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
        arrived = (
            session.scalar(
                select(func.coalesce(func.sum(Offer.quantity), 0)).where(
                    Offer.request_id == r.id, Offer.status == "arrived"
                )
            )
            or 0
        )
        if int(arrived) + o.quantity >= r.quantity:
            r.status, r.updated_at = "fulfilled", utcnow()
    o.status, o.updated_at = to, utcnow()
    if reason:
        o.cancel_reason = reason
    session.flush()
    audit.record(
        session,
        actor=principal.describe_for(side),
        action=f"offer.{action}",
        entity="offer",
        entity_id=o.id,
        before={"status": before},
        after={"status": to, **({"reason": reason} if reason else {})},
    )
    return offer_dict(o)


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


def check_leader_scope(principal: Principal, commune: str | None) -> None:
    """A leader may only list its own commune's tasks."""
    if principal.role == "commune_leader" and commune and commune != principal.commune:
        require_role(
            principal,
            "defence_command",
            "planner",
            "admin",
            action=f"reading commune {commune}'s tasks",
        )

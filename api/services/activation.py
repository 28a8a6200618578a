"""Activation in one step: an incident declared (or raised) to level L fires the box cards of the
regulations in force for its hazard and the levels it newly reaches.

Levels are cumulative, as box alarms are: declaring at level 3 fires the cards of levels 1, 2
and 3; raising from 2 to 4 fires those of levels 3 and 4; lowering fires nothing; every card
fires at most once per incident (``regulation_activations`` is unique per incident, regulation,
level, card and resource). A card fires for an affected commune it names as ``to``; a card whose
giver is itself affected does not fire (4 on-site: a stricken commune keeps its forces).

Each card makes one request per resource, to its giver, with the card's quantity
(``source="regulation"``, ``regulation_id``, the card). Backfill is a **notice**, not a request:
the covering commune is not asked for stock, it is told to watch over the helper's commune while
the helper's forces are away; a request would enter the offer flow and the planner's counts for
something that is not a transfer. The notice is a ``regulation_activations`` row of kind
``backfill`` (once per incident, regulation and helper), shown in the after-action report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.enums import ACTIVE_OFFER, RequestStatus, Urgency
from api.models import Incident, Offer, RegulationActivation, SupportRequest, as_utc
from api.services import audit
from api.services.regulations import regulations_in_force
from geo.i18n import TIMEZONE
from geo.needs import Scenario, needs_less

SOURCE = "regulation"


def incident_day(incident: Incident) -> dt.date:
    """The incident's date in Vietnam (when it was declared)."""
    created = as_utc(incident.created_at) or dt.datetime.now(dt.UTC)
    return created.astimezone(TIMEZONE).date()


def _fired(session: Session, incident_id: int) -> set[tuple[int, str, int, int, str]]:
    return {
        (a.regulation_id, a.kind, a.level, a.position, a.resource)
        for a in session.scalars(
            select(RegulationActivation).where(RegulationActivation.incident_id == incident_id)
        )
    }


def fire_cards(
    session: Session,
    incident: Incident,
    *,
    old_level: int,
    new_level: int,
    actor: Principal,
) -> list[int]:
    """Fire the cards of the levels ``old_level + 1 .. new_level`` (none when the level did
    not rise; ``old_level=0`` on declaration); returns the ids of the requests made.

    Only regulations in force on the incident's date fire (signed, not retired, valid).
    """
    if new_level <= old_level:
        return []
    hazard = str(incident.scenario.get("hazard", "flood"))
    affected = {a["commune"] for a in incident.scenario.get("affected", [])}
    fired = _fired(session, incident.id)
    made: list[int] = []
    for reg in regulations_in_force(session, incident_day(incident)):
        assert reg.id is not None and reg.version is not None
        helpers: list[str] = []
        for position, card in enumerate(reg.box_cards):
            if not (old_level < card.level <= new_level and card.hazard == hazard):
                continue
            if card.receiver not in affected or card.giver in affected:
                continue
            for resource, quantity in sorted(card.resources.items()):
                key = (reg.id, "card", card.level, position, resource)
                if key in fired:
                    continue
                fired.add(key)
                named = {**card.to_dict(), "number": reg.number, "position": position}
                r = SupportRequest(
                    incident_id=incident.id,
                    commune_code=card.receiver,
                    resource=resource,
                    quantity=quantity,
                    urgency=Urgency.HIGH,
                    note=f"quy chế {reg.number}: thẻ {hazard} cấp {card.level}, "
                    f"thứ tự {card.order}",
                    to_communes=[card.giver],
                    status=RequestStatus.OPEN,
                    created_by=actor.username,
                    source=SOURCE,
                    regulation_id=reg.id,
                    card=named,
                )
                session.add(r)
                session.flush()
                session.add(
                    RegulationActivation(
                        incident_id=incident.id, regulation_id=reg.id,
                        regulation_version=reg.version, kind="card", level=card.level,
                        position=position, resource=resource, giver=card.giver,
                        receiver=card.receiver, request_id=r.id,
                        data={**named, "quantity": quantity},
                    )
                )  # fmt: skip
                made.append(r.id)
                helpers.append(card.giver)
        for position, b in enumerate(reg.backfill):
            key = (reg.id, "backfill", 0, position, "")
            if b["helper"] in helpers and key not in fired:
                fired.add(key)
                session.add(
                    RegulationActivation(
                        incident_id=incident.id, regulation_id=reg.id,
                        regulation_version=reg.version, kind="backfill", level=0,
                        position=position, resource="", giver=b["covered_by"],
                        receiver=b["helper"], request_id=None,
                        data={"helper": b["helper"], "covered_by": b["covered_by"],
                              "number": reg.number},
                    )
                )  # fmt: skip
    session.flush()
    if made:
        audit.record(
            session,
            actor=actor.describe(),
            action="incident.activate",
            entity="incident",
            entity_id=incident.id,
            after={"from_level": old_level, "to_level": new_level, "requests": made},
        )
    return made


def activations_of(session: Session, incident_id: int) -> list[RegulationActivation]:
    return list(
        session.scalars(
            select(RegulationActivation)
            .where(RegulationActivation.incident_id == incident_id)
            .order_by(RegulationActivation.id)
        )
    )


def activated_requests(session: Session, incident_id: int) -> list[int]:
    """The requests the incident's cards made so far."""
    return [a.request_id for a in activations_of(session, incident_id) if a.request_id]


def notices_json(session: Session, incident_id: int) -> list[dict[str, Any]]:
    """The backfill notices of the incident: who covers which helper's commune."""
    return [
        {**a.data, "created_at": a.created_at}
        for a in activations_of(session, incident_id)
        if a.kind == "backfill"
    ]


def count_card_requests(
    session: Session,
    incident_id: int,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
) -> tuple[Scenario, dict[str, dict[str, int]]]:
    """The planner's inputs with the fired cards counted as incoming: what each open card
    request still asks (no live offer covers it yet, its giver has not declined) is taken off
    the receiver's needs and off the giver's available stock. The plan then plans the rest,
    and the regulation's partners give first, up to their commitments (the cards).

    (Offers already made are taken off the needs by the incidents service, and reserve the
    giver's stock, so only the uncovered rest of a card is counted here.)
    """
    rows = list(
        session.scalars(
            select(SupportRequest).where(
                SupportRequest.incident_id == incident_id,
                SupportRequest.source == SOURCE,
                SupportRequest.status == RequestStatus.OPEN,
            )
        )
    )
    stock = {c: dict(items) for c, items in inventory.items()}
    incoming: dict[tuple[str, str], int] = {}
    for r in rows:
        giver = (r.to_communes or [""])[0]
        if giver in (r.declined_by or []):
            continue
        live = session.scalars(
            select(Offer).where(Offer.request_id == r.id, Offer.status.in_(ACTIVE_OFFER))
        )
        left = max(0, r.quantity - sum(o.quantity for o in live))
        left = min(left, stock.get(giver, {}).get(r.resource, 0))
        if left <= 0:
            continue
        stock[giver][r.resource] -= left
        key = (r.commune_code, r.resource)
        incoming[key] = incoming.get(key, 0) + left
    if not incoming:
        return scenario, stock
    return needs_less(scenario, incoming), stock

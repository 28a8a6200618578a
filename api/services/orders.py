"""The order sheet of one commune in one incident, read from the database (who may print it,
the latest plan, the open requests); :mod:`api.documents.orders` prints it."""

from __future__ import annotations

import datetime as dt

import networkx as nx
from sqlalchemy.orm import Session

from api.auth import Principal
from api.documents.orders import OrderSheet, build_order_sheet
from api.enums import Role
from api.errors import Forbidden, NotFound
from api.services.incidents import get_incident, incident_dict, latest_plan
from api.services.requests import list_requests
from geo.i18n import TIMEZONE

ACTION = "printing a commune's orders"


def may_print_orders(principal: Principal, commune: str) -> bool:
    """The commune's own leader, the defence command of its area, planners and admins."""
    return principal.role in (Role.PLANNER, Role.ADMIN) or (
        principal.role in (Role.COMMUNE_LEADER, Role.DEFENCE_COMMAND) and principal.in_area(commune)
    )


def order_sheet(
    session: Session,
    principal: Principal,
    incident_id: int,
    commune: str,
    G: nx.Graph,
    *,
    url: str | None = None,
    today: dt.date | None = None,
) -> OrderSheet:
    """What the order sheet of ``commune`` in incident ``incident_id`` says, as of ``today``
    (Vietnam's date by default), from the latest plan and the incident's open requests.

    Raises
    ------
    NotFound
        ``unknown_commune`` (params ``commune``) or ``incident_not_found`` (``incident_id``).
    Forbidden
        ``outside_area`` (params ``commune``, ``action``): another commune's leader, a command
        of another area.
    """
    if commune not in G:
        raise NotFound(
            f"unknown commune {commune}",
            code="unknown_commune",
            field="commune",
            params={"commune": commune},
        )
    incident = get_incident(session, incident_id)
    if not may_print_orders(principal, commune):
        raise Forbidden(
            f"{ACTION}: commune {commune} is outside your area",
            code="outside_area",
            field="commune",
            params={"commune": commune, "action": ACTION},
        )
    requests = list_requests(
        session, principal, commune=commune, direction=None, status="open", incident_id=incident_id
    )
    return build_order_sheet(
        latest_plan(session, incident_id),
        requests,
        incident=incident_dict(incident),
        commune=commune,
        issued_on=today or dt.datetime.now(TIMEZONE).date(),
        url=url,
    )

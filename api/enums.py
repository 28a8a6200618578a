"""The service's closed vocabularies: roles, statuses, urgencies and offer actions.

Each is a :class:`enum.StrEnum`, so a member *is* its stored and JSON string (``Role.ADMIN ==
"admin"``): the database columns, the API bodies and CONTRACT.md keep the same values.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """What a user may do; leaders are bound to a commune, defence commands to an area."""

    COMMUNE_LEADER = "commune_leader"
    DEFENCE_COMMAND = "defence_command"
    PLANNER = "planner"
    ADMIN = "admin"


class IncidentStatus(StrEnum):
    """An incident takes requests and plans while ``active``."""

    ACTIVE = "active"
    CLOSED = "closed"


class RequestStatus(StrEnum):
    """A support request: ``open`` until what it asks has arrived or it is withdrawn."""

    OPEN = "open"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class OfferStatus(StrEnum):
    """An offer's state (the machine is in :mod:`api.services.offers`)."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    DISPATCHED = "dispatched"
    ARRIVED = "arrived"
    CANCELLED = "cancelled"


class OfferAction(StrEnum):
    """What moves an offer on (``POST /offers/{id}/{action}``)."""

    ACCEPT = "accept"
    DECLINE = "decline"
    DISPATCH = "dispatch"
    ARRIVE = "arrive"
    CANCEL = "cancel"


class Urgency(StrEnum):
    """How soon a request's resources are needed."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    CRITICAL = "critical"


#: Offers that count against a request's quantity (all but declined and cancelled ones).
ACTIVE_OFFER: tuple[OfferStatus, ...] = (
    OfferStatus.OFFERED,
    OfferStatus.ACCEPTED,
    OfferStatus.DISPATCHED,
    OfferStatus.ARRIVED,
)
#: Offers whose quantity is still reserved in the giver's inventory (not yet dispatched).
RESERVING_OFFER: tuple[OfferStatus, ...] = (OfferStatus.OFFERED, OfferStatus.ACCEPTED)

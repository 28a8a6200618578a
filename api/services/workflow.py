"""The commune-to-commune workflow, under its old import path.

Its parts live in :mod:`api.services.inventory`, :mod:`api.services.requests` and
:mod:`api.services.offers`; this module re-exports what the pages (``api/web``), the maps
routes and :mod:`api.services.incidents` import from here. New code imports the parts.
"""

from __future__ import annotations

from api.enums import ACTIVE_OFFER
from api.services.inventory import (
    MAX_LISTED,
    available_inventory,
    import_inventory,
    inventory_of,
    parse_inventory_csv,
    set_inventory,
)
from api.services.offers import (
    TRANSITIONS,
    create_offer,
    get_offer,
    ledger_of,
    may_read_offer,
    offer_dict,
    transition_offer,
)
from api.services.requests import (
    URGENCIES,
    cancel_request,
    check_leader_scope,
    create_request,
    decline_request,
    get_request,
    list_requests,
    may_read_request,
    offers_of,
    request_dict,
    suggested_givers,
)

__all__ = [
    "ACTIVE_OFFER",
    "MAX_LISTED",
    "TRANSITIONS",
    "URGENCIES",
    "available_inventory",
    "cancel_request",
    "check_leader_scope",
    "create_offer",
    "create_request",
    "decline_request",
    "get_offer",
    "get_request",
    "import_inventory",
    "inventory_of",
    "ledger_of",
    "list_requests",
    "may_read_offer",
    "may_read_request",
    "offer_dict",
    "offers_of",
    "parse_inventory_csv",
    "request_dict",
    "set_inventory",
    "suggested_givers",
    "transition_offer",
]

"""Offers: accept, decline, dispatch, arrive, cancel."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from api.deps import CurrentUser, ReadSessionDep, WriterDep
from api.enums import OfferAction
from api.schemas import OfferOut, ReasonIn, error_responses
from api.services.offers import get_offer, transition_offer

router = APIRouter(prefix="/offers", tags=["offers"])
ERRORS = error_responses(401, 403, 404, 409, 422)


@router.get("/{offer_id}", response_model=OfferOut, responses=ERRORS)
def read_offer(offer_id: int, user: CurrentUser, session: ReadSessionDep) -> dict[str, Any]:
    """One offer (for the communes on either side of it)."""
    return get_offer(session, user, offer_id)


@router.post("/{offer_id}/{action}", response_model=OfferOut, responses=ERRORS)
def act_on_offer(
    offer_id: int,
    action: OfferAction,
    user: CurrentUser,
    writer: WriterDep,
    body: Annotated[ReasonIn | None, Body()] = None,
) -> Any:
    """Move an offer on: accept, decline or arrive (requester), dispatch (giver), cancel (either).

    Cancelling needs a reason and frees the reserved stock. An illegal transition is 409 with
    the current state."""
    reason = body.reason if body else None
    return writer.run(lambda s: transition_offer(s, user, offer_id, action, reason))

"""Offers: accept, decline, dispatch, arrive, cancel."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body

from api.deps import CurrentUser, ReadSessionDep, WriterDep
from api.errors import NotFound
from api.models import Offer
from api.schemas import OfferOut, ReasonIn, error_responses
from api.services.workflow import offer_dict, transition_offer

router = APIRouter(prefix="/offers", tags=["offers"])
ERRORS = error_responses(401, 403, 404, 409, 422)


@router.get("/{offer_id}", response_model=OfferOut, responses=ERRORS)
def read_offer(offer_id: int, user: CurrentUser, session: ReadSessionDep) -> dict[str, Any]:
    """One offer."""
    o = session.get(Offer, offer_id)
    if o is None:
        raise NotFound(f"offer {offer_id} not found")
    return offer_dict(o)


@router.post("/{offer_id}/{action}", response_model=OfferOut, responses=ERRORS)
def act_on_offer(offer_id: int, action: Literal["accept", "decline", "dispatch", "arrive", "cancel"],
                 user: CurrentUser, writer: WriterDep, body: ReasonIn | None = Body(None)) -> Any:
    """accept/decline (requester), dispatch (giver), arrive (requester), cancel (either, with
    a reason). An illegal transition is 409 with the current state."""
    reason = body.reason if body else None
    return writer.run(lambda s: transition_offer(s, user, offer_id, action, reason))

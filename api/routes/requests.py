"""Support requests and the offers made to them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query

from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.enums import RequestStatus, Role
from api.errors import BadInput
from api.schemas import (
    MAX_ID,
    OfferCreatedOut,
    OfferIn,
    ReasonIn,
    RequestIn,
    RequestOut,
    error_responses,
)
from api.services.offers import create_offer
from api.services.requests import (
    cancel_request,
    check_leader_scope,
    create_request,
    decline_request,
    get_request,
    list_requests,
)
from api.state import AppState

router = APIRouter(prefix="/requests", tags=["requests"])
ERRORS = error_responses(401, 403, 404, 409, 422)


def neighbours_of(state: AppState, commune: str) -> list[str]:
    """The commune's neighbours a request goes to by default (not those touching at a point)."""
    G = state.graph
    return (
        sorted(n for n in G[commune] if G.edges[commune, n].get("kind") != "point_touch")
        if commune in G
        else []
    )


@router.post("", status_code=201, response_model=RequestOut, responses=ERRORS)
def create_request_route(
    body: RequestIn, state: StateDep, user: CurrentUser, writer: WriterDep
) -> Any:
    """Request support for a commune (``to`` defaults to the plan's suggested neighbours).
    With an ``Idempotency-Key`` header a repeat returns the first result."""
    if body.commune not in state.graph:
        raise BadInput(
            f"commune: unknown commune {body.commune!r}",
            code="unknown_commune",
            field="commune",
            params={"commune": body.commune},
        )
    return writer.run(
        lambda s: create_request(
            s,
            user,
            incident_id=body.incident_id,
            commune=body.commune,
            resource=body.resource,
            quantity=body.quantity,
            to=body.to,
            urgency=body.urgency,
            note=body.note,
            known=set(state.graph),
            neighbours=neighbours_of(state, body.commune),
            graph=state.graph,
        ),
        status_code=201,
    )


@router.get("", response_model=list[RequestOut], responses=ERRORS)
def read_requests(
    user: CurrentUser,
    session: ReadSessionDep,
    commune: str | None = Query(None, pattern=r"^\d{5}$"),
    direction: Literal["incoming", "outgoing"] | None = None,
    status: RequestStatus | None = None,
    incident_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> list[dict[str, Any]]:
    """Requests: ``?commune=...&direction=incoming|outgoing`` is a leader's "my tasks"."""
    check_leader_scope(user, commune)
    if direction and commune is None and user.role == Role.COMMUNE_LEADER:
        commune = user.commune  # a leader's direction is its own commune's
    if direction and commune is None:
        raise BadInput(
            "commune: direction needs the commune it is seen from (?commune=CODE)",
            code="commune_required",
            field="commune",
            params={"direction": direction},
        )
    return list_requests(
        session, user, commune=commune, direction=direction, status=status, incident_id=incident_id
    )


@router.get("/{request_id}", response_model=RequestOut, responses=ERRORS)
def read_request(request_id: int, user: CurrentUser, session: ReadSessionDep) -> dict[str, Any]:
    """One request with its offers."""
    return get_request(session, user, request_id)


@router.post("/{request_id}/cancel", response_model=RequestOut, responses=ERRORS)
def cancel_request_route(
    request_id: int, user: CurrentUser, writer: WriterDep, body: Annotated[ReasonIn, Body()]
) -> Any:
    """Withdraw a request (with a reason); its open offers are cancelled and stock freed."""
    reason = body.reason
    if not reason:
        raise BadInput("reason: cancelling needs a reason", code="reason_required", field="reason")
    return writer.run(lambda s: cancel_request(s, user, request_id, reason))


@router.post(
    "/{request_id}/offers", status_code=201, response_model=OfferCreatedOut, responses=ERRORS
)
def create_offer_route(request_id: int, body: OfferIn, user: CurrentUser, writer: WriterDep) -> Any:
    """Offer all or part of a request from a commune it is addressed to (reserves the stock)."""
    return writer.run(
        lambda s: create_offer(
            s,
            user,
            request_id,
            commune=body.commune,
            quantity=body.quantity,
            note=body.note,
            confirm_below_reserve=body.confirm_below_reserve,
        ),
        status_code=201,
    )


@router.post("/{request_id}/decline", response_model=RequestOut, responses=ERRORS)
def decline_request_route(
    request_id: int,
    user: CurrentUser,
    writer: WriterDep,
    commune: Annotated[str, Query(pattern=r"^\d{5}$")],
    body: Annotated[ReasonIn | None, Body()] = None,
) -> Any:
    """A commune the request is addressed to declines it."""
    return writer.run(
        lambda s: decline_request(s, user, request_id, commune, body.reason if body else None)
    )

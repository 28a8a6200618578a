"""An incident's history: the timeline of requests, offers, dispatches and arrivals, as JSON
and as CSV (a leader sees its commune's part, a defence command its area's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import CurrentUser, ReadSessionDep, StateDep
from api.schemas import UtcTime, error_responses
from api.services.history import history_csv, incident_history

router = APIRouter(prefix="/incidents", tags=["history"])
ERRORS = error_responses(401, 403, 404, 422)


class HistoryEventOut(BaseModel):
    """One event of an incident's timeline (:class:`api.services.history.HistoryEvent`)."""

    model_config = ConfigDict(from_attributes=True)

    at: UtcTime
    kind: str = Field(
        description="report, request, request_decline, request_cancel, offer, accept, decline, "
        "dispatch, arrive, cancel"
    )
    incident_id: int
    resource: str | None
    quantity: int | None
    giver: str | None = Field(description="the commune that gives (or was asked to)")
    receiver: str | None = Field(description="the commune that asked and receives")
    addressees: list[str] = Field(description="a request's addressees")
    request_id: int | None
    offer_id: int | None
    actor: str | None
    note: str | None


CommuneQuery = Query(None, pattern=r"^\d{5}$", description="only the events of this commune")


@router.get("/{incident_id}/history", response_model=list[HistoryEventOut], responses=ERRORS)
def read_history(
    incident_id: int,
    user: CurrentUser,
    session: ReadSessionDep,
    commune: str | None = CommuneQuery,
) -> Any:
    """The incident's timeline, oldest first: what was asked, promised, sent and received."""
    return incident_history(session, user, incident_id, commune=commune)


@router.get(
    "/{incident_id}/history.csv",
    responses={**ERRORS, 200: {"content": {"text/csv": {}}}},
    response_class=Response,
)
def read_history_csv(
    incident_id: int,
    user: CurrentUser,
    session: ReadSessionDep,
    state: StateDep,
    commune: str | None = CommuneQuery,
) -> Response:
    """The incident's timeline as a CSV file (UTF-8, for a spreadsheet)."""
    G = state.graph
    events = incident_history(session, user, incident_id, commune=commune)
    text = history_csv(events, lambda c: str(G.nodes[c].get("full_name", c)) if c in G else c)
    return Response(
        text.encode(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="incident-{incident_id}-history.csv"'
        },
    )

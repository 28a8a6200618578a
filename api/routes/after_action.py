"""An incident's after-action report: time to each offer, share of each box card filled."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, ReadSessionDep
from api.schemas import Open, error_responses
from api.services.after_action import after_action

router = APIRouter(prefix="/incidents", tags=["incidents"])
ERRORS = error_responses(401, 403, 404)


class AfterActionOut(Open):
    incident_id: int
    exercise: bool
    offers: list[dict[str, Any]]
    cards: list[dict[str, Any]]
    backfill: list[dict[str, Any]]


@router.get("/{incident_id}/after-action", response_model=AfterActionOut, responses=ERRORS)
def read_after_action(incident_id: int, user: CurrentUser, session: ReadSessionDep) -> Any:
    """The after-action report: minutes from declaration to each offer, cards filled."""
    return after_action(session, user, incident_id)

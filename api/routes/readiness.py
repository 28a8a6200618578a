"""Readiness: for every commune of a province, its regulations in force, partners and the share
of its modelled needs at levels 1–3 its own stock plus its cards cover; and the gaps to act on."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from api.deps import CurrentUser, ReadSessionDep, StateDep
from api.schemas import Open, error_responses
from api.services.regulation_drafts import readiness_of

router = APIRouter(prefix="/readiness", tags=["regulations"])
ERRORS = error_responses(401, 403, 422)
Province = Query(..., pattern=r"^\d{1,2}$", description="a province code, e.g. 40")


class ReadinessOut(Open):
    """One commune (CONTRACT.md): ``commune``, ``regulations`` (ids), ``partners`` and
    ``coverage`` ``{"1": share, "2": share, "3": share}``."""

    commune: str
    regulations: list[Any]
    partners: list[str]
    coverage: dict[str, float]


class GapsOut(Open):
    """Communes without any regulation, and cards exceeding what the helper now holds."""

    without_regulation: list[str]
    over_holdings: list[dict[str, Any]]


@router.get("", response_model=list[ReadinessOut], responses=ERRORS)
def read_readiness(
    user: CurrentUser, state: StateDep, session: ReadSessionDep, province: str = Province
) -> list[dict[str, Any]]:
    """Every commune of the province with its regulations in force, partners and coverage."""
    rows, _ = readiness_of(session, state.graph, province)
    return [r.to_json() for r in rows]


@router.get("/gaps", response_model=GapsOut, responses=ERRORS)
def read_readiness_gaps(
    user: CurrentUser, state: StateDep, session: ReadSessionDep, province: str = Province
) -> dict[str, Any]:
    """The province's communes without a regulation, and cards over the helper's holdings."""
    _, gaps = readiness_of(session, state.graph, province)
    return gaps

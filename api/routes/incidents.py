"""Incidents: a flood scenario (JSON body or uploaded file), its plan, its ledger."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.deps import CurrentUser, ReadSessionDep, SettingsDep, StateDep, WriterDep
from api.errors import BadInput
from api.schemas import (
    IncidentOut,
    IncidentPatch,
    LedgerEntryOut,
    PlanIn,
    PlanOut,
    error_responses,
)
from api.services.incidents import (
    close_incident,
    exercise_flag,
    get_incident,
    incident_dict,
    latest_plan,
    prepare_incident,
    set_isolation,
    store_incident,
    update_incident,
)
from api.services.offers import ledger_of
from api.services.plan_run import run_plan
from api.services.reports import join_incident
from geo.planning import PlanParameters

router = APIRouter(prefix="/incidents", tags=["incidents"])
ERRORS = error_responses(401, 403, 404, 409, 413, 422)
PLAN_ERRORS = error_responses(401, 403, 404, 409, 413, 422, 503)


async def scenario_from(request: Request) -> dict[str, Any]:
    """The scenario from a JSON body or an uploaded file (multipart field ``file``)."""
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("multipart/form-data"):
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise BadInput(
                "file: upload the scenario JSON as the form field 'file'",
                code="file_required",
                field="file",
            )
        raw = await upload.read()
    else:
        raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadInput(
            f"body: not valid JSON ({exc})",
            code="invalid_json",
            field="body",
            params={"error": str(exc)[:300]},
        ) from exc
    if not isinstance(data, dict):
        raise BadInput(
            "body: a scenario is a JSON object",
            code="scenario_not_object",
            field="body",
            params={"type": type(data).__name__},
        )
    return data


@router.post(
    "",
    status_code=201,
    response_model=IncidentOut,
    responses=ERRORS,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                    }
                },
            }
        }
    },
)
async def create_incident_route(
    request: Request,
    state: StateDep,
    settings: SettingsDep,
    user: CurrentUser,
    writer: WriterDep,
) -> Any:
    """Create an incident from a flood scenario (CONTRACT.md), JSON or an uploaded file."""
    data = await scenario_from(request)
    # parsed and checked in the threadpool, before the write transaction: a heavy flood
    # extent neither blocks the event loop nor holds the database's write lock
    scenario = await run_in_threadpool(
        prepare_incident, user, data, state.gdf, max_affected=settings.max_affected
    )
    exercise = exercise_flag(data)
    return await run_in_threadpool(
        writer.run,
        lambda s: store_incident(s, user, scenario, exercise=exercise),
        status_code=201,
    )


@router.get("", response_model=list[IncidentOut], responses=ERRORS)
def read_incidents(
    user: CurrentUser, session: ReadSessionDep, status: str | None = None
) -> list[dict[str, Any]]:
    """Incidents, newest first."""
    from sqlalchemy import select

    from api.models import Incident

    stmt = select(Incident).order_by(Incident.id.desc())
    if status:
        stmt = stmt.where(Incident.status == status)
    return [incident_dict(i) for i in session.scalars(stmt)]


@router.get("/{incident_id}", response_model=IncidentOut, responses=ERRORS)
def read_incident(incident_id: int, user: CurrentUser, session: ReadSessionDep) -> dict[str, Any]:
    """One incident with its scenario."""
    return incident_dict(get_incident(session, incident_id))


@router.patch("/{incident_id}", response_model=IncidentOut, responses=ERRORS)
def patch_incident(
    incident_id: int, body: IncidentPatch, user: CurrentUser, writer: WriterDep
) -> Any:
    """Confirm an incident and/or correct its risk level (the command of its area)."""
    return writer.run(
        lambda s: update_incident(
            s, user, incident_id, risk_level=body.risk_level, confirmed=body.confirmed
        )
    )


@router.post("/{incident_id}/join", response_model=IncidentOut, responses=ERRORS)
def join_incident_route(
    incident_id: int, state: StateDep, user: CurrentUser, writer: WriterDep
) -> Any:
    """Add the leader's commune to an active incident nearby (a neighbour or same province)."""
    return writer.run(lambda s: join_incident(s, user, incident_id, state.graph))


class IsolationIn(BaseModel):
    """A commune cut off, or no longer: ``"full"``, ``"partial"`` or null."""

    model_config = ConfigDict(extra="forbid")
    commune: str = Field(pattern=r"^\d{5}$")
    isolated: str | None = None


@router.put("/{incident_id}/isolation", response_model=IncidentOut, responses=ERRORS)
def update_isolation(
    incident_id: int, body: IsolationIn, user: CurrentUser, writer: WriterDep
) -> Any:
    """Mark an affected commune as cut off (full or partial) or not; audited."""
    return writer.run(lambda s: set_isolation(s, user, incident_id, body.commune, body.isolated))


@router.post("/{incident_id}/close", response_model=IncidentOut, responses=ERRORS)
def close_incident_route(incident_id: int, user: CurrentUser, writer: WriterDep) -> Any:
    """Close an incident (no more requests or plans)."""
    return writer.run(lambda s: close_incident(s, user, incident_id))


@router.post("/{incident_id}/plan", response_model=PlanOut, responses=PLAN_ERRORS)
async def plan_incident_route(
    incident_id: int,
    state: StateDep,
    user: CurrentUser,
    writer: WriterDep,
    body: Annotated[PlanIn, Body(default_factory=PlanIn)],
) -> Any:
    """Plan on the current inventories (minus open offers) and rules, optionally with its requests.

    With ``create_requests`` the plan's transfers become requests to the suggested givers in
    the same call, each naming what the plan asks of each giver (``asks``); open requests the
    new plan no longer stands behind are marked ``outdated``. ``reserve_share`` is one share
    or per resource; the plan's ``parameters`` record the shares used and ``at``, the instant
    the rules were judged valid (now). Computed out of the write transaction, under
    ``LIENXA_PLAN_TIME_LIMIT_S`` (503 ``plan_time_limit`` past it)."""
    params = PlanParameters(
        max_hops=body.max_hops,
        reserve_share=body.reserve_share,
        agreement_factor=body.agreement_factor,
    )
    return await run_plan(
        state, user, writer, incident_id, params=params, create_requests=body.create_requests
    )


@router.get("/{incident_id}/plan", response_model=PlanOut | None, responses=ERRORS)
def read_plan(incident_id: int, user: CurrentUser, session: ReadSessionDep) -> Any:
    """The incident's latest plan (null before any)."""
    get_incident(session, incident_id)
    return latest_plan(session, incident_id)


@router.get("/{incident_id}/ledger", response_model=list[LedgerEntryOut], responses=ERRORS)
def read_ledger(
    incident_id: int, user: CurrentUser, session: ReadSessionDep
) -> list[dict[str, Any]]:
    """What has arrived where for this incident."""
    get_incident(session, incident_id)
    return ledger_of(session, incident_id)

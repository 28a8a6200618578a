"""Situation reports of an incident: what each commune reports over time (all kept)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.schemas import ReportIn, ReportOut, error_responses
from api.services.reports import add_report, list_reports, read_report, report_dict

router = APIRouter(prefix="/incidents", tags=["reports"])
ERRORS = error_responses(401, 403, 404, 409, 413, 422)


@router.post("/{incident_id}/reports", status_code=201, response_model=ReportOut, responses=ERRORS)
def create_report(
    incident_id: int, body: ReportIn, state: StateDep, user: CurrentUser, writer: WriterDep
) -> Any:
    """Report a commune's situation; the next plan uses each commune's latest report."""
    report = read_report(body.model_dump(), state.graph)  # checked before the transaction
    return writer.run(
        lambda s: report_dict(add_report(s, user, incident_id, report)), status_code=201
    )


@router.get("/{incident_id}/reports", response_model=list[ReportOut], responses=ERRORS)
def read_reports(
    incident_id: int, user: CurrentUser, session: ReadSessionDep, commune: str | None = None
) -> list[dict[str, Any]]:
    """Every situation report of the incident (of one commune, if given), oldest first."""
    return [report_dict(r) for r in list_reports(session, incident_id, commune=commune)]

"""Exports for the province's other tools: requests, offers and plans as CSV or GeoJSON.

Requests and offers are exported as they are read (``GET /requests``, ``GET /offers/{id}``):
a commune leader gets the rows its commune takes part in, a defence command those touching
its region or province, planners and admins everything. A plan is exported whole, as
``GET /incidents/{id}/plan`` returns it.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import require_role
from api.deps import CurrentUser, ReadSessionDep, StateDep
from api.enums import Role
from api.errors import NotFound
from api.models import Incident, Offer, SupportRequest
from api.schemas import MAX_ID, error_responses
from api.services.incidents import latest_plan
from api.services.offers import may_read_offer
from api.services.requests import may_read_request
from api.state import AppState

router = APIRouter(prefix="/export", tags=["exports"])
ERRORS = {
    200: {
        "description": "CSV (``.csv``) or a GeoJSON FeatureCollection (``.geojson``)",
        "content": {"text/csv": {}, "application/geo+json": {}},
    },
    **error_responses(401, 403, 404, 422),
}


def _point(state: AppState, code: str) -> list[float]:
    n = state.graph.nodes[code]
    return [round(n["lon"], 6), round(n["lat"], 6)]


REQUEST_COLUMNS = [
    "id",
    "incident_id",
    "commune",
    "resource",
    "quantity",
    "urgency",
    "status",
    "to",
    "created_at",
    "source",
    "exercise",
]
OFFER_COLUMNS = [
    "id",
    "request_id",
    "incident_id",
    "from",
    "to",
    "resource",
    "quantity",
    "status",
    "updated_at",
    "exercise",
]
PLAN_COLUMNS = [
    "kind",
    "from",
    "to",
    "resource",
    "quantity",
    "travel_minutes",
    "agreement",
    "path",
    "escalate_to",
    "exercise",
]


def exercises(session: Session) -> set[int]:
    """The ids of the incidents that are exercises (every export row of one says so)."""
    return set(session.scalars(select(Incident.id).where(Incident.exercise)))


def _respond(
    rows: list[dict[str, Any]], fmt: str, geometry: Any, name: str, columns: list[str]
) -> Response:
    if fmt == "csv":
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
        w.writeheader()  # also when there are no rows: the other tools still see the columns
        w.writerows(rows)
        return Response(
            buf.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    feats = [{"type": "Feature", "properties": r, "geometry": geometry(r)} for r in rows]
    return Response(
        json.dumps(
            {"type": "FeatureCollection", "features": feats}, ensure_ascii=False, default=str
        ),
        media_type="application/geo+json",
        headers={"Content-Disposition": f'attachment; filename="{name}.geojson"'},
    )


@router.get("/requests.{fmt}", responses=ERRORS)
def export_requests(
    fmt: Literal["csv", "geojson"],
    state: StateDep,
    user: CurrentUser,
    session: ReadSessionDep,
    incident_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> Response:
    """Requests visible to the caller (point at the requesting commune)."""
    stmt = select(SupportRequest).order_by(SupportRequest.id)
    if incident_id is not None:
        stmt = stmt.where(SupportRequest.incident_id == incident_id)
    drills = exercises(session)
    rows = [
        {
            "id": r.id,
            "incident_id": r.incident_id,
            "commune": r.commune_code,
            "resource": r.resource,
            "quantity": r.quantity,
            "urgency": r.urgency,
            "status": r.status,
            "to": " ".join(r.to_communes),
            "created_at": r.created_at.isoformat(),
            "source": r.source or "",
            "exercise": r.incident_id in drills,
        }
        for r in session.scalars(stmt)
        if may_read_request(user, r)
    ]
    return _respond(
        rows,
        fmt,
        lambda r: {"type": "Point", "coordinates": _point(state, r["commune"])},
        "requests",
        REQUEST_COLUMNS,
    )


@router.get("/offers.{fmt}", responses=ERRORS)
def export_offers(
    fmt: Literal["csv", "geojson"],
    state: StateDep,
    user: CurrentUser,
    session: ReadSessionDep,
    incident_id: int | None = Query(None, ge=1, le=MAX_ID),
) -> Response:
    """Offers visible to the caller (a line from the giver to the requester)."""
    stmt = (
        select(Offer, SupportRequest)
        .join(SupportRequest, Offer.request_id == SupportRequest.id)
        .order_by(Offer.id)
    )
    if incident_id is not None:
        stmt = stmt.where(SupportRequest.incident_id == incident_id)
    rows = []
    drills = exercises(session)
    for o, r in session.execute(stmt):
        if not may_read_offer(user, o, r):
            continue
        rows.append(
            {
                "id": o.id,
                "request_id": r.id,
                "incident_id": r.incident_id,
                "from": o.commune_code,
                "to": r.commune_code,
                "resource": r.resource,
                "quantity": o.quantity,
                "status": o.status,
                "updated_at": o.updated_at.isoformat(),
                "exercise": r.incident_id in drills,
            }
        )
    return _respond(
        rows,
        fmt,
        lambda r: {
            "type": "LineString",
            "coordinates": [_point(state, r["from"]), _point(state, r["to"])],
        },
        "offers",
        OFFER_COLUMNS,
    )


@router.get("/incidents/{incident_id}/plan.{fmt}", responses=ERRORS)
def export_plan(
    incident_id: int,
    fmt: Literal["csv", "geojson"],
    state: StateDep,
    user: CurrentUser,
    session: ReadSessionDep,
) -> Response:
    """The incident's latest plan: transfers along their paths, unmet needs at the commune."""
    require_role(user, Role.DEFENCE_COMMAND, Role.PLANNER, Role.ADMIN, action="exporting")
    plan = latest_plan(session, incident_id)
    if plan is None:
        raise NotFound(
            f"incident {incident_id} has no plan yet",
            code="no_plan_yet",
            params={"incident_id": incident_id},
        )
    drill = incident_id in exercises(session)
    rows = [
        {
            "kind": "transfer",
            "from": t["from"],
            "to": t["to"],
            "resource": t["resource"],
            "quantity": t["quantity"],
            "travel_minutes": t["travel_minutes"],
            "agreement": t["agreement"],
            "path": " ".join(t["path"]),
            "escalate_to": "",
            "exercise": drill,
        }
        for t in plan["transfers"]
    ]
    rows += [
        {
            "kind": "unmet",
            "from": "",
            "to": u["commune"],
            "resource": u["resource"],
            "quantity": u["quantity"],
            "travel_minutes": "",
            "agreement": "",
            "path": "",
            "escalate_to": u["escalate_to"],
            "exercise": drill,
        }
        for u in plan["unmet"]
    ]

    def geom(r: dict[str, Any]) -> dict[str, Any]:
        if r["kind"] == "transfer":
            return {
                "type": "LineString",
                "coordinates": [_point(state, c) for c in r["path"].split()],
            }
        return {"type": "Point", "coordinates": _point(state, r["to"])}

    return _respond(rows, fmt, geom, f"plan-{incident_id}", PLAN_COLUMNS)

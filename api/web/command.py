"""The defence command's page: the overview and incident maps, the live list (open requests,
aid in progress, unmet needs and escalations) and the upload of an inventory survey."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from fastapi import APIRouter, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.auth import SESSION_COOKIE, Principal
from api.db import session_scope
from api.errors import ServiceError
from api.models import Incident, Offer, SupportRequest
from api.services.incidents import latest_plan, set_isolation
from api.services.workflow import (
    import_inventory,
    list_requests,
    may_read_offer,
    parse_inventory_csv,
)
from api.state import state_of
from api.web.commune import active_incidents
from api.web.error_pages import error_text
from api.web.forms import AlreadySent, current, form_and_user, need, run_once
from api.web.inventory_errors import inventory_upload_error
from api.web.render import commune_name, lang_of, render, say
from geo import i18n
from geo.flood_keys import ISOLATION_LABELS

router = APIRouter(include_in_schema=False)
IN_PROGRESS = ("accepted", "dispatched")


def offers_in_progress(
    s: Session, p: Principal, *, limit: int = 200
) -> list[tuple[Offer, SupportRequest]]:
    """Offers accepted or dispatched (aid promised or on its way), newest change first, that
    touch the user's area: whatever their request's state (a cancelled request's dispatched
    offer is still on the road). One query, where ``list_requests`` would read every request."""
    rows = s.execute(
        select(Offer, SupportRequest)
        .join(SupportRequest, Offer.request_id == SupportRequest.id)
        .where(Offer.status.in_(IN_PROGRESS))
        .order_by(Offer.updated_at.desc(), Offer.id.desc())
    ).all()
    return [(o, r) for o, r in rows if may_read_offer(p, o, r)][:limit]


def _unmet_and_escalations(
    s: Session, incident_ids: list[int]
) -> tuple[list[dict[str, Any]], dict[str, dict[str, int]]]:
    """The plans' unmet needs, and per body per resource what is escalated to it: quantities of
    different resources are never added together."""
    unmet: list[dict[str, Any]] = []
    escalations: dict[str, dict[str, int]] = {}
    for incident_id in incident_ids:
        plan = latest_plan(s, incident_id)
        for u in (plan or {}).get("unmet", []):
            unmet.append({**u, "incident_id": incident_id})
            by_resource = escalations.setdefault(u["escalate_to"], {})
            by_resource[u["resource"]] = by_resource.get(u["resource"], 0) + u["quantity"]
    return unmet, escalations


def feed(request: Request, p: Principal) -> dict[str, Any]:
    """The defence command's live list: open requests, offers in progress, unmet needs."""
    lang = lang_of(request)
    with session_scope(state_of(request).read_session) as s:
        incidents = active_incidents(s)
        reqs = list_requests(s, p, commune=None, direction=None, status="open", incident_id=None)
        moving = [
            {
                "id": o.id,
                "request_id": r.id,
                "from": o.commune_code,
                "to": r.commune_code,
                "resource": r.resource,
                "quantity": o.quantity,
                "status": o.status,
                "updated": i18n.date_time(o.updated_at, lang),
            }
            for o, r in offers_in_progress(s, p)
        ]
        unmet, escalations = _unmet_and_escalations(s, [i.id for i in incidents])

    def name(c: object) -> str:
        return commune_name(request, str(c))

    return {
        "incidents": [{"id": i.id, "name": i.name, "risk_level": i.risk_level} for i in incidents],
        "requests": [
            {
                "id": r["id"],
                "commune": name(r["commune"]),
                "resource": r["resource"],
                "quantity": r["quantity"],
                "remaining": r["remaining"],
                "urgency": r["urgency"],
                "outdated": r.get("outdated", False),
                "offers": [
                    {"from": name(o["commune"]), "quantity": o["quantity"], "status": o["status"]}
                    for o in r["offers"]
                ],
            }
            for r in reqs
        ],
        "in_progress": [{**o, "from": name(o["from"]), "to": name(o["to"])} for o in moving],
        "unmet": [
            {
                "commune": name(u["commune"]),
                "resource": u["resource"],
                "quantity": u["quantity"],
                "escalate_to": u["escalate_to"],
            }
            for u in unmet[:200]
        ],
        "escalations": escalations,
        "at": i18n.date_time(dt.datetime.now(dt.UTC), lang),
    }


def isolation_rows(request: Request, incident_id: int | None) -> list[dict[str, Any]]:
    """The incident's affected communes with how cut off each is (None: not), for the page's
    ticks."""
    if incident_id is None:
        return []
    with session_scope(state_of(request).read_session) as s:
        i = s.get(Incident, incident_id)
        affected = list(i.scenario.get("affected", [])) if i is not None else []
    return [
        {
            "code": a["commune"],
            "name": commune_name(request, a["commune"]),
            "isolated": a.get("isolated"),
        }
        for a in affected[:500]
    ]


def plan_warnings(request: Request, incident_id: int | None) -> list[str]:
    """The latest plan's warnings about its inputs (a displaced count above a suspect
    population), worded in the page language."""
    if incident_id is None:
        return []
    with session_scope(state_of(request).read_session) as s:
        plan = latest_plan(s, incident_id)
    warnings = (plan or {}).get("parameters", {}).get("warnings", [])
    return [say(request, f"error.{w['code']}", **w["params"]) for w in warnings]


def command_context(request: Request, p: Principal, incident: int | None = None) -> dict[str, Any]:
    """What the command page shows; the incident map is of ``incident`` or the newest one."""
    data = feed(request, p)
    chosen = incident or (data["incidents"][0]["id"] if data["incidents"] else None)
    from api.web.incident_pages import command_incidents  # it imports this module

    return command_incidents(request) | {
        "user": p,
        "feed": data,
        "incident_id": chosen,
        "upload": {},
        "isolation": {"rows": isolation_rows(request, chosen), "labels": ISOLATION_LABELS},
        "warnings": plan_warnings(request, chosen),
    }


@router.get("/command", response_class=HTMLResponse)
def command_home(request: Request, incident: int | None = None) -> Response:
    """The defence command's page."""
    p = need(request, "defence_command", "admin")
    if isinstance(p, Response):
        return p
    return render(request, "command.html", command_context(request, p, incident))


def _message(heading: str) -> dict[str, Any]:
    return {"heading": heading, "lines": [], "more": ""}


@router.post("/command/inventory")
async def command_inventory(request: Request) -> Response:
    """The defence command's upload of an inventory survey (the API's ``POST /inventory/import``),
    with the result or the refused file's errors shown next to the form."""
    if request.cookies.get(SESSION_COOKIE) and request.headers.get("content-type", "").startswith(
        "multipart/"
    ):
        await request.form(max_files=1, max_fields=5)  # parsed (and kept) with an upload's limits
    checked = await form_and_user(request, "defence_command", "admin")
    if isinstance(checked, Response):
        return checked
    fields, p = checked
    upload = (await request.form()).get("file")
    raw = await upload.read() if isinstance(upload, UploadFile) else b""
    # the one-time token stands for this file: another file sent with it is another submission
    form = {k: v for k, v in fields.items() if k != "file"} | {
        "file_sha256": hashlib.sha256(raw).hexdigest()
    }
    result: dict[str, Any] = {}
    if not raw:
        result["error"] = _message(say(request, "inv.choose"))
    else:

        def save(s: Session) -> Any:
            out = import_inventory(s, p, inventory)
            result["done"] = out
            return out

        try:
            inventory = await run_in_threadpool(
                parse_inventory_csv, raw, communes=state_of(request).graph
            )
            if await run_in_threadpool(run_once, request, p, form, save):
                result["replayed"] = True
        except AlreadySent:
            result["error"] = _message(say(request, "form.already_sent"))
        except ServiceError as exc:
            result["error"] = inventory_upload_error(request, exc)
    ctx = command_context(request, p) | {"upload": result}
    return render(request, "command.html", ctx, status=422 if "error" in result else 200)


@router.post("/command/isolation")
async def command_isolation(request: Request) -> Response:
    """The ticks of communes cut off on the incident's page: each changed commune goes through
    the API's ``set_isolation`` (checked, audited), all in one transaction."""
    checked = await form_and_user(request, "defence_command", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    try:
        incident_id = int(form.get("incident", ""))
    except ValueError:
        incident_id = None
    rows = isolation_rows(request, incident_id)
    wanted: dict[str, str | None] = {}
    for row in rows:
        ticked = form.get(f"iso_{row['code']}", "none")
        value = None if ticked == "none" else ticked
        if value != row["isolated"]:
            wanted[row["code"]] = value
    result: dict[str, Any] = {}

    def save(s: Session) -> Any:
        for code, value in wanted.items():
            set_isolation(s, p, incident_id or 0, code, value)
        return {"changed": len(wanted)}

    status = 200
    try:
        await run_in_threadpool(run_once, request, p, form, save)
        result["saved"] = True
    except AlreadySent:
        result["error"] = say(request, "form.already_sent")
        status = 409
    except ServiceError as exc:
        result["error"] = error_text(request, exc)
        status = exc.status_code
    ctx = command_context(request, p, incident_id)
    ctx["isolation"] |= result
    return render(request, "command.html", ctx, status=status)


@router.get("/command/feed")
def command_feed(request: Request) -> Response:
    """The live list as JSON, for the page's refresh."""
    p = current(request)
    if p is None:
        return JSONResponse({"detail": "not authenticated: log in again"}, status_code=401)
    if p.role not in ("defence_command", "admin"):
        return JSONResponse(
            {"detail": f"the live list needs the role defence_command or admin; you are {p.role}"},
            status_code=403,
        )
    return JSONResponse(jsonable_encoder(feed(request, p)), headers={"Cache-Control": "no-store"})

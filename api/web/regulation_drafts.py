"""The planner's drafting of a province's regulations and its readiness page: a button that
drafts every regulation of the province (unsigned drafts replaced, signed ones kept), and the
communes to act on (without a regulation, or with a card over what the helper holds), with a
link to the readiness map. Forms work without JavaScript."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.db import session_scope
from api.enums import Role
from api.errors import BadInput, ServiceError
from api.services.regulation_drafts import (
    DraftRequest,
    compute_drafts,
    readiness_of,
    store_drafts,
)
from api.state import state_of
from api.web.error_pages import error_text
from api.web.forms import AlreadySent, form_and_user, need, run_once
from api.web.render import render, say
from geo.errors import LienXaError

router = APIRouter(include_in_schema=False)
ROLES = ("planner", "admin", "defence_command")


def provinces_of(request: Request, p: Principal) -> dict[str, str]:
    """``{code: name}`` of the provinces the user may draft for (a command: its area's)."""
    G = state_of(request).graph
    out: dict[str, str] = {}
    for c, d in G.nodes(data=True):
        if p.role == Role.DEFENCE_COMMAND and not p.in_area(c):
            continue
        code = str(d.get("province_code") or "")
        if code:
            out.setdefault(code, str(d.get("province_name") or code))
    return dict(sorted(out.items()))


def drafting_context(request: Request, p: Principal) -> dict[str, Any]:
    """What the regulations list page needs for its drafting form and links."""
    provinces = provinces_of(request, p)
    chosen = request.query_params.get("province", "")
    if chosen not in provinces:
        chosen = next(iter(provinces), "")
    drafted = request.query_params.get("drafted", "")
    kept = request.query_params.get("kept", "0")
    message = ""
    if drafted.isdigit() and kept.isdigit():
        message = say(request, "drafting.done", count=int(drafted), kept=int(kept))
    return {"provinces": provinces, "province": chosen, "drafted_message": message}


@router.post("/planner/regulations/draft")
async def draft_province(request: Request) -> Response:
    """Draft the province's regulations, then back to the list with what was done."""
    checked = await form_and_user(request, *ROLES)
    if isinstance(checked, Response):
        return checked
    form, p = checked
    state = state_of(request)
    province = form.get("province", "").strip()
    lang = "vi"  # the stored rationale is one text, in Vietnamese, as through the API
    try:
        if not province:
            raise BadInput("give a province", code="draft_area_required", field="province")

        def compute() -> list[dict[str, Any]]:
            with session_scope(state.read_session) as s:
                return compute_drafts(s, p, state.graph, DraftRequest(province=province), lang=lang)

        drafts = await run_in_threadpool(compute)
        done: dict[str, Any] = {}

        def save(s: Session) -> Any:
            out = store_drafts(s, p, drafts, communes=set(state.gdf.index))
            done.update(out)
            return {"drafts": len(out["drafts"]), "kept": len(out["kept"])}

        repeated = await run_in_threadpool(run_once, request, p, form, save)
    except AlreadySent:
        return _list_with_error(request, p, say(request, "form.already_sent"))
    except (ServiceError, LienXaError) as exc:
        return _list_with_error(request, p, error_text(request, exc))
    made, kept = (len(done.get("drafts", [])), len(done.get("kept", []))) if done else (0, 0)
    query = f"province={province}" + ("" if repeated else f"&drafted={made}&kept={kept}")
    return RedirectResponse(f"/planner/regulations?{query}", status_code=303)


def _list_with_error(request: Request, p: Principal, message: str) -> Response:
    from api.web.regulations import list_page

    return list_page(request, p, errors={"draft": message}, status=422)


@router.get("/planner/readiness", response_class=HTMLResponse)
def readiness_page(request: Request) -> Response:
    """The province's communes to act on, and a link to the readiness map."""
    p = need(request, *ROLES)
    if isinstance(p, Response):
        return p
    ctx = drafting_context(request, p)
    state = state_of(request)
    gaps: dict[str, Any] = {"without_regulation": [], "over_holdings": []}
    rows: list[dict[str, Any]] = []
    if ctx["province"]:
        with session_scope(state.read_session) as s:
            found, gaps = readiness_of(s, state.graph, ctx["province"])
        rows = [r.to_json() for r in found]
    return render(request, "readiness.html", {"user": p, **ctx, "gaps": gaps, "rows": rows})

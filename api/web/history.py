"""The history page: an incident's timeline for a commune leader (its commune), a defence
command (its area, or one commune of it) and planners, kept after the aid arrived, with the
CSV download."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.auth import Principal
from api.db import session_scope
from api.errors import ServiceError
from api.models import Incident
from api.services.commune_names import CommuneNameError, name_index, picks_of, resolve_commune
from api.services.history import HistoryEvent, incident_history
from api.state import state_of
from api.web.error_pages import error_text
from api.web.forms import need
from api.web.render import commune_name, lang_of, render, resource_labels, say
from geo import i18n
from geo.i18n import N_

router = APIRouter(include_in_schema=False)
#: how each kind of event reads (params: giver, receiver, quantity, resource, to, request_id)
SENTENCES = {
    "report": N_("history.report"),
    "request": N_("history.request"),
    "request_decline": N_("history.request_decline"),
    "request_cancel": N_("history.request_cancel"),
    "offer": N_("history.offer"),
    "accept": N_("history.accept"),
    "decline": N_("history.decline"),
    "dispatch": N_("history.dispatch"),
    "arrive": N_("history.arrive"),
    "cancel": N_("history.cancel"),
}
#: an event of a kind the page does not word yet
OTHER = N_("history.other")
#: at most this many incidents in the page's choice
MAX_INCIDENTS = 50


def sentence(request: Request, e: HistoryEvent, labels: dict[str, str]) -> str:
    """What happened, in the page language, communes by name."""
    lang = lang_of(request)
    to = ", ".join(commune_name(request, c) for c in e.addressees)
    return say(
        request,
        SENTENCES.get(e.kind, OTHER),
        giver=commune_name(request, e.giver) if e.giver else "",
        receiver=commune_name(request, e.receiver) if e.receiver else "",
        quantity=i18n.number(e.quantity, lang) if e.quantity is not None else "",
        resource=labels.get(e.resource or "", e.resource or ""),
        to=to or say(request, "history.neighbours"),
        request_id=e.request_id or "",
        kind=e.kind,
    )


def history_context(
    request: Request, p: Principal, incident: int | None, code: str | None
) -> dict[str, Any]:
    """The incidents to choose from and the chosen one's timeline (for ``code`` only, when
    given), each event worded."""
    lang = lang_of(request)
    labels = resource_labels(lang)
    error = None
    events: list[HistoryEvent] = []
    with session_scope(state_of(request).read_session) as s:
        rows_in = list(
            s.scalars(select(Incident).order_by(Incident.id.desc()).limit(MAX_INCIDENTS))
        )
        incidents = [{"id": i.id, "name": i.name, "status": i.status} for i in rows_in]
        chosen = incident or (rows_in[0].id if rows_in else None)
        if chosen is not None:
            try:
                events = incident_history(s, p, chosen, commune=code)
            except ServiceError as exc:
                error = error_text(request, exc)
    rows = [
        {
            "at": i18n.date_time(e.at, lang),
            "kind": e.kind,
            "text": sentence(request, e, labels),
            "note": e.note,
        }
        for e in events
    ]
    return {
        "user": p,
        "incidents": incidents,
        "incident_id": chosen,
        "code": code,
        "events": rows,
        "error": error,
    }


@router.get("/history", response_class=HTMLResponse)
def history_home(request: Request, incident: int | None = None) -> Response:
    """An incident's timeline: what was asked, promised, sent and received, and when; a command
    or planner may narrow it to one commune, typed by name (``?commune=``) or code."""
    p = need(request, "commune_leader", "defence_command", "planner", "admin")
    if isinstance(p, Response):
        return p
    typed = request.query_params.get("commune", "").strip()
    code: str | None = None
    choice: CommuneNameError | None = None
    field_error = None
    if p.role == "commune_leader":
        code = p.commune  # a leader's history is its commune's
    elif typed:
        try:
            code = resolve_commune(
                name_index(state_of(request)),
                typed,
                field="commune",
                picks=picks_of(dict(request.query_params), "commune"),
            )
        except CommuneNameError as exc:
            field_error, choice = error_text(request, exc), exc
    ctx = history_context(request, p, incident, code) | {
        "typed": typed if code is None else name_index(state_of(request)).label(code),
        # the picker lists the command's communes (a planner types any name)
        "area_options": name_index(state_of(request)).neighbours_first((), p.area),
        "field_error": field_error,
        "choice": choice,
    }
    status = 404 if ctx["error"] else 422 if field_error else 200
    return render(request, "history.html", ctx, status=status)

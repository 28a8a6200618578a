"""The inbox page: what arrived for the user (requests, offers, dispatches, escalations), and
marking it read. The unread counter in every page's header links here."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.db import session_scope
from api.routes.notifications import commune_names, notification_dict
from api.services.notify import inbox, mark_read
from api.state import state_of
from api.web.forms import form_and_user, need
from api.web.render import lang_of, render

router = APIRouter(include_in_schema=False)


@router.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request) -> Response:
    """The user's notifications, newest first, the unread ones marked."""
    p = need(request)
    if isinstance(p, Response):
        return p
    state = state_of(request)
    names = commune_names(state)
    with session_scope(state.read_session) as s:
        items = [notification_dict(n, names, lang_of(request)) for n in inbox(s, p.id)]
    return render(request, "inbox.html", {"user": p, "items": items})


@router.post("/inbox/read")
async def inbox_read(request: Request) -> Response:
    """Mark every notification of the user read, back to the inbox."""
    checked = await form_and_user(request)
    if isinstance(checked, Response):
        return checked
    _, p = checked
    with session_scope(state_of(request).write_session) as s:
        mark_read(s, p.id, None)
    return RedirectResponse("/inbox", status_code=303)

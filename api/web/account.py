"""The user's own account page: change one's password (every other session ends, this one
goes on with a fresh cookie), through :func:`api.services.login.change_password`, as the API's
``POST /api/v1/auth/password``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.deps import client_ip
from api.errors import ServiceError
from api.services.login import change_password
from api.state import state_of
from api.web.error_pages import csrf_page, error_text
from api.web.forms import current, form_of, need
from api.web.login import set_session_cookie
from api.web.render import render, say

router = APIRouter(include_in_schema=False)

#: The form's fields, in the order an error is looked for.
FIELDS = ("old_password", "new_password", "confirm")
#: Where an error of :func:`change_password` is shown: its field, or the new password's box.
ERROR_FIELD = {"old_password": "old_password", "password": "new_password"}


def account_page(
    request: Request, p: Principal, ctx: dict[str, Any], *, status: int = 200
) -> HTMLResponse:
    return render(
        request, "account.html", {"user": p, "errors": {}, "done": False, **ctx}, status=status
    )


@router.get("/account", response_class=HTMLResponse)
def account(request: Request) -> Response:
    """The account page: who I am, and the form to change my password."""
    p = need(request)
    if isinstance(p, Response):
        return p
    return account_page(request, p, {})


@router.post("/account/password")
async def account_password(request: Request) -> Response:
    """Change my password from the form; errors next to the field, nothing changed on an error."""
    try:
        form = await form_of(request)  # first: a cookie's post is known only with its CSRF token
    except ServiceError:
        return csrf_page(request, current(request))
    p = need(request, posted=True)
    if isinstance(p, Response):
        return p
    errors = {f: say(request, "form.required") for f in FIELDS if not form.get(f)}
    if not errors and form["new_password"] != form["confirm"]:
        errors["confirm"] = say(request, "account.confirm_mismatch")
    if not errors:
        state = state_of(request)
        try:
            _, token = await run_in_threadpool(
                change_password,
                state,
                p.id,
                form["old_password"],
                form["new_password"],
                ip=client_ip(request),
                actor=p.describe(),
            )
        except ServiceError as exc:
            errors[ERROR_FIELD.get(exc.field or "", "old_password")] = error_text(request, exc)
    if errors:
        return account_page(request, p, {"errors": errors}, status=422)
    resp = account_page(request, p, {"done": True})
    set_session_cookie(request, resp, token)  # this device goes on with the fresh token
    return resp

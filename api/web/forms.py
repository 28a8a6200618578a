"""Sessions and forms of the pages: who is logged in, the CSRF check of every posted form, the
role a page needs, and the one-time token that makes a form sent twice act once."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from api.auth import SESSION_COOKIE, Principal, authenticate
from api.db import session_scope
from api.deps import Writer, request_fingerprint
from api.errors import ServiceError
from api.state import state_of
from api.web.error_pages import csrf_page, forbidden_page, login_needed_page
from api.web.render import say
from geo.i18n import N_

FORM_TYPE = "application/x-www-form-urlencoded"


class AlreadySent(Exception):
    """The form's one-time token was already used for a different submission."""


class FormErrors(Exception):
    """A form's fields were refused before anything was written (the errors are in a dict)."""


def current(request: Request) -> Principal | None:
    """The user of the session cookie, or ``None`` (no cookie, or the session ended)."""
    if not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        with session_scope(state_of(request).read_session) as s:
            return authenticate(request, s)
    except ServiceError:
        return None


def same_token(sent: str, expected: str) -> bool:
    """Constant-time comparison that also takes non-ASCII input (refused, not a 500)."""
    return hmac.compare_digest(sent.encode(), expected.encode())


async def form_of(request: Request) -> dict[str, str]:
    """The posted form, after checking its CSRF token against the session.

    Raises
    ------
    ServiceError
        The token is missing or does not belong to the session.
    """
    form = {k: str(v) for k, v in (await request.form()).items()}
    token = request.cookies.get(SESSION_COOKIE, "")
    expected = state_of(request).tokens.csrf_for(token) if token else ""
    if not token or not same_token(form.get("csrf_token", ""), expected):
        raise ServiceError("CSRF token missing or wrong: reload the page", code="csrf")
    request.state.csrf_form_token = form.get("csrf_token")
    return form


def home_for(p: Principal) -> str:
    """Where a user's pages start."""
    return {"commune_leader": "/commune", "planner": "/planner"}.get(p.role, "/command")


def need(request: Request, *roles: str, posted: bool = False) -> Principal | Response:
    """The logged-in user if their role is one of ``roles``; else the login page (a page asked
    for) or a 401 page (a form sent after the session ended), or a 403 page naming the roles."""
    p = current(request)
    if p is None:
        return login_needed_page(request) if posted else RedirectResponse("/login", status_code=303)
    if roles and p.role not in roles:
        return forbidden_page(request, p, roles)
    return p


async def form_and_user(
    request: Request, *roles: str
) -> tuple[dict[str, str], Principal] | Response:
    """A posted form (CSRF-checked first, so the session may be read) and its user."""
    if not request.cookies.get(SESSION_COOKIE):
        return login_needed_page(request)
    try:
        form = await form_of(request)
    except ServiceError:
        return csrf_page(request)
    p = need(request, *roles, posted=True)
    return p if isinstance(p, Response) else (form, p)


def run_once(
    request: Request, p: Principal, form: dict[str, str], fn: Callable[[Session], Any]
) -> bool:
    """Run ``fn(session)`` in one write transaction, once per rendered form: the form's hidden
    ``idempotency_key`` is the action's ``Idempotency-Key`` in the API's store, so a form sent
    twice (a double tap, a browser resending after a timeout) acts once. Returns whether this
    post repeated one already done (then nothing ran).

    Raises
    ------
    AlreadySent
        The token was used for another submission (other content, or another action).
    ServiceError, LienXaError
        From ``fn``: nothing was stored, the same token may be sent again.
    """
    body = urlencode(sorted((k, v) for k, v in form.items() if k != "csrf_token")).encode()
    writer = Writer(
        request,
        p,
        request_fingerprint(request.method, request.url.path, request.url.query, FORM_TYPE, body),
    )
    token = form.get("idempotency_key", "")
    if 16 <= len(token) <= 64:  # the form's token, not a header: Writer reads headers only
        writer.key = "form:" + token
    running = False

    def run(s: Session) -> Any:
        nonlocal running
        running = True
        out = fn(s)
        running = False
        return out

    try:
        resp = writer.run(run)
    except ServiceError:
        if running:  # the action's own error
            raise
        raise AlreadySent() from None
    return bool(resp.headers.get("Idempotent-Replay") == "true")


def is_id(raw: str) -> bool:
    """Whether a form's ``raw`` text is an id a table can hold (1 to 2³¹ - 1)."""
    return raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= 2**31 - 1


def int_field(
    request: Request,
    form: dict[str, str],
    name: str,
    errors: dict[str, str],
    *,
    positive: bool = True,
) -> int | None:
    """The whole number typed in ``name`` (``1.500`` as written in Vietnamese is 1500), or
    ``None`` with the error put in ``errors[name]``."""
    raw = form.get(name, "").strip().replace(".", "")
    # at most 2³¹ - 1: what the database's integer columns hold (a larger number is a typo)
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10 or int(raw) > 2**31 - 1:
        raw = ""
    if not raw.isdigit() or (positive and int(raw) == 0):
        key = N_("form.positive_int") if positive else N_("form.whole_number")
        errors[name] = say(request, key)
        return None
    return int(raw)


def may_open(request: Request, p: Principal, code: str | None) -> bool:
    """Whether ``p`` may open the commune page of ``code`` (a commune that exists)."""
    if not code or code not in state_of(request).graph:
        return False
    return p.role == "admin" or p.in_area(code)

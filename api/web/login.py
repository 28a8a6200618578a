"""The login page (CSRF-checked against a pre-login cookie), logout, the language switch and the
start page; the credentials are checked by :func:`api.services.login.log_in`, as for the API."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.auth import SESSION_COOKIE, Principal
from api.deps import client_ip
from api.errors import ServiceError
from api.services.login import log_in, log_out_everywhere
from api.state import state_of
from api.web.error_pages import csrf_page, error_text
from api.web.forms import current, form_of, home_for, same_token
from api.web.render import render, say
from geo import i18n

router = APIRouter(include_in_schema=False)
LOGIN_COOKIE = "lienxa_login"


@router.get("/")
def index(request: Request) -> Response:
    """The user's own page, or the login page."""
    p = current(request)
    return RedirectResponse(home_for(p) if p else "/login", status_code=303)


@router.get("/lang/{lang}")
def set_lang(request: Request, lang: str) -> Response:
    """Switch the page language (a cookie) and go back to the page."""
    resp = RedirectResponse(request.headers.get("referer") or "/", status_code=303)
    resp.set_cookie("lang", i18n.language(lang), max_age=365 * 86400, samesite="lax")
    return resp


def _login_csrf(request: Request, nonce: str) -> str:
    """The login form's CSRF token: the same HMAC as the session forms' (``Tokens.csrf_for``),
    over a random pre-login cookie instead of the session, which does not exist yet."""
    return state_of(request).tokens.csrf_for("login:" + nonce)


def _login_nonce(request: Request) -> str | None:
    nonce = request.cookies.get(LOGIN_COOKIE, "")
    return nonce if re.fullmatch(r"[A-Za-z0-9_-]{16,64}", nonce) else None


def login_form(request: Request, ctx: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """The login page, with its CSRF token and the pre-login cookie it is checked against."""
    nonce = _login_nonce(request) or secrets.token_urlsafe(18)
    resp = render(
        request, "login.html", {**ctx, "csrf": _login_csrf(request, nonce)}, status=status
    )
    resp.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="strict",
        secure=state_of(request).settings.cookie_secure,
        max_age=86400,
    )
    return resp


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The login form."""
    return login_form(request, {"errors": {}, "form": {}})


@router.post("/login")
async def login_post(request: Request) -> Response:
    """Log in from the form: the session cookie and the user's page, or the form with errors."""
    form = {k: str(v) for k, v in (await request.form()).items()}
    kept = {"username": form.get("username", "")}
    nonce = _login_nonce(request)
    if nonce is None or not same_token(form.get("csrf_token", ""), _login_csrf(request, nonce)):
        # a cross-site post (or a login page older than its cookie): refused, nothing checked
        return login_form(
            request, {"errors": {"form": say(request, "login.csrf")}, "form": kept}, status=403
        )
    errors = {f: say(request, "form.required") for f in ("username", "password") if not form.get(f)}
    if not errors:
        state = state_of(request)
        try:
            user, token = await run_in_threadpool(
                log_in, state, form["username"], form["password"], ip=client_ip(request)
            )
        except ServiceError as exc:
            errors["password"] = error_text(request, exc)
    if errors:
        return login_form(request, {"errors": errors, "form": kept}, status=422)
    resp = RedirectResponse(home_for(Principal(user.id, user.username, user.role)), status_code=303)
    set_session_cookie(request, resp, token)
    resp.delete_cookie(LOGIN_COOKIE)
    return resp


def set_session_cookie(request: Request, resp: Response, token: str) -> None:
    """The session cookie of ``token`` on ``resp`` (HTTP only, same site, Secure as set)."""
    settings = state_of(request).settings
    resp.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        max_age=settings.token_minutes * 60,
    )


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session; the form's CSRF token is required, so another site cannot log a user out.
    With ``everywhere=1`` (the "log out everywhere" button) every session of the user ends, on
    every device and worker (:func:`api.services.login.log_out_everywhere`). Without a session
    cookie there is nothing to end: back to the login page, nothing changed."""
    if request.cookies.get(SESSION_COOKIE):
        try:
            form = await form_of(request)
        except ServiceError:
            return csrf_page(request, current(request))
        p = current(request)
        if form.get("everywhere") == "1" and p is not None:
            await run_in_threadpool(log_out_everywhere, state_of(request), p.id, actor=p.describe())
    resp = RedirectResponse("/login", status_code=303)
    if request.cookies.get(SESSION_COOKIE):
        resp.delete_cookie(SESSION_COOKIE)
    return resp

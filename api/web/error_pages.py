"""The small 401/403/404 pages in the page language, and errors worded for a page from their
code (``error.<code>`` in the catalogue), never from their message."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.auth import Principal
from api.errors import ServiceError
from api.state import state_of
from api.web.render import ROLES, lang_of, render, say
from geo import i18n
from geo.errors import LienXaError, Problem


def error_text(request: Request, exc: ServiceError | LienXaError | Problem) -> str:
    """An error (or one problem of it) in the page language, from its ``code`` and ``params``;
    its English message as it is when the catalogue has no wording for the code."""
    lang = lang_of(request)
    params = dict(exc.params)
    if params.get("status") in i18n.STATUSES:  # "(đã hủy)", not "(cancelled)"
        params["status"] = i18n.gettext(lang, i18n.STATUSES[params["status"]])
    return i18n.error_text(lang, exc.code, params, exc.message)


def error_page(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    user: Principal | None = None,
    choices: list[tuple[str, str]] | None = None,
) -> HTMLResponse:
    """A small page for 401/403/404 in the page language: what is wrong, what is needed, and
    links home and to the login page; ``choices`` are links to what the user may open instead."""
    return render(
        request,
        "error.html",
        {
            "user": user,
            "status": status,
            "title": title,
            "message": message,
            "choices": choices or [],
        },
        status=status,
    )


def _role(request: Request, role: str) -> str:
    return say(request, ROLES[role]) if role in ROLES else role


def forbidden_page(request: Request, p: Principal, roles: tuple[str, ...]) -> HTMLResponse:
    """403: the page is for other roles, named, and who the user is."""
    either = say(request, "word.or")
    names = f" {either} ".join(_role(request, r) for r in roles)
    message = say(
        request, "errpage.403.role", roles=names, user=p.username, role=_role(request, p.role)
    )
    return error_page(request, 403, say(request, "errpage.403.title"), message, user=p)


def csrf_page(request: Request, p: Principal | None = None) -> HTMLResponse:
    """403: a form without a good CSRF token (another site's, or an old page's)."""
    return error_page(
        request, 403, say(request, "errpage.csrf.title"), say(request, "errpage.csrf.text"), user=p
    )


def page_not_found(request: Request) -> HTMLResponse:
    """404 for an address that is no page, when a browser asks for it (the API keeps its JSON)."""
    return error_page(
        request,
        404,
        say(request, "errpage.404_page.title"),
        say(request, "errpage.404_page.text", path=request.url.path),
    )


def login_needed_page(request: Request) -> HTMLResponse:
    """401: a form sent after the session ended; what was sent was not saved."""
    return error_page(
        request, 401, say(request, "errpage.401.title"), say(request, "errpage.401.text")
    )


def commune_missing_page(request: Request, p: Principal, code: str | None) -> HTMLResponse:
    """404 for a commune the user may not open or that does not exist, naming what they may open."""
    G = state_of(request).graph

    def name(c: str) -> str:
        return str(G.nodes[c].get("full_name", c))

    choices: list[tuple[str, str]] = []
    if code and code not in G:
        message = say(request, "errpage.404.unknown", code=code)
    elif p.role == "commune_leader" and p.commune is not None and p.commune in G:
        message = say(request, "errpage.404.leader", name=name(p.commune), code=p.commune)
        choices = [("/commune", f"{name(p.commune)} ({p.commune})")]
    elif p.role == "admin":
        message = say(request, "errpage.404.admin")
    else:
        message = say(request, "errpage.404.none")
    if p.role == "defence_command" and p.area:
        province = (
            next((G.nodes[c].get("province_name") for c in p.area if c in G), None) or p.province
        )
        where = p.region or say(request, "word.province") + f" {province}"
        message = (message + " " if code and code not in G else "") + say(
            request, "errpage.404.area", area=where
        )
        choices = [
            (f"/commune?code={c}", f"{name(c)} ({c})") for c in sorted(p.area, key=name) if c in G
        ]
    return error_page(
        request, 404, say(request, "errpage.404.title"), message, user=p, choices=choices
    )

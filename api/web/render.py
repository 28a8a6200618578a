"""Rendering pages in the reader's language: the Jinja2 environment with the i18n extension
(newstyle gettext from :mod:`geo.i18n`'s catalogues), Babel's numbers and dates as filters, and
the context every page gets (labels, units, the session's CSRF token)."""

from __future__ import annotations

import datetime as dt
import secrets
from pathlib import Path
from typing import Any

from babel.dates import format_datetime
from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from api.auth import SESSION_COOKIE
from api.state import state_of
from geo import i18n
from geo.i18n import N_
from geo.resources import PILLARS, load_catalogue

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")
templates.env.add_extension("jinja2.ext.i18n")

#: Roles as the pages name them.
ROLES = {
    "commune_leader": N_("role.commune_leader"),
    "defence_command": N_("role.defence_command"),
    "planner": N_("role.planner"),
    "admin": N_("role.admin"),
}
URGENCIES = {
    "low": N_("urgency.low"),
    "normal": N_("urgency.normal"),
    "high": N_("urgency.high"),
    "critical": N_("urgency.critical"),
}
RULE_TYPES = {
    "agreement": N_("rule_type.agreement"),
    "add_link": N_("rule_type.add_link"),
    "close_link": N_("rule_type.close_link"),
    "travel_minutes": N_("rule_type.travel_minutes"),
}
#: What the offer buttons of the commune page say.
ACTIONS = {
    "accept": N_("action.accept"),
    "decline": N_("action.decline"),
    "arrive": N_("action.arrive"),
}
#: The words of the offline queue (app.js), handed to the page as JSON.
QUEUE = {
    "waiting_one": N_("queue.waiting_one"),
    "waiting_many": N_("queue.waiting_many"),
    "flushing": N_("queue.flushing"),
    "send_now": N_("queue.send_now"),
    "saved_at": N_("queue.saved_at"),
    "refused": N_("queue.refused"),
    "dismiss": N_("queue.dismiss"),
    "offline": N_("queue.offline"),
}


@pass_context
def _gettext(ctx: Context, key: str) -> str:
    return i18n.gettext(ctx.get("lang", i18n.DEFAULT_LANG), key)


@pass_context
def _ngettext(ctx: Context, singular: str, plural: str, n: int) -> str:
    return str(i18n.translations(ctx.get("lang", i18n.DEFAULT_LANG)).ngettext(singular, plural, n))


templates.env.install_gettext_callables(_gettext, _ngettext, newstyle=True)  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
# a number as the page's reader writes it: 1.556 on a Vietnamese page, 1,556 on an English one
templates.env.filters["num"] = pass_context(
    lambda ctx, x: i18n.number(x, ctx.get("lang", i18n.DEFAULT_LANG))
)
templates.env.filters["vn_date"] = pass_context(
    lambda ctx, x: i18n.date_time(x, ctx.get("lang", i18n.DEFAULT_LANG))
)
templates.env.filters["vn_day"] = pass_context(
    lambda ctx, x: i18n.day(x, ctx.get("lang", i18n.DEFAULT_LANG))
)


def lang_of(request: Request) -> str:
    """The page language: ``?lang=``, else the ``lang`` cookie, else Vietnamese."""
    return i18n.language(request.query_params.get("lang") or request.cookies.get("lang"))


def say(request: Request, key: str, /, **params: Any) -> str:
    """The catalogue's text of ``key`` in the page language, filled from ``params``."""
    return i18n.say(lang_of(request), key, **params)


def resource_labels(lang: str) -> dict[str, str]:
    """The catalogue's resource names in ``lang`` (they live in the resource catalogue)."""
    return {k: (r.label_vi if lang == "vi" else r.label_en) for k, r in load_catalogue().items()}


def commune_name(request: Request, code: str) -> str:
    """A commune as its leader knows it (Xã Châu Khê), not its five-digit code."""
    G = state_of(request).graph
    return str(G.nodes[code].get("full_name", code)) if code in G else code


def active_exercises(state: Any) -> list[dict[str, Any]]:
    """The active incidents that are exercises (diễn tập), for the banner on every page; none
    when the database does not answer (an error page still renders)."""
    from sqlalchemy import select
    from sqlalchemy.exc import SQLAlchemyError

    from api.db import session_scope
    from api.models import Incident

    try:
        with session_scope(state.read_session) as s:
            rows = s.execute(
                select(Incident.id, Incident.name).where(
                    Incident.exercise, Incident.status == "active"
                )
            )
            return [{"id": i, "name": n} for i, n in rows]
    except SQLAlchemyError:
        return []


def picker_label(request: Request, code: str) -> str:
    """A commune as a name picker offers it (the full name, with its province when the name is
    shared): typed back, it names that commune."""
    from api.services.commune_names import name_index

    index = name_index(state_of(request))
    return index.label(code) if code in index else code


def render(request: Request, name: str, ctx: dict[str, Any], *, status: int = 200) -> HTMLResponse:
    """Render template ``name`` in the page language with the context every page gets."""
    lang = lang_of(request)
    state = state_of(request)
    token = request.cookies.get(SESSION_COOKIE)
    catalogue = load_catalogue()
    unit_of = {k: r.unit for k, r in catalogue.items()}
    labels = resource_labels(lang)
    statuses = i18n.labels(lang, i18n.STATUSES)
    base = {
        "units": {k: i18n.unit_label(u, lang) for k, u in unit_of.items()},
        "commune_name": lambda c: commune_name(request, c),
        "picker_label": lambda c: picker_label(request, c),
        "amount": lambda q, res: i18n.amount(q, unit_of.get(res, ""), lang),
        "per_resource": lambda items: i18n.per_resource(items, labels, unit_of, lang),
        "request": request,
        "lang": lang,
        "csrf": state.tokens.csrf_for(token) if token else "",
        "catalogue": catalogue,
        "labels": labels,
        "pillars": PILLARS,
        "pillar_labels": i18n.labels(lang, i18n.PILLARS),
        "statuses": statuses,
        "status_label": lambda s: statuses.get(s, s),
        "roles": i18n.labels(lang, ROLES),
        "urgencies": i18n.labels(lang, URGENCIES),
        "rule_types": i18n.labels(lang, RULE_TYPES),
        "actions": i18n.labels(lang, ACTIONS),
        "queue_labels": i18n.labels(lang, QUEUE),
        "once": form_once,
        "exercises": active_exercises(state) if token else [],
        # the time of the page's data, said when it is shown again with no link (static/sw.js)
        "data_at": i18n.say(lang, "offline.data_at", time=clock(lang)),
    }
    base["unread"] = unread_of(state, ctx.get("user"))
    return templates.TemplateResponse(request, name, {**base, **ctx}, status_code=status)


def unread_of(state: Any, user: Any) -> int | None:
    """The signed-in user's unread notifications (the header's counter), ``None`` without one."""
    from api.db import session_scope
    from api.services.notify import unread_count

    uid = getattr(user, "id", None)
    if not isinstance(uid, int):
        return None
    with session_scope(state.read_session) as s:
        return unread_count(s, uid)


def clock(lang: str, now: dt.datetime | None = None) -> str:
    """Now (or ``now``) as ``14:05, 01/12`` in Vietnam's time: the time of a page's data."""
    at = now or dt.datetime.now(dt.UTC)
    locale = i18n.LOCALES[i18n.language(lang)]
    return str(format_datetime(at, "HH:mm, dd/MM", tzinfo=i18n.TIMEZONE, locale=locale))


def form_once() -> str:
    """A fresh one-time token for one rendered form (its hidden ``idempotency_key`` field)."""
    return secrets.token_urlsafe(18)

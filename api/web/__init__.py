"""Server-rendered pages (Vietnamese first, English switch): login, a commune leader's home,
the defence command's view, the planner's rules page. Forms post here, are CSRF-checked (login
too, against a pre-login cookie), validated with errors next to each field, and keep what was
typed on an error. Each rendered form carries a one-time token that is the ``Idempotency-Key`` of
its action (the API's store, :class:`api.deps.Writer`), so a form sent twice acts once. A page
the user may not see is a small 401/403/404 page in the page language.

The modules: :mod:`~api.web.render` (templates, language, i18n), :mod:`~api.web.forms` (session,
CSRF, one-time tokens), :mod:`~api.web.error_pages`, and one module per page family:
:mod:`~api.web.login`, :mod:`~api.web.account` (one's password),
:mod:`~api.web.commune`, :mod:`~api.web.command` (with
:mod:`~api.web.inventory_errors`), :mod:`~api.web.planner`, :mod:`~api.web.history`. This one
gathers their routers.
"""

from __future__ import annotations

from fastapi import APIRouter

from api.web import (
    account,
    assets,
    command,
    commune,
    history,
    inbox,
    incident_pages,
    login,
    planner,
    regulation_drafts,
    regulations,
)
from api.web.error_pages import page_not_found

router = APIRouter(include_in_schema=False)
for _module in (
    *(login, account, commune, command, planner, regulations, history, inbox, assets),
    incident_pages,
):
    router.include_router(_module.router)
router.include_router(regulation_drafts.router)

__all__ = ["page_not_found", "router"]

"""The planner's regulations pages: the list, one regulation with its box cards, a form to edit
one card (a new draft version), signing and retiring. Forms work without JavaScript."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import session_scope
from api.errors import ServiceError
from api.services.regulation_drafts import spare_warnings
from api.services.regulations import (
    list_regulations,
    regulation_json,
    retire_regulation,
    sign_regulation,
    update_regulation,
)
from api.state import state_of
from api.web.error_pages import error_text
from api.web.forms import AlreadySent, form_and_user, need, run_once
from api.web.render import commune_name, lang_of, render, resource_labels, say
from geo import i18n
from geo.errors import LienXaError, Problem
from geo.i18n import N_
from geo.resources import load_catalogue

router = APIRouter(include_in_schema=False)
ROLES = ("planner", "admin", "defence_command")
#: the statuses' words (the template looks them up as ``regulation.status_<status>``)
STATUS_WORDS = (
    N_("regulation.status_draft"),
    N_("regulation.status_signed"),
    N_("regulation.status_retired"),
)


@router.get("/planner/regulations", response_class=HTMLResponse)
def regulations_home(request: Request) -> Response:
    """Every regulation's newest version."""
    p = need(request, *ROLES)
    if isinstance(p, Response):
        return p
    return list_page(request, p)


def list_page(
    request: Request, p: Any, *, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    """The list, with the drafting form (:mod:`api.web.regulation_drafts`)."""
    from api.web.regulation_drafts import drafting_context

    with session_scope(state_of(request).read_session) as s:
        rows = list_regulations(s, p)
    ctx = {"user": p, "regulations": rows, "reg": None, "errors": errors or {}}
    return render(
        request, "regulations.html", {**ctx, **drafting_context(request, p)}, status=status
    )


def spare_lines(request: Request, warnings: list[Problem]) -> list[dict[str, str]]:
    """The ``card_over_spare`` warnings as the page says them: the helper by name, the resource
    by its label, committed and spare with their units."""
    lang = lang_of(request)
    labels, catalogue = resource_labels(lang), load_catalogue()
    out = []
    for w in warnings:
        q = dict(w.params)
        res = catalogue.get(q["resource"])
        unit = res.unit if res else None
        text = say(
            request,
            f"error.{w.code}",
            helper=commune_name(request, q["helper"]),
            resource=labels.get(q["resource"], q["resource"]),
            committed=i18n.amount(q["committed"], unit, lang),
            spare=i18n.amount(q["spare"], unit, lang),
            level=q["level"],
            scenario=q["scenario"],
        )
        out.append({"id": f"over-spare-{q['helper']}-{q['resource']}", "text": text})
    return out


def _page(request: Request, p: Any, regulation_id: int, **ctx: Any) -> Response:
    state = state_of(request)
    with session_scope(state.read_session) as s:
        try:
            reg = regulation_json(s, regulation_id)
            # shown while it may be signed and after: a warning, never a refusal
            over = spare_warnings(s, state.graph, reg) if reg["status"] != "retired" else []
        except ServiceError as exc:
            return render(
                request,
                "error.html",
                {
                    "user": p,
                    "title": say(request, "regulation.title"),
                    "status": 404,
                    "message": error_text(request, exc),
                },
                status=404,
            )
    status = 422 if ctx.get("errors") else 200
    context = {
        "user": p,
        "reg": reg,
        "errors": {},
        "form": {},
        "over_spare": spare_lines(request, over),
        **ctx,
    }
    return render(request, "regulations.html", context, status=status)


@router.get("/planner/regulations/{regulation_id}", response_class=HTMLResponse)
def regulation_page(request: Request, regulation_id: int) -> Response:
    """One regulation: parties, validity, box cards (each editable), sign and retire."""
    p = need(request, *ROLES)
    if isinstance(p, Response):
        return p
    return _page(request, p, regulation_id)


def _resources(text: str) -> dict[str, Any] | None:
    """``militia=10, boats=2`` as a mapping (values kept as typed when not whole numbers, for
    the validation to name); None when a part has no ``=``."""
    out: dict[str, Any] = {}
    for part in text.replace(";", ",").split(","):
        if not part.strip():
            continue
        if "=" not in part:
            return None
        key, value = (x.strip() for x in part.split("=", 1))
        out[key] = int(value) if value.lstrip("-").isdigit() else value
    return out


@router.post("/planner/regulations/{regulation_id}/cards/{position}")
async def edit_card(request: Request, regulation_id: int, position: int) -> Response:
    """Change one card's resources and minutes: a new draft version; errors next to the card."""
    checked = await form_and_user(request, *ROLES)
    if isinstance(checked, Response):
        return checked
    form, p = checked
    errors: dict[str, str] = {}
    resources = _resources(form.get("resources", ""))
    if not resources:
        errors[f"card_{position}"] = say(request, "regulation.resources_hint")
    minutes_text = form.get("within_minutes", "").strip()
    if minutes_text and not minutes_text.isdigit():
        errors[f"card_{position}"] = say(request, "regulation.minutes_hint")
    if not errors:
        state = state_of(request)

        def save(s: Session) -> Any:
            cards = list(regulation_json(s, regulation_id)["box_cards"])
            if not 0 <= position < len(cards):
                raise LienXaError(
                    f"box_cards[{position}]: no such card",
                    code="regulation_value_invalid",
                    params={"field": f"box_cards[{position}]", "value": str(position)},
                )
            cards[position] = {
                **cards[position],
                "resources": resources,
                "within_minutes": int(minutes_text) if minutes_text else None,
            }
            return update_regulation(
                s, p, regulation_id, {"box_cards": cards}, G=state.graph,
                communes=set(state.gdf.index),
            )  # fmt: skip

        try:
            await run_in_threadpool(run_once, request, p, form, save)
        except AlreadySent:
            errors[f"card_{position}"] = say(request, "form.already_sent")
        except (ServiceError, LienXaError) as exc:  # the first problem says what to fix
            first = exc.problems[0] if getattr(exc, "problems", None) else exc
            errors[f"card_{position}"] = error_text(request, first)
    if errors:
        return _page(request, p, regulation_id, errors=errors, form={position: form})
    return RedirectResponse(f"/planner/regulations/{regulation_id}?done=card", status_code=303)


@router.post("/planner/regulations/{regulation_id}/{action}")
async def sign_or_retire(request: Request, regulation_id: int, action: str) -> Response:
    """Sign the draft, or retire the regulation."""
    checked = await form_and_user(request, *ROLES)
    if isinstance(checked, Response):
        return checked
    form, p = checked
    if action not in ("sign", "retire"):
        return _page(request, p, regulation_id, errors={"form": say(request, "form.required")})

    def act(s: Session) -> Any:
        if action == "sign":
            return sign_regulation(s, p, regulation_id, signed_on=None)
        return retire_regulation(s, p, regulation_id)

    try:
        await run_in_threadpool(run_once, request, p, form, act)
    except AlreadySent:
        return _page(request, p, regulation_id, errors={"form": say(request, "form.already_sent")})
    except ServiceError as exc:
        return _page(request, p, regulation_id, errors={"form": error_text(request, exc)})
    return RedirectResponse(f"/planner/regulations/{regulation_id}?done={action}", status_code=303)

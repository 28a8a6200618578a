"""The planner's page: the adjacency rules in force on a map and in a table, a form to add or
edit one (a new version), and retiring a rule."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.db import session_scope
from api.errors import ServiceError
from api.services.commune_names import (
    CommuneNameError,
    name_index,
    picks_of,
    resolve_commune,
)
from api.services.rules import create_rule, current_rules, retire_rule, update_rule, version_dict
from api.state import state_of
from api.web.error_pages import error_text
from api.web.forms import AlreadySent, form_and_user, is_id, need, run_once
from api.web.render import render, say
from geo import i18n
from geo.errors import LienXaError

router = APIRouter(include_in_schema=False)
#: the rule form's fields; an error whose ``field`` is one of them is shown next to it (``via``
#: has no input of its own: its errors are shown above the form)
RULE_FIELDS = (
    "type",
    "a",
    "b",
    "document",
    "travel_minutes",
    "valid_from",
    "valid_to",
    "reason",
)
_EDITABLE = ("type", "a", "b", "document", "travel_minutes", "valid_from", "valid_to")


def planner_context(request: Request) -> dict[str, Any]:
    """The rules in force, as versions."""
    with session_scope(state_of(request).read_session) as s:
        return {"rules": [version_dict(v) for v, _ in current_rules(s)]}


def _field_text(value: Any) -> str:
    """A stored rule value as typed into the form: ``45`` not ``45.0``, ``12,5`` for a fraction
    (with a decimal comma on both languages' pages; the form reads either sign)."""
    return i18n.typed_number(value, "vi") if isinstance(value, float) else str(value)


@router.get("/planner", response_class=HTMLResponse)
def planner_home(request: Request) -> Response:
    """The planner's page; ``?edit=<id>`` fills the form with that rule."""
    p = need(request, "planner", "admin")
    if isinstance(p, Response):
        return p
    ctx = planner_context(request)
    form: dict[str, Any] = {}
    edit = request.query_params.get("edit", "")
    chosen = next((v for v in ctx["rules"] if str(v["id"]) == edit), None)
    if chosen:  # the form, filled with the rule to edit (its communes by name)
        index = name_index(state_of(request))
        form = {
            "rule_id": str(chosen["id"]),
            **{k: _field_text(v) for k, v in chosen["rule"].items() if k in _EDITABLE},
        }
        for f in ("a", "b"):
            if form.get(f) in index:
                form[f] = index.label(form[f])
    return render(
        request, "planner.html", {"user": p, **ctx, "errors": {}, "form": form, "choices": {}}
    )


def _named_communes(
    request: Request,
    form: dict[str, str],
    rule: dict[str, Any],
    errors: dict[str, str],
    choices: dict[str, CommuneNameError],
) -> None:
    """The rule's communes ``a`` and ``b`` typed by name or code, as codes in ``rule``; a name
    that names none or several goes to ``errors`` (and its candidates to ``choices``)."""
    index = name_index(state_of(request))
    for f in ("a", "b"):
        if f not in rule:
            continue
        try:
            rule[f] = resolve_commune(index, rule[f], field=f, picks=picks_of(form, f))
        except CommuneNameError as exc:
            errors[f] = error_text(request, exc)
            choices[f] = exc


def _rule_of(request: Request, form: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    """The rule typed in the form; missing or malformed fields go to ``errors``."""
    for f in ("type", "a", "b", "reason"):
        if not form.get(f, "").strip():
            errors[f] = say(request, "form.required")
    rule: dict[str, Any] = {
        k: form[k].strip()
        for k in ("type", "a", "b", "document", "valid_from", "valid_to", "via")
        if form.get(k, "").strip()
    }
    if form.get("travel_minutes", "").strip():
        try:
            rule["travel_minutes"] = float(form["travel_minutes"].replace(",", "."))
        except ValueError:
            errors["travel_minutes"] = say(request, "form.a_number")
    return rule


def _error_field(exc: ServiceError | LienXaError, form: dict[str, str]) -> str:
    """The form field an error is about: its ``field``; for an unknown commune without one, the
    field holding that commune's code; else ``form`` (shown above the form)."""
    if exc.field in RULE_FIELDS:
        return str(exc.field)
    if exc.code == "unknown_commune":
        code = str(exc.params.get("commune", ""))
        return next((f for f in ("a", "b") if code and form.get(f, "").strip() == code), "form")
    return "form"


@router.post("/planner/rules")
async def planner_post(request: Request) -> Response:
    """Add a rule, or (with ``rule_id``) a new version of one; errors next to their field."""
    checked = await form_and_user(request, "planner", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    errors: dict[str, str] = {}
    choices: dict[str, CommuneNameError] = {}
    rule = _rule_of(request, form, errors)
    _named_communes(request, form, rule, errors, choices)
    if not errors:
        communes = set(state_of(request).graph)

        def save(s: Session) -> Any:
            if is_id(form.get("rule_id", "")):
                return update_rule(s, p, int(form["rule_id"]), rule, form["reason"], communes)
            return create_rule(s, p, rule, form["reason"], communes)

        try:
            await run_in_threadpool(run_once, request, p, form, save)
        except AlreadySent:
            errors["form"] = say(request, "form.already_sent")
        except (ServiceError, LienXaError) as exc:
            errors[_error_field(exc, form)] = error_text(request, exc)
    if errors:
        return render(
            request,
            "planner.html",
            {
                "user": p,
                **planner_context(request),
                "errors": errors,
                "form": form,
                "choices": choices,
            },
            status=422,
        )
    return RedirectResponse("/planner?done=rule", status_code=303)


@router.post("/planner/rules/{rule_id}/retire")
async def planner_retire(request: Request, rule_id: int) -> Response:
    """Retire a rule, with a reason; an error is shown in the rule's row."""
    checked = await form_and_user(request, "planner", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    error = None if form.get("reason", "").strip() else say(request, "form.required")
    if error is None:
        try:
            await run_in_threadpool(
                run_once, request, p, form, lambda s: retire_rule(s, p, rule_id, form["reason"])
            )
        except AlreadySent:
            error = say(request, "form.already_sent")
        except ServiceError as exc:
            error = error_text(request, exc)
    if error:  # the rule form keeps nothing of this one; the retire reason stays in its row
        return render(
            request,
            "planner.html",
            {
                "user": p,
                **planner_context(request),
                "errors": {f"retire_{rule_id}": error},
                "form": {},
                "choices": {},
                "retire": {rule_id: form.get("reason", "")},
            },
            status=422,
        )
    return RedirectResponse("/planner?done=retired", status_code=303)

"""Incidents on the pages: a leader reports a flood in their commune, joins one nearby, sends
situation reports and sees what the latest plan brings it and asks of it; the defence command
declares an incident, confirms or corrects the level of one a commune reported, re-plans and
closes it. Every form works without script; errors are shown next to their field."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.db import session_scope
from api.errors import ServiceError
from api.models import Incident
from api.services.incidents import (
    close_incident,
    latest_plan,
    prepare_incident,
    store_incident,
    update_incident,
)
from api.services.plan_run import PlanInputs, compute_off_loop, read_plan_inputs, store_plan
from api.services.reports import Report, add_report, join_incident, nearby, read_report
from api.state import state_of
from api.web.commune import _commune_action
from api.web.error_pages import error_text
from api.web.forms import AlreadySent, form_and_user, int_field, run_once
from api.web.render import commune_name, render, say
from geo import i18n
from geo.errors import LienXaError
from geo.flood_keys import ISOLATION_LABELS
from geo.planning import PlanParameters
from geo.plans import as_plan
from geo.resources import load_catalogue
from geo.text import fold

router = APIRouter(include_in_schema=False)

#: The hazards a page offers (the scenario takes any text; these are the ones worded).
HAZARDS = {
    "flood": i18n.N_("hazard.flood"),
    "flash_flood": i18n.N_("hazard.flash_flood"),
    "landslide": i18n.N_("hazard.landslide"),
    "storm": i18n.N_("hazard.storm"),
}
#: A report's fields on the page, as the API names them (the errors' ``field``).
COUNTS = ("displaced", "houses_flooded", "houses_collapsed")


def _field(exc: ServiceError | LienXaError) -> str:
    """A scenario error's field as the one-commune form names it."""
    f = exc.field or "form"
    return f.removeprefix("affected[0].")


def commune_incidents(request: Request, s: Session, code: str) -> dict[str, Any]:
    """For the commune page: the active incidents it is in (with its latest plan, as receiver
    and as helper) and those nearby it may join."""
    G = state_of(request).graph
    mine, near = [], []
    for i in s.query(Incident).filter(Incident.status == "active").order_by(Incident.id.desc()):
        codes = [a["commune"] for a in i.scenario.get("affected", [])]
        row = {"id": i.id, "name": i.name, "risk_level": i.risk_level, "confirmed": i.confirmed}
        if code in codes:
            entry = next(a for a in i.scenario["affected"] if a["commune"] == code)
            mine.append(row | {"entry": entry, "plan": plan_for(request, s, i.id, code)})
        elif nearby(G, code, codes):
            near.append(row)
    return {
        "my_incidents": mine[:10],
        "near_incidents": near[:10],
        "hazards": HAZARDS,
        "iso_labels": ISOLATION_LABELS,
    }


def plan_for(request: Request, s: Session, incident_id: int, code: str) -> dict[str, Any] | None:
    """What the incident's latest plan brings ``code`` (from whom, in how many minutes) and asks
    it to send (to whom, by which communes, in how many minutes), by commune name."""
    plan = latest_plan(s, incident_id)
    if plan is None:
        return None

    def name(c: str) -> str:
        return commune_name(request, c)

    comes, sends = [], []
    for t in as_plan(plan).transfers:
        row = {
            "resource": t.resource,
            "quantity": t.quantity,
            "minutes": round(t.travel_minutes),
            "route": " → ".join(name(c) for c in t.path),
        }
        if t.receiver == code:
            comes.append(row | {"from": name(t.giver)})
        elif t.giver == code:
            sends.append(row | {"to": name(t.receiver)})
    return {"id": plan.get("id"), "comes": comes, "sends": sends}


@router.post("/commune/incidents")
async def post_flood(request: Request) -> Response:
    """A leader reports a flood in their own commune (waits for the command's confirmation)."""

    def act(
        s: Session, p: Principal, form: dict[str, str], code: str, errors: dict[str, str]
    ) -> Any:
        displaced = int_field(request, form, "displaced", errors, positive=False)
        level = form.get("risk_level", "")
        if level not in {"1", "2", "3", "4", "5"}:
            errors["risk_level"] = say(request, "form.required")
        if errors or displaced is None:
            return None
        name = form.get("name", "").strip() or say(
            request, "incident.default_name", commune=commune_name(request, code)
        )
        data = {
            "name": name[:200],
            "hazard": form.get("hazard") if form.get("hazard") in HAZARDS else "flood",
            "risk_level": int(level),
            "affected": [{"commune": code, "displaced": displaced}],
        }
        gdf = state_of(request).gdf
        try:  # one commune, no flood extent: light enough to check here
            scenario = prepare_incident(p, data, gdf, max_affected=1)
        except (ServiceError, LienXaError) as exc:
            errors[_field(exc)] = error_text(request, exc)
            return None
        return store_incident(s, p, scenario)

    return await _commune_action(request, "flood_reported", act)


@router.post("/commune/incidents/{incident_id}/join")
async def post_join(request: Request, incident_id: int) -> Response:
    """The leader's commune joins an active incident nearby."""
    G = state_of(request).graph
    return await _commune_action(
        request,
        "joined",
        lambda s, p, form, code, errors: join_incident(s, p, incident_id, G),
    )


@router.post("/commune/incidents/{incident_id}/reports")
async def post_report(request: Request, incident_id: int) -> Response:
    """A situation report of the commune (by its leader or its command)."""
    G = state_of(request).graph

    def act(
        s: Session, p: Principal, form: dict[str, str], code: str, errors: dict[str, str]
    ) -> Any:
        counts = {k: int_field(request, form, k, errors, positive=False) for k in COUNTS}
        needs = {}
        for key in load_catalogue():
            raw = form.get(f"needs.{key}", "").strip()
            if raw:
                q = int_field(request, form, f"needs.{key}", errors, positive=False)
                if q is not None:
                    needs[key] = q
        if errors:
            return None
        data = {
            "commune": code,
            **counts,
            "isolated": form.get("isolated") or None,
            "needs": needs,
            "note": form.get("note", "").strip() or None,
        }
        try:
            report: Report = read_report(data, G)
        except (ServiceError, LienXaError) as exc:
            errors[_field(exc)] = error_text(request, exc)
            return None
        return add_report(s, p, incident_id, report)

    return await _commune_action(request, "report", act)


# --- the defence command ----------------------------------------------------------------------


def command_incidents(request: Request) -> dict[str, Any]:
    """For the command page: the active incidents (those a commune reported, unconfirmed,
    first) and the declare form's choices."""
    with session_scope(state_of(request).read_session) as s:
        rows: list[dict[str, Any]] = [
            {
                "id": i.id,
                "name": i.name,
                "risk_level": i.risk_level,
                "confirmed": i.confirmed,
                "created_by": i.created_by,
                "affected": [
                    commune_name(request, a["commune"]) for a in i.scenario.get("affected", [])
                ][:20],
            }
            for i in s.query(Incident)
            .filter(Incident.status == "active")
            .order_by(Incident.id.desc())
            .limit(30)
        ]
    rows.sort(key=lambda r: bool(r["confirmed"]))
    return {"incident_rows": rows, "hazards": HAZARDS, "inc": {"errors": {}, "form": {}}}


def resolve_communes(request: Request, p: Principal, raw: str) -> tuple[list[str], list[str]]:
    """Codes or names (with or without diacritics) separated by commas: (codes, not found).
    A name matches in the user's area first, then anywhere."""
    G = state_of(request).graph
    codes, bad = [], []
    for part in (x.strip() for x in raw.replace(";", ",").split(",")):
        if not part:
            continue
        if part in G:
            codes.append(part)
            continue
        key = fold(part).removeprefix("xa ").removeprefix("phuong ")
        found = [c for c, n in G.nodes(data="name") if fold(str(n)) == key]
        found = [c for c in found if p.in_area(c)] or found
        (codes.append(found[0]) if len(found) == 1 else bad.append(part))
    return list(dict.fromkeys(codes)), bad


async def _command_action(request: Request, act: Any, incident_id: int | None) -> Response:
    """Run a command-page form once; errors next to their field in the incidents section."""
    checked = await form_and_user(request, "defence_command", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    errors: dict[str, str] = {}
    result: dict[str, Any] = {}
    prepared = act(p, form, errors)  # checked before the transaction (no database)
    status = 422
    if not errors:

        def save(s: Session) -> Any:
            out = prepared(s, p)
            result["out"] = out
            return out

        try:
            if inspect.isawaitable(prepared):  # work done before the transaction (a plan)
                prepared = await prepared
            await run_in_threadpool(run_once, request, p, form, save)
            target = incident_id or (result.get("out") or {}).get("id")
            return RedirectResponse(f"/command?incident={target}#incidents", status_code=303)
        except AlreadySent:
            errors["form"] = say(request, "form.already_sent")
            status = 409
        except (ServiceError, LienXaError) as exc:
            errors[exc.field if exc.field in form else "form"] = error_text(request, exc)
            status = getattr(exc, "status_code", 422)
    from api.web.command import command_context

    ctx = command_context(request, p, incident_id)
    ctx["inc"] = {"errors": errors, "form": form}
    return render(request, "command.html", ctx, status=status)


@router.post("/command/incidents")
async def declare(request: Request) -> Response:
    """The command declares an incident: name, hazard, level and affected communes."""
    gdf = state_of(request).gdf
    max_affected = state_of(request).settings.max_affected

    def act(p: Principal, form: dict[str, str], errors: dict[str, str]) -> Any:
        if not form.get("name", "").strip():
            errors["name"] = say(request, "form.required")
        if form.get("risk_level") not in {"1", "2", "3", "4", "5"}:
            errors["risk_level"] = say(request, "form.required")
        codes, bad = resolve_communes(request, p, form.get("affected", ""))
        if bad:
            errors["affected"] = say(request, "form.unknown_communes", codes=", ".join(bad))
        elif not codes:
            errors["affected"] = say(request, "form.required")
        if errors:
            return None
        data = {
            "name": form["name"].strip()[:200],
            "hazard": form.get("hazard") if form.get("hazard") in HAZARDS else "flood",
            "risk_level": int(form["risk_level"]),
            "affected": [{"commune": c, "displaced": 0} for c in codes],
        }
        try:
            scenario = prepare_incident(p, data, gdf, max_affected=max_affected)
        except (ServiceError, LienXaError) as exc:
            f = exc.field or "form"
            errors["affected" if f.startswith("affected") else f] = error_text(request, exc)
            return None
        return lambda s, p: store_incident(s, p, scenario)

    return await _command_action(request, act, None)


@router.post("/command/incidents/{incident_id}/level")
async def confirm_level(request: Request, incident_id: int) -> Response:
    """Confirm an incident (a commune's report) with its level, corrected or not."""

    def act(p: Principal, form: dict[str, str], errors: dict[str, str]) -> Any:
        level = form.get(f"level_{incident_id}", "")
        if level not in {"1", "2", "3", "4", "5"}:
            errors[f"level_{incident_id}"] = say(request, "form.required")
            return None
        return lambda s, p: update_incident(
            s, p, incident_id, risk_level=int(level), confirmed=True
        )

    return await _command_action(request, act, incident_id)


@router.post("/command/incidents/{incident_id}/plan")
async def replan(request: Request, incident_id: int) -> Response:
    """Plan (again) on the current inventories and rules."""
    state = state_of(request)

    async def computed(p: Principal, create: bool) -> Any:
        # read and computed before the write transaction, off the event loop, under the time
        # limit, as the API's route does (api.services.plan_run); only the store is written
        def read() -> PlanInputs:
            with session_scope(state.read_session) as s:
                return read_plan_inputs(s, p, incident_id, state.gdf, params=PlanParameters())

        inputs = await run_in_threadpool(read)
        done = await compute_off_loop(state, inputs)
        return lambda s, p: store_plan(s, p, inputs, done, state.gdf, create_requests=create)

    def act(p: Principal, form: dict[str, str], errors: dict[str, str]) -> Any:
        return computed(p, form.get("create_requests") == "1")

    return await _command_action(request, act, incident_id)


@router.post("/command/incidents/{incident_id}/close")
async def close(request: Request, incident_id: int) -> Response:
    """Close the incident."""

    def act(p: Principal, form: dict[str, str], errors: dict[str, str]) -> Any:
        return lambda s, p: close_incident(s, p, incident_id)

    return await _command_action(request, act, incident_id)

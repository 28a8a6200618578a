"""A commune leader's page: the commune's inventory, requests in and out, offers to make, accept,
dispatch and see arrive, and the plan's suggestions of what to ask for."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal
from api.db import session_scope
from api.enums import RequestStatus
from api.errors import Conflict, ServiceError
from api.models import Incident
from api.services.commune_names import (
    CommuneNameError,
    labelled,
    name_index,
    neighbours,
    picker_options,
    picks_of,
    resolve_communes,
)
from api.services.incidents import latest_plan, plan_wants
from api.services.workflow import (
    create_offer,
    create_request,
    decline_request,
    inventory_of,
    list_requests,
    set_inventory,
    transition_offer,
)
from api.state import state_of
from api.web.error_pages import commune_missing_page, error_text
from api.web.forms import (
    AlreadySent,
    FormErrors,
    form_and_user,
    int_field,
    is_id,
    may_open,
    need,
    run_once,
)
from api.web.notices import notice_text
from api.web.render import lang_of, render, say
from geo import i18n
from geo.errors import LienXaError
from geo.resources import load_catalogue

router = APIRouter(include_in_schema=False)
#: the cookie that carries the id of what the last action made or moved to the next page
DONE_REF = "lx_done"
#: ``action(session, user, form, commune, errors)``: the service call's result, or ``None`` with
#: ``errors`` filled (then nothing is written)
Action = Callable[[Session, Principal, dict[str, str], str, dict[str, str]], Any]


def active_incidents(s: Session) -> list[Incident]:
    """The active incidents, newest first."""
    return list(
        s.scalars(select(Incident).where(Incident.status == "active").order_by(Incident.id.desc()))
    )


def _suggestions(
    s: Session, incidents: list[Incident], code: str, outgoing: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """What the plans want the commune to ask for, less what it already asked for (a request not
    cancelled), per incident and resource, so that a request is not sent twice."""
    asked: dict[tuple[int, str], int] = {}
    for r in outgoing:
        if r["status"] != "cancelled" and not r.get("outdated"):
            key = (r["incident_id"], r["resource"])
            asked[key] = asked.get(key, 0) + r["quantity"]
    out = []
    for i in incidents:
        plan = latest_plan(s, i.id)
        if not plan:
            continue
        for (_, resource), w in plan_wants(plan, commune=code).items():
            left = w["quantity"] - asked.get((i.id, resource), 0)
            if left > 0:
                out.append(
                    {
                        "incident_id": i.id,
                        "resource": resource,
                        "quantity": left,
                        "to": ", ".join(sorted(w["to"])),
                    }
                )
    return out


def commune_context(request: Request, p: Principal, code: str) -> dict[str, Any]:
    """Everything the commune page shows for ``code``."""
    state = state_of(request)
    with session_scope(state.read_session) as s:
        incidents = active_incidents(s)
        outgoing = list_requests(
            s, p, commune=code, direction="outgoing", status=None, incident_id=None
        )
        # every request to this commune, read once: the open ones to answer, and all of them
        # for what this commune offered and has still to hand over
        incoming = list_requests(
            s, p, commune=code, direction="incoming", status=None, incident_id=None
        )
        ctx = {
            "user": p,
            "code": code,
            "node": state.graph.nodes[code],
            "inventory": inventory_of(s, code),
            "incoming": [r for r in incoming if r["status"] == RequestStatus.OPEN],
            "outgoing": outgoing[:30],
            "incidents": [{"id": i.id, "name": i.name} for i in incidents],
            "suggestions": _suggestions(s, incidents, code, outgoing),
        }
        from api.web.incident_pages import commune_incidents  # it imports this module

        ctx |= commune_incidents(request, s, code)
        # what this commune offered to others and has still to hand over (dispatch once accepted)
        ctx["my_offers"] = [
            o | {"resource": r["resource"], "to": r["commune"], "request_id": r["id"]}
            for r in incoming
            for o in r["offers"]
            if o["commune"] == code and o["status"] in ("offered", "accepted", "dispatched")
        ]
    for r in ctx["incoming"]:  # what the plan asks of this commune, prefilled in the offer box
        mine = sum(
            o["quantity"]
            for o in r["offers"]
            if o["commune"] == code and o["status"] in ("offered", "accepted", "dispatched")
        )
        ask = next((a["quantity"] for a in r.get("asks", []) if a["commune"] == code), None)
        r["plan_ask"] = ask
        r["my_ask"] = min(max(0, ask - mine), r["remaining"]) if ask is not None else None
        r["cut_off"] = code in r.get("unreachable", [])
    ctx["on_way"] = [
        o | {"resource": r["resource"]}
        for r in ctx["outgoing"]
        for o in r["offers"]
        if o["status"] == "dispatched"
    ]
    # the name picker of the request form: the neighbours first, then the province
    ctx["picker_options"] = picker_options(state, code)
    ctx["near"] = set(neighbours(state.graph, code))
    ctx["choices"] = {}
    ctx["named"] = lambda codes: labelled(name_index(state), codes.split(", "))
    return ctx


@router.get("/commune", response_class=HTMLResponse)
def commune_home(request: Request, code: str | None = None) -> Response:
    """A commune's page (the leader's own, or one of a defence command's area)."""
    p = need(request, "commune_leader", "defence_command", "admin")
    if isinstance(p, Response):
        return p
    code = code or p.commune
    if not may_open(request, p, code):
        return commune_missing_page(request, p, code)
    assert code is not None  # may_open refuses no code
    ctx = commune_context(request, p, code)
    form: dict[str, str] = {}
    pick = request.query_params.get("suggest", "")
    if pick.isdigit() and int(pick) < len(ctx["suggestions"]):  # the request form, from the plan
        sg = ctx["suggestions"][int(pick)]
        form = {
            "incident_id": str(sg["incident_id"]),
            "resource": sg["resource"],
            "quantity": str(sg["quantity"]),
            "to": labelled(name_index(state_of(request)), sg["to"].split(", ")),
        }
    done = request.query_params.get("done", "")
    kind, _, ref = request.cookies.get(DONE_REF, "").partition(":")
    notice = notice_text(request, p, done, ref if kind == done else "") if done else None
    return render(request, "commune.html", {**ctx, "errors": {}, "form": form, "notice": notice})


async def _commune_action(
    request: Request,
    notice: str,
    action: Action,
    choices: dict[str, CommuneNameError] | None = None,
) -> Response:
    """Run a commune-page form action once (see :func:`api.web.forms.run_once`); on an error
    re-render the page with it next to the field the error names (``exc.field``), else above
    the forms. ``choices``: the name errors the action met, by field (their candidates are
    shown to pick from)."""
    checked = await form_and_user(request, "commune_leader", "defence_command", "admin")
    if isinstance(checked, Response):
        return checked
    form, p = checked
    code = form.get("code") or p.commune or ""
    if not may_open(request, p, code):
        return commune_missing_page(request, p, code)
    errors: dict[str, str] = {}
    made: dict[str, Any] = {}

    def run(s: Session) -> Any:
        out = action(s, p, form, code, errors)
        if errors:
            raise FormErrors()
        if isinstance(out, dict) and "id" in out:
            made["ref"] = out["id"]
        return out

    try:
        await run_in_threadpool(run_once, request, p, form, run)
    except FormErrors:
        pass
    except AlreadySent:
        errors["form"] = say(request, "form.already_sent")
        form = {}
    except (ServiceError, LienXaError) as exc:
        errors[exc.field if exc.field and exc.field in form else "form"] = error_text(request, exc)
    if errors:
        return render(
            request,
            "commune.html",
            {
                **commune_context(request, p, code),
                "errors": errors,
                "form": form,
                "notice": None,
                "choices": choices or {},
            },
            status=422,
        )
    done = RedirectResponse(f"/commune?code={code}&done={notice}", status_code=303)
    if "ref" in made:  # what the notice words, read back by the next page (see notice_text)
        done.set_cookie(
            DONE_REF,
            f"{notice}:{made['ref']}",
            max_age=600,
            path="/commune",
            httponly=True,
            samesite="lax",
        )
    return done


@router.post("/commune/inventory")
async def post_inventory(request: Request) -> Response:
    """Save the commune's on-site resources."""

    def act(
        s: Session, p: Principal, form: dict[str, str], code: str, errors: dict[str, str]
    ) -> Any:
        items = {}
        for key in load_catalogue():
            if f"inv_{key}" in form and form[f"inv_{key}"].strip() != "":
                q = int_field(request, form, f"inv_{key}", errors, positive=False)
                if q is not None:
                    items[key] = q
        return None if errors else set_inventory(s, p, code, items)

    return await _commune_action(request, "inventory", act)


@router.post("/commune/requests")
async def post_request(request: Request) -> Response:
    """Ask for support (to the neighbours, or to the communes named: names or codes)."""
    G = state_of(request).graph
    index = name_index(state_of(request))
    choices: dict[str, CommuneNameError] = {}

    def act(
        s: Session, p: Principal, form: dict[str, str], code: str, errors: dict[str, str]
    ) -> Any:
        q = int_field(request, form, "quantity", errors)
        if not is_id(form.get("incident_id", "")):
            errors["incident_id"] = say(request, "form.required")
        if form.get("resource") not in load_catalogue():
            errors["resource"] = say(request, "form.required")
        to: list[str] = []
        try:
            to = resolve_communes(
                index,
                form.get("to", ""),
                field="to",
                near=neighbours(G, code),
                picks=picks_of(form, "to"),
            )
        except CommuneNameError as exc:
            errors["to"] = error_text(request, exc)
            choices["to"] = exc
        if errors or q is None:
            return None
        return create_request(
            s,
            p,
            incident_id=int(form["incident_id"]),
            commune=code,
            resource=form["resource"],
            quantity=q,
            to=to or None,
            urgency=form.get("urgency") or "normal",
            note=form.get("note") or None,
            known=set(G),
            neighbours=sorted(n for n in G[code] if G.edges[code, n].get("kind") != "point_touch"),
            graph=G,
        )

    return await _commune_action(request, "request", act, choices)


@router.post("/commune/requests/{request_id}/offer")
async def post_offer(request: Request, request_id: int) -> Response:
    """Offer part or all of what a request asks for."""

    def act(
        s: Session, p: Principal, form: dict[str, str], code: str, errors: dict[str, str]
    ) -> Any:
        q = int_field(request, form, f"offer_{request_id}", errors)
        if q is None:
            return None
        try:
            return create_offer(
                s,
                p,
                request_id,
                commune=code,
                quantity=q,
                note=form.get("note") or None,
                confirm_below_reserve=form.get("confirm_below_reserve") == "1",
            )
        except Conflict as exc:
            if exc.code != "below_home_reserve":
                raise
            # nothing was written: ask, next to the form, whether to send it anyway
            errors[f"offer_{request_id}"] = below_reserve_text(request, exc.params)
            errors[f"confirm_{request_id}"] = str(q)
            return None

    return await _commune_action(request, "offer", act)


def below_reserve_text(request: Request, params: dict[str, Any]) -> str:
    """The question the page asks before an offer leaves less at home than the reserve."""
    lang = lang_of(request)
    return say(
        request,
        "commune.below_reserve",
        quantity=i18n.number(params["quantity"], lang),
        left=i18n.number(params["left"], lang),
        keep=i18n.number(params["keep"], lang),
        stock=i18n.number(params["stock"], lang),
    )


@router.post("/commune/requests/{request_id}/decline")
async def post_decline(request: Request, request_id: int) -> Response:
    """Decline a request made to the commune."""
    return await _commune_action(
        request,
        "declined",
        lambda s, p, form, code, errors: decline_request(
            s, p, request_id, code, form.get("reason") or None
        ),
    )


#: the reason stored when an offer is cancelled from the page without one
CANCELLED_ON_PAGE = "huỷ trên trang"


@router.post("/commune/offers/{offer_id}/{action}")
async def post_offer_action(request: Request, offer_id: int, action: str) -> Response:
    """Accept, decline, dispatch, mark arrived or cancel an offer."""
    return await _commune_action(
        request,
        action,
        lambda s, p, form, code, errors: transition_offer(
            s,
            p,
            offer_id,
            action,
            form.get("reason") or (CANCELLED_ON_PAGE if action == "cancel" else None),
        ),
    )

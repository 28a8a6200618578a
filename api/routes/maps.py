"""The maps as HTML pages: overview, incident, commune, rules (Folium, offline Leaflet)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from api.auth import authenticate
from api.db import session_scope
from api.deps import StateDep
from api.errors import NotFound
from api.map_cache import page_key
from api.models import Incident, SupportRequest
from api.services.incidents import get_incident, latest_plan
from api.services.rules import current_rules
from api.services.workflow import inventory_of, list_requests
from api.state import AppState
from geo.i18n import language
from geo.resources import load_catalogue
from geo.rules import apply_rules, rule_to_dict
from maps.builders import commune_map, incident_map, overview_map, rules_map

router = APIRouter(prefix="/maps", tags=["maps"])


def _lang(request: Request, lang: str | None) -> str:
    """The map's language: ``?lang=``, else the page's cookie; Vietnamese unless it is English."""
    return language(lang or request.cookies.get("lang"))


def _html(request: Request, state: AppState, key: str, build: Callable[[], Any]) -> Response:
    """The map page for ``key`` (:func:`api.map_cache.page_key` of everything it shows),
    rendered by ``build()`` only when no worker copy is kept; ``304`` when the browser has it."""
    etag = f'"{key}"'
    # the page's script nonce follows its key, so a kept copy's scripts match a later 304's CSP
    headers = {"Cache-Control": "private, max-age=30", "ETag": etag, "X-Lienxa-Nonce-Seed": key}
    # a compressed answer's tag is weak (W/"..."): the same page either way
    sent = [
        t.strip().removeprefix("W/") for t in request.headers.get("if-none-match", "").split(",")
    ]
    if etag in sent:
        return Response(status_code=304, headers=headers)
    body = state.geo.map_pages.get(key, lambda: build().get_root().render())
    return Response(body, media_type="text/html; charset=utf-8", headers=headers)


def _tiles(state: AppState) -> dict[str, Any]:
    s = state.settings
    return {"tile_url": s.tile_url, "tile_attribution": s.tile_attribution}


@router.get("/overview", response_class=HTMLResponse)
def overview(
    request: Request,
    state: StateDep,
    province: str | None = Query(None, pattern=r"^\d{2}$"),
    lang: str | None = None,
) -> Response:
    """Every commune by incident risk level, province borders, search, open requests."""
    with session_scope(state.read_session) as s:
        authenticate(request, s)
        risk: dict[str, int] = {}
        for i in s.scalars(
            select(Incident).where(Incident.status == "active").order_by(Incident.id)
        ):
            for a in i.scenario.get("affected", []):
                risk[a["commune"]] = max(risk.get(a["commune"], 0), i.risk_level)
        open_req: dict[str, int] = {}
        # an outdated request (replaced by a re-plan) stays open for its offers but asks nothing
        asking = (SupportRequest.status == "open", SupportRequest.outdated.is_(False))
        for r in s.scalars(select(SupportRequest).where(*asking)):
            open_req[r.commune_code] = open_req.get(r.commune_code, 0) + 1
    lang = _lang(request, lang)
    key = page_key(
        "overview", province=province, risk=risk, open=open_req, lang=lang, tiles=_tiles(state)
    )

    def build() -> Any:
        communes, provinces = state.display.get(province)
        return overview_map(
            communes, provinces, risk=risk, open_requests=open_req, lang=lang, **_tiles(state)
        )

    return _html(request, state, key, build)


@router.get("/incidents/{incident_id}", response_class=HTMLResponse)
def incident(
    request: Request, state: StateDep, incident_id: int, lang: str | None = None
) -> Response:
    """An incident: affected communes, the plan's transfers as arrows, unmet needs, escalations,
    its open requests (those a re-plan replaced marked)."""
    with session_scope(state.read_session) as s:
        user = authenticate(request, s)
        inc = get_incident(s, incident_id)
        plan = latest_plan(s, incident_id)
        scenario = inc.scenario
        # what the panel shows of each request the reader may see: a re-plan that outdates one
        # changes this list, hence the page's key
        asks = [
            {k: r[k] for k in ("id", "commune", "resource", "quantity", "to", "status", "outdated")}
            for r in list_requests(
                s, user, commune=None, direction=None, status="open", incident_id=incident_id
            )
        ]
    codes = [a["commune"] for a in scenario.get("affected", [])]
    provs = {state.graph.nodes[c]["province_code"] for c in codes if c in state.graph}
    area = next(iter(provs)) if len(provs) == 1 else None
    lang = _lang(request, lang)
    catalogue = load_catalogue()
    labels = {k: (r.label_vi if lang == "vi" else r.label_en) for k, r in catalogue.items()}
    units = {k: r.unit for k, r in catalogue.items()}
    key = page_key(
        "incident",
        area=area,
        scenario=scenario,
        plan=plan,
        requests=asks,
        labels=labels,
        lang=lang,
        tiles=_tiles(state),
    )

    def build() -> Any:
        communes, provinces = state.display.get(area)
        return incident_map(
            communes,
            provinces,
            state.graph,
            scenario=scenario,
            plan=plan,
            labels=labels,
            units=units,
            requests=asks,
            catalogue=catalogue,
            lang=lang,
            **_tiles(state),
        )

    return _html(request, state, key, build)


@router.get("/communes/{code}", response_class=HTMLResponse)
def commune(request: Request, state: StateDep, code: str, lang: str | None = None) -> Response:
    """One commune, its neighbours and links, inventory by pillar, requests."""
    if code not in state.graph:
        raise NotFound(f"commune {code} not found")
    with session_scope(state.read_session) as s:
        user = authenticate(request, s)
        rules = [r for _, r in current_rules(s)]
        inv = inventory_of(s, code)
        incoming = list_requests(
            s, user, commune=code, direction="incoming", status="open", incident_id=None
        )
        outgoing = list_requests(
            s, user, commune=code, direction="outgoing", status="open", incident_id=None
        )
    H = apply_rules(state.graph, rules)
    links = {}
    for n in state.graph[code]:
        pair = tuple(sorted((code, n)))
        if H.has_edge(code, n):
            e = H.edges[code, n]
            links[pair] = {
                "travel_minutes": e["travel_minutes"],
                "agreement": e["agreement"],
                "document": e.get("agreement_rule"),
            }
        else:
            links[pair] = {"closed": state.graph.edges[code, n].get("kind") != "point_touch"}
    lang = _lang(request, lang)
    key = page_key(
        "commune",
        code=code,
        links=[[*pair, e] for pair, e in sorted(links.items())],
        inventory=inv,
        incoming=incoming,
        outgoing=outgoing,
        lang=lang,
        tiles=_tiles(state),
    )

    def build() -> Any:
        communes, _ = state.display.get(state.graph.nodes[code]["province_code"])
        return commune_map(
            communes,
            state.graph,
            code,
            links=links,
            inventory=inv,
            catalogue=load_catalogue(),
            incoming=incoming,
            outgoing=outgoing,
            lang=lang,
            **_tiles(state),
        )

    return _html(request, state, key, build)


@router.get("/rules", response_class=HTMLResponse)
def rules(
    request: Request,
    state: StateDep,
    province: str | None = Query(None, pattern=r"^\d{2}$"),
    lang: str | None = None,
) -> Response:
    """Links coloured by rule (agreement, added, closed, default) with documents and validity."""
    with session_scope(state.read_session) as s:
        authenticate(request, s)
        current = [rule_to_dict(r) for _, r in current_rules(s)]
    lang = _lang(request, lang)
    key = page_key("rules", province=province, rules=current, lang=lang, tiles=_tiles(state))

    def build() -> Any:
        communes, provinces = state.display.get(province)
        return rules_map(communes, provinces, state.graph, current, lang=lang, **_tiles(state))

    return _html(request, state, key, build)

"""An incident's plans: computed on the stored inventories minus what offers already cover and
on the current rules, turned into requests to the suggested givers (a re-plan outdating those it
no longer stands behind), and read back."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import geopandas as gpd
import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.models import Offer, Region, SupportRequest
from api.services.replan import StillAsked, left_to_ask, outdate_requests, still_asked
from api.services.requests import latest_plan_record
from api.services.workflow import ACTIVE_OFFER, create_request
from geo.needs import Scenario, needs_less
from geo.planning import PlanParameters
from geo.plans import Plan, QuantityRow, as_plan


def _minus_offers(
    session: Session, incident_id: int, scenario: Scenario
) -> tuple[Scenario, dict[tuple[str, str], int]]:
    """The scenario with what offers already cover (offered, accepted, on its way or arrived)
    taken off each commune's needs, so a new plan does not ask twice for the same thing."""
    covered: dict[tuple[str, str], int] = {}
    rows = session.execute(
        select(SupportRequest.commune_code, SupportRequest.resource, Offer.quantity)
        .join(Offer, Offer.request_id == SupportRequest.id)
        .where(SupportRequest.incident_id == incident_id, Offer.status.in_(ACTIVE_OFFER))
    )
    for commune, resource, q in rows:
        covered[(commune, resource)] = covered.get((commune, resource), 0) + q
    if not covered:
        return scenario, covered
    return needs_less(scenario, covered), covered


def plan_wants(
    plan: Plan | Mapping[str, Any], *, commune: str | None = None
) -> dict[tuple[str, str], dict[str, Any]]:
    """What a plan (a :class:`geo.plans.Plan` or its JSON) brings to each receiving commune
    (only ``commune``, if given), per resource: ``{(commune, resource): {"quantity": total,
    "to": {givers}, "asks": {giver: quantity}}}``, the requests it suggests."""
    wanted: dict[tuple[str, str], dict[str, Any]] = {}
    for t in as_plan(plan).transfers:
        if commune is None or t.receiver == commune:
            w = wanted.setdefault(
                (t.receiver, t.resource), {"quantity": 0, "to": set(), "asks": {}}
            )
            w["quantity"] += t.quantity
            w["to"].add(t.giver)
            w["asks"][t.giver] = w["asks"].get(t.giver, 0) + t.quantity
    return wanted


def _outstanding_requests(session: Session, incident_id: int) -> dict[tuple[str, str], StillAsked]:
    """What open, not outdated requests of the incident still ask and no offer covers yet,
    per (commune, resource), per addressee named in their asks
    (:func:`api.services.replan.still_asked`)."""
    return still_asked(session, incident_id)


def regions_map(session: Session) -> dict[str, list[str]]:
    return {r.name: list(r.communes) for r in session.scalars(select(Region))}


def plan_incident(
    session: Session,
    principal: Principal,
    incident_id: int,
    G: nx.Graph,
    gdf: gpd.GeoDataFrame,
    *,
    params: PlanParameters,
    create_requests: bool = False,
    time_limit_s: float | None = None,
) -> dict[str, Any]:
    """Plan on the current stored inventories minus what open offers reserve, with the current
    rules as valid now (a live incident: the plan records the instant as ``parameters.at``);
    optionally turn the plan's transfers into requests to the suggested givers, outdating
    those a re-plan no longer stands behind (:mod:`api.services.replan`).

    All in ``session``: the HTTP route runs the same steps out of the write transaction
    (:func:`api.services.plan_run.run_plan`)."""
    from api.services.plan_run import compute, read_plan_inputs, store_plan

    inputs = read_plan_inputs(session, principal, incident_id, gdf, params=params)
    computed = compute(G, inputs, time_limit_s=time_limit_s)
    return store_plan(session, principal, inputs, computed, gdf, create_requests=create_requests)


def _request_from_plan(
    session: Session,
    principal: Principal,
    incident_id: int,
    plan_id: int,
    plan: Plan,
    gdf: gpd.GeoDataFrame,
    *,
    reach: Mapping[str, frozenset[str]] | None = None,
) -> tuple[list[int], list[QuantityRow], list[int]]:
    """Turn the plan's transfers into requests to the suggested givers, for the communes of
    the principal's area, each naming what the plan asks of each giver (``asks``). With
    ``reach`` (who can still give to each requesting commune), first outdate the open
    requests the plan no longer stands behind. Returns the requests created, what valid open
    requests already ask, and the requests outdated."""
    wants = plan_wants(plan)
    outdated = (
        outdate_requests(session, principal, incident_id, wants, reach) if reach is not None else []
    )
    created: list[int] = []
    already: list[QuantityRow] = []
    outstanding = _outstanding_requests(session, incident_id)
    known = set(gdf.index)
    for (commune, resource), w in sorted(wants.items()):
        if not principal.may_act_for(commune):  # requests are made for communes of one's area
            continue
        # Re-planning does not ask twice: valid open requests still waiting count as asked.
        asks, asked = left_to_ask(w["asks"], outstanding.get((commune, resource)))
        if asked:
            already.append(QuantityRow(commune, resource, asked))
        if not asks:
            continue
        created.append(
            create_request(
                session,
                principal,
                incident_id=incident_id,
                commune=commune,
                resource=resource,
                quantity=sum(asks.values()),
                to=sorted(asks),
                urgency="high",
                note=None,
                known=known,
                neighbours=[],
                asks=[{"commune": g, "quantity": q} for g, q in sorted(asks.items())],
                plan_id=plan_id,
            )["id"]
        )
    return created, already, outdated


def latest_plan(session: Session, incident_id: int) -> dict[str, Any] | None:
    """The incident's newest plan as its JSON (with its ``id`` and ``incident_id``), or None."""
    rec = latest_plan_record(session, incident_id)
    if rec is None:
        return None
    return replace(Plan.from_json(rec.plan), id=rec.id, incident_id=incident_id).to_json()

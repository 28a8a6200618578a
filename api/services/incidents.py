"""Incidents and their plans, computed on the stored inventories and the current rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import geopandas as gpd
import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_role
from api.db import locked
from api.enums import IncidentStatus, Role
from api.errors import BadInput, Conflict, Forbidden, NotFound
from api.models import Incident, Offer, Region, SupportRequest
from api.services import audit
from api.services.activation import fire_cards
from api.services.replan import StillAsked, left_to_ask, outdate_requests, still_asked
from api.services.requests import latest_plan_record
from api.services.workflow import ACTIVE_OFFER, create_request
from geo.needs import Scenario, compute_needs, parse_scenario
from geo.planning import PlanParameters
from geo.plans import Plan, QuantityRow, as_plan
from geo.scenario import ISOLATION_MODES


def incident_dict(i: Incident) -> dict[str, Any]:
    return {
        "id": i.id,
        "name": i.name,
        "status": i.status,
        "risk_level": i.risk_level,
        "scenario": i.scenario,
        "affected": [a["commune"] for a in i.scenario.get("affected", [])],
        "isolated": {
            a["commune"]: a["isolated"] for a in i.scenario.get("affected", []) if a.get("isolated")
        },
        "created_by": i.created_by,
        "created_at": i.created_at,
        "exercise": bool(i.exercise),
        "confirmed": i.confirmed,
    }


def prepare_incident(
    principal: Principal,
    data: dict[str, Any],
    gdf: gpd.GeoDataFrame,
    *,
    max_affected: int,
) -> Scenario:
    """Check who may create it and validate the scenario (``flood_extent`` resolved to
    affected communes): no database, so the route runs it in the threadpool before (and
    outside) the write transaction, and a heavy extent never holds the write lock."""
    require_role(
        principal,
        Role.DEFENCE_COMMAND,
        Role.ADMIN,
        Role.COMMUNE_LEADER,
        action="creating an incident",
    )
    scenario = parse_scenario(data, gdf=gdf, max_affected=max_affected)
    if principal.role == Role.COMMUNE_LEADER and scenario.affected_codes != [principal.commune]:
        raise Forbidden(
            f"a commune leader reports a flood in their own commune {principal.commune} only; "
            f"affected: {', '.join(scenario.affected_codes[:5])}",
            code="leader_own_commune_only",
            field="affected",
            params={"commune": principal.commune or ""},
        )
    if principal.role == Role.DEFENCE_COMMAND:
        outside = [c for c in scenario.affected_codes if not principal.in_area(c)]
        if len(outside) == len(scenario.affected_codes):
            raise Forbidden(
                f"none of the affected communes is in your area ({', '.join(outside[:5])} ...)",
                code="affected_outside_area",
                field="affected",
                params={"communes": ", ".join(outside[:5])},
            )
    return scenario


def exercise_flag(data: dict[str, Any]) -> bool:
    """The scenario's ``exercise`` (a drill, diễn tập: no real stock reserved or moved).

    Raises
    ------
    BadInput
        ``exercise_invalid``: not true or false.
    """
    exercise = data.get("exercise", False)
    if not isinstance(exercise, bool):
        raise BadInput(
            f"exercise: true or false, got {exercise!r}",
            code="exercise_invalid",
            field="exercise",
            params={"value": repr(exercise)[:80]},
        )
    return exercise


def store_incident(
    session: Session, principal: Principal, scenario: Scenario, *, exercise: bool = False
) -> dict[str, Any]:
    """Store a scenario :func:`prepare_incident` checked; one reported by a commune leader
    waits for its command's confirmation (``confirmed`` false). The signed regulations' cards
    for its level fire at once (``activated``: the requests they made)."""
    stored = scenario.to_dict()
    if scenario.flood_extent is not None:
        stored["flood_extent"] = scenario.flood_extent
    i = Incident(
        name=scenario.name,
        risk_level=scenario.risk_level,
        scenario=stored,
        created_by=principal.username,
        confirmed=principal.role != Role.COMMUNE_LEADER,
        exercise=exercise,
    )
    session.add(i)
    session.flush()
    activated = fire_cards(session, i, old_level=0, new_level=i.risk_level, actor=principal)
    audit.record(
        session,
        actor=principal.describe(),
        action="incident.create",
        entity="incident",
        entity_id=i.id,
        after={
            "name": i.name,
            "risk_level": i.risk_level,
            "affected": len(scenario.affected),
            "confirmed": i.confirmed,
            "exercise": i.exercise,
        },
    )
    return {**incident_dict(i), "activated": activated}


def create_incident(
    session: Session,
    principal: Principal,
    data: dict[str, Any],
    gdf: gpd.GeoDataFrame,
    *,
    max_affected: int,
) -> dict[str, Any]:
    """Validate a scenario and store it (in one go; the route splits the two, see
    :func:`prepare_incident`)."""
    scenario = prepare_incident(principal, data, gdf, max_affected=max_affected)
    return store_incident(session, principal, scenario, exercise=exercise_flag(data))


def _require_command_of(principal: Principal, i: Incident, action: str) -> None:
    """403 unless ``principal`` is an admin or the defence command of one of its communes."""
    require_role(principal, Role.DEFENCE_COMMAND, Role.ADMIN, action=action)
    codes = [a["commune"] for a in i.scenario.get("affected", [])]
    if principal.role == Role.DEFENCE_COMMAND and not any(principal.in_area(c) for c in codes):
        raise Forbidden(
            f"{action}: none of the affected communes is in your area",
            code="affected_outside_area",
            field="affected",
            params={"communes": ", ".join(codes[:5])},
        )


def set_risk_level(
    session: Session, principal: Principal, incident_id: int, level: int
) -> tuple[Incident, int, list[int]]:
    """Set an active incident's risk level (Decision 18/2021/QĐ-TTg, 1-5), by the command of
    its area; audited. Raising it fires the signed cards of the levels above the old one
    (:func:`api.services.activation.fire_cards`; lowering fires nothing). Returns the incident,
    its old level and the requests the cards made (the one place a level changes)."""
    # the row locked: two raises at once must not both fire the same cards
    i = locked(session, select(Incident).where(Incident.id == incident_id)).one_or_none()
    if i is None:
        i = get_incident(session, incident_id)  # the 404, worded as everywhere
    _require_command_of(principal, i, "changing the risk level")
    _require_active(i)
    if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
        raise BadInput(
            f"risk_level must be 1 to 5, got {level!r}",
            code="risk_level_out_of_range",
            field="risk_level",
            params={"value": str(level)},
        )
    old = i.risk_level
    i.risk_level = level
    i.scenario = {**i.scenario, "risk_level": level}  # the plan reads the scenario's level
    audit.record(
        session,
        actor=principal.describe(),
        action="incident.level",
        entity="incident",
        entity_id=i.id,
        before={"risk_level": old},
        after={"risk_level": level},
    )
    activated = fire_cards(session, i, old_level=old, new_level=level, actor=principal)
    return i, old, activated


def update_incident(
    session: Session,
    principal: Principal,
    incident_id: int,
    *,
    risk_level: int | None = None,
    confirmed: bool | None = None,
) -> dict[str, Any]:
    """The command confirms (and may correct the level of) an incident; audited."""
    i = get_incident(session, incident_id)
    _require_command_of(principal, i, "confirming an incident")
    _require_active(i)
    old = i.risk_level
    activated: list[int] = []
    if risk_level is not None:
        i, old, activated = set_risk_level(session, principal, incident_id, risk_level)
    if confirmed and not i.confirmed:
        i.confirmed = True
        audit.record(
            session,
            actor=principal.describe(),
            action="incident.confirm",
            entity="incident",
            entity_id=i.id,
            before={"confirmed": False},
            after={"confirmed": True, "risk_level": i.risk_level},
        )
    return incident_dict(i) | {"old_risk_level": old, "activated": activated}


def get_incident(session: Session, incident_id: int) -> Incident:
    i = session.get(Incident, incident_id)
    if i is None:
        raise NotFound(
            f"incident {incident_id} not found",
            code="incident_not_found",
            params={"incident_id": incident_id},
        )
    return i


def _require_active(i: Incident) -> None:
    if i.status != "active":
        raise Conflict(
            {"message": f"incident {i.id} is {i.status}", "status": i.status},
            code="incident_not_active",
            params={"incident_id": i.id, "status": i.status},
        )


def close_incident(session: Session, principal: Principal, incident_id: int) -> dict[str, Any]:
    require_role(principal, Role.DEFENCE_COMMAND, Role.ADMIN, action="closing an incident")
    i = get_incident(session, incident_id)
    _require_active(i)
    i.status = IncidentStatus.CLOSED
    audit.record(
        session,
        actor=principal.describe(),
        action="incident.close",
        entity="incident",
        entity_id=i.id,
        before={"status": "active"},
        after={"status": "closed"},
    )
    return incident_dict(i)


def set_isolation(
    session: Session,
    principal: Principal,
    incident_id: int,
    commune: str,
    isolated: str | None,
) -> dict[str, Any]:
    """Mark an affected commune of an active incident as cut off (``"full"``: nothing by road
    in or out; ``"partial"``: receives, gives nothing) or not (None); audited. The next plan
    follows it (CONTRACT.md, rules 2, 3 and 5)."""
    require_role(principal, Role.DEFENCE_COMMAND, Role.ADMIN, action="marking a commune cut off")
    i = get_incident(session, incident_id)
    _require_active(i)
    if isolated not in (None, *ISOLATION_MODES):
        raise BadInput(
            f"isolated must be one of {', '.join(ISOLATION_MODES)} or null, got {isolated!r}",
            code="isolated_invalid",
            field="isolated",
            params={"value": repr(isolated)},
        )
    entries = [dict(a) for a in i.scenario.get("affected", [])]
    entry = next((a for a in entries if a.get("commune") == commune), None)
    if entry is None:
        raise BadInput(
            f"commune {commune} is not affected by incident {i.id}",
            code="commune_not_affected",
            field="commune",
            params={"commune": commune},
        )
    if principal.role == Role.DEFENCE_COMMAND and not principal.in_area(commune):
        raise Forbidden(
            f"marking a commune cut off: commune {commune} is outside your area",
            code="outside_area",
            field="commune",
            params={"commune": commune, "action": "marking a commune cut off"},
        )
    before = entry.get("isolated")
    if isolated is None:
        entry.pop("isolated", None)
    else:
        entry["isolated"] = isolated
    i.scenario = {**i.scenario, "affected": entries}  # a new object: the JSON column is saved
    audit.record(
        session,
        actor=principal.describe(),
        action="incident.isolation",
        entity="incident",
        entity_id=i.id,
        before={"commune": commune, "isolated": before},
        after={"commune": commune, "isolated": isolated},
    )
    return incident_dict(i)


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
    needs = compute_needs(scenario)
    affected = tuple(
        replace(
            a,
            needs={
                r: max(0, n - covered.get((a.commune, r), 0))
                for r, n in needs.get(a.commune, {}).items()
            },
        )
        for a in scenario.affected
    )
    return replace(scenario, affected=affected), covered


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

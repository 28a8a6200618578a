"""Incidents: their creation, risk level, confirmation, isolation and closing, by the command of
their area. Their plans live in :mod:`api.services.incident_plans` (their public names stay
importable from here)."""

from __future__ import annotations

from typing import Any

import geopandas as gpd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_role
from api.db import locked
from api.enums import IncidentStatus, Role
from api.errors import BadInput, Conflict, Forbidden, NotFound
from api.models import Incident
from api.services import audit
from api.services.activation import fire_cards

# the plan functions, re-exported: the routes, pages and services import them from here
from api.services.incident_plans import latest_plan as latest_plan
from api.services.incident_plans import plan_incident as plan_incident
from api.services.incident_plans import plan_wants as plan_wants
from api.services.incident_plans import regions_map as regions_map
from geo.needs import Scenario, parse_scenario
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

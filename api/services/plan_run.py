"""Planning an incident out of the write transaction, under a time limit (issue 13).

Three steps, so that no database lock is held while the solver runs:

1. :func:`read_plan_inputs`, in a short read session: the incident, its scenario less what
   offers cover, the stored inventories, the rules in force, the regions, and a fingerprint of
   them (:func:`inputs_version`);
2. :func:`compute`, in a worker thread (never on the event loop), under
   ``LIENXA_PLAN_TIME_LIMIT_S``: the plan, and who can still give to each commune with open
   requests (for :func:`api.services.replan.outdate_requests`);
3. :func:`store_plan`, in one short write transaction that first takes the incident's plan
   lock (:func:`lock_incident_plans`: one store at a time per incident, across servers):
   refuses with ``plan_inputs_changed`` (409) when the fingerprint moved meanwhile, else
   stores the plan and its requests.

:func:`run_plan` chains them and recomputes once when the inputs changed meanwhile.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from dataclasses import dataclass, replace
from typing import Any

import anyio
import geopandas as gpd
import networkx as nx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth import Principal, require_role
from api.db import session_scope
from api.enums import RequestStatus, Role
from api.errors import Conflict, ServiceUnavailable
from api.models import (
    Incident,
    InventoryItem,
    Offer,
    PlanRecord,
    Region,
    RuleVersion,
    SupportRequest,
)
from api.services import audit
from api.services.activation import count_card_requests
from api.services.notify import notify_escalations
from api.services.rules import current_rules
from api.services.workflow import available_inventory
from geo.needs import Scenario, parse_scenario
from geo.plan_area import plan_area, restrict
from geo.plan_settings import planning_day
from geo.planning import PlanParameters, compute_plan
from geo.plans import Plan, PlanError, QuantityRow
from geo.reach import reach_table
from geo.rules import Rule
from geo.solver import road_graph

#: Seconds the answer waits past the time limit for the solver to notice it.
GRACE_S = 2.0


@dataclass(frozen=True)
class PlanInputs:
    """What one plan is computed from, read in one read session."""

    incident_id: int
    scenario: Scenario
    covered: dict[tuple[str, str], int]
    inventory: dict[str, dict[str, int]]
    rules: tuple[Rule, ...]
    regions: dict[str, list[str]]
    params: PlanParameters
    #: the communes with open requests in the incident (whose reach the re-plan checks)
    requesters: tuple[str, ...]
    version: str


@dataclass(frozen=True)
class Computed:
    """A plan and, per commune with open requests, who can still give to it."""

    plan: Plan
    reach: dict[str, frozenset[str]]


def inputs_version(session: Session, incident_id: int) -> str:
    """A fingerprint of what a plan of the incident reads: the incident, the inventories, the
    rules, the regions, the incident's requests and offers (counts, sums, latest changes)."""
    i = session.get(Incident, incident_id)
    parts: list[Any] = [
        None if i is None else (i.status, i.risk_level, i.scenario),
        session.execute(
            select(
                func.count(),
                func.sum(InventoryItem.quantity),
                func.sum(InventoryItem.reserved),
                func.max(InventoryItem.updated_at),
            )
        ).one(),
        session.execute(select(func.count(), func.max(RuleVersion.id))).one(),
        session.execute(select(func.count(), func.max(Region.id))).one(),
        session.execute(
            select(func.count(), func.max(SupportRequest.updated_at)).where(
                SupportRequest.incident_id == incident_id
            )
        ).one(),
        session.execute(
            select(func.count(), func.sum(Offer.quantity), func.max(Offer.updated_at))
            .join(SupportRequest, Offer.request_id == SupportRequest.id)
            .where(SupportRequest.incident_id == incident_id)
        ).one(),
    ]
    text = json.dumps(parts, default=str, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_plan_inputs(
    session: Session,
    principal: Principal,
    incident_id: int,
    gdf: gpd.GeoDataFrame,
    *,
    params: PlanParameters,
) -> PlanInputs:
    """Step 1: the plan's inputs (``params.at`` set to now when None: a live incident).

    Raises
    ------
    Forbidden, NotFound, Conflict
        Not a command or admin; ``incident_not_found``; ``incident_not_active``.
    """
    from api.services.incident_plans import _minus_offers, regions_map
    from api.services.incidents import _require_active, get_incident

    require_role(principal, Role.DEFENCE_COMMAND, Role.ADMIN, action="running a plan")
    i = get_incident(session, incident_id)
    _require_active(i)
    scenario = parse_scenario(i.scenario, gdf=gdf, max_affected=10**6)
    scenario, covered = _minus_offers(session, i.id, scenario)
    if params.at is None:
        params = replace(params, at=dt.datetime.now().astimezone().replace(microsecond=0))
    requesters = session.scalars(
        select(SupportRequest.commune_code)
        .where(SupportRequest.incident_id == i.id, SupportRequest.status == RequestStatus.OPEN)
        .distinct()
    )
    # the regulation's fired cards count as incoming: its partners give first (activation.py)
    scenario, inventory = count_card_requests(session, i.id, scenario, available_inventory(session))
    return PlanInputs(
        incident_id=i.id,
        scenario=scenario,
        covered=covered,
        inventory=inventory,
        rules=tuple(r for _, r in current_rules(session)),
        regions=regions_map(session),
        params=params,
        requesters=tuple(sorted(requesters)),
        version=inputs_version(session, i.id),
    )


def plan_time_limit(limit_s: float) -> ServiceUnavailable:
    """The 503 of a plan that took longer than ``limit_s`` seconds."""
    return ServiceUnavailable(
        f"the plan took longer than its time limit of {limit_s:g} s",
        code="plan_time_limit",
        params={"limit_s": limit_s},
        headers={"Retry-After": "30"},
    )


def compute(G: nx.Graph, inputs: PlanInputs, *, time_limit_s: float | None) -> Computed:
    """Step 2 (no database): the plan, and who can still give to each requesting commune
    (reachable within ``max_hops`` open links, not cut off, not partly isolated).

    Raises
    ------
    ServiceUnavailable
        ``plan_time_limit`` past ``time_limit_s``.
    PlanError, RuleError
        As :func:`geo.planning.compute_plan`.
    """
    try:
        plan = compute_plan(
            G,
            inputs.scenario,
            inputs.inventory,
            rules=inputs.rules,
            params=inputs.params,
            regions=inputs.regions,
            time_limit_s=time_limit_s,
        )
    except PlanError as exc:
        if exc.code == "plan_time_limit" and time_limit_s is not None:
            raise plan_time_limit(time_limit_s) from exc
        raise
    return Computed(plan, givers_within_reach(G, inputs))


def givers_within_reach(G: nx.Graph, inputs: PlanInputs) -> dict[str, frozenset[str]]:
    """Who can still give to each requesting commune: the communes within ``max_hops`` open
    links of it (the plan's road graph, cut down to the requesters' surroundings as the plan
    is, :mod:`geo.plan_area`), less those cut off or partly isolated."""
    known = [c for c in inputs.requesters if c in G]
    reach: dict[str, frozenset[str]] = {c: frozenset() for c in inputs.requesters}
    if not known:
        return reach
    hops, rules = inputs.params.max_hops, list(inputs.rules)
    area = plan_area(G, known, rules, hops)
    local, _, rules = restrict(G, area, {}, rules, day=planning_day(inputs.params.at))
    H = road_graph(local, inputs.scenario, rules, inputs.params)
    T = reach_table(H, known, hops)
    silent = inputs.scenario.isolated("partial") | inputs.scenario.isolated("full")
    for c in known:
        reach[c] = frozenset(g for g, _ in T.reach(c) if g not in silent)
    return reach


#: PostgreSQL advisory lock space (the first key of the two-key form; the second is the
#: incident's id) of :func:`lock_incident_plans`.
PLAN_STORE_LOCK = 7245


def lock_incident_plans(session: Session, incident_id: int) -> None:
    """Serialise the stores of one incident's plans until the transaction ends.

    Two plans of one incident computed at once (two servers, or two workers, each answering a
    "plan" click) each pass the inputs check before the other commits, and the second then
    stores the same requests and escalation notifications again (a unique key violated: a
    500). Taken first, the lock makes the second wait for the first's commit and then see it:
    its inputs changed, so :func:`run_plan` computes again on what the first stored. SQLite's
    write transactions are already serial."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(CAST(:space AS integer), CAST(:incident AS integer))"
            ),
            {"space": PLAN_STORE_LOCK, "incident": incident_id},
        )


def store_plan(
    session: Session,
    principal: Principal,
    inputs: PlanInputs,
    computed: Computed,
    gdf: gpd.GeoDataFrame,
    *,
    create_requests: bool,
) -> dict[str, Any]:
    """Step 3, in the write transaction: the plan stored (and, with ``create_requests``, the
    requests it outdates marked and its new requests made), as its JSON with
    ``outdated_requests``.

    Raises
    ------
    Conflict
        ``incident_not_active``; ``plan_inputs_changed`` when the inputs moved since step 1.
    """
    from api.services.incident_plans import _request_from_plan
    from api.services.incidents import _require_active, get_incident

    lock_incident_plans(session, inputs.incident_id)  # before anything is read
    i = get_incident(session, inputs.incident_id)
    _require_active(i)
    if inputs_version(session, i.id) != inputs.version:
        raise Conflict(
            f"incident {i.id}: stock, offers, requests or rules changed while the plan was "
            "computed; plan again",
            code="plan_inputs_changed",
            params={"incident_id": i.id},
        )
    plan = computed.plan
    rec = PlanRecord(incident_id=i.id, plan=plan.to_json(), created_by=principal.username)
    session.add(rec)
    session.flush()
    notify_escalations(session, i.id, plan.unmet, gdf["province_code"].to_dict())
    plan = replace(
        plan,
        id=rec.id,
        incident_id=i.id,
        covered_by_offers=tuple(
            QuantityRow(c, r, q) for (c, r), q in sorted(inputs.covered.items())
        ),
    )
    created: list[int] = []
    already: list[QuantityRow] = []
    outdated: list[int] = []
    if create_requests:
        created, already, outdated = _request_from_plan(
            session, principal, i.id, rec.id, plan, gdf, reach=computed.reach
        )
    plan = replace(plan, created_requests=tuple(created), already_requested=tuple(already))
    audit.record(
        session,
        actor=principal.describe(),
        action="incident.plan",
        entity="incident",
        entity_id=i.id,
        after={
            "plan_id": rec.id,
            "cost": plan.cost.to_json(),
            "created_requests": created,
            "outdated_requests": outdated,
        },
    )
    return {**plan.to_json(), "outdated_requests": outdated}


def _store(
    principal: Principal,
    inputs: PlanInputs,
    computed: Computed,
    gdf: gpd.GeoDataFrame,
    session: Session,
    *,
    create_requests: bool,
) -> dict[str, Any]:
    return store_plan(session, principal, inputs, computed, gdf, create_requests=create_requests)


async def compute_off_loop(state: Any, inputs: PlanInputs) -> Computed:
    """Step 2 in a worker thread under the settings' time limit; the answer does not wait for a
    solver past it.

    Raises
    ------
    ServiceUnavailable
        ``plan_time_limit`` (503, ``Retry-After``).
    """
    limit = float(state.settings.plan_time_limit_s)
    work = functools.partial(compute, state.graph, inputs, time_limit_s=limit)
    try:
        with anyio.fail_after(limit + GRACE_S):
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)
    except TimeoutError:
        raise plan_time_limit(limit) from None


async def run_plan(
    state: Any,
    principal: Principal,
    writer: Any,
    incident_id: int,
    *,
    params: PlanParameters,
    create_requests: bool,
) -> Any:
    """The three steps, the computation in a worker thread under the settings' time limit
    (the answer does not wait for a solver past it), once more if the inputs changed
    meanwhile; ``writer.run`` makes the write (and its ``Idempotency-Key``)."""

    def read() -> PlanInputs:
        with session_scope(state.read_session) as s:
            return read_plan_inputs(s, principal, incident_id, state.gdf, params=params)

    replay = await run_in_threadpool(writer.replay)
    if replay is not None:  # a repeated Idempotency-Key: the first answer, nothing computed
        return replay
    for attempt in (1, 2):
        inputs = await run_in_threadpool(read)
        computed = await compute_off_loop(state, inputs)
        write = functools.partial(
            _store, principal, inputs, computed, state.gdf, create_requests=create_requests
        )
        try:
            return await run_in_threadpool(writer.run, write)
        except Conflict as exc:
            if exc.code != "plan_inputs_changed" or attempt == 2:
                raise
    raise AssertionError("unreachable")  # pragma: no cover

"""The mutual-aid planner: scenario + inventory + graph (+ rules) -> an optimal, explainable plan.

The plan obeys the five rules of CONTRACT.md:

1. an affected commune uses its own stock first (``on_site = min(need, stock)``);
2. a commune keeps its reserve at home on top of what it uses itself: of stock S, own use U and
   reserve share r it sends at most ``S − U − ⌈r·S⌉`` (:func:`sendable`); an affected commune
   never sends a resource it is short of, and a partly isolated one sends nothing;
3. aid moves along open links only (after the planners' rules and the scenario's closed links),
   over at most ``max_hops`` links, by the cheapest such path; no path enters, leaves or
   crosses a fully isolated commune by road (an ``add_link`` rule whose ``via`` is a boat or a
   ferry, :data:`geo.paths.WATER_LINKS`, still counts);
4. among the plans leaving the least need unmet, it has the least total ``quantity × cost``
   (travel minutes, weighted by the agreement factor on agreement links);
5. what no reachable commune can cover is listed as unmet, with the body it escalates to; a
   fully isolated commune's carries ``"isolated": true`` (by air or boat) and goes to the body
   that commands at the incident's level.

Two phases: relief (the displaced people's needs over ``duration_days``) and, when the scenario
lists damaged houses, recovery (labour and materials over ``recovery_days``,
:meth:`geo.needs.NeedsProfile.recovery_for`). Each phase is planned from the whole stock (the
phases follow each other: the people who helped in the relief are home again, or still there),
and in a plan with a recovery phase every transfer, ledger and unmet row carries its ``phase``.

How: resources are independent (links have no capacity), so each resource is one
transportation problem from communes with something to spare to communes with a gap, over the
cheapest path of at most ``max_hops`` links between them (a hop-limited Bellman-Ford from each
receiver, all receivers at once in array passes: :mod:`geo.reach`). A path through other
communes carries no stock of theirs, so transshipment adds nothing: any flow through an
intermediate commune is a direct supplier-to-receiver transfer on a path no cheaper than the
best one. Each problem is solved exactly, in integers, by OR-Tools'
``SimpleMinCostFlow.solve_max_flow_with_min_cost``: the maximum flow (least unmet need) of least
cost among maximum flows — rule 4's lexicographic objective, with no big-M weight. Costs are
integer thousandths of a minute (``cost_milli`` of :func:`geo.rules.apply_rules`). Ties break
deterministically (arcs in sorted order). The inputs, gaps and spare stocks are (communes ×
resources) arrays (:class:`geo.solver.Problem`), and so is the ledger until its rows are made.

The parts live in their own modules and are re-exported here: the records (:mod:`geo.plans`),
the solver (:mod:`geo.solver`), the settings and the reserve rule (:mod:`geo.plan_settings`),
paths and the command chain (:mod:`geo.paths`), the plan check (:mod:`geo.plan_check`) and the
text summary (:mod:`geo.plan_summary`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np

from geo.needs import NeedsProfile, Scenario, compute_recovery_needs
from geo.paths import commander, escalate_to, hop_limited_paths
from geo.plan_area import plan_area, restrict
from geo.plan_check import validate_plan
from geo.plan_settings import (
    DEFAULT_COMMANDERS,
    DEFAULT_RESERVE_SHARE,
    RESERVE_DEFAULT_KEY,
    TIER_NAMES,
    PlanParameters,
    check_reserve_share,
    planning_day,
    reserve_kept,
    sendable,
)
from geo.plan_summary import summarise_plan
from geo.plans import (
    CommandRow,
    LedgerRow,
    Plan,
    PlanCost,
    PlanError,
    PlanSettings,
    QuantityRow,
    Transfer,
    UnmetRow,
)
from geo.resources import load_catalogue
from geo.rules import Rule
from geo.solver import (
    RECOVERY,
    Flows,
    Problem,
    check_inventory_keys,
    greedy_resource,
    prepare,
    solve_resource,
)

__all__ = [
    "DEFAULT_COMMANDERS",
    "DEFAULT_RESERVE_SHARE",
    "RESERVE_DEFAULT_KEY",
    "TIER_NAMES",
    "CommandRow",
    "LedgerRow",
    "Plan",
    "PlanCost",
    "PlanError",
    "PlanParameters",
    "PlanSettings",
    "QuantityRow",
    "Transfer",
    "UnmetRow",
    "check_reserve_share",
    "compute_plan",
    "greedy_plan",
    "hop_limited_paths",
    "make_plan",
    "reserve_kept",
    "sendable",
    "summarise_plan",
    "validate_plan",
]


def _transfers(
    P: Problem, flows: Mapping[str, Flows], phase: str | None
) -> tuple[list[Transfer], int]:
    """The transfers of one phase, by resource, then receiver and giver in code order, and
    their cost in thousandths (``Σ quantity × cost_milli``, an exact integer). What a pair's
    path comes to (minutes, agreements) is worked out once however many resources it
    carries."""
    ordered = [
        (resource, sorted(flows.get(resource, []), key=lambda t: (t[1], t[0])))
        for resource in P.resources
    ]
    pairs = list(dict.fromkeys((rc, g) for _, rows in ordered for g, rc, _ in rows))
    links = dict(P.H.adjacency())  # {a: {b: edge data}}: no networkx view per link
    routes = {}
    for (rc, g), (milli, back) in zip(pairs, P.reach.routes(pairs), strict=True):
        path = back[::-1]  # giver -> receiver
        edges = [links[a][b] for a, b in pairwise(path)]
        routes[(g, rc)] = (
            path,
            round(sum(e["travel_minutes"] for e in edges), 1),
            milli,
            any(e["agreement"] for e in edges),
            tuple(sorted({str(e["agreement_rule"]) for e in edges if e["agreement"]})),
        )
    out: list[Transfer] = []
    cost_milli = 0
    for resource, rows in ordered:
        for g, rc, q in rows:
            path, minutes, milli, agreed, rules = routes[(g, rc)]
            cost_milli += q * milli
            out.append(
                Transfer(
                    giver=g,
                    receiver=rc,
                    resource=resource,
                    quantity=q,
                    path=path,
                    travel_minutes=minutes,
                    cost=milli / 1000,
                    agreement=agreed,
                    agreement_rules=rules,
                    phase=phase,
                )
            )
    return out, cost_milli


def _ledger(
    P: Problem,
    scenario: Scenario,
    transfers: Iterable[Transfer],
    escalate: Callable[[str], str],
    phase: str | None,
) -> tuple[list[LedgerRow], list[UnmetRow]]:
    """The ledger of one phase — a row per affected commune (in the scenario's order) and
    resource (in catalogue order) that it needs or sends — and its unmet rows."""
    sent = np.zeros_like(P.need)
    received = np.zeros_like(P.need)
    transfers = list(transfers)
    if transfers:
        position, column, n = P.position, P.column, len(transfers)
        g = np.fromiter((position[t.giver] for t in transfers), np.int64, n)
        r = np.fromiter((position[t.receiver] for t in transfers), np.int64, n)
        k = np.fromiter((column[t.resource] for t in transfers), np.int64, n)
        q = np.fromiter((t.quantity for t in transfers), np.int64, n)
        np.add.at(sent, (g, k), q)
        np.add.at(received, (r, k), q)
    affected = scenario.affected_codes  # a list made on each call
    rows = np.asarray([P.position[c] for c in affected], np.int64)
    cols = np.asarray([P.column[r] for r in P.resources], np.int64)
    pick = np.ix_(rows, cols)
    need, stock, s, rec = P.need[pick], P.stock[pick], sent[pick], received[pick]
    on = np.minimum(need, stock)
    short = need - on - rec
    i, j = np.nonzero((need > 0) | (s > 0))  # row-major: commune by commune
    codes = [affected[x] for x in i.tolist()]
    names = [P.resources[x] for x in j.tolist()]
    ledger = list(
        map(
            LedgerRow,
            codes,
            names,
            need[i, j].tolist(),
            on[i, j].tolist(),
            rec[i, j].tolist(),
            s[i, j].tolist(),
            short[i, j].tolist(),
            stock[i, j].tolist(),
            P.reserve[pick][i, j].tolist(),
            [phase] * len(codes),
        )
    )
    full = scenario.isolated("full")
    unmet = [
        UnmetRow(c, r, q, escalate(c), isolated=True if c in full else None, phase=phase)
        for c, r, q in zip(codes, names, short[i, j].tolist(), strict=True)
        if q > 0
    ]
    return ledger, unmet


def _escalation(
    scenario: Scenario, P: Problem, params: PlanParameters, regions: Mapping[str, Iterable[str]]
) -> Callable[[str], str]:
    """Where a commune's unmet need goes: the next body up; for a fully isolated commune (aid by
    air or boat) the body that commands at the incident's level, when that is above the
    commune."""
    full = scenario.isolated("full")
    n = len(scenario.affected)
    known: dict[str, str] = {}  # one answer per commune, however many resources it lacks

    def to(c: str) -> str:
        if c not in known:
            cmd = commander(c, scenario.risk_level, n, P.H, regions, params) if c in full else None
            if cmd is not None and cmd.tier != "commune":
                known[c] = cmd.commander
            else:
                known[c] = escalate_to(c, P.H, regions, params)
        return known[c]

    return to


def _assemble(
    problems: Sequence[tuple[Problem, Mapping[str, Flows]]],
    scenario: Scenario,
    params: PlanParameters,
    regions: Mapping[str, Iterable[str]],
    method: str,
) -> Plan:
    transfers: list[Transfer] = []
    ledger: list[LedgerRow] = []
    unmet: list[UnmetRow] = []
    transport_milli = 0
    phased = len(problems) > 1  # rows carry their phase only in a plan with a recovery phase
    for P, flows in problems:
        phase = P.phase if phased else None
        mine, milli = _transfers(P, flows, phase)
        transport_milli += milli
        rows, short = _ledger(P, scenario, mine, _escalation(scenario, P, params, regions), phase)
        transfers += mine
        ledger += rows
        unmet += short
    H = problems[0][0].H
    n = len(scenario.affected)
    return Plan(
        scenario=scenario.name,
        method=method,
        parameters=PlanSettings(
            max_hops=params.max_hops,
            reserve_share=check_reserve_share(params.reserve_share, catalogue=load_catalogue()),
            agreement_factor=params.agreement_factor,
            speed_kmh=params.speed_kmh,
            at=params.at,
            risk_level=scenario.risk_level,
            duration_days=scenario.duration_days,
            warnings=tuple(scenario.warnings) or None,
        ),
        transfers=tuple(transfers),
        ledger=tuple(ledger),
        unmet=tuple(unmet),
        command=tuple(
            commander(c, scenario.risk_level, n, H, regions, params)
            for c in scenario.affected_codes
        ),
        cost=PlanCost(sum(u.quantity for u in unmet), round(transport_milli / 1000, 3)),
    )


def _local(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    rules: list[Rule],
    params: PlanParameters,
) -> tuple[nx.Graph, Mapping[str, Mapping[str, int]], list[Rule]]:
    """The graph, inventory and rules cut down to the communes the plan can reach
    (:mod:`geo.plan_area`), after the checks that concern the whole of them."""
    unknown = [c for c in scenario.affected_codes if c not in G]
    if unknown:
        raise PlanError(
            f"affected commune {unknown[0]} is not in the boundaries",
            code="unknown_commune",
            field="affected",
            params={"commune": unknown[0]},
        )
    check_inventory_keys(G, inventory, load_catalogue())
    area = plan_area(G, scenario.affected_codes, rules, params.max_hops)
    return restrict(G, area, inventory, rules, day=planning_day(params.at))


_SOLVERS: dict[str, tuple[Callable[[Problem, str], Flows], str]] = {
    "optimal": (solve_resource, "optimal (min-cost max-flow)"),
    "greedy": (greedy_resource, "greedy (nearest first)"),
}


def compute_plan(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    *,
    rules: Iterable[Rule] = (),
    params: PlanParameters | None = None,
    needs_profile: NeedsProfile | None = None,
    regions: Mapping[str, Iterable[str]] | None = None,
    method: str = "optimal",
    time_limit_s: float | None = None,
) -> Plan:
    """The optimal mutual-aid plan, as a :class:`~geo.plans.Plan` record (its ``to_json()``
    is the plan JSON of CONTRACT.md, plus ``command``, ``method`` and per-transfer ``cost``
    and ``agreement_rules``).

    Parameters
    ----------
    G
        The adjacency graph.
    scenario
        A validated scenario (:func:`geo.needs.parse_scenario`).
    inventory
        ``{commune: {resource: quantity}}``; communes absent have nothing.
    rules
        Adjacency rules (:func:`geo.rules.parse_rules`).
    params
        :class:`PlanParameters`. The rules apply as on ``params.at`` (today when None); the
        plan's ``parameters`` record that day (or instant, ISO 8601) as ``at`` and the reserve
        shares as used (:func:`check_reserve_share`).
    needs_profile
        Ratios turning displaced people into needs (default :class:`geo.needs.NeedsProfile`).
    regions
        ``{region name: communes}``: regional defence commands for the command chain.
    method
        ``optimal`` (min-cost max-flow) or ``greedy`` (the baseline of :func:`greedy_plan`).
    time_limit_s
        Seconds of wall time the plan may take (None: no limit). OR-Tools' min-cost-flow
        solver takes no time limit, so the limit is checked between the steps (the graph,
        each phase, each resource): a plan stops within one resource's solve of it.

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        Unknown communes or resources in the inputs, bad parameters, a solver failure;
        ``plan_time_limit`` (params ``limit_s``) past ``time_limit_s``.
    RuleError
        A rule that does not fit the graph.
    """
    started = time.monotonic()

    def check_time() -> None:
        if time_limit_s is not None and time.monotonic() - started > time_limit_s:
            raise PlanError(
                f"the plan took longer than its time limit of {time_limit_s:g} s",
                code="plan_time_limit",
                params={"limit_s": time_limit_s},
            )

    if method not in _SOLVERS:
        raise PlanError(
            f"method must be one of {', '.join(_SOLVERS)}, got {method!r}",
            code="unknown_method",
            field="method",
            params={"method": method},
        )
    solve, label = _SOLVERS[method]
    params = params or PlanParameters()
    if params.at is None:  # one day for the whole plan, recorded in it
        params = replace(params, at=planning_day(None))
    G, inventory, rules = _local(G, scenario, inventory, list(rules), params)
    P = prepare(G, scenario, inventory, rules, params, needs_profile)
    problems = [P]
    if compute_recovery_needs(scenario, needs_profile):
        problems.append(
            prepare(G, scenario, inventory, rules, params, needs_profile, phase=RECOVERY, H=P.H)
        )
    solved = []
    for Q in problems:
        flows = {}
        for r in Q.resources:
            check_time()
            flows[r] = solve(Q, r)
        solved.append((Q, flows))
    check_time()
    # each region's communes as a set once, not once per commune looked up
    members = {name: frozenset(cs) for name, cs in (regions or {}).items()}
    return _assemble(solved, scenario, params, members, label)


def make_plan(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    *,
    rules: Iterable[Rule] = (),
    params: PlanParameters | None = None,
    needs_profile: NeedsProfile | None = None,
    regions: Mapping[str, Iterable[str]] | None = None,
    method: str = "optimal",
) -> dict[str, Any]:
    """The optimal mutual-aid plan as JSON: ``compute_plan(...).to_json()`` (see
    :func:`compute_plan` for the parameters).

    Raises
    ------
    PlanError
        Unknown communes or resources in the inputs, bad parameters, a solver failure.
    RuleError
        A rule that does not fit the graph.
    """
    return compute_plan(
        G,
        scenario,
        inventory,
        rules=rules,
        params=params,
        needs_profile=needs_profile,
        regions=regions,
        method=method,
    ).to_json()


def greedy_plan(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    *,
    rules: Iterable[Rule] = (),
    params: PlanParameters | None = None,
    needs_profile: NeedsProfile | None = None,
    regions: Mapping[str, Iterable[str]] | None = None,
) -> dict[str, Any]:
    """The obvious greedy baseline (same inputs and output as :func:`make_plan`): each affected
    commune, largest gap first, takes from its nearest reachable suppliers.

    Raises
    ------
    PlanError, RuleError
        As :func:`make_plan`.
    """
    return make_plan(
        G,
        scenario,
        inventory,
        rules=rules,
        params=params,
        needs_profile=needs_profile,
        regions=regions,
        method="greedy",
    )

"""The mutual-aid planner: scenario + inventory + graph (+ rules) -> an optimal, explainable plan.

The plan obeys the five rules of CONTRACT.md:

1. an affected commune uses its own stock first (``on_site = min(need, stock)``);
2. a commune never sends from its reserve (``ceil(reserve_share × stock)``, or what it uses
   itself if more), and an affected commune never sends a resource it is short of;
3. aid moves along open links only (after the planners' rules and the scenario's closed links),
   over at most ``max_hops`` links, by the cheapest such path;
4. among the plans leaving the least need unmet, it has the least total ``quantity × cost``
   (travel minutes, weighted by the agreement factor on agreement links);
5. what no reachable commune can cover is listed as unmet, with the body it escalates to.

How: resources are independent (links have no capacity), so each resource is one
transportation problem from communes with something to spare to communes with a gap, over the
cheapest path of at most ``max_hops`` links between them (a hop-limited Bellman-Ford from each
receiver). A path through other communes carries no stock of theirs, so transshipment adds
nothing: any flow through an intermediate commune is a direct supplier-to-receiver transfer on a
path no cheaper than the best one. Each problem is solved exactly, in integers, by OR-Tools'
``SimpleMinCostFlow.solve_max_flow_with_min_cost``: the maximum flow (least unmet need) of least
cost among maximum flows — rule 4's lexicographic objective, with no big-M weight. Costs are
integer thousandths of a minute (``cost_milli`` of :func:`geo.rules.apply_rules`). Ties break
deterministically (arcs in sorted order).

The parts live in their own modules and are re-exported here: the records
(:mod:`geo.plans`), the settings and the reserve rule (:mod:`geo.plan_settings`), paths and the
command chain (:mod:`geo.paths`), the plan check (:mod:`geo.plan_check`) and the text summary
(:mod:`geo.plan_summary`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np

from geo.needs import NeedsProfile, Scenario, compute_needs
from geo.paths import Paths, agreement_cap, commander, escalate_to, hop_limited_paths
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
from geo.rules import Rule, apply_rules

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

#: ``[(giver, receiver, quantity)]`` of one resource.
Flows = list[tuple[str, str, int]]


@dataclass
class _Problem:
    """The per-resource inputs shared by the optimal and greedy planners."""

    H: nx.Graph
    needs: dict[str, dict[str, int]]
    stock: dict[str, dict[str, int]]
    resources: list[str]
    on_site: dict[tuple[str, str], int]
    gap: dict[tuple[str, str], int]
    spare: dict[tuple[str, str], int]
    reserve: dict[tuple[str, str], int]
    paths: dict[str, Paths]


def _check_inputs(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    catalogue: Mapping[str, Any],
) -> None:
    for code in scenario.affected_codes:
        if code not in G:
            raise PlanError(
                f"affected commune {code} is not in the boundaries",
                code="unknown_commune",
                field="affected",
                params={"commune": code},
            )
    for code, items in inventory.items():
        if code not in G:
            raise PlanError(
                f"inventory names commune {code!r}, which is not in the boundaries",
                code="unknown_commune",
                field="inventory",
                params={"commune": code},
            )
        for key, q in items.items():
            if key not in catalogue:
                raise PlanError(
                    f"inventory of {code}: unknown resource {key!r}",
                    code="unknown_resource",
                    field="inventory",
                    params={"commune": code, "resource": key},
                )
            if not isinstance(q, (int, np.integer)) or q < 0:
                raise PlanError(
                    f"inventory of {code}: {key} must be an integer >= 0, got {q!r}",
                    code="quantity_not_integer",
                    field="inventory",
                    params={"commune": code, "resource": key, "value": repr(q)},
                )


def _check_needs(needs: Mapping[str, Mapping[str, int]], catalogue: Mapping[str, Any]) -> None:
    for code, items in needs.items():
        unknown = sorted(set(items) - set(catalogue))
        if unknown:
            raise PlanError(
                f"needs of {code}: unknown resource(s) {', '.join(map(repr, unknown))}",
                code="unknown_resource",
                field="needs",
                params={"commune": code, "resource": ", ".join(unknown)},
            )


def _prepare(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    rules: Iterable[Rule],
    params: PlanParameters,
    needs_profile: NeedsProfile | None,
) -> _Problem:
    catalogue = load_catalogue()
    params.check(catalogue)
    _check_inputs(G, scenario, inventory, catalogue)
    H = apply_rules(
        G,
        rules,
        at=planning_day(params.at),
        closed_links=scenario.closed_links,
        speed_kmh=params.speed_kmh,
        agreement_factor=params.agreement_factor,
    )
    needs = compute_needs(scenario, needs_profile)
    _check_needs(needs, catalogue)
    resources = [r for r in catalogue if any(r in n for n in needs.values())]
    stock = {c: {k: int(v) for k, v in items.items()} for c, items in inventory.items()}
    spare: dict[tuple[str, str], int] = {}
    reserve: dict[tuple[str, str], int] = {}
    for c, items in stock.items():
        for r, q in items.items():
            reserve[(c, r)] = reserve_kept(q, params.reserve_for(r))
            s = params.sendable(r, q, needs.get(c, {}).get(r, 0))
            if s > 0:
                spare[(c, r)] = s
    on_site: dict[tuple[str, str], int] = {}
    gap: dict[tuple[str, str], int] = {}
    for c, items in needs.items():
        for r, need in items.items():
            have = stock.get(c, {}).get(r, 0)
            on_site[(c, r)] = min(need, have)
            if need > have:
                gap[(c, r)] = need - have
    receivers = sorted({c for c, _ in gap})
    paths = {c: hop_limited_paths(H, c, params.max_hops) for c in receivers}
    return _Problem(H, needs, stock, resources, on_site, gap, spare, reserve, paths)


def _solve_resource(P: _Problem, resource: str) -> Flows:
    """Optimal transfers of one resource: ``[(giver, receiver, quantity)]``."""
    from ortools.graph.python import min_cost_flow

    receivers = sorted(c for (c, r) in P.gap if r == resource)
    givers = sorted(c for (c, r) in P.spare if r == resource)
    if not receivers or not givers:
        return []
    gi = {c: i for i, c in enumerate(givers)}
    ri = {c: len(givers) + i for i, c in enumerate(receivers)}
    tails: list[int] = []
    heads: list[int] = []
    caps: list[int] = []
    costs: list[int] = []
    arcs: list[tuple[str, str]] = []
    for rc in receivers:
        reach = P.paths[rc]
        for g in givers:
            if g == rc or g not in reach:
                continue
            cap = agreement_cap(P.H, g, rc, resource)
            limit = min(
                P.gap[(rc, resource)], P.spare[(g, resource)], cap if cap is not None else 1 << 62
            )
            if limit <= 0:
                continue
            tails.append(gi[g])
            heads.append(ri[rc])
            caps.append(limit)
            costs.append(reach[g][0])
            arcs.append((g, rc))
    if not arcs:
        return []
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        np.asarray(tails, np.int32),
        np.asarray(heads, np.int32),
        np.asarray(caps, np.int64),
        np.asarray(costs, np.int64),
    )
    nodes = np.arange(len(givers) + len(receivers), dtype=np.int32)
    supplies = np.array(
        [P.spare[(g, resource)] for g in givers] + [-P.gap[(r, resource)] for r in receivers],
        np.int64,
    )
    smcf.set_nodes_supplies(nodes, supplies)
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise PlanError(
            f"the flow solver failed for {resource}: {status}",
            code="solver_failed",
            params={"resource": resource, "status": str(status)},
        )
    flows = smcf.flows(np.arange(len(arcs), dtype=np.int32))
    return [(g, r, int(f)) for (g, r), f in zip(arcs, flows, strict=True) if f > 0]


def _greedy_resource(P: _Problem, resource: str) -> Flows:
    """Greedy baseline: receivers by largest gap first, each from its nearest suppliers."""
    left = {c: q for (c, r), q in P.spare.items() if r == resource}
    out: Flows = []
    receivers = sorted(
        (c for (c, r) in P.gap if r == resource), key=lambda c: (-P.gap[(c, resource)], c)
    )
    for rc in receivers:
        want = P.gap[(rc, resource)]
        for g, _ in sorted(P.paths[rc].items(), key=lambda kv: (kv[1][0], kv[0])):
            if want == 0:
                break
            cap = agreement_cap(P.H, g, rc, resource)
            q = min(want, left.get(g, 0), cap if cap is not None else want)
            if q > 0:
                out.append((g, rc, q))
                left[g] -= q
                want -= q
    return out


def _transfer(P: _Problem, giver: str, receiver: str, resource: str, quantity: int) -> Transfer:
    cost_milli, back = P.paths[receiver][giver]
    path = list(reversed(back))  # giver -> receiver
    edges = [P.H.edges[a, b] for a, b in pairwise(path)]
    return Transfer(
        giver=giver,
        receiver=receiver,
        resource=resource,
        quantity=quantity,
        path=tuple(path),
        travel_minutes=round(sum(e["travel_minutes"] for e in edges), 1),
        cost=cost_milli / 1000,
        agreement=any(e["agreement"] for e in edges),
        agreement_rules=tuple(sorted({str(e["agreement_rule"]) for e in edges if e["agreement"]})),
    )


def _ledger(
    P: _Problem,
    scenario: Scenario,
    transfers: Iterable[Transfer],
    escalate: Callable[[str], str],
) -> tuple[list[LedgerRow], list[UnmetRow]]:
    received: dict[tuple[str, str], int] = {}
    sent: dict[tuple[str, str], int] = {}
    for t in transfers:
        received[(t.receiver, t.resource)] = received.get((t.receiver, t.resource), 0) + t.quantity
        sent[(t.giver, t.resource)] = sent.get((t.giver, t.resource), 0) + t.quantity
    ledger: list[LedgerRow] = []
    unmet: list[UnmetRow] = []
    for c in scenario.affected_codes:
        for resource in P.resources:
            need = P.needs.get(c, {}).get(resource, 0)
            s = sent.get((c, resource), 0)
            if need == 0 and s == 0:
                continue
            on = P.on_site.get((c, resource), 0)
            rec = received.get((c, resource), 0)
            short = need - on - rec
            ledger.append(
                LedgerRow(
                    commune=c,
                    resource=resource,
                    need=need,
                    on_site=on,
                    received=rec,
                    sent=s,
                    unmet=short,
                    stock=P.stock.get(c, {}).get(resource, 0),
                    reserve=P.reserve.get((c, resource), 0),
                )
            )
            if short > 0:
                unmet.append(UnmetRow(c, resource, short, escalate(c)))
    return ledger, unmet


def _assemble(
    P: _Problem,
    scenario: Scenario,
    transfers_by_resource: Mapping[str, Flows],
    params: PlanParameters,
    regions: Mapping[str, Iterable[str]],
    method: str,
) -> Plan:
    transfers = [
        _transfer(P, g, rc, resource, q)
        for resource in P.resources
        for g, rc, q in sorted(transfers_by_resource.get(resource, []), key=lambda t: (t[1], t[0]))
    ]
    transport = 0.0
    for t in transfers:  # as q × cost_milli / 1000, summed in order: the figure stays exact
        transport += t.quantity * P.paths[t.receiver][t.giver][0] / 1000
    ledger, unmet = _ledger(P, scenario, transfers, lambda c: escalate_to(c, P.H, regions, params))
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
        ),
        transfers=tuple(transfers),
        ledger=tuple(ledger),
        unmet=tuple(unmet),
        command=tuple(
            commander(c, scenario.risk_level, n, P.H, regions, params)
            for c in scenario.affected_codes
        ),
        cost=PlanCost(sum(u.quantity for u in unmet), round(transport, 3)),
    )


_SOLVERS: dict[str, tuple[Callable[[_Problem, str], Flows], str]] = {
    "optimal": (_solve_resource, "optimal (min-cost max-flow)"),
    "greedy": (_greedy_resource, "greedy (nearest first)"),
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

    Returns
    -------
    Plan

    Raises
    ------
    PlanError
        Unknown communes or resources in the inputs, bad parameters, a solver failure.
    RuleError
        A rule that does not fit the graph.
    """
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
    P = _prepare(G, scenario, inventory, rules, params, needs_profile)
    flows = {r: solve(P, r) for r in P.resources}
    return _assemble(P, scenario, flows, params, regions or {}, label)


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

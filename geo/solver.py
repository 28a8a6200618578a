"""The planner's solver: the per-resource problem (gaps, spare, cheapest paths) and its two
solutions, optimal (OR-Tools min-cost max-flow) and greedy (nearest first).

See :mod:`geo.planning` for why each resource is one transportation problem over hop-limited
cheapest paths, solved exactly in integers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from geo.needs import NeedsProfile, Scenario, compute_needs, compute_recovery_needs
from geo.paths import Paths, agreement_cap, hop_limited_paths, isolate
from geo.plan_settings import PlanParameters, planning_day, reserve_kept, sendable
from geo.plans import PlanError
from geo.resources import load_catalogue
from geo.rules import Rule, apply_rules

#: The phases of a plan: relief (the displaced people's needs) and recovery (the damaged houses').
RELIEF = "relief"
RECOVERY = "recovery"

#: ``[(giver, receiver, quantity)]`` of one resource.
Flows = list[tuple[str, str, int]]


@dataclass
class Problem:
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
    phase: str = "relief"


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


def road_graph(
    G: nx.Graph, scenario: Scenario, rules: Iterable[Rule], params: PlanParameters
) -> nx.Graph:
    """The links usable in this event: the planners' rules as on the planning day, less the
    scenario's closed links and the road links of its fully isolated communes
    (:func:`geo.paths.isolate`)."""
    H = apply_rules(
        G,
        rules,
        at=planning_day(params.at),
        closed_links=scenario.closed_links,
        speed_kmh=params.speed_kmh,
        agreement_factor=params.agreement_factor,
    )
    return isolate(H, scenario.isolated("full"))


def prepare(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    rules: Iterable[Rule],
    params: PlanParameters,
    needs_profile: NeedsProfile | None,
    *,
    phase: str = RELIEF,
    H: nx.Graph | None = None,
) -> Problem:
    """The problem of one phase (``relief``: the displaced people's needs over the duration;
    ``recovery``: the damaged houses' over the recovery days). ``H``: the graph of
    :func:`road_graph`, when already built."""
    catalogue = load_catalogue()
    params.check(catalogue)
    _check_inputs(G, scenario, inventory, catalogue)
    if H is None:
        H = road_graph(G, scenario, rules, params)
    if phase == RECOVERY:
        needs = compute_recovery_needs(scenario, needs_profile)
    else:
        needs = compute_needs(scenario, needs_profile)
    _check_needs(needs, catalogue)
    resources = [r for r in catalogue if any(r in n for n in needs.values())]
    stock = {c: {k: int(v) for k, v in items.items()} for c, items in inventory.items()}
    silent = scenario.isolated("partial")  # partly isolated: receives, gives nothing
    spare: dict[tuple[str, str], int] = {}
    reserve: dict[tuple[str, str], int] = {}
    for c, items in stock.items():
        for r, q in items.items():
            share = params.reserve_for(r)
            reserve[(c, r)] = reserve_kept(q, share)
            s = 0 if c in silent else sendable(q, needs.get(c, {}).get(r, 0), share)
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
    return Problem(H, needs, stock, resources, on_site, gap, spare, reserve, paths, phase)


def solve_resource(P: Problem, resource: str) -> Flows:
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


def greedy_resource(P: Problem, resource: str) -> Flows:
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

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
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import networkx as nx
import numpy as np

from geo.errors import LienXaError
from geo.needs import NeedsProfile, Scenario, compute_needs
from geo.resources import format_count_vi, load_catalogue, quantity_vi
from geo.rules import DEFAULT_AGREEMENT_FACTOR, Rule, apply_rules


class PlanError(LienXaError):
    """A plan cannot be computed as asked."""


#: Who commands at each risk level (Decree 66/2021/NĐ-CP, with the district tier replaced by the
#: regional defence command where the commune belongs to one, else by the province). Configurable.
DEFAULT_COMMANDERS: dict[int, str] = {
    1: "commune",
    2: "region",
    3: "province",
    4: "province",
    5: "national",
}

TIER_NAMES = {
    "commune": "Chủ tịch UBND {commune} (Ban Chỉ huy PTDS xã)",
    "region": "Ban Chỉ huy phòng thủ khu vực {region}",
    "province": "Chủ tịch UBND tỉnh {province} (Ban Chỉ huy PTDS tỉnh)",
    "national": "Ban Chỉ đạo quốc gia về PCTT (Thủ tướng Chính phủ)",
}


#: The reserve share of a resource a mapping does not name (and of every resource by default).
DEFAULT_RESERVE_SHARE = 0.3

#: The key of a reserve-share mapping that sets the share of the resources it does not name.
RESERVE_DEFAULT_KEY = "default"


def _share(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise PlanError(f"{what} must be a number between 0 and 1, got {value!r}")
    return float(value)


def check_reserve_share(
    reserve_share: Any, *, catalogue: Collection[str] | None = None
) -> float | dict[str, float]:
    """Validate a reserve share and return it in its plain form.

    Parameters
    ----------
    reserve_share
        One share in [0, 1] for every resource, or a mapping ``{"default": share, resource:
        share, ...}``: the resources it names keep their own share, the others ``"default"``
        (:data:`DEFAULT_RESERVE_SHARE` when the mapping has no ``"default"``).
    catalogue
        The resource keys a mapping may name (:func:`geo.resources.load_catalogue`); None
        checks the shares only.

    Returns
    -------
    float or dict
        The share as a float, or the mapping as ``{"default": share, resource: share, ...}``
        with ``"default"`` always present, first, then the resources in catalogue order (in
        the given order without a catalogue): exactly what a plan uses.

    Raises
    ------
    PlanError
        Naming the item: a share outside [0, 1] or not a number, a key that is no resource.
    """
    if not isinstance(reserve_share, Mapping):
        return _share(reserve_share, "reserve_share")
    out = {
        RESERVE_DEFAULT_KEY: _share(
            reserve_share.get(RESERVE_DEFAULT_KEY, DEFAULT_RESERVE_SHARE),
            f"reserve_share.{RESERVE_DEFAULT_KEY}",
        )
    }
    keys = [k for k in reserve_share if k != RESERVE_DEFAULT_KEY]
    if catalogue is not None:
        known = list(catalogue)
        unknown = [k for k in keys if k not in known]
        if unknown:
            raise PlanError(
                f"reserve_share: unknown resource(s) {', '.join(map(repr, unknown))} "
                f"(known: {', '.join(known)}; {RESERVE_DEFAULT_KEY!r} sets the others)"
            )
        keys = [k for k in known if k in reserve_share]
    for key in keys:
        out[str(key)] = _share(reserve_share[key], f"reserve_share.{key}")
    return out


def _day(at: dt.date | dt.datetime | None) -> dt.date:
    """The day rules are judged on: ``at``'s date (in its own time zone), today without it."""
    if at is None:
        return dt.date.today()
    return at.date() if isinstance(at, dt.datetime) else at


@dataclass(frozen=True)
class PlanParameters:
    """Planner settings.

    ``reserve_share`` is one share for every resource or ``{"default": share, resource: share}``
    (see :func:`check_reserve_share`; without ``"default"`` the others keep
    :data:`DEFAULT_RESERVE_SHARE`). ``at`` is the date (or instant) on which the rules' validity
    periods are judged: today when None, a past date to replay an event, a future one for an
    exercise.
    """

    max_hops: int = 2
    reserve_share: float | Mapping[str, float] = DEFAULT_RESERVE_SHARE
    agreement_factor: float = DEFAULT_AGREEMENT_FACTOR
    speed_kmh: float = 30.0
    command_chain: tuple[str, ...] = ("commune", "region", "province", "national")
    commanders: Mapping[int, str] = field(default_factory=lambda: dict(DEFAULT_COMMANDERS))
    tier_names: Mapping[str, str] = field(default_factory=lambda: dict(TIER_NAMES))
    at: dt.date | dt.datetime | None = None

    def reserve_for(self, resource: str) -> float:
        if isinstance(self.reserve_share, Mapping):
            return float(
                self.reserve_share.get(
                    resource, self.reserve_share.get(RESERVE_DEFAULT_KEY, DEFAULT_RESERVE_SHARE)
                )
            )
        return float(self.reserve_share)

    def check(self, catalogue: Collection[str] | None = None) -> None:
        """Raise :class:`PlanError` naming the first bad setting (reserve keys checked against
        ``catalogue`` when given)."""
        if not isinstance(self.max_hops, int) or self.max_hops < 1:
            raise PlanError(f"max_hops must be an integer >= 1, got {self.max_hops!r}")
        check_reserve_share(self.reserve_share, catalogue=catalogue)
        if self.at is not None and not isinstance(self.at, dt.date):
            raise PlanError(f"at must be a date or a datetime, got {self.at!r}")


def hop_limited_paths(
    H: nx.Graph, source: str, max_hops: int, *, weight: str = "cost_milli"
) -> dict[str, tuple[int, list[str]]]:
    """Cheapest paths of at most ``max_hops`` links from ``source`` to every reachable node.

    Returns ``{node: (cost, path)}`` (the source excluded). Bellman-Ford limited to
    ``max_hops`` rounds; ties break by the lexicographically smaller path.
    """
    best: dict[str, tuple[int, list[str]]] = {source: (0, [source])}
    frontier = {source: (0, [source])}
    for _ in range(max_hops):
        nxt: dict[str, tuple[int, list[str]]] = {}
        for u in sorted(frontier):
            cu, pu = frontier[u]
            for v, e in H[u].items():
                if v in pu:
                    continue
                cand = (cu + e[weight], pu + [v])
                cur = nxt.get(v)
                if cur is None or cand < cur:
                    nxt[v] = cand
        frontier = {}
        for v, cand in nxt.items():
            cur = best.get(v)
            if cur is None or cand < cur:
                best[v] = cand
                frontier[v] = cand
        if not frontier:
            break
    best.pop(source)
    return best


def _escalate_to(
    commune: str,
    H: nx.Graph,
    regions: Mapping[str, Iterable[str]],
    params: PlanParameters,
    *,
    start: str = "commune",
) -> str:
    """The next body up the command chain above ``start`` for ``commune``."""
    chain = list(params.command_chain)
    i = chain.index(start) + 1 if start in chain else 0
    region = next((name for name, members in regions.items() if commune in set(members)), None)
    node = H.nodes[commune] if commune in H else {}
    for tier in chain[i:]:
        if tier == "region" and region is None:
            continue
        return params.tier_names[tier].format(
            commune=node.get("full_name", commune),
            region=region,
            province=node.get("province_name", ""),
        )
    return params.tier_names.get("national", "national")


def _commander(
    commune: str,
    level: int,
    n_affected: int,
    H: nx.Graph,
    regions: Mapping[str, Iterable[str]],
    params: PlanParameters,
) -> dict[str, Any]:
    tier = params.commanders.get(level, "province")
    # Decree 66/2021: an event over two or more communes passes command one tier up
    if tier == "commune" and n_affected > 1:
        tier = "region"
    region = next((name for name, members in regions.items() if commune in set(members)), None)
    if tier == "region" and region is None:
        tier = "province"
    node = H.nodes[commune] if commune in H else {}
    return {
        "commune": commune,
        "risk_level": level,
        "tier": tier,
        "commander": params.tier_names[tier].format(
            commune=node.get("full_name", commune),
            region=region,
            province=node.get("province_name", ""),
        ),
    }


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
    paths: dict[str, dict[str, tuple[int, list[str]]]]


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
    for code in scenario.affected_codes:
        if code not in G:
            raise PlanError(f"affected commune {code} is not in the boundaries")
    for code, items in inventory.items():
        if code not in G:
            raise PlanError(f"inventory names commune {code!r}, which is not in the boundaries")
        for key, q in items.items():
            if key not in catalogue:
                raise PlanError(f"inventory of {code}: unknown resource {key!r}")
            if not isinstance(q, (int, np.integer)) or q < 0:
                raise PlanError(f"inventory of {code}: {key} must be an integer >= 0, got {q!r}")
    H = apply_rules(
        G,
        rules,
        at=_day(params.at),
        closed_links=scenario.closed_links,
        speed_kmh=params.speed_kmh,
        agreement_factor=params.agreement_factor,
    )
    needs = compute_needs(scenario, needs_profile)
    for code, items in needs.items():
        unknown = sorted(set(items) - set(catalogue))
        if unknown:
            raise PlanError(f"needs of {code}: unknown resource(s) {', '.join(map(repr, unknown))}")
    resources = [r for r in catalogue if any(r in n for n in needs.values())]
    stock = {c: {k: int(v) for k, v in items.items()} for c, items in inventory.items()}
    on_site, gap, spare, reserve = {}, {}, {}, {}
    for c, items in stock.items():
        for r, q in items.items():
            need = needs.get(c, {}).get(r, 0)
            used = min(need, q)
            keep = max(used, math.ceil(params.reserve_for(r) * q - 1e-9))
            reserve[(c, r)] = math.ceil(params.reserve_for(r) * q - 1e-9)
            if need > q:  # short of it: sends nothing
                continue
            if q - keep > 0:
                spare[(c, r)] = q - keep
    for c, items in needs.items():
        for r, need in items.items():
            have = stock.get(c, {}).get(r, 0)
            on_site[(c, r)] = min(need, have)
            if need > have:
                gap[(c, r)] = need - have
    receivers = sorted({c for c, _ in gap})
    paths = {c: hop_limited_paths(H, c, params.max_hops) for c in receivers}
    return _Problem(H, needs, stock, resources, on_site, gap, spare, reserve, paths)


def _cap(H: nx.Graph, giver: str, receiver: str, resource: str) -> int | None:
    if not H.has_edge(giver, receiver):
        return None
    caps = H.edges[giver, receiver].get("caps") or {}
    return caps.get(giver, {}).get(resource)


def _solve_resource(P: _Problem, resource: str) -> list[tuple[str, str, int]]:
    """Optimal transfers of one resource: ``[(giver, receiver, quantity)]``."""
    from ortools.graph.python import min_cost_flow

    receivers = sorted(c for (c, r) in P.gap if r == resource)
    givers = sorted(c for (c, r) in P.spare if r == resource)
    if not receivers or not givers:
        return []
    gi = {c: i for i, c in enumerate(givers)}
    ri = {c: len(givers) + i for i, c in enumerate(receivers)}
    tails, heads, caps, costs, arcs = [], [], [], [], []
    for rc in receivers:
        reach = P.paths[rc]
        for g in givers:
            if g == rc or g not in reach:
                continue
            cap = _cap(P.H, g, rc, resource)
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
        raise PlanError(f"the flow solver failed for {resource}: {status}")
    flows = smcf.flows(np.arange(len(arcs), dtype=np.int32))
    return [(g, r, int(f)) for (g, r), f in zip(arcs, flows) if f > 0]


def _greedy_resource(P: _Problem, resource: str) -> list[tuple[str, str, int]]:
    """Greedy baseline: receivers by largest gap first, each from its nearest suppliers."""
    left = {c: q for (c, r), q in P.spare.items() if r == resource}
    out = []
    receivers = sorted(
        (c for (c, r) in P.gap if r == resource), key=lambda c: (-P.gap[(c, resource)], c)
    )
    for rc in receivers:
        want = P.gap[(rc, resource)]
        for g, (cost, _) in sorted(P.paths[rc].items(), key=lambda kv: (kv[1][0], kv[0])):
            if want == 0:
                break
            cap = _cap(P.H, g, rc, resource)
            q = min(want, left.get(g, 0), cap if cap is not None else want)
            if q > 0:
                out.append((g, rc, q))
                left[g] -= q
                want -= q
    return out


def _assemble(
    P: _Problem,
    scenario: Scenario,
    transfers_by_resource: dict[str, list[tuple[str, str, int]]],
    params: PlanParameters,
    regions: Mapping[str, Iterable[str]],
    method: str,
) -> dict[str, Any]:
    transfers = []
    received: dict[tuple[str, str], int] = {}
    sent: dict[tuple[str, str], int] = {}
    transport = 0.0
    for resource in P.resources:
        for g, rc, q in sorted(transfers_by_resource.get(resource, []), key=lambda t: (t[1], t[0])):
            cost_milli, path = P.paths[rc][g]
            path = list(reversed(path))  # giver -> receiver
            edges = list(pairwise(path))
            minutes = round(sum(P.H.edges[a, b]["travel_minutes"] for a, b in edges), 1)
            transfers.append(
                {
                    "from": g,
                    "to": rc,
                    "resource": resource,
                    "quantity": q,
                    "path": path,
                    "travel_minutes": minutes,
                    "cost": cost_milli / 1000,
                    "agreement": any(P.H.edges[a, b]["agreement"] for a, b in edges),
                    "agreement_rules": sorted(
                        {
                            str(P.H.edges[a, b]["agreement_rule"])
                            for a, b in edges
                            if P.H.edges[a, b]["agreement"]
                        }
                    ),
                }
            )
            received[(rc, resource)] = received.get((rc, resource), 0) + q
            sent[(g, resource)] = sent.get((g, resource), 0) + q
            transport += q * cost_milli / 1000
    ledger, unmet = [], []
    for a in scenario.affected:
        c = a.commune
        for resource in P.resources:
            need = P.needs.get(c, {}).get(resource, 0)
            s = sent.get((c, resource), 0)
            if need == 0 and s == 0:
                continue
            on = P.on_site.get((c, resource), 0)
            rec = received.get((c, resource), 0)
            short = need - on - rec
            ledger.append(
                {
                    "commune": c,
                    "resource": resource,
                    "need": need,
                    "on_site": on,
                    "received": rec,
                    "sent": s,
                    "unmet": short,
                    "stock": P.stock.get(c, {}).get(resource, 0),
                    "reserve": P.reserve.get((c, resource), 0),
                }
            )
            if short > 0:
                unmet.append(
                    {
                        "commune": c,
                        "resource": resource,
                        "quantity": short,
                        "escalate_to": _escalate_to(c, P.H, regions, params),
                    }
                )
    n = len(scenario.affected)
    return {
        "scenario": scenario.name,
        "method": method,
        "parameters": {
            "max_hops": params.max_hops,
            "reserve_share": check_reserve_share(params.reserve_share, catalogue=load_catalogue()),
            "agreement_factor": params.agreement_factor,
            "speed_kmh": params.speed_kmh,
            "at": params.at.isoformat(),  # make_plan settles it before solving
            "risk_level": scenario.risk_level,
            "duration_days": scenario.duration_days,
        },
        "transfers": transfers,
        "ledger": ledger,
        "unmet": unmet,
        "command": [
            _commander(a.commune, scenario.risk_level, n, P.H, regions, params)
            for a in scenario.affected
        ],
        "cost": {
            "unmet_units": sum(u["quantity"] for u in unmet),
            "transport": round(transport, 3),
        },
    }


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
    """The optimal mutual-aid plan (the plan JSON of CONTRACT.md, plus ``command``, ``method``
    and per-transfer ``cost`` and ``agreement_rules``).

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
    regions
        ``{region name: communes}``: regional defence commands for the command chain.
    method
        ``optimal`` (min-cost max-flow) or ``greedy`` (the baseline of :func:`greedy_plan`).

    Raises
    ------
    PlanError
        Unknown communes or resources in the inputs, bad parameters, a solver failure.
    RuleError
        A rule that does not fit the graph.
    """
    solvers = {
        "optimal": (_solve_resource, "optimal (min-cost max-flow)"),
        "greedy": (_greedy_resource, "greedy (nearest first)"),
    }
    if method not in solvers:
        raise PlanError(f"method must be one of {', '.join(solvers)}, got {method!r}")
    solve, label = solvers[method]
    params = params or PlanParameters()
    if params.at is None:  # one day for the whole plan, recorded in it
        params = replace(params, at=_day(None))
    P = _prepare(G, scenario, inventory, rules, params, needs_profile)
    flows = {r: solve(P, r) for r in P.resources}
    return _assemble(P, scenario, flows, params, regions or {}, label)


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


def validate_plan(
    plan: Mapping[str, Any],
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    *,
    rules: Iterable[Rule] = (),
    params: PlanParameters | None = None,
    needs_profile: NeedsProfile | None = None,
) -> list[str]:
    """Check a plan against the five rules, recomputing everything from the inputs.

    Returns the list of violations (empty: the plan obeys every rule). Optimality is checked
    in its necessary local form: no unmet need while a reachable commune still has spare of it
    (uncapped), and every transfer on a cheapest path within ``max_hops``.

    Raises
    ------
    RuleError
        A rule that does not fit the graph (violations of the plan are returned, not raised).
    """
    params = params or PlanParameters()
    errs: list[str] = []
    H = apply_rules(
        G,
        rules,
        at=_day(params.at),
        closed_links=scenario.closed_links,
        speed_kmh=params.speed_kmh,
        agreement_factor=params.agreement_factor,
    )
    needs = compute_needs(scenario, needs_profile)
    stock = {c: dict(v) for c, v in inventory.items()}
    received: dict[tuple[str, str], int] = {}
    sent: dict[tuple[str, str], int] = {}
    pair_sent: dict[tuple[str, str, str], int] = {}
    reach_cache: dict[str, dict[str, tuple[int, list[str]]]] = {}
    transport = 0.0
    for t in plan["transfers"]:
        g, rc, r, q, path = t["from"], t["to"], t["resource"], t["quantity"], t["path"]
        tag = f"transfer {g}->{rc} {r} x{q}"
        if not isinstance(q, int) or q <= 0:
            errs.append(f"{tag}: quantity must be a positive integer")
        if path[0] != g or path[-1] != rc:
            errs.append(f"{tag}: path does not run from giver to receiver")
        if len(path) - 1 > params.max_hops:
            errs.append(f"rule 3: {tag}: {len(path) - 1} links > max_hops {params.max_hops}")
        cost = 0
        minutes = 0.0
        for a, b in pairwise(path):
            if not H.has_edge(a, b):
                errs.append(f"rule 3: {tag}: link {a}-{b} is not open")
                break
            cost += H.edges[a, b]["cost_milli"]
            minutes += H.edges[a, b]["travel_minutes"]
        else:
            if abs(minutes - t["travel_minutes"]) > 0.11:
                errs.append(
                    f"{tag}: travel_minutes {t['travel_minutes']} but the path takes {minutes:.1f}"
                )
            if rc not in reach_cache:
                reach_cache[rc] = hop_limited_paths(H, rc, params.max_hops)
            best = reach_cache[rc].get(g)
            if best is None or cost > best[0]:
                errs.append(
                    f"rule 4: {tag}: path cost {cost} is not the cheapest within {params.max_hops} links"
                )
        transport += q * cost / 1000
        received[(rc, r)] = received.get((rc, r), 0) + q
        sent[(g, r)] = sent.get((g, r), 0) + q
        pair_sent[(g, rc, r)] = pair_sent.get((g, rc, r), 0) + q
    for (g, rc, r), q in pair_sent.items():
        cap = _cap(H, g, rc, r)
        if cap is not None and q > cap:
            errs.append(f"agreement cap: {g}->{rc} {r} {q} > committed {cap}")
    spare: dict[tuple[str, str], int] = {}
    for c in set(stock) | {c for c, _ in sent}:
        for r in set(stock.get(c, {})) | {r for (cc, r) in sent if cc == c}:
            q = stock.get(c, {}).get(r, 0)
            need = needs.get(c, {}).get(r, 0)
            keep = max(min(need, q), math.ceil(params.reserve_for(r) * q - 1e-9))
            allowed = 0 if need > q else q - keep
            s = sent.get((c, r), 0)
            if s > allowed:
                errs.append(
                    f"rule 2: {c} sends {s} {r} but may send only {allowed} (stock {q}, need {need})"
                )
            spare[(c, r)] = allowed - s
    ledger = {(row["commune"], row["resource"]): row for row in plan["ledger"]}
    unmet_total = 0
    for c, items in needs.items():
        for r, need in items.items():
            have = stock.get(c, {}).get(r, 0)
            on = min(need, have)
            rec = received.get((c, r), 0)
            short = need - on - rec
            row = ledger.get((c, r))
            if rec > need - on:
                errs.append(f"{c} receives {rec} {r}, more than its gap {need - on}")
            if row is None:
                errs.append(f"ledger: no row for {c}/{r}")
                continue
            if (row["need"], row["on_site"], row["received"], row["unmet"]) != (
                need,
                on,
                rec,
                short,
            ):
                errs.append(
                    f"rule 1: ledger {c}/{r} {row} != need {need}, on_site {on}, received {rec}, unmet {short}"
                )
            if short > 0:
                unmet_total += short
                if c not in reach_cache:
                    reach_cache[c] = hop_limited_paths(H, c, params.max_hops)
                for g, (_, path) in reach_cache[c].items():
                    cap = _cap(H, g, c, r)
                    if spare.get((g, r), 0) > 0 and (
                        cap is None or pair_sent.get((g, c, r), 0) < cap
                    ):
                        errs.append(
                            f"rule 5: {c} lacks {short} {r} while {g}, {len(path) - 1} link(s) away, "
                            f"has {spare[(g, r)]} to spare"
                        )
                        break
    listed = {(u["commune"], u["resource"]): u["quantity"] for u in plan["unmet"]}
    for (c, r), row in ledger.items():
        if row["unmet"] > 0 and listed.get((c, r)) != row["unmet"]:
            errs.append(f"rule 5: unmet {c}/{r} {row['unmet']} is not listed with its escalation")
    if any(not u.get("escalate_to") for u in plan["unmet"]):
        errs.append("rule 5: an unmet need has no escalate_to")
    if plan["cost"]["unmet_units"] != unmet_total:
        errs.append(f"cost.unmet_units {plan['cost']['unmet_units']} != {unmet_total}")
    if abs(plan["cost"]["transport"] - transport) > 1e-6 * max(1.0, transport):
        errs.append(f"cost.transport {plan['cost']['transport']} != {transport}")
    return errs


def summarise_plan(plan: Mapping[str, Any], G: nx.Graph) -> list[str]:
    """The plan as readable lines, per affected commune: what it gets from whom, what is unmet
    and where it escalates, quantities phrased in Vietnamese (:func:`geo.resources.quantity_vi`).

    Raises
    ------
    KeyError
        If the plan names a resource that is not in the catalogue (:func:`load_catalogue`).
    """
    catalogue = load_catalogue()
    name = {c: f"{d.get('full_name', c)} ({c})" for c, d in G.nodes(data=True)}
    lines = [
        f"Kế hoạch / plan: {plan['scenario']} — {plan['method']}",
        f"max_hops {plan['parameters']['max_hops']}, reserve {plan['parameters']['reserve_share']}"
        + (f", rules as of {plan['parameters']['at']}" if plan["parameters"].get("at") else ""),
    ]
    by_receiver: dict[str, list[dict]] = {}
    for t in plan["transfers"]:
        by_receiver.setdefault(t["to"], []).append(t)
    unmet_by: dict[str, list[dict]] = {}
    for u in plan["unmet"]:
        unmet_by.setdefault(u["commune"], []).append(u)
    for cmd in plan["command"]:
        c = cmd["commune"]
        lines.append("")
        lines.append(f"{name.get(c, c)} — chỉ huy / command: {cmd['commander']}")
        for t in by_receiver.get(c, []):
            res = catalogue[t["resource"]]
            via = " → ".join(t["path"])
            ag = " [thỏa thuận / agreement]" if t["agreement"] else ""
            lines.append(
                f"  nhận {quantity_vi(t['quantity'], res)} từ {name.get(t['from'], t['from'])}, "
                f"{format_count_vi(round(t['travel_minutes']))} phút ({via}){ag}"
            )
        for u in unmet_by.get(c, []):
            res = catalogue[u["resource"]]
            lines.append(f"  THIẾU {quantity_vi(u['quantity'], res)} → {u['escalate_to']}")
        if not by_receiver.get(c) and not unmet_by.get(c):
            lines.append("  tự đáp ứng tại chỗ / covered on site")
    lines.append("")
    lines.append(
        f"unmet units: {plan['cost']['unmet_units']}, transport cost: {plan['cost']['transport']:.1f}"
    )
    return lines

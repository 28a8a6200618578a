"""The planner's solver: the per-resource problem (gaps, spare, cheapest paths) and its two
solutions, optimal (OR-Tools min-cost max-flow) and greedy (nearest first).

See :mod:`geo.planning` for why each resource is one transportation problem over hop-limited
cheapest paths, solved exactly in integers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np

from geo.needs import NeedsProfile, Scenario, compute_needs, compute_recovery_needs
from geo.paths import Paths, adjacency, agreement_cap, hop_limited_paths, isolate
from geo.plan_settings import PlanParameters, planning_day, reserve_kept, sendable
from geo.plans import PlanError
from geo.resources import load_catalogue
from geo.rules import Rule, apply_rules

#: The phases of a plan: relief (the displaced people's needs) and recovery (the damaged houses').
RELIEF = "relief"
RECOVERY = "recovery"

#: ``[(giver, receiver, quantity)]`` of one resource.
Flows = list[tuple[str, str, int]]


@dataclass(frozen=True)
class ReachTable:
    """The receivers' reach, flattened: receiver ``k`` (in code order) reaches the communes
    ``index[ptr[k]:ptr[k+1]]`` (positions in ``codes``, in code order) at ``cost[...]``."""

    codes: list[str]
    position: dict[str, int]
    receivers: list[str]
    row: dict[str, int]
    ptr: np.ndarray
    index: np.ndarray
    cost: np.ndarray

    @classmethod
    def of(cls, paths: Mapping[str, Paths]) -> ReachTable:
        receivers = sorted(paths)
        codes = sorted(set(receivers).union(*(p.keys() for p in paths.values())))
        position = {c: i for i, c in enumerate(codes)}
        ptr = np.zeros(len(receivers) + 1, np.int64)
        index: list[int] = []
        cost: list[int] = []
        for k, rc in enumerate(receivers):
            reach = paths[rc]
            for g in sorted(reach):
                index.append(position[g])
                cost.append(reach[g][0])
            ptr[k + 1] = len(index)
        return cls(
            codes,
            position,
            receivers,
            {c: k for k, c in enumerate(receivers)},
            ptr,
            np.asarray(index, np.int64),
            np.asarray(cost, np.int64),
        )


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
    #: whether any link carries an agreement's caps (else no pair needs looking up)
    capped: bool = True
    #: each receiver's reachable communes, sorted (the order arcs are laid in), made on demand
    _reach_order: dict[str, list[str]] | None = None
    _table: ReachTable | None = None
    _by_resource: tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]] | None = None

    def gaps_of(self, resource: str) -> dict[str, int]:
        """``{receiver: gap}`` of one resource."""
        return self._grouped()[0].get(resource, {})

    def spare_of(self, resource: str) -> dict[str, int]:
        """``{giver: spare}`` of one resource."""
        return self._grouped()[1].get(resource, {})

    def _grouped(self) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
        if self._by_resource is None:
            gaps: dict[str, dict[str, int]] = {}
            spares: dict[str, dict[str, int]] = {}
            for (c, r), q in self.gap.items():
                gaps.setdefault(r, {})[c] = q
            for (c, r), q in self.spare.items():
                spares.setdefault(r, {})[c] = q
            self._by_resource = (gaps, spares)
        return self._by_resource

    def reach_table(self) -> ReachTable:
        """Every receiver's reach as flat arrays (computed once for all resources)."""
        if self._table is None:
            self._table = ReachTable.of(self.paths)
        return self._table

    def reach_order(self, receiver: str) -> list[str]:
        """The communes ``receiver`` can be reached from, in code order (computed once)."""
        if self._reach_order is None:
            self._reach_order = {}
        order = self._reach_order.get(receiver)
        if order is None:
            order = self._reach_order[receiver] = sorted(self.paths[receiver])
        return order


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


def check_inventory_keys(
    G: nx.Graph, inventory: Mapping[str, Mapping[str, int]], catalogue: Mapping[str, Any]
) -> None:
    """The inventory's communes and resources, all of them, as :func:`prepare` checks them
    (set operations only: the quantities are checked where the plan uses them).

    Raises
    ------
    PlanError
        ``unknown_commune`` or ``unknown_resource``, field ``inventory``.
    """
    unknown = inventory.keys() - G.nodes
    if unknown:
        code = min(unknown)
        raise PlanError(
            f"inventory names commune {code!r}, which is not in the boundaries",
            code="unknown_commune",
            field="inventory",
            params={"commune": code},
        )
    allowed = frozenset(catalogue)  # once: the catalogue is a Python mapping, slow to iterate
    for code, items in inventory.items():
        if allowed.issuperset(items):  # the common case, in C: no set built per commune
            continue
        strange = items.keys() - allowed
        if strange:
            key = min(strange)
            raise PlanError(
                f"inventory of {code}: unknown resource {key!r}",
                code="unknown_resource",
                field="inventory",
                params={"commune": code, "resource": key},
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
    shares = {r: params.reserve_for(r) for r in catalogue}
    spare: dict[tuple[str, str], int] = {}
    none: dict[str, int] = {}
    for c, items in stock.items():
        if c in silent:
            continue
        own = needs.get(c, none)
        for r, q in items.items():
            if q > 0:
                s = sendable(q, own.get(r, 0), shares[r])
                if s > 0:
                    spare[(c, r)] = s
    # the reserve is reported in the ledger, which lists the affected communes only
    reserve = {
        (c, r): reserve_kept(q, shares[r])
        for c in scenario.affected_codes
        for r, q in stock.get(c, none).items()
    }
    on_site: dict[tuple[str, str], int] = {}
    gap: dict[tuple[str, str], int] = {}
    for c, items in needs.items():
        for r, need in items.items():
            have = stock.get(c, {}).get(r, 0)
            on_site[(c, r)] = min(need, have)
            if need > have:
                gap[(c, r)] = need - have
    receivers = sorted({c for c, _ in gap})
    links = adjacency(H)
    paths = {c: hop_limited_paths(H, c, params.max_hops, adj=links) for c in receivers}
    capped = any(e.get("caps") for _, _, e in H.edges(data=True))
    return Problem(
        H, needs, stock, resources, on_site, gap, spare, reserve, paths, phase, capped=capped
    )


def solve_resource(P: Problem, resource: str) -> Flows:
    """Optimal transfers of one resource: ``[(giver, receiver, quantity)]``."""
    from ortools.graph.python import min_cost_flow

    receivers = sorted(P.gaps_of(resource))
    spare = P.spare_of(resource)
    givers = sorted(spare)
    if not receivers or not givers:
        return []
    if P.capped:
        table, pairs = _arcs_one_by_one(P, resource, receivers, spare, givers)
    else:
        table, pairs = _arcs_at_once(P, resource, receivers, spare, givers)
    if not len(table):
        return []
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        table[:, 0].astype(np.int32), table[:, 1].astype(np.int32), table[:, 2], table[:, 3]
    )
    nodes = np.arange(len(givers) + len(receivers), dtype=np.int32)
    supplies = np.array(
        [spare[g] for g in givers] + [-P.gap[(r, resource)] for r in receivers],
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
    flows = smcf.flows(np.arange(len(table), dtype=np.int32))
    return [(*pairs(int(i)), int(flows[i])) for i in np.flatnonzero(flows > 0)]


#: An arc table ``[[tail, head, capacity, unit cost], ...]`` (the giver's rank among the
#: givers, the receiver's after them) and the ``(giver, receiver)`` of arc ``i``.
Arcs = tuple[np.ndarray, Callable[[int], tuple[str, str]]]


def _arcs_at_once(
    P: Problem, resource: str, receivers: list[str], spare: dict[str, int], givers: list[str]
) -> Arcs:
    """The arcs of one resource, by receiver then giver in code order, from the flat reach
    table (no agreement caps to look up)."""
    T = P.reach_table()
    n = len(T.codes)
    have = np.zeros(n, np.int64)
    rank = np.full(n, -1, np.int64)
    for i, g in enumerate(givers):
        k = T.position.get(g)
        if k is not None:  # a giver no receiver reaches has no arc
            have[k] = spare[g]
            rank[k] = i
    rows = np.asarray([T.row[c] for c in receivers], np.int64)
    gaps = np.asarray([P.gap[(c, resource)] for c in receivers], np.int64)
    lo, hi = T.ptr[rows], T.ptr[rows + 1]
    counts = hi - lo
    # the reach entries of these receivers, in order: receiver j's are lo[j] .. hi[j]-1
    starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
    at = np.arange(int(counts.sum()), dtype=np.int64) + starts
    who = np.repeat(np.arange(len(receivers), dtype=np.int64), counts)
    giver = T.index[at]
    keep = have[giver] > 0
    giver, who, at = giver[keep], who[keep], at[keep]
    table = np.column_stack(
        (rank[giver], len(givers) + who, np.minimum(have[giver], gaps[who]), T.cost[at])
    )
    codes = T.codes

    def pair(i: int) -> tuple[str, str]:
        return codes[int(giver[i])], receivers[int(who[i])]

    return table, pair


def _arcs_one_by_one(
    P: Problem, resource: str, receivers: list[str], spare: dict[str, int], givers: list[str]
) -> Arcs:
    """The arcs of one resource, in the same order as :func:`_arcs_at_once`, each under its
    agreement's cap where a link carries one."""
    gi = {c: i for i, c in enumerate(givers)}
    ri = {c: len(givers) + i for i, c in enumerate(receivers)}
    arcs: list[tuple[int, int, int, int]] = []  # (tail, head, capacity, unit cost)
    pairs: list[tuple[str, str]] = []  # (giver, receiver) of each arc
    for rc in receivers:  # arcs by receiver, then giver, in code order: ties break the same
        reach = P.paths[rc]  # never holds rc itself
        gap = P.gap[(rc, resource)]
        head = ri[rc]
        for g in P.reach_order(rc):  # only the givers within reach, not all of them
            have = spare.get(g)
            if have is None:
                continue
            limit = have if have < gap else gap  # both > 0
            cap = agreement_cap(P.H, g, rc, resource)
            if cap is not None and cap < limit:
                if cap <= 0:
                    continue
                limit = cap
            arcs.append((gi[g], head, limit, reach[g][0]))
            pairs.append((g, rc))
    return np.array(arcs, dtype=np.int64).reshape(-1, 4), pairs.__getitem__


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

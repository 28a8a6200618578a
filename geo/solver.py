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

from geo.inventory import MAX_QUANTITY
from geo.needs import NeedsProfile, Scenario, compute_needs, compute_recovery_needs
from geo.paths import agreement_cap, isolate
from geo.plan_settings import PlanParameters, planning_day, reserve_kept_array, sendable_array
from geo.plans import PlanError
from geo.reach import ReachTable, reach_table
from geo.resources import load_catalogue
from geo.rules import Rule, apply_rules

#: The phases of a plan: relief (the displaced people's needs) and recovery (the damaged houses').
RELIEF = "relief"
RECOVERY = "recovery"

#: ``[(giver, receiver, quantity)]`` of one resource.
Flows = list[tuple[str, str, int]]


@dataclass
class Problem:
    """The inputs of one phase shared by the optimal and greedy planners, as arrays: a row
    per commune of ``codes`` (the graph's, sorted: the reach table's order), a column per
    resource of the catalogue (``column``)."""

    H: nx.Graph
    #: the resources some commune needs in this phase, in catalogue order
    resources: list[str]
    codes: list[str]
    position: dict[str, int]
    column: dict[str, int]
    need: np.ndarray
    stock: np.ndarray
    #: what each commune may send (:func:`geo.plan_settings.sendable`; 0 when partly isolated)
    spare: np.ndarray
    #: ⌈r·S⌉, kept at home (:func:`geo.plan_settings.reserve_kept`)
    reserve: np.ndarray
    #: what each commune lacks after its own stock: ``max(need − stock, 0)``
    gap: np.ndarray
    #: every receiver's cheapest hop-limited paths (:func:`geo.reach.reach_table`)
    reach: ReachTable
    phase: str = "relief"
    #: whether any link carries an agreement's caps (else no pair needs looking up)
    capped: bool = True

    def gaps_of(self, resource: str) -> dict[str, int]:
        """``{receiver: gap}`` of one resource, in code order."""
        return self._of(self.gap, resource)

    def spare_of(self, resource: str) -> dict[str, int]:
        """``{giver: spare}`` of one resource, in code order."""
        return self._of(self.spare, resource)

    def _of(self, table: np.ndarray, resource: str) -> dict[str, int]:
        col = table[:, self.column[resource]]
        at = np.flatnonzero(col)
        codes = self.codes
        return dict(zip([codes[i] for i in at.tolist()], col[at].tolist(), strict=True))


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
            if q > MAX_QUANTITY:
                raise PlanError(
                    f"inventory of {code}: {key} {q} is over the largest storable, {MAX_QUANTITY}",
                    code="quantity_too_large",
                    field="inventory",
                    params={"commune": code, "resource": key, "quantity": q, "max": MAX_QUANTITY},
                )


def _stock_table(
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    catalogue: Mapping[str, Any],
    position: Mapping[str, int],
    column: Mapping[str, int],
) -> np.ndarray:
    """The inventory as a (communes × resources) array, checked as :func:`_check_inputs`
    checks it: every quantity at once when they all are integers in range (the common case),
    else one by one, for the error that names the first wrong one.

    Raises
    ------
    PlanError
        As :func:`_check_inputs`.
    """
    table = np.zeros((len(position), len(column)), np.int64)
    try:
        rows, cols, quantities = _cells(inventory, position, column)
        values = np.asarray(quantities)
        good = not len(values) or (
            values.dtype.kind in "iub" and values.min() >= 0 and values.max() <= MAX_QUANTITY
        )
        if good and all(c in G for c in scenario.affected_codes):
            if len(values):
                table[rows, cols] = values
            return table
    except (KeyError, OverflowError, TypeError, ValueError):
        pass
    _check_inputs(G, scenario, inventory, catalogue)  # raises, naming the first wrong input
    raise PlanError("the inventory could not be read", code="plan_invalid", field="inventory")


def _cells(
    quantities: Mapping[str, Mapping[str, Any]],
    position: Mapping[str, int],
    column: Mapping[str, int],
) -> tuple[list[int], list[int], list[Any]]:
    """``{commune: {resource: quantity}}`` as the rows, columns and values of its cells.

    Raises
    ------
    KeyError
        A commune not in ``position`` or a resource not in ``column``.
    """
    rows = [position[c] for c, items in quantities.items() for _ in range(len(items))]
    cols = [column[r] for items in quantities.values() for r in items]
    return rows, cols, [q for items in quantities.values() for q in items.values()]


def _need_table(
    needs: Mapping[str, Mapping[str, int]], position: Mapping[str, int], column: Mapping[str, int]
) -> np.ndarray:
    table = np.zeros((len(position), len(column)), np.int64)
    rows, cols, values = _cells(needs, position, column)
    table[rows, cols] = values
    return table


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
    unknown = inventory.keys() - G  # iterates G's node dict (a NodeView would be Python)
    if unknown:
        code = min(unknown)
        raise PlanError(
            f"inventory names commune {code!r}, which is not in the boundaries",
            code="unknown_commune",
            field="inventory",
            params={"commune": code},
        )
    allowed = frozenset(catalogue)  # once: the catalogue is a Python mapping, slow to iterate
    if allowed.issuperset(set().union(*inventory.values())):  # the common case, in C
        return
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
    :func:`road_graph`, when already built.

    Raises
    ------
    PlanError
        Unknown communes or resources, quantities that are not integers from 0 to
        :data:`geo.inventory.MAX_QUANTITY`, bad parameters.
    """
    catalogue = load_catalogue()
    params.check(catalogue)
    if H is None:
        H = road_graph(G, scenario, rules, params)
    codes = sorted(H)
    position = {c: i for i, c in enumerate(codes)}
    column = {r: j for j, r in enumerate(catalogue)}
    stock = _stock_table(G, scenario, inventory, catalogue, position, column)
    if phase == RECOVERY:
        needs = compute_recovery_needs(scenario, needs_profile)
    else:
        needs = compute_needs(scenario, needs_profile)
    _check_needs(needs, catalogue)
    need = _need_table(needs, position, column)
    resources = [r for r in catalogue if need[:, column[r]].any()]
    shares = np.asarray([params.reserve_for(r) for r in catalogue], np.float64)
    spare = sendable_array(stock, need, shares)
    silent = [position[c] for c in scenario.isolated("partial")]  # receives, gives nothing
    spare[silent] = 0
    gap = np.maximum(need - stock, 0)
    receivers = [codes[i] for i in np.flatnonzero(gap.any(axis=1)).tolist()]
    reach = reach_table(H, receivers, params.max_hops)
    capped = any(e.get("caps") for _, _, e in H.edges(data=True))
    return Problem(
        H,
        resources,
        codes,
        position,
        column,
        need,
        stock,
        spare,
        reserve_kept_array(stock, shares),
        gap,
        reach,
        phase,
        capped=capped,
    )


def solve_resource(P: Problem, resource: str) -> Flows:
    """Optimal transfers of one resource: ``[(giver, receiver, quantity)]``."""
    from ortools.graph.python import min_cost_flow

    col = P.column[resource]
    gap, spare = P.gap[:, col], P.spare[:, col]
    receivers = np.flatnonzero(gap)  # positions in code order
    givers = np.flatnonzero(spare)
    if not len(receivers) or not len(givers):
        return []
    arcs = _arcs_one_by_one if P.capped else _arcs_at_once
    table, pair = arcs(P, resource, receivers, givers)
    if not len(table):
        return []
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        table[:, 0].astype(np.int32), table[:, 1].astype(np.int32), table[:, 2], table[:, 3]
    )
    nodes = np.arange(len(givers) + len(receivers), dtype=np.int32)
    smcf.set_nodes_supplies(nodes, np.concatenate((spare[givers], -gap[receivers])))
    status = smcf.solve_max_flow_with_min_cost()
    if status != smcf.OPTIMAL:
        raise PlanError(
            f"the flow solver failed for {resource}: {status}",
            code="solver_failed",
            params={"resource": resource, "status": str(status)},
        )
    flows = smcf.flows(np.arange(len(table), dtype=np.int32))
    used = np.flatnonzero(flows > 0)
    codes = P.codes
    g, r = pair(used)
    return [
        (codes[a], codes[b], q)
        for a, b, q in zip(g.tolist(), r.tolist(), flows[used].tolist(), strict=True)
    ]


#: An arc table ``[[tail, head, capacity, unit cost], ...]`` (the giver's rank among the
#: givers, the receiver's after them) and, for arc numbers, the positions of their giver and
#: receiver.
Arcs = tuple[np.ndarray, Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]]


def _arcs_at_once(P: Problem, resource: str, receivers: np.ndarray, givers: np.ndarray) -> Arcs:
    """The arcs of one resource, by receiver then giver in code order, from the flat reach
    table (no agreement caps to look up)."""
    col = P.column[resource]
    T = P.reach
    have = P.spare[:, col]
    rank = np.full(len(T.codes), -1, np.int64)
    rank[givers] = np.arange(len(givers))
    rows = T.row_at[receivers]
    gaps = P.gap[receivers, col]
    lo, hi = T.ptr[rows], T.ptr[rows + 1]
    counts = hi - lo
    # the reach entries of these receivers, in order: receiver j's are lo[j] .. hi[j]-1
    starts = np.repeat(lo - (np.cumsum(counts) - counts), counts)
    at = np.arange(int(counts.sum()), dtype=np.int64) + starts
    who = np.repeat(np.arange(len(receivers), dtype=np.int64), counts)
    giver = T.index[at]
    keep = have[giver] > 0
    giver, who, at = giver[keep], who[keep], at[keep]
    table = np.column_stack(
        (rank[giver], len(givers) + who, np.minimum(have[giver], gaps[who]), T.cost[at])
    )

    def pair(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return giver[i], receivers[who[i]]

    return table, pair


def _arcs_one_by_one(P: Problem, resource: str, receivers: np.ndarray, givers: np.ndarray) -> Arcs:
    """The arcs of one resource, in the same order as :func:`_arcs_at_once`, each under its
    agreement's cap where a link carries one."""
    col = P.column[resource]
    codes, T = P.codes, P.reach
    have = P.spare[:, col]
    gi = {int(g): i for i, g in enumerate(givers.tolist())}
    arcs: list[tuple[int, int, int, int]] = []  # (tail, head, capacity, unit cost)
    tails: list[int] = []
    heads: list[int] = []
    for k, rc in enumerate(receivers.tolist()):  # by receiver, then giver, in code order
        gap = int(P.gap[rc, col])
        head = len(givers) + k
        row = int(T.row_at[rc])
        lo, hi = int(T.ptr[row]), int(T.ptr[row + 1])
        for g, cost in zip(T.index[lo:hi].tolist(), T.cost[lo:hi].tolist(), strict=True):
            spare = int(have[g])
            if not spare:
                continue
            limit = spare if spare < gap else gap  # both > 0
            cap = agreement_cap(P.H, codes[g], codes[rc], resource)
            if cap is not None and cap < limit:
                if cap <= 0:
                    continue
                limit = cap
            arcs.append((gi[g], head, limit, cost))
            tails.append(g)
            heads.append(rc)
    giver, receiver = np.asarray(tails, np.int64), np.asarray(heads, np.int64)

    def pair(i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return giver[i], receiver[i]

    return np.array(arcs, dtype=np.int64).reshape(-1, 4), pair


def greedy_resource(P: Problem, resource: str) -> Flows:
    """Greedy baseline: receivers by largest gap first, each from its nearest suppliers."""
    left = P.spare_of(resource)
    gaps = P.gaps_of(resource)
    out: Flows = []
    for rc in sorted(gaps, key=lambda c: (-gaps[c], c)):
        want = gaps[rc]
        for g, _ in sorted(P.reach.reach(rc), key=lambda kv: (kv[1], kv[0])):
            if want == 0:
                break
            cap = agreement_cap(P.H, g, rc, resource)
            q = min(want, left.get(g, 0), cap if cap is not None else want)
            if q > 0:
                out.append((g, rc, q))
                left[g] -= q
                want -= q
    return out

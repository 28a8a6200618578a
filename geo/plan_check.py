"""The plan check: a plan against the five rules of CONTRACT.md, recomputed from the inputs.

:func:`validate_plan` runs small named checks, each reporting one kind of violation:

============================  ==============================================================
check                         reports
============================  ==============================================================
``_check_quantity``           a transfer quantity that is not a positive integer
``_check_ends``               a path that does not run from the giver to the receiver
``_check_hops``               rule 3: a path of more than ``max_hops`` links
``_check_open``               rule 3: a path over a link that is not open
``_check_isolated``           rule 3: a path by road into, out of or across a fully isolated
                              commune (boat and ferry links opened by a rule excepted)
``_check_partial_gives``      rule 2: a partly isolated commune that gives
``_check_minutes``            a transfer whose ``travel_minutes`` is not its path's
``_check_cheapest``           rule 4: a transfer not on a cheapest path within ``max_hops``
``_check_caps``               an agreement's cap exceeded between two communes
``_check_sendable``           rule 2: a commune sending more than it may (reserve, own use)
``_check_over_gap``           a commune receiving more than its gap
``_check_ledger_row``         a need without its ledger row
``_check_ledger_figures``     rule 1: a ledger row whose figures are not the recomputed ones
``_check_nothing_left``       rule 5: unmet need while a reachable commune has spare of it
``_check_unmet_listed``       rule 5: a ledger's unmet need not listed in ``unmet``
``_check_escalation_named``   rule 5: an unmet need with no ``escalate_to``
``_check_isolated_flag``      rule 5: a fully isolated commune's unmet need without
                              ``"isolated": true`` (or the flag on another commune's)
``_check_phases``             a plan with damaged houses without its recovery phase (or
                              rows of a phase the scenario has not)
``_check_unmet_units``        ``cost.unmet_units`` not the total unmet need
``_check_transport``          ``cost.transport`` not the total ``quantity × cost``
============================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import Any

import networkx as nx

from geo.needs import NeedsProfile, Scenario, compute_needs, compute_recovery_needs
from geo.paths import Paths, agreement_cap, hop_limited_paths, is_water_link, isolate
from geo.plan_settings import PlanParameters, planning_day
from geo.plans import LedgerRow, Plan, Transfer, as_plan
from geo.rules import Rule, apply_rules

Key = tuple[str, str]


@dataclass
class _Context:
    """The inputs recomputed, and the tallies the checks share."""

    H: nx.Graph
    params: PlanParameters
    #: the links before the isolated communes' were cut, the fully and partly isolated
    open_links: nx.Graph
    full: set[str]
    partial: set[str]
    needs: dict[str, dict[str, int]]
    stock: dict[str, dict[str, int]]
    received: dict[Key, int] = field(default_factory=dict)
    sent: dict[Key, int] = field(default_factory=dict)
    pair_sent: dict[tuple[str, str, str], int] = field(default_factory=dict)
    spare: dict[Key, int] = field(default_factory=dict)
    transport: float = 0.0
    reach_cache: dict[str, Paths] = field(default_factory=dict)

    def reach(self, commune: str) -> Paths:
        """The cheapest paths within ``max_hops`` from ``commune`` (computed once)."""
        if commune not in self.reach_cache:
            self.reach_cache[commune] = hop_limited_paths(self.H, commune, self.params.max_hops)
        return self.reach_cache[commune]


def _tag(t: Transfer) -> str:
    return f"transfer {t.giver}->{t.receiver} {t.resource} x{t.quantity}"


def _check_quantity(t: Transfer) -> list[str]:
    if not isinstance(t.quantity, int) or t.quantity <= 0:
        return [f"{_tag(t)}: quantity must be a positive integer"]
    return []


def _check_ends(t: Transfer) -> list[str]:
    if not t.path or t.path[0] != t.giver or t.path[-1] != t.receiver:
        return [f"{_tag(t)}: path does not run from giver to receiver"]
    return []


def _check_hops(t: Transfer, max_hops: int) -> list[str]:
    if len(t.path) - 1 > max_hops:
        return [f"rule 3: {_tag(t)}: {len(t.path) - 1} links > max_hops {max_hops}"]
    return []


def _walk(t: Transfer, H: nx.Graph) -> tuple[int, float, Key | None]:
    """The path's cost and minutes up to its first closed link (None when all are open)."""
    cost, minutes = 0, 0.0
    for a, b in pairwise(t.path):
        if not H.has_edge(a, b):
            return cost, minutes, (a, b)
        cost += H.edges[a, b]["cost_milli"]
        minutes += H.edges[a, b]["travel_minutes"]
    return cost, minutes, None


def _check_isolated(t: Transfer, ctx: _Context) -> list[str]:
    for a, b in pairwise(t.path):
        if a not in ctx.full and b not in ctx.full:
            continue
        water = ctx.open_links.has_edge(a, b) and is_water_link(ctx.open_links.edges[a, b])
        if not water:
            c = a if a in ctx.full else b
            return [f"rule 3: {_tag(t)}: the path runs by road through {c}, fully isolated"]
    return []


def _check_partial_gives(t: Transfer, ctx: _Context) -> list[str]:
    if t.giver in ctx.partial:
        return [f"rule 2: {_tag(t)}: {t.giver} is partly isolated and gives nothing"]
    return []


def _check_open(t: Transfer, closed: Key | None) -> list[str]:
    if closed is not None:
        return [f"rule 3: {_tag(t)}: link {closed[0]}-{closed[1]} is not open"]
    return []


def _check_minutes(t: Transfer, minutes: float) -> list[str]:
    if abs(minutes - t.travel_minutes) > 0.11:
        return [f"{_tag(t)}: travel_minutes {t.travel_minutes} but the path takes {minutes:.1f}"]
    return []


def _check_cheapest(t: Transfer, cost: int, ctx: _Context) -> list[str]:
    best = ctx.reach(t.receiver).get(t.giver)
    if best is None or cost > best[0]:
        return [
            f"rule 4: {_tag(t)}: path cost {cost} is not the cheapest "
            f"within {ctx.params.max_hops} links"
        ]
    return []


def _check_transfer(t: Transfer, ctx: _Context) -> list[str]:
    errs = _check_quantity(t) + _check_ends(t) + _check_hops(t, ctx.params.max_hops)
    errs += _check_isolated(t, ctx) + _check_partial_gives(t, ctx)
    cost, minutes, closed = _walk(t, ctx.H)
    errs += _check_open(t, closed)
    if closed is None:
        errs += _check_minutes(t, minutes) + _check_cheapest(t, cost, ctx)
    ctx.transport += t.quantity * cost / 1000
    ctx.received[(t.receiver, t.resource)] = (
        ctx.received.get((t.receiver, t.resource), 0) + t.quantity
    )
    ctx.sent[(t.giver, t.resource)] = ctx.sent.get((t.giver, t.resource), 0) + t.quantity
    pair = (t.giver, t.receiver, t.resource)
    ctx.pair_sent[pair] = ctx.pair_sent.get(pair, 0) + t.quantity
    return errs


def _check_caps(ctx: _Context) -> list[str]:
    errs = []
    for (g, rc, r), q in ctx.pair_sent.items():
        cap = agreement_cap(ctx.H, g, rc, r)
        if cap is not None and q > cap:
            errs.append(f"agreement cap: {g}->{rc} {r} {q} > committed {cap}")
    return errs


def _check_sendable(ctx: _Context) -> list[str]:
    """Rule 2, and what each commune has left to spare once the plan is carried out."""
    errs = []
    for c in set(ctx.stock) | {c for c, _ in ctx.sent}:
        for r in set(ctx.stock.get(c, {})) | {r for (cc, r) in ctx.sent if cc == c}:
            q = ctx.stock.get(c, {}).get(r, 0)
            need = ctx.needs.get(c, {}).get(r, 0)
            allowed = 0 if c in ctx.partial else ctx.params.sendable(r, q, need)
            s = ctx.sent.get((c, r), 0)
            if s > allowed:
                errs.append(
                    f"rule 2: {c} sends {s} {r} but may send only {allowed} "
                    f"(stock {q}, need {need})"
                )
            ctx.spare[(c, r)] = allowed - s
    return errs


@dataclass(frozen=True)
class _Need:
    """One need recomputed: what is on site, received and left unmet."""

    commune: str
    resource: str
    need: int
    on_site: int
    received: int

    @property
    def short(self) -> int:
        return self.need - self.on_site - self.received


def _check_over_gap(n: _Need) -> list[str]:
    if n.received > n.need - n.on_site:
        return [
            f"{n.commune} receives {n.received} {n.resource}, "
            f"more than its gap {n.need - n.on_site}"
        ]
    return []


def _check_ledger_row(n: _Need, row: LedgerRow | None) -> list[str]:
    if row is None:
        return [f"ledger: no row for {n.commune}/{n.resource}"]
    return []


def _check_ledger_figures(n: _Need, row: LedgerRow) -> list[str]:
    if (row.need, row.on_site, row.received, row.unmet) != (
        n.need,
        n.on_site,
        n.received,
        n.short,
    ):
        return [
            f"rule 1: ledger {n.commune}/{n.resource} {row.to_json()} != need {n.need}, "
            f"on_site {n.on_site}, received {n.received}, unmet {n.short}"
        ]
    return []


def _check_nothing_left(n: _Need, ctx: _Context) -> list[str]:
    """Rule 5 in its necessary local form: no unmet need while a reachable commune still has
    spare of it (and room under the agreement's cap)."""
    c, r = n.commune, n.resource
    for g, (_, path) in ctx.reach(c).items():
        cap = agreement_cap(ctx.H, g, c, r)
        if ctx.spare.get((g, r), 0) > 0 and (cap is None or ctx.pair_sent.get((g, c, r), 0) < cap):
            return [
                f"rule 5: {c} lacks {n.short} {r} while {g}, {len(path) - 1} link(s) away, "
                f"has {ctx.spare[(g, r)]} to spare"
            ]
    return []


def _check_needs(ledger: Mapping[Key, LedgerRow], ctx: _Context) -> tuple[list[str], int]:
    errs: list[str] = []
    unmet_total = 0
    for c, items in ctx.needs.items():
        for r, need in items.items():
            have = ctx.stock.get(c, {}).get(r, 0)
            n = _Need(c, r, need, min(need, have), ctx.received.get((c, r), 0))
            row = ledger.get((c, r))
            errs += _check_over_gap(n) + _check_ledger_row(n, row)
            if row is None:
                continue
            errs += _check_ledger_figures(n, row)
            if n.short > 0:
                unmet_total += n.short
                errs += _check_nothing_left(n, ctx)
    return errs, unmet_total


def _check_unmet_listed(plan: Plan, ledger: Mapping[Key, LedgerRow]) -> list[str]:
    listed = {(u.commune, u.resource): u.quantity for u in plan.unmet}
    return [
        f"rule 5: unmet {c}/{r} {row.unmet} is not listed with its escalation"
        for (c, r), row in ledger.items()
        if row.unmet > 0 and listed.get((c, r)) != row.unmet
    ]


def _check_escalation_named(plan: Plan) -> list[str]:
    if any(not u.escalate_to for u in plan.unmet):
        return ["rule 5: an unmet need has no escalate_to"]
    return []


def _check_isolated_flag(plan: Plan, full: set[str]) -> list[str]:
    return [
        f"rule 5: unmet {u.commune}/{u.resource}: isolated is {u.isolated!r}, "
        f"should be {True if u.commune in full else None!r}"
        for u in plan.unmet
        if (u.isolated is True) != (u.commune in full)
    ]


def _check_phases(plan: Plan, expected: list[str | None]) -> list[str]:
    found: set[str | None] = {t.phase for t in plan.transfers}
    found |= {row.phase for row in plan.ledger} | {u.phase for u in plan.unmet}
    wrong = sorted(str(p) for p in found - set(expected))
    if wrong:
        return [f"phases: rows of phase {', '.join(wrong)}; expected {expected}"]
    return []


def _check_unmet_units(plan: Plan, unmet_total: int) -> list[str]:
    if plan.cost.unmet_units != unmet_total:
        return [f"cost.unmet_units {plan.cost.unmet_units} != {unmet_total}"]
    return []


def _check_transport(plan: Plan, transport: float) -> list[str]:
    if abs(plan.cost.transport - transport) > 1e-6 * max(1.0, transport):
        return [f"cost.transport {plan.cost.transport} != {transport}"]
    return []


def validate_plan(
    plan: Plan | Mapping[str, Any],
    G: nx.Graph,
    scenario: Scenario,
    inventory: Mapping[str, Mapping[str, int]],
    *,
    rules: Iterable[Rule] = (),
    params: PlanParameters | None = None,
    needs_profile: NeedsProfile | None = None,
) -> list[str]:
    """Check a plan against the five rules, recomputing everything from the inputs.

    Parameters
    ----------
    plan
        A :class:`geo.plans.Plan`, or its JSON (read with :meth:`geo.plans.Plan.from_json`).
    G, scenario, inventory, rules, params, needs_profile
        The inputs the plan was made from (as for :func:`geo.planning.compute_plan`).

    Returns
    -------
    list of str
        The violations, one message each (empty: the plan obeys every rule). Optimality is
        checked in its necessary local form: no unmet need while a reachable commune still
        has spare of it (uncapped), and every transfer on a cheapest path within ``max_hops``.
        Isolation (CONTRACT.md rules 2, 3 and 5) is checked from the scenario's ``isolated``
        entries, and each phase (relief, recovery) on its own needs.

    Raises
    ------
    PlanError
        If ``plan`` is JSON that is not a plan.
    RuleError
        A rule that does not fit the graph (violations of the plan are returned, not raised).
    """
    p = as_plan(plan)
    params = params or PlanParameters()
    open_links = apply_rules(
        G,
        rules,
        at=planning_day(params.at),
        closed_links=scenario.closed_links,
        speed_kmh=params.speed_kmh,
        agreement_factor=params.agreement_factor,
    )
    full, partial = scenario.isolated("full"), scenario.isolated("partial")
    H = isolate(open_links, full)
    recovery = compute_recovery_needs(scenario, needs_profile)
    phases: dict[str | None, dict[str, dict[str, int]]] = {
        None: compute_needs(scenario, needs_profile)
    }
    if recovery:
        phases = {"relief": phases[None], "recovery": recovery}
    errs = _check_phases(p, list(phases)) + _check_isolated_flag(p, full)
    unmet_total, transport = 0, 0.0
    for phase, needs in phases.items():
        part = replace(
            p,
            transfers=tuple(t for t in p.transfers if t.phase == phase),
            ledger=tuple(r for r in p.ledger if r.phase == phase),
            unmet=tuple(u for u in p.unmet if u.phase == phase),
        )
        stock = {c: dict(v) for c, v in inventory.items()}
        ctx = _Context(H, params, open_links, full, partial, needs, stock)
        for t in part.transfers:
            errs += _check_transfer(t, ctx)
        errs += _check_caps(ctx) + _check_sendable(ctx)
        ledger = {(row.commune, row.resource): row for row in part.ledger}
        need_errs, short = _check_needs(ledger, ctx)
        errs += need_errs + _check_unmet_listed(part, ledger)
        unmet_total += short
        transport += ctx.transport
    errs += _check_escalation_named(p)
    return errs + _check_unmet_units(p, unmet_total) + _check_transport(p, transport)

"""Coordination regulations drafted for an area (issue 11, part 2), sized by the planner itself
over the library of scenarios (:mod:`geo.scenario_library`).

How (:func:`draft_regulations`):

1. **The open links**: the area's graph with the planners' rules applied on ``at``
   (:func:`geo.rules.apply_rules`); a commune's open neighbours are its neighbours over those.
2. **Partners**: each commune with an open neighbour takes up to ``partners`` of them, in order
   of call: the fewest library scenarios that flood both first (ideally none: a partner flooded
   with you is short when you are, and its card must then be smaller, often nothing), then those
   within ``max_minutes``, then the quickest, then the code. On Nghệ An's sample this order gives
   two more communes cards than putting ``max_minutes`` first (123 of 130 instead of 121,
   ``bench/bench_drafts.py``); a partner slower than ``max_minutes`` says so in the rationale.
3. **Sizing, by the planner**: each commune flooded alone at each level is planned by
   :func:`geo.planning.compute_plan` with ``max_hops=1`` over the links to its partners only
   (the others closed): own stock first, the first partner (quickest) before the second, each
   partner sending at most its spare after its reserve (:func:`geo.plan_settings.sendable`).
   That is the card when the commune floods alone. Then every library scenario that floods
   several communes at level L (a valley) fires their cards together: for each helper and
   resource, when the cards it fires add up to more than the helper may send in that scenario
   (its spare after its reserve, and after its own needs when the scenario floods it too), each
   of those cards is scaled down by the same fraction (exact, then rounded down). A card keeps
   the least fraction over the scenarios that fire it, and its cumulative quantity at level L
   is no more than at any higher level (by level L the cards of levels ≤ L have fired). So in
   every scenario of the library, what the cards it fires ask of a helper is at most that
   helper's spare after its reserve in that scenario. A card holds the increase over the level
   below (:class:`geo.regulation_records.BoxCard`).
4. **Backfill**: for each helper, the neighbour of the helper (not the receiver) that is flooded
   together with the receiver in the fewest library scenarios, then the quickest, covers the
   helper's commune while its forces are away.
5. **Regulations**: one per pair of partners (two parties, adjacent or linked by an open rule),
   with the cards both ways and the reasons, ordered by parties.

Speed: one small min-cost-flow per commune and level; Nghệ An's 130 communes are drafted in
0.28 s of CPU (1.1 s wall, median of 5 on a shared 2-core machine; ``bench/bench_drafts.py``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace
from fractions import Fraction
from typing import Any

import networkx as nx

from geo.catalogue import Resource, load_catalogue
from geo.needs import NeedsProfile, compute_needs
from geo.plan_settings import (
    DEFAULT_RESERVE_SHARE,
    RESERVE_DEFAULT_KEY,
    PlanParameters,
    planning_day,
)
from geo.planning import compute_plan
from geo.regulation import BoxCard
from geo.regulation_partners import (
    area_codes,
    choose_partners,
    co_flooded,
    open_links,
    province_communes,
)
from geo.regulation_records import Backfill, DraftRegulation, Reason
from geo.rules import Rule
from geo.scenario_library import LibraryScenario, scenario_library

#: Cards are meant for partners this quick to reach (minutes over the open link).
DEFAULT_MAX_MINUTES = 60.0

#: Partners per commune: the first and the second called.
DEFAULT_PARTNERS = 2

Pair = tuple[str, str]  # (helper, receiver)

#: the area and partner steps (1 and 2) live in :mod:`geo.regulation_partners`; their names stay
#: importable from here, where the service and :mod:`geo.readiness` import them
__all__ = [
    "DEFAULT_MAX_MINUTES",
    "DEFAULT_PARTNERS",
    "area_codes",
    "choose_partners",
    "co_flooded",
    "draft_regulations",
    "open_links",
    "province_communes",
    "size_cards",
]


def _plan_alone(
    G: nx.Graph,
    H: nx.Graph,
    s: LibraryScenario,
    partners_of: Mapping[str, list[str]],
    inventory: Mapping[str, Mapping[str, int]],
    rules: list[Rule],
    params: PlanParameters,
    needs_profile: NeedsProfile | None,
) -> dict[Pair, dict[str, int]]:
    """What each partner of the commune ``s`` floods alone sends it, planned by
    :func:`geo.planning.compute_plan` over the links to its partners only."""
    r = s.centre
    cards = {(h, r) for h in partners_of.get(r, [])}
    nodes = {r} | {h for h, _ in cards}
    keep = {frozenset(p) for p in cards}
    closed = tuple((u, v) for u, v in H.subgraph(nodes).edges if frozenset((u, v)) not in keep)
    mine = [x for x in rules if x.a in nodes and x.b in nodes]
    plan = compute_plan(
        G.subgraph(nodes),
        replace(s.scenario, closed_links=closed),
        {c: inventory.get(c, {}) for c in nodes},
        rules=mine,
        params=params,
        needs_profile=needs_profile,
    )
    sent: dict[Pair, dict[str, int]] = {}
    for t in plan.transfers:
        if (t.giver, t.receiver) in cards:
            row = sent.setdefault((t.giver, t.receiver), {})
            row[t.resource] = row.get(t.resource, 0) + t.quantity
    return sent


def size_cards(
    library: list[LibraryScenario],
    alone: Mapping[tuple[int, str, str], Mapping[str, int]],
    partners_of: Mapping[str, list[str]],
    inventory: Mapping[str, Mapping[str, int]],
    params: PlanParameters,
    needs_profile: NeedsProfile | None,
    levels: list[int],
    flooded_helpers_excused: bool = False,
) -> dict[tuple[int, str, str], dict[str, int]]:
    """``{(level, helper, receiver): increase over the level below}`` (module docstring,
    step 3) from ``alone``, ``{(level, helper, receiver): what the planner sends}`` when the
    receiver floods alone; with ``flooded_helpers_excused`` a scenario that floods the helper
    does not size its cards (see :func:`draft_regulations`)."""
    factor: dict[tuple[int, str, str, str], Fraction] = {}
    for s in library:
        needs = compute_needs(s.scenario, needs_profile)
        totals: dict[tuple[str, str], int] = {}  # (helper, resource) -> what s fires
        fires = [
            (h, r)
            for r in s.communes
            for h in partners_of.get(r, [])
            if not (flooded_helpers_excused and h in s.communes)
        ]
        for h, r in fires:
            for k, q in alone.get((s.level, h, r), {}).items():
                totals[(h, k)] = totals.get((h, k), 0) + q
        for h, r in fires:
            for k in alone.get((s.level, h, r), {}):
                total = totals[(h, k)]
                stock = int(inventory.get(h, {}).get(k, 0))
                spare = params.sendable(k, stock, needs.get(h, {}).get(k, 0))
                f = Fraction(min(spare, total), total)
                key = (s.level, h, r, k)
                factor[key] = min(factor.get(key, Fraction(1)), f)
    out: dict[tuple[int, str, str], dict[str, int]] = {}
    for r, helpers in partners_of.items():
        for h in helpers:
            cumulative: dict[int, dict[str, int]] = {}
            ceiling: dict[str, int] | None = None  # the least over this level and the higher ones
            for level in reversed(levels):
                here = {}
                for k, q in alone.get((level, h, r), {}).items():
                    f = factor.get((level, h, r, k), Fraction(1))
                    here[k] = q * f.numerator // f.denominator
                ceiling = (
                    here
                    if ceiling is None
                    else {k: min(q, ceiling.get(k, 0)) for k, q in here.items()}
                )
                cumulative[level] = ceiling
            below: dict[str, int] = {}
            for level in levels:
                now = cumulative[level]
                step = {k: q - below.get(k, 0) for k, q in now.items() if q > below.get(k, 0)}
                if step:
                    out[(level, h, r)] = step
                below = {k: max(q, below.get(k, 0)) for k, q in now.items()}
    return out


def _backfill(
    H: nx.Graph, helper: str, receiver: str, shared: Mapping[frozenset[str], int]
) -> str | None:
    options = sorted(
        (n for n in H[helper] if n != receiver),
        key=lambda n: (
            shared.get(frozenset((receiver, n)), 0) + (n == receiver),
            H.edges[helper, n]["travel_minutes"],
            n,
        ),
    )
    return options[0] if options else None


def _ordered(quantities: Mapping[str, int], catalogue: Mapping[str, Resource]) -> dict[str, int]:
    keys = [k for k in catalogue if k in quantities] + sorted(
        k for k in quantities if k not in catalogue
    )
    return {k: int(quantities[k]) for k in keys}


def _direction_reasons(
    H: nx.Graph,
    h: str,
    r: str,
    order: int,
    cards: list[BoxCard],
    shared: Mapping[frozenset[str], int],
    max_minutes: float,
    backfill: str | None,
) -> list[Reason]:
    minutes = H.edges[h, r]["travel_minutes"]
    both = shared.get(frozenset((h, r)), 0)
    out = [
        Reason(
            "draft.reason_partner", {"helper": h, "receiver": r, "order": order, "minutes": minutes}
        )
    ]
    if minutes > max_minutes:
        out.append(
            Reason(
                "draft.reason_slow",
                {"helper": h, "receiver": r, "minutes": minutes, "max_minutes": max_minutes},
            )
        )
    if both:
        out.append(Reason("draft.reason_shared", {"helper": h, "receiver": r, "count": both}))
    else:
        out.append(Reason("draft.reason_apart", {"helper": h, "receiver": r}))
    for c in cards:
        out.append(
            Reason(
                "draft.reason_covers",
                {"helper": h, "receiver": r, "level": c.level, "what": dict(c.resources)},
            )
        )
    if not cards:
        out.append(Reason("draft.reason_no_spare", {"helper": h, "receiver": r}))
    if backfill is not None:
        out.append(Reason("draft.reason_backfill", {"helper": h, "covered_by": backfill}))
    return out


def draft_regulations(
    G: nx.Graph,
    *,
    communes: Iterable[str],
    inventory: Mapping[str, Mapping[str, int]],
    catalogue: Mapping[str, Resource] | None = None,
    needs_profile: NeedsProfile | None = None,
    reserve: float | Mapping[str, float] = DEFAULT_RESERVE_SHARE,
    rules: Iterable[Rule] = (),
    at: Any = None,
    levels: Iterable[int] = (1, 2, 3),
    max_minutes: float = DEFAULT_MAX_MINUTES,
    partners: int = DEFAULT_PARTNERS,
    populations: Mapping[str, float] | None = None,
    hazard: str = "flood",
    flooded_helpers_excused: bool = False,
) -> list[DraftRegulation]:
    """Draft regulations so that every commune of the area with an open neighbour has partners
    (the method is the module docstring's).

    Parameters
    ----------
    G
        The adjacency graph (:func:`geo.adjacency.build_graph`).
    communes
        The area (a province's communes, or a list); partners are chosen inside it.
    inventory
        ``{commune: {resource: quantity}}`` as the planner takes it (communes absent hold
        nothing).
    catalogue
        Orders each card's resources (default :func:`geo.resources.load_catalogue`).
    needs_profile
        Turns the library's displaced people into needs (default :class:`NeedsProfile`).
    reserve
        The reserve share (one share, or ``{"default": share, resource: share}``), as the
        planner's ``reserve_share``.
    rules
        The planners' rules in force (agreements, added and closed links) on ``at``.
    at
        The day the rules are judged on (today when None).
    levels
        Risk levels to draw cards for (each with a displaced share in
        :data:`geo.scenario_library.LEVEL_DISPLACED_SHARE`).
    max_minutes
        Partners quicker than this are preferred.
    partners
        Partners per commune (order of call 1, 2, ...).
    populations
        ``{commune: people}`` for the library (default from the graph's nodes).
    flooded_helpers_excused
        False (strict, the default): a card fires whenever its receiver is declared, so a
        scenario that floods the helper too sizes it (a helper short of what it would send
        gives nothing). True: the activation is assumed to skip a card whose helper is itself
        under the same incident, so only the scenarios that leave the helper dry size its
        cards (more cover; :func:`geo.regulation_check.cards_over_spare` with the same flag).

    Returns
    -------
    list of DraftRegulation
        One per pair of partners, ordered by parties; ``to_json(lang)`` is the regulation JSON.

    Raises
    ------
    PlanError
        A commune not in ``G`` (``unknown_commune`` {commune}), bad reserve shares or a solver
        failure (as :func:`geo.planning.compute_plan`).
    RuleError
        A rule that does not fit the graph.
    """
    catalogue = catalogue or load_catalogue()
    area = area_codes(G, communes)
    rules = list(rules)
    params = PlanParameters(max_hops=1, reserve_share=reserve, at=planning_day(at))
    params.check(catalogue)
    H = open_links(G, area, rules, params.at, params)
    levels_ = sorted(set(levels))
    library = scenario_library(
        G, communes=area, levels=levels_, populations=populations, hazard=hazard
    )
    shared = co_flooded(library)
    partners_of = choose_partners(H, area, shared, max_minutes=max_minutes, partners=partners)
    alone: dict[tuple[int, str, str], dict[str, int]] = {}
    for s in library:
        if s.kind == "alone" and s.centre in partners_of:
            for (h, r), got in _plan_alone(
                G, H, s, partners_of, inventory, rules, params, needs_profile
            ).items():
                alone[(s.level, h, r)] = got
    sized = size_cards(
        library,
        alone,
        partners_of,
        inventory,
        params,
        needs_profile,
        levels_,
        flooded_helpers_excused=flooded_helpers_excused,
    )
    pairs = sorted({tuple(sorted((h, r))) for r, hs in partners_of.items() for h in hs})
    names = {c: str(G.nodes[c].get("full_name") or G.nodes[c].get("name") or c) for c in area}
    share = params.reserve_for(RESERVE_DEFAULT_KEY)
    out = []
    for a, b in pairs:
        cards: list[BoxCard] = []
        backfill: list[Backfill] = []
        reasons: list[Reason] = []
        for h, r in ((a, b), (b, a)):
            if h not in partners_of.get(r, []):
                continue
            order = partners_of[r].index(h) + 1
            minutes = math.ceil(H.edges[h, r]["travel_minutes"] - 1e-9)
            mine = [
                BoxCard(
                    hazard, level, h, r, order, _ordered(sized[(level, h, r)], catalogue), minutes
                )
                for level in levels_
                if (level, h, r) in sized
            ]
            cover = _backfill(H, h, r, shared) if mine else None
            if cover is not None:
                backfill.append(Backfill(h, cover))
            cards += mine
            reasons += _direction_reasons(H, h, r, order, mine, shared, max_minutes, cover)
        helpers = sorted({c.giver for c in cards}) or [a]
        reasons += [
            Reason("draft.reason_spare", {"helper": h, "reserve": round(share * 100)})
            for h in helpers
        ]
        named = {c: names[c] for c in {a, b, *(x.covered_by for x in backfill)}}
        out.append(
            DraftRegulation(
                parties=(a, b),
                box_cards=tuple(
                    sorted(cards, key=lambda c: (c.level, c.order, c.giver, c.receiver))
                ),
                backfill=tuple(backfill),
                reasons=tuple(reasons),
                names=named,
            )
        )
    return out

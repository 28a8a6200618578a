"""The part of the country a plan can touch: the communes within ``max_hops`` links of the
affected ones. A seven-commune flood on the nationwide graph is planned on a few hundred
communes, as on a provincial one, instead of on all 3,321."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping

import networkx as nx

from geo.rule_graph import check_rule_communes
from geo.rule_model import Rule, RuleType


def plan_area(
    G: nx.Graph, affected: Iterable[str], rules: Iterable[Rule], max_hops: int
) -> set[str] | None:
    """The communes within ``max_hops`` links of ``affected``, over every link of ``G`` (point
    touches too) and every ``add_link`` rule whatever its dates: a superset of what any
    hop-limited path of the plan can reach, since the plan's links are ``G``'s, less the
    closed ones, plus the rules' added ones. ``None`` when that is all of ``G``.

    Assumes the affected communes are in ``G`` (the planner checks them first).
    """
    extra: dict[str, set[str]] = {}
    for r in rules:
        if r.type == RuleType.ADD_LINK:
            extra.setdefault(r.a, set()).add(r.b)
            extra.setdefault(r.b, set()).add(r.a)
    adj = G.adj
    seen = set(affected)
    frontier = list(seen)
    for _ in range(max_hops):
        nxt: list[str] = []
        for u in frontier:
            for v in (*adj[u], *extra.get(u, ())):
                if v not in seen:
                    seen.add(v)
                    nxt.append(v)
        if not nxt or len(seen) == len(G):
            break
        frontier = nxt
    return None if len(seen) >= len(G) else seen


def restrict(
    G: nx.Graph,
    area: set[str] | None,
    inventory: Mapping[str, Mapping[str, int]],
    rules: list[Rule],
    *,
    day: dt.date | dt.datetime | None,
) -> tuple[nx.Graph, Mapping[str, Mapping[str, int]], list[Rule]]:
    """``G``, the inventory and the rules cut down to ``area`` (all of them when ``None``).

    A rule naming a commune outside ``G`` is refused here, as it would be on the whole graph
    (:func:`geo.rule_graph.check_rule_communes`); a rule with a commune outside the area cannot
    touch a path of the plan and is left out.

    Raises
    ------
    RuleError
        An active rule names a commune not in ``G``.
    """
    check_rule_communes(G, rules, at=day)
    if area is None:
        return G, inventory, rules
    # walk the area, not the inventory: the area is the few communes near the incident
    local_inventory = {c: inventory[c] for c in sorted(area) if c in inventory}
    local_rules = [r for r in rules if r.a in area and r.b in area]
    return G.subgraph(area), local_inventory, local_rules

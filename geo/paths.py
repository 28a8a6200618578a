"""Paths and the command chain of a plan: hop-limited cheapest paths, agreement caps, who
commands an affected commune and where an unmet need escalates."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from geo.plan_settings import PlanParameters
from geo.plans import CommandRow

#: ``{node: (cost, path)}`` of :func:`hop_limited_paths`.
Paths = dict[str, tuple[int, tuple[str, ...]]]

#: The ``via`` of an ``add_link`` rule that opens a way by water (lower case, either language):
#: such a link stays usable into and out of a fully isolated commune — "boats and ferries
#: opened by a rule still count". Every other link (roads, tracks, an ``add_link`` without one
#: of these) is cut.
WATER_LINKS = frozenset({"boat", "ferry", "water", "đò", "phà", "xuồng", "thuyền", "ca nô"})


def is_water_link(edge: Mapping[str, Any]) -> bool:
    """Whether a link of :func:`geo.rules.apply_rules`'s graph runs by boat or ferry."""
    return str(edge.get("link") or "").strip().lower() in WATER_LINKS


def isolate(H: nx.Graph, full: Iterable[str]) -> nx.Graph:
    """``H`` without the links that touch a fully isolated commune, but for water links
    (:data:`WATER_LINKS`): no path by road enters, leaves or crosses one (CONTRACT.md, rule 3).
    Returns ``H`` itself when nothing is isolated, else a copy.
    """
    full = set(full)
    cut = [
        (a, b)
        for a, b, e in H.edges(data=True)
        if (a in full or b in full) and not is_water_link(e)
    ]
    if not cut:
        return H
    out = H.copy()
    out.remove_edges_from(cut)
    return out


#: ``{node: [(neighbour, weight), ...]}``: a graph's links with one weight, read once.
Adjacency = dict[str, list[tuple[str, int]]]


def adjacency(H: nx.Graph, *, weight: str = "cost_milli") -> Adjacency:
    """``H``'s links as plain lists with their ``weight``: what :func:`hop_limited_paths` walks,
    built once for all the sources of a plan instead of through networkx's views each time."""
    return {u: [(v, e[weight]) for v, e in nbrs.items()] for u, nbrs in H.adjacency()}


def hop_limited_paths(
    H: nx.Graph,
    source: str,
    max_hops: int,
    *,
    weight: str = "cost_milli",
    adj: Adjacency | None = None,
) -> Paths:
    """Cheapest paths of at most ``max_hops`` links from ``source`` to every reachable node.

    Returns ``{node: (cost, path)}`` (the source excluded; ``path`` a tuple from ``source``).
    Bellman-Ford limited to ``max_hops`` rounds; ties break by the lexicographically smaller
    path. The result does not depend on the order links are visited in: each node keeps the
    least ``(cost, path)``, a total order. ``adj``: :func:`adjacency` of ``H`` for ``weight``,
    when already built (a plan walks it from every receiver).
    """
    links = adj if adj is not None else adjacency(H, weight=weight)
    start = (source,)
    best: Paths = {source: (0, start)}
    frontier: Paths = {source: (0, start)}
    for _ in range(max_hops):
        nxt: Paths = {}
        for u, (cu, pu) in frontier.items():
            for v, w in links.get(u, ()):
                if v in pu:
                    continue
                cand = (cu + w, (*pu, v))
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


def agreement_cap(H: nx.Graph, giver: str, receiver: str, resource: str) -> int | None:
    """What an agreement on the link ``giver``-``receiver`` caps aid of ``resource`` from
    ``giver`` to (None: no cap)."""
    if not H.has_edge(giver, receiver):
        return None
    caps = H.edges[giver, receiver].get("caps") or {}
    cap: int | None = caps.get(giver, {}).get(resource)  # integers (geo.rules checks them)
    return cap


def _region_of(commune: str, regions: Mapping[str, Iterable[str]]) -> str | None:
    """The first region (in ``regions``' order) that ``commune`` belongs to."""
    for name, members in regions.items():
        if commune in (members if isinstance(members, (set, frozenset)) else set(members)):
            return name
    return None


def _tier_name(
    tier: str, commune: str, region: str | None, H: nx.Graph, params: PlanParameters
) -> str:
    node: Mapping[str, Any] = H.nodes[commune] if commune in H else {}
    return params.tier_names[tier].format(
        commune=node.get("full_name", commune),
        region=region,
        province=node.get("province_name", ""),
    )


def escalate_to(
    commune: str,
    H: nx.Graph,
    regions: Mapping[str, Iterable[str]],
    params: PlanParameters,
    *,
    start: str = "commune",
) -> str:
    """The next body up the command chain above ``start`` for ``commune`` (a regional command
    only where the commune belongs to a region)."""
    chain = list(params.command_chain)
    i = chain.index(start) + 1 if start in chain else 0
    region = _region_of(commune, regions)
    for tier in chain[i:]:
        if tier == "region" and region is None:
            continue
        return _tier_name(tier, commune, region, H, params)
    return params.tier_names.get("national", "national")


def commander(
    commune: str,
    level: int,
    n_affected: int,
    H: nx.Graph,
    regions: Mapping[str, Iterable[str]],
    params: PlanParameters,
) -> CommandRow:
    """Who commands ``commune`` at risk ``level`` when ``n_affected`` communes are affected
    (Decree 66/2021: an event over two or more communes passes command one tier up)."""
    tier = params.commanders.get(level, "province")
    if tier == "commune" and n_affected > 1:
        tier = "region"
    region = _region_of(commune, regions)
    if tier == "region" and region is None:
        tier = "province"
    return CommandRow(commune, level, tier, _tier_name(tier, commune, region, H, params))

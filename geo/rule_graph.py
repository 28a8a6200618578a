"""The plan graph: the adjacency graph with the planners' rules applied (:func:`apply_rules`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

import networkx as nx

from geo.rule_model import (
    DEFAULT_AGREEMENT_FACTOR,
    DEFAULT_DETOUR,
    DEFAULT_SPEED_KMH,
    Rule,
    RuleError,
    RuleType,
)


def default_travel_minutes(
    distance_km: float, *, speed_kmh: float = DEFAULT_SPEED_KMH, detour: float = DEFAULT_DETOUR
) -> float:
    """Travel minutes from the distance between representative points."""
    return round(distance_km * detour / speed_kmh * 60.0, 1)


def apply_rules(
    G: nx.Graph,
    rules: Iterable[Rule] = (),
    *,
    at: dt.date | dt.datetime | None = None,
    closed_links: Iterable[tuple[str, str]] = (),
    speed_kmh: float = DEFAULT_SPEED_KMH,
    detour: float = DEFAULT_DETOUR,
    agreement_factor: float = DEFAULT_AGREEMENT_FACTOR,
) -> nx.Graph:
    """The graph a plan uses: open links only, each with its travel time and cost.

    Parameters
    ----------
    G
        The adjacency graph (:func:`geo.adjacency.build_graph`).
    rules
        Planners' rules; only those active on ``at`` apply.
    closed_links
        The scenario's links that cannot be used during the event.
    speed_kmh, detour
        Default travel minutes = ``distance_km × detour / speed_kmh``.
    agreement_factor
        Multiplies the travel cost of a link under an agreement (unless the agreement sets
        its own ``factor``): aid along it is preferred.

    Returns
    -------
    networkx.Graph
        All nodes of ``G`` (with their attributes); edges for usable links only, with
        ``travel_minutes``, ``cost`` (minutes × factor), ``cost_milli`` (the integer cost the
        planner optimises, in thousandths of a minute), ``agreement`` (bool), ``agreement_rule``,
        ``caps`` (``{giver: {resource: quantity}}`` when the agreement caps aid), ``link``
        (``adjacent``, ``near_gap``, or the added link's ``via``), ``rule_ids``.
        ``shared_edge`` and ``near_gap`` links are usable; ``point_touch`` ones only when an
        ``add_link`` rule opens them.

    Raises
    ------
    RuleError
        If a rule names a commune not in ``G``, or ``travel_minutes`` names a pair that is no
        link.
    """
    day = at.date() if isinstance(at, dt.datetime) else at
    H = _default_links(G, speed_kmh=speed_kmh, detour=detour)
    active = check_rule_communes(G, rules, at=day)
    for r in active:
        if r.type == RuleType.ADD_LINK:
            _add_link(G, H, r)
    for r in active:
        if r.type == RuleType.TRAVEL_MINUTES:
            _set_minutes(H, r)
    for r in active:
        if r.type == RuleType.AGREEMENT:
            _mark_agreement(H, r, agreement_factor)
    closed = {tuple(sorted(p)) for p in closed_links}
    closed |= {r.pair for r in active if r.type == RuleType.CLOSE_LINK}
    for a, b in closed:
        if H.has_edge(a, b):
            H.remove_edge(a, b)
    for _, _, e in H.edges(data=True):
        e["rule_ids"] = [i for i in e["rule_ids"] if i is not None]
        e["cost"] = e["travel_minutes"] * e["factor"]
        e["cost_milli"] = round(e["cost"] * 1000)
    return H


def check_rule_communes(
    G: nx.Graph, rules: Iterable[Rule], *, at: dt.date | dt.datetime | None = None
) -> list[Rule]:
    """The rules active on ``at``, after checking that each names communes of ``G``.

    Raises
    ------
    RuleError
        ``unknown_commune`` (field ``a`` or ``b``) for the first active rule naming a commune
        not in ``G``.
    """
    day = at.date() if isinstance(at, dt.datetime) else at
    active = [r for r in rules if r.active(day)]
    for r in active:
        for key, c in (("a", r.a), ("b", r.b)):
            if c not in G:
                raise _applied_error(r, "unknown_commune", key, f"unknown commune {c!r}", commune=c)
    return active


def _applied_error(r: Rule, code: str, field: str, message: str, **params: Any) -> RuleError:
    values = {"rule": r.id or r.label, **params}
    return RuleError(f"{r.label}: {message}", code=code, field=field, params=values)


def _link(
    travel_minutes: float, link: str, rule_ids: list[str | None], distance_km: float | None
) -> dict[str, Any]:
    """A link's attributes before the agreements."""
    return {
        "travel_minutes": travel_minutes,
        "link": link,
        "agreement": False,
        "agreement_rule": None,
        "factor": 1.0,
        "caps": {},
        "rule_ids": rule_ids,
        "distance_km": distance_km,
    }


def _default_links(G: nx.Graph, *, speed_kmh: float, detour: float) -> nx.Graph:
    """``G``'s nodes, and its usable links (not ``point_touch``) at the default travel time."""
    H = nx.Graph()
    H.graph.update(G.graph)
    H.add_nodes_from(G.nodes(data=True))
    for u, v, d in G.edges(data=True):
        if d.get("kind") == "point_touch":
            continue
        km = d.get("distance_km", 0.0) or 0.0
        H.add_edge(
            u,
            v,
            **_link(
                travel_minutes=default_travel_minutes(km, speed_kmh=speed_kmh, detour=detour),
                link="near_gap" if d.get("kind") == "near_gap" else "adjacent",
                rule_ids=[],
                distance_km=km,
            ),
        )
    return H


def _add_link(G: nx.Graph, H: nx.Graph, r: Rule) -> None:
    km = G.edges[r.a, r.b].get("distance_km", 0.0) if G.has_edge(r.a, r.b) else None
    H.add_edge(
        r.a,
        r.b,
        **_link(
            travel_minutes=float(r.travel_minutes or 0),
            link=r.via or "added",
            rule_ids=[r.id],
            distance_km=km,
        ),
    )


def _set_minutes(H: nx.Graph, r: Rule) -> None:
    if not H.has_edge(r.a, r.b):
        raise _applied_error(
            r,
            "link_not_usable",
            "b",
            f"{r.a}-{r.b} is not a usable link; add it with add_link first",
            a=r.a,
            b=r.b,
        )
    H.edges[r.a, r.b]["travel_minutes"] = float(r.travel_minutes or 0)
    H.edges[r.a, r.b]["rule_ids"].append(r.id)


def _mark_agreement(H: nx.Graph, r: Rule, agreement_factor: float) -> None:
    if not H.has_edge(r.a, r.b):
        return
    e = H.edges[r.a, r.b]
    e.update(
        agreement=True,
        agreement_rule=r.id or r.document,
        factor=r.factor if r.factor is not None else agreement_factor,
    )
    if r.cap:
        e["caps"] = {side: dict(items) for side, items in r.commitments.items()}
    e["rule_ids"].append(r.id)

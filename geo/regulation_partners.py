"""The area and the partners of drafted regulations (steps 1 and 2 of
:mod:`geo.regulation_draft`): the area's codes, its open links under the planners' rules, how
often two communes flood together in the library, and each commune's partners in order of call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import networkx as nx

from geo.plan_settings import PlanParameters
from geo.plans import PlanError
from geo.rules import Rule, apply_rules
from geo.scenario_library import LibraryScenario


def area_codes(G: nx.Graph, communes: Iterable[str]) -> list[str]:
    """The area's codes, sorted; raise :class:`PlanError` ``unknown_commune`` {commune} for a
    code not in ``G``."""
    area = sorted({str(c) for c in communes})
    for c in area:
        if c not in G:
            raise PlanError(
                f"unknown commune {c!r}",
                code="unknown_commune",
                field="communes",
                params={"commune": c},
            )
    return area


def province_communes(G: nx.Graph, province: str) -> list[str]:
    """The communes of ``province`` (a 2-digit code; ``40`` is read as ``"40"``), sorted: the
    area of ``POST /api/v1/regulations/draft`` with ``{"province": "40"}``.

    Raises
    ------
    PlanError
        ``unknown_province`` {province}: no commune of ``G`` is in it.
    """
    code = str(province).zfill(2)
    out = sorted(c for c, d in G.nodes(data=True) if str(d.get("province_code")) == code)
    if not out:
        raise PlanError(
            f"unknown province {code!r}",
            code="unknown_province",
            field="province",
            params={"province": code},
        )
    return out


def open_links(
    G: nx.Graph, area: list[str], rules: Iterable[Rule], at: Any, params: PlanParameters
) -> nx.Graph:
    """The area's plan graph: its links open on ``at`` under the rules between its communes."""
    inside = set(area)
    mine = [r for r in rules if r.a in inside and r.b in inside]
    return apply_rules(
        G.subgraph(area),
        mine,
        at=at,
        speed_kmh=params.speed_kmh,
        agreement_factor=params.agreement_factor,
    )


def co_flooded(library: Iterable[LibraryScenario]) -> dict[frozenset[str], int]:
    """``{frozenset({a, b}): how many distinct flooded sets of the library hold both}``."""
    sets = {frozenset(s.communes) for s in library}
    out: dict[frozenset[str], int] = {}
    for flooded in sets:
        members = sorted(flooded)
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                key = frozenset((a, b))
                out[key] = out.get(key, 0) + 1
    return out


def choose_partners(
    H: nx.Graph,
    area: list[str],
    shared: Mapping[frozenset[str], int],
    *,
    max_minutes: float,
    partners: int,
) -> dict[str, list[str]]:
    """``{receiver: [first partner, second partner, ...]}`` by the order of the module
    docstring (step 2); communes without an open neighbour are left out."""
    out: dict[str, list[str]] = {}
    for r in area:
        ranked = sorted(
            H[r],
            key=lambda h: (
                shared.get(frozenset((r, h)), 0),
                H.edges[r, h]["travel_minutes"] > max_minutes,
                H.edges[r, h]["travel_minutes"],
                h,
            ),
        )
        if ranked:
            out[r] = ranked[:partners]
    return out

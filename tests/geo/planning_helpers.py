"""Tiny hand-built graphs for planner tests (nodes and edges as build_graph makes them)."""

from __future__ import annotations

import networkx as nx

from geo.needs import parse_scenario


def graph(edges, *, kinds=None):
    """A graph of communes ``"1xxxx"`` with ``distance_km`` per edge (default travel 30 km/h x
    1.3 detour: 10 km -> 26 minutes)."""
    G = nx.Graph(tolerance_m=10.0)
    for a, b, km in edges:
        for c in (a, b):
            if c not in G:
                G.add_node(
                    c,
                    name=c,
                    full_name=f"Xã {c}",
                    province_code="40",
                    province_name="Nghệ An",
                    population=10000.0,
                    area_km2=100.0,
                    lon=105.0,
                    lat=19.0,
                )
        G.add_edge(
            a,
            b,
            shared_border_m=1000.0,
            gap_m=0.0,
            kind=(kinds or {}).get((a, b), "shared_edge"),
            distance_km=km,
        )
    return G


def scenario(
    affected,
    *,
    closed=(),
    communes=None,
    days=1,
    risk=1,
    isolated=None,
    houses=None,
    recovery_days=None,
):
    """A scenario of explicit needs; ``isolated`` ``{commune: "full"|"partial"}``, ``houses``
    ``{commune: (flooded, collapsed)}`` (a commune there and not in ``affected`` is affected
    with no relief needs)."""
    isolated, houses = isolated or {}, houses or {}
    entries = []
    for c in [*affected, *(c for c in houses if c not in affected)]:
        entry = {"commune": c, "displaced": 0, "needs": affected.get(c, {})}
        if c in isolated:
            entry["isolated"] = isolated[c]
        if c in houses:
            entry["houses_flooded"], entry["houses_collapsed"] = houses[c]
        entries.append(entry)
    data = {
        "name": "test",
        "risk_level": risk,
        "duration_days": days,
        "affected": entries,
        "closed_links": [list(p) for p in closed],
    }
    if recovery_days is not None:
        data["recovery_days"] = recovery_days
    return parse_scenario(data, communes=communes)

"""The adjacency graph as plain arrays (:class:`Adjacency`, what :func:`geo.adjacency.build_graph`
makes a NetworkX graph of) and what is reported of either: the edge CSV and the summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import networkx as nx

KINDS = ("shared_edge", "point_touch", "near_gap")

#: The node attributes taken from the boundaries' columns (those present).
NODE_COLUMNS = (
    *("name", "full_name", "name_ascii", "unit_type", "province_code", "province_name"),
    *("population", "population_suspect", "area_km2"),
)


class Adjacency(NamedTuple):
    """The adjacency graph as plain arrays (what :func:`geo.adjacency.build_graph` turns into a
    NetworkX graph; a command that only reports and writes the edges needs no more).

    Edges are listed in the order the graph gets them; ``a`` and ``b`` are positions
    in ``codes``.
    """

    codes: np.ndarray
    nodes: pd.DataFrame
    lon: np.ndarray
    lat: np.ndarray
    a: np.ndarray
    b: np.ndarray
    shared_border_m: list[float]
    gap_m: list[float]
    kind: list[str]
    distance_km: list[float]
    tolerance_m: float
    islands: list[str]
    overlaps: list[tuple[str, str, float]]
    seconds: float


def edges_frame(G: nx.Graph | Adjacency) -> pd.DataFrame:
    """The edge list as the CSV of CONTRACT.md: ``a,b,shared_border_m,gap_m,kind`` (``a < b``),
    plus ``distance_km``, sorted by ``a, b`` (of a graph or of the :class:`Adjacency` it is
    built from: the same rows)."""
    cols = ["a", "b", "shared_border_m", "gap_m", "kind", "distance_km"]
    if isinstance(G, Adjacency) and len(G.a):
        u, v = G.codes[G.a], G.codes[G.b]
        swap = u > v
        df = pd.DataFrame(
            {
                "a": np.where(swap, v, u),
                "b": np.where(swap, u, v),
                "shared_border_m": [round(x, 2) for x in G.shared_border_m],
                "gap_m": [round(x, 3) for x in G.gap_m],
                "kind": G.kind,
                "distance_km": G.distance_km,
            }
        )
        return df.sort_values(["a", "b"], ignore_index=True)
    if isinstance(G, Adjacency):
        return pd.DataFrame([], columns=cols)
    rows = []
    for u, v, d in G.edges(data=True):
        a, b = (u, v) if u < v else (v, u)
        rows.append(
            (
                a,
                b,
                round(d["shared_border_m"], 2),
                round(d["gap_m"], 3),
                d["kind"],
                d.get("distance_km"),
            )
        )
    df = pd.DataFrame(rows, columns=cols)
    return df.sort_values(["a", "b"], ignore_index=True)


def summarise(G: nx.Graph | Adjacency) -> dict[str, Any]:
    """Counts for reporting: units, provinces, edges by kind, islands, cross-province links (of
    a graph, or of the :class:`Adjacency` it is built from: the same counts)."""
    if isinstance(G, Adjacency):
        return summarise_adjacency(G)
    kinds = dict.fromkeys(KINDS, 0)
    cross = 0
    prov = G.nodes(data="province_code")
    for u, v, kind in G.edges(data="kind"):
        kinds[kind] += 1
        cross += prov[u] != prov[v]
    return {
        "units": G.number_of_nodes(),
        "provinces": len({p for _, p in prov}),
        "edges": G.number_of_edges(),
        "edges_by_kind": kinds,
        "islands": list(G.graph.get("islands", [])),
        "cross_province_links": cross,
        "overlaps": len(G.graph.get("overlaps", [])),
        "seconds": round(G.graph.get("seconds", 0.0), 3),
    }


def summarise_adjacency(adj: Adjacency) -> dict[str, Any]:
    """:func:`summarise` of the graph :func:`build_graph` would make of ``adj``."""
    kinds = dict.fromkeys(KINDS, 0)
    for kind in adj.kind:
        kinds[kind] += 1
    if "province_code" in adj.nodes.columns:
        prov = adj.nodes["province_code"].to_numpy()
        cross = int((prov[adj.a] != prov[adj.b]).sum())
        provinces = len(set(prov.tolist()))
    else:  # as a graph's nodes without the attribute: one "province", None
        cross, provinces = 0, 1 if len(adj.codes) else 0
    return {
        "units": len(adj.codes),
        "provinces": provinces,
        "edges": len(adj.a),
        "edges_by_kind": kinds,
        "islands": list(adj.islands),
        "cross_province_links": cross,
        "overlaps": len(adj.overlaps),
        "seconds": round(adj.seconds, 3),
    }

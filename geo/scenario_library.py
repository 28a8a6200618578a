"""The library of flood scenarios that regulation drafts are sized on: each commune flooded alone,
and with its valley neighbours, at risk levels 1–3, with displaced people from its population.

The data holds neither rivers nor elevation, so "the neighbours along the same valley" has a
stated proxy (:func:`valley_of`): the neighbours that share a **long border** with the commune.
In the mountains of western Nghệ An communes are cut along ridges, and a valley floor with its
river usually runs across the long side of the boundary between two communes of the same valley,
while a short border is a ridge corner; so a commune's valley is the neighbour(s) with which it
shares the largest part of its border. It is a proxy, to be replaced by a river network or a
flood-hazard map where one exists (a scenario file with a ``flood_extent`` gives the real set).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass

import networkx as nx

from geo.scenario import AffectedCommune, Scenario

#: Share of the population displaced at each risk level, for a commune as a whole. Planning
#: assumptions, to be set per province: the illustrative western Nghệ An scenario (level 3)
#: displaces 900–3,100 people in communes of some 10,000–30,000 (a tenth or more in the worst
#: hit); level 1 (the river at alarm 1, low-lying hamlets) a fiftieth, level 2 a twentieth.
LEVEL_DISPLACED_SHARE: dict[int, float] = {1: 0.02, 2: 0.05, 3: 0.10}

#: Days a library scenario lasts (the western Nghệ An scenario's three days).
LIBRARY_DURATION_DAYS = 3

#: A neighbour is in a commune's valley when their shared border is at least this share of the
#: commune's border with all its neighbours (the longest one always is).
VALLEY_BORDER_SHARE = 0.25

#: At most this many valley neighbours flood with a commune.
VALLEY_SIZE = 2

#: Population assumed for a commune without a trustworthy one when the area has none either.
FALLBACK_POPULATION = 2000.0


@dataclass(frozen=True)
class LibraryScenario:
    """One scenario of the library: ``communes`` (``centre`` first) flooded at ``level``.

    ``kind`` is ``"alone"`` or ``"valley"``; ``key`` names the flooded set independently of
    the level (``"16876:alone"``); ``scenario`` is the planner's input (no closed links).
    """

    key: str
    kind: str
    centre: str
    communes: tuple[str, ...]
    level: int
    scenario: Scenario


def valley_of(
    G: nx.Graph,
    code: str,
    *,
    within: Collection[str] | None = None,
    border_share: float = VALLEY_BORDER_SHARE,
    size: int = VALLEY_SIZE,
    border: str = "shared_border_m",
) -> tuple[str, ...]:
    """The neighbours of ``code`` that flood with it in a valley scenario (the proxy of the
    module docstring): the neighbours with a shared border (``border`` edge attribute, metres)
    of at least ``border_share`` of ``code``'s total, the longest always, at most ``size``,
    longest first (ties by code). Neighbours outside ``within`` (when given) are left out.

    Returns
    -------
    tuple of str
        Empty when ``code`` shares no border of positive length with any neighbour.

    Raises
    ------
    KeyError
        ``code`` is not in ``G``.
    """
    lengths = sorted(
        (
            (float(G.edges[code, n].get(border) or 0.0), n)
            for n in G[code]
            if within is None or n in within
        ),
        key=lambda t: (-t[0], t[1]),
    )
    lengths = [(m, n) for m, n in lengths if m > 0]
    if not lengths:
        return ()
    total = sum(m for m, _ in lengths)
    out = [n for i, (m, n) in enumerate(lengths) if i == 0 or m >= border_share * total]
    return tuple(out[:size])


def library_populations(G: nx.Graph, communes: Iterable[str]) -> dict[str, float]:
    """The population each library scenario displaces a share of: the node's ``population``,
    or, where it is missing or flagged ``population_suspect``, the median of the trustworthy
    ones among ``communes`` (:data:`FALLBACK_POPULATION` when none is)."""
    codes = list(communes)
    good: dict[str, float] = {}
    for c in codes:
        p = G.nodes[c].get("population")
        if (
            p is not None
            and not G.nodes[c].get("population_suspect")
            and math.isfinite(p)
            and p > 0
        ):
            good[c] = float(p)
    values = sorted(good.values())
    if values:
        mid = len(values) // 2
        median = values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2
    else:
        median = FALLBACK_POPULATION
    return {c: good.get(c, median) for c in codes}


def library_scenario(
    communes: Iterable[str],
    level: int,
    populations: Mapping[str, float],
    *,
    name: str,
    hazard: str = "flood",
    duration_days: int = LIBRARY_DURATION_DAYS,
    shares: Mapping[int, float] = LEVEL_DISPLACED_SHARE,
) -> Scenario:
    """The planner's scenario of ``communes`` flooded at ``level``: each displaces
    ⌈share × population⌉ people (:data:`LEVEL_DISPLACED_SHARE`), over ``duration_days``.

    Raises
    ------
    KeyError
        ``level`` has no share, or a commune no population.
    """
    share = shares[level]
    affected = tuple(
        AffectedCommune(c, displaced=math.ceil(share * populations[c] - 1e-9)) for c in communes
    )
    return Scenario(
        name=name,
        hazard=hazard,
        risk_level=level,
        duration_days=duration_days,
        affected=affected,
    )


def scenario_library(
    G: nx.Graph,
    *,
    communes: Iterable[str],
    levels: Iterable[int] = (1, 2, 3),
    populations: Mapping[str, float] | None = None,
    hazard: str = "flood",
    duration_days: int = LIBRARY_DURATION_DAYS,
    border_share: float = VALLEY_BORDER_SHARE,
    valley_size: int = VALLEY_SIZE,
) -> list[LibraryScenario]:
    """Every scenario of the library for ``communes`` (an area of ``G``): each commune alone
    and each commune with its valley (:func:`valley_of`, within the area), at every level; a
    flooded set already in the library (two communes each other's valley) appears once.

    Parameters
    ----------
    G
        The adjacency graph (edges with ``shared_border_m``).
    communes
        The area; valleys stay inside it.
    levels
        Risk levels, each with a share in :data:`LEVEL_DISPLACED_SHARE`.
    populations
        ``{commune: people}``; default :func:`library_populations`.

    Returns
    -------
    list of LibraryScenario
        Ordered by centre, kind (alone first), level: deterministic.

    Raises
    ------
    KeyError
        A commune not in ``G``, or a level without a share.
    """
    area = sorted(set(communes))
    inside = set(area)
    pops = dict(populations) if populations is not None else library_populations(G, area)
    levels = sorted(set(levels))
    seen: set[frozenset[str]] = set()
    out: list[LibraryScenario] = []
    for c in area:
        valley = valley_of(G, c, within=inside, border_share=border_share, size=valley_size)
        for kind, flooded in (("alone", (c,)), ("valley", (c, *valley))):
            if (kind == "valley" and not valley) or frozenset(flooded) in seen:
                continue
            seen.add(frozenset(flooded))
            key = f"{c}:{kind}"
            for level in levels:
                scenario = library_scenario(
                    flooded,
                    level,
                    pops,
                    name=f"{key}:{level}",
                    hazard=hazard,
                    duration_days=duration_days,
                )
                out.append(LibraryScenario(key, kind, c, tuple(flooded), level, scenario))
    return out

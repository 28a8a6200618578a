"""Checks of drafted regulations that tests on hand-made and real data share."""

from __future__ import annotations

from geo.needs import NeedsProfile
from geo.regulation_check import cards_over_spare
from geo.regulation_draft import draft_regulations
from geo.rules import apply_rules
from tests.geo.planning_helpers import graph


def over_spare(G, regs, **kw):
    """:func:`geo.regulation_check.cards_over_spare` as plain tuples."""
    return [
        (o.scenario, o.helper, o.resource, o.fired, o.spare)
        for o in cards_over_spare(G, regs, **kw)
    ]


def open_neighbours(G, communes, rules=()):
    """``{commune: its neighbours over open links inside the area}``."""
    H = apply_rules(G.subgraph(communes), [r for r in rules if r.a in communes and r.b in communes])
    return {c: set(H[c]) for c in communes}, H


A, B, C, D, E = "10001", "10002", "10003", "10004", "10005"
#: Only militia, one per ten displaced people: levels 1/2/3 displace 2/5/10 % of the people.
MILITIA = NeedsProfile(
    per_person_day={}, per_person={"militia": 0.1}, per_house_flooded={}, per_house_collapsed={}
)
POPULATIONS = {A: 10000.0, B: 10000.0, C: 1000.0, D: 1000.0, E: 1000.0}
INVENTORY = {
    A: {"militia": 10},
    B: {"militia": 10},
    C: {"militia": 100},
    D: {"militia": 20},
    E: {"militia": 30},
}


def five_communes():
    """A and B share a long border (one valley); C touches both; D hangs off A, E off B.
    Travel at 2.6 minutes a km: A–B 10.4, A–C 13, B–C 15.6, A–D 26, B–E 31.2."""
    G = graph([(A, B, 4), (A, C, 5), (B, C, 6), (A, D, 10), (B, E, 12)])
    G.edges[A, B]["shared_border_m"] = 6000.0
    return G


def draft(G, **kw):
    kw = {
        "communes": [A, B, C, D, E],
        "inventory": INVENTORY,
        "needs_profile": MILITIA,
        "populations": POPULATIONS,
        "reserve": 0.3,
        **kw,
    }
    return [r.to_json() for r in draft_regulations(G, **kw)]

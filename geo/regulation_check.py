"""The reserve check of box cards: which library scenario fires cards asking a helper for more
than its spare after its reserve (the rule :func:`geo.regulation_draft.draft_regulations` keeps;
the check for cards a planner edited before signing)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx

from geo.needs import NeedsProfile, compute_needs
from geo.plan_settings import DEFAULT_RESERVE_SHARE, PlanParameters
from geo.scenario_library import scenario_library


@dataclass(frozen=True)
class OverSpare:
    """In library scenario ``scenario`` (risk level ``level``), the cards it fires ask
    ``helper`` for ``fired`` of ``resource``, more than the ``spare`` it may send then."""

    scenario: str
    helper: str
    resource: str
    fired: int
    spare: int
    level: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "helper": self.helper,
            "resource": self.resource,
            "fired": self.fired,
            "spare": self.spare,
            "level": self.level,
        }


def cards_over_spare(
    G: nx.Graph,
    regulations: Iterable[Mapping[str, Any]],
    *,
    communes: Iterable[str],
    inventory: Mapping[str, Mapping[str, int]],
    reserve: float | Mapping[str, float] = DEFAULT_RESERVE_SHARE,
    needs_profile: NeedsProfile | None = None,
    populations: Mapping[str, float] | None = None,
    hazard: str = "flood",
    flooded_helpers_excused: bool = False,
) -> list[OverSpare]:
    """Every case where the cards one library scenario fires together (the cards of levels ≤ L
    of ``hazard`` to the communes a level-L scenario floods) ask a helper for more of a resource
    than its spare after its reserve, and after its own needs when that scenario floods it too
    (:func:`geo.plan_settings.sendable`).

    Parameters
    ----------
    regulations
        Regulation JSON dicts (their ``box_cards``), whatever their status.
    communes, populations
        The area and its library (:func:`geo.scenario_library.scenario_library`).
    inventory, reserve, needs_profile, flooded_helpers_excused
        As :func:`geo.regulation_draft.draft_regulations` (with ``flooded_helpers_excused`` a
        card whose helper the scenario floods does not fire).

    Returns
    -------
    list of OverSpare
        Empty when the cards keep every reserve; in library order, then helper and resource.

    Raises
    ------
    KeyError
        A commune of the area not in ``G``.
    """
    params = PlanParameters(reserve_share=reserve)
    cards = [c for r in regulations for c in r.get("box_cards", []) if c.get("hazard") == hazard]
    out = []
    for s in scenario_library(G, communes=communes, populations=populations, hazard=hazard):
        needs = compute_needs(s.scenario, needs_profile)
        fired: dict[tuple[str, str], int] = {}
        for c in cards:
            if flooded_helpers_excused and str(c["from"]) in s.communes:
                continue
            if str(c["to"]) in s.communes and int(c["level"]) <= s.level:
                for k, q in c["resources"].items():
                    key = (str(c["from"]), str(k))
                    fired[key] = fired.get(key, 0) + int(q)
        for (h, k), q in sorted(fired.items()):
            stock = int(inventory.get(h, {}).get(k, 0))
            spare = params.sendable(k, stock, needs.get(h, {}).get(k, 0))
            if q > spare:
                out.append(OverSpare(s.scenario.name, h, k, q, spare, s.level))
    return out

"""Readiness (issue 11, part 4): for every commune of an area, its regulations, its partners and
the share of its modelled needs at levels 1–3 that its own stock plus its box cards cover; and
the communes without any regulation, or whose cards exceed what the partner now has to spare.

The modelled needs are those of the library scenario "the commune flooded alone" at each level
(:func:`geo.scenario_library.library_scenario`, needs by :class:`geo.needs.NeedsProfile`). A
resource's cover is ``min(need, own stock + the cards to the commune of levels ≤ L)``, each card
counted at most at what its helper may send now (stock less its reserve,
:func:`geo.plan_settings.sendable` with no own use); the share is the **mean over the needed
resources** of cover / need (resources are in different units, so their quantities are never
added together). The function takes plain inputs (regulation JSON dicts as CONTRACT.md gives
them) and returns JSON-able records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from geo.needs import NeedsProfile
from geo.plan_settings import DEFAULT_RESERVE_SHARE, PlanParameters
from geo.regulation_draft import area_codes
from geo.scenario_library import library_populations, library_scenario


@dataclass(frozen=True)
class OverHolding:
    """A card (cumulative over its levels) larger than what its helper may send now."""

    commune: str
    helper: str
    regulation: Any
    resource: str
    card: int
    spare: int
    stock: int

    def to_json(self) -> dict[str, Any]:
        return {
            "commune": self.commune,
            "helper": self.helper,
            "regulation": self.regulation,
            "resource": self.resource,
            "card": self.card,
            "spare": self.spare,
            "stock": self.stock,
        }


@dataclass(frozen=True)
class ReadinessRow:
    """One commune's readiness; ``to_json()`` is CONTRACT.md's readiness row."""

    commune: str
    regulations: tuple[Any, ...]
    partners: tuple[str, ...]
    coverage: Mapping[str, float]
    over_holdings: tuple[OverHolding, ...] = field(default=())

    @property
    def without_regulation(self) -> bool:
        return not self.regulations

    def to_json(self) -> dict[str, Any]:
        return {
            "commune": self.commune,
            "regulations": list(self.regulations),
            "partners": list(self.partners),
            "coverage": dict(self.coverage),
        }


def _regulation_ref(reg: Mapping[str, Any], i: int) -> Any:
    """A regulation's id, else its number, else ``#i`` (its position in the list)."""
    for key in ("id", "number"):
        if reg.get(key) not in (None, ""):
            return reg[key]
    return f"#{i}"


def in_force(reg: Mapping[str, Any], day: dt.date) -> bool:
    """Whether a regulation's ``valid_from``/``valid_to`` (ISO dates, or None: open) hold
    ``day``."""
    lo, hi = reg.get("valid_from"), reg.get("valid_to")
    if lo and dt.date.fromisoformat(str(lo)[:10]) > day:
        return False
    return not (hi and dt.date.fromisoformat(str(hi)[:10]) < day)


def readiness(
    G: nx.Graph,
    *,
    communes: Iterable[str],
    inventory: Mapping[str, Mapping[str, int]],
    regulations: Sequence[Mapping[str, Any]],
    needs_profile: NeedsProfile | None = None,
    reserve: float | Mapping[str, float] = DEFAULT_RESERVE_SHARE,
    levels: Iterable[int] = (1, 2, 3),
    populations: Mapping[str, float] | None = None,
    statuses: Iterable[str] = ("signed",),
    hazard: str = "flood",
    at: dt.date | None = None,
) -> list[ReadinessRow]:
    """Every commune of the area with its regulations, partners and coverage (module docstring).

    Parameters
    ----------
    G
        The adjacency graph.
    communes
        The area (a province's communes, or a list).
    inventory
        ``{commune: {resource: quantity}}`` now.
    regulations
        Regulation JSON dicts (CONTRACT.md); those whose ``status`` is in ``statuses`` count
        (``("signed",)`` by default; ``("draft", "signed")`` to judge drafts), and only while
        in force on ``at`` (today when None; :func:`in_force`).
    needs_profile, populations, levels
        As :func:`geo.regulation_draft.draft_regulations`.
    reserve
        The reserve share a helper keeps (one share or a mapping, as the planner's).
    hazard
        Only the cards of this hazard count.

    Returns
    -------
    list of ReadinessRow
        In code order; ``coverage`` maps ``"1"``, ``"2"``, ``"3"`` to a share in [0, 1]
        rounded to 3 decimals (1.0 for a commune with no modelled need).

    Raises
    ------
    PlanError
        A commune not in ``G`` (``unknown_commune``), bad reserve shares.
    """
    area = area_codes(G, communes)
    params = PlanParameters(reserve_share=reserve)
    params.check()
    profile = needs_profile or NeedsProfile()
    pops = dict(populations) if populations is not None else library_populations(G, area)
    levels_ = sorted(set(levels))
    counted = set(statuses)
    day = at or dt.date.today()
    regs_of: dict[str, list[Any]] = {c: [] for c in area}
    partners_of: dict[str, set[str]] = {c: set() for c in area}
    cards_to: dict[str, list[tuple[Any, Mapping[str, Any]]]] = {c: [] for c in area}
    for i, reg in enumerate(regulations):
        if reg.get("status") not in counted or not in_force(reg, day):
            continue
        ref = _regulation_ref(reg, i)
        parties = [str(p) for p in reg.get("parties", [])]
        for p in parties:
            if p in regs_of:
                regs_of[p].append(ref)
                partners_of[p] |= {q for q in parties if q != p}
        for card in reg.get("box_cards", []):
            if card.get("hazard", hazard) == hazard and str(card.get("to")) in cards_to:
                cards_to[str(card["to"])].append((ref, card))
    rows = []
    for c in area:
        coverage: dict[str, float] = {}
        over: dict[tuple[str, Any, str], OverHolding] = {}
        own = inventory.get(c, {})
        for level in levels_:
            scenario = library_scenario((c,), level, pops, name=f"{c}:alone:{level}")
            need = profile.needs_for(scenario.affected[0].displaced, scenario.duration_days)
            got: dict[str, int] = {}
            sums: dict[tuple[Any, str, str], int] = {}
            for ref, card in cards_to[c]:
                if int(card.get("level", 0)) <= level:
                    for k, q in (card.get("resources") or {}).items():
                        key = (ref, str(card["from"]), k)
                        sums[key] = sums.get(key, 0) + int(q)
            for (ref, helper, k), q in sums.items():
                stock = int(inventory.get(helper, {}).get(k, 0))
                spare = params.sendable(k, stock, 0)
                if q > spare:
                    over[(helper, ref, k)] = OverHolding(c, helper, ref, k, q, spare, stock)
                got[k] = got.get(k, 0) + min(q, spare)
            shares = [min(1.0, (int(own.get(k, 0)) + got.get(k, 0)) / n) for k, n in need.items()]
            coverage[str(level)] = round(sum(shares) / len(shares), 3) if shares else 1.0
        rows.append(
            ReadinessRow(
                commune=c,
                regulations=tuple(regs_of[c]),
                partners=tuple(sorted(partners_of[c])),
                coverage=coverage,
                over_holdings=tuple(over[k] for k in sorted(over, key=str)),
            )
        )
    return rows


def readiness_gaps(rows: Iterable[ReadinessRow]) -> dict[str, Any]:
    """``{"without_regulation": [codes], "over_holdings": [OverHolding JSON]}``: the communes
    to act on."""
    rows = list(rows)
    return {
        "without_regulation": [r.commune for r in rows if r.without_regulation],
        "over_holdings": [o.to_json() for r in rows for o in r.over_holdings],
    }

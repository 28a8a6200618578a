"""Which communes a request may be addressed to: those that can reach it over open links."""

from __future__ import annotations

from typing import Any

from api.errors import BadInput
from api.models import Incident

#: The farthest (in links) a request may be addressed: the plan's largest ``max_hops``.
MAX_HOPS = 6


def check_reachable(incident: Incident | None, commune: str, to: list[str], graph: Any) -> None:
    """Refuse addressees that cannot reach ``commune`` within ``MAX_HOPS`` links over the
    links the incident's scenario leaves open (not those touching at a point only)."""
    scenario = (incident.scenario if incident is not None else None) or {}
    closed = {
        frozenset(map(str, pair))
        for pair in scenario.get("closed_links") or ()
        if isinstance(pair, list | tuple) and len(pair) == 2
    }
    seen = {commune}
    frontier = [commune] if commune in graph else []
    for _ in range(MAX_HOPS):
        nxt = []
        for a in frontier:
            for b in graph[a]:
                if b in seen or graph.edges[a, b].get("kind") == "point_touch":
                    continue
                if frozenset((a, b)) in closed:
                    continue
                seen.add(b)
                nxt.append(b)
        frontier = nxt
    far = sorted(c for c in set(to) if c not in seen)
    if far:
        raise BadInput(
            f"to: {', '.join(far)} cannot reach {commune} over open links "
            f"(within {MAX_HOPS} links)",
            code="unreachable_commune",
            field="to",
            params={"commune": ", ".join(far), "communes": far, "max_hops": MAX_HOPS},
        )

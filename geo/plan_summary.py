"""A plan as readable lines, per affected commune, with quantities phrased in Vietnamese."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import networkx as nx

from geo.plans import Plan, Transfer, UnmetRow, as_plan
from geo.resources import Catalogue, format_count_vi, load_catalogue, quantity_vi


def _header(plan: Plan) -> list[str]:
    settings = plan.parameters
    reserve = settings.to_json()["reserve_share"]
    at = f", rules as of {settings.at.isoformat()}" if settings.at else ""
    return [
        f"Kế hoạch / plan: {plan.scenario} — {plan.method}",
        f"max_hops {settings.max_hops}, reserve {reserve}{at}",
    ]


def _received_line(t: Transfer, catalogue: Catalogue, name: Mapping[str, str]) -> str:
    via = " → ".join(t.path)
    ag = " [thỏa thuận / agreement]" if t.agreement else ""
    return (
        f"  nhận {quantity_vi(t.quantity, catalogue[t.resource])} từ "
        f"{name.get(t.giver, t.giver)}, "
        f"{format_count_vi(round(t.travel_minutes))} phút ({via}){ag}{_phase(t)}"
    )


#: How a plan's phases are named in its summary.
PHASE_LABELS = {"relief": "cứu trợ / relief", "recovery": "khắc phục / recovery"}

#: What a fully isolated commune's unmet need says: it must come by air or by water.
BY_AIR_OR_BOAT = "cần tiếp tế bằng đường không hoặc đường thủy / by air or boat"


def _phase(row: Transfer | UnmetRow) -> str:
    return f" [{PHASE_LABELS.get(row.phase, row.phase)}]" if row.phase else ""


def _unmet_line(u: UnmetRow, catalogue: Catalogue) -> str:
    mode = f" — {BY_AIR_OR_BOAT}" if u.isolated else ""
    return (
        f"  THIẾU {quantity_vi(u.quantity, catalogue[u.resource])}{_phase(u)} → "
        f"{u.escalate_to}{mode}"
    )


def summarise_plan(plan: Plan | Mapping[str, Any], G: nx.Graph) -> list[str]:
    """The plan as readable lines, per affected commune: what it gets from whom, what is unmet
    and where it escalates, quantities phrased in Vietnamese (:func:`geo.resources.quantity_vi`).

    Parameters
    ----------
    plan
        A :class:`geo.plans.Plan`, or its JSON.
    G
        The graph the plan was made on (for the communes' names).

    Raises
    ------
    KeyError
        If the plan names a resource that is not in the catalogue (:func:`load_catalogue`).
    PlanError
        If ``plan`` is JSON that is not a plan.
    """
    p = as_plan(plan)
    catalogue = load_catalogue()
    name = {c: f"{d.get('full_name', c)} ({c})" for c, d in G.nodes(data=True)}
    lines = _header(p)
    lines += [f"CẢNH BÁO / warning: {w.message}" for w in p.parameters.warnings or ()]
    by_receiver: dict[str, list[Transfer]] = {}
    for t in p.transfers:
        by_receiver.setdefault(t.receiver, []).append(t)
    unmet_by: dict[str, list[UnmetRow]] = {}
    for u in p.unmet:
        unmet_by.setdefault(u.commune, []).append(u)
    for cmd in p.command:
        c = cmd.commune
        lines += ["", f"{name.get(c, c)} — chỉ huy / command: {cmd.commander}"]
        lines += [_received_line(t, catalogue, name) for t in by_receiver.get(c, [])]
        lines += [_unmet_line(u, catalogue) for u in unmet_by.get(c, [])]
        if not by_receiver.get(c) and not unmet_by.get(c):
            lines.append("  tự đáp ứng tại chỗ / covered on site")
    lines.append("")
    lines.append(f"unmet units: {p.cost.unmet_units}, transport cost: {p.cost.transport:.1f}")
    return lines

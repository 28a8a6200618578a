"""Situation reports of a commune about an incident (every one kept, with author and time),
and a commune joining an active incident nearby. A report updates the commune's entry in the
incident's scenario, so the next plan uses each commune's latest report."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal, require_act_for, require_role
from api.enums import Role
from api.errors import BadInput, Forbidden
from api.models import SituationReport, as_utc
from api.services import audit
from api.services.activation import fire_cards
from api.services.incidents import _require_active, get_incident, incident_dict
from geo.errors import Problem
from geo.scenario import AffectedCommune
from geo.situation import parse_report

#: The longest note a report keeps (characters).
MAX_NOTE = 2000


@dataclass(frozen=True)
class Report:
    """A situation report checked against the boundaries (:func:`read_report`)."""

    entry: AffectedCommune
    note: str | None = None
    warnings: tuple[Problem, ...] = ()


def read_report(data: Mapping[str, Any], G: nx.Graph) -> Report:
    """Check a report's JSON (CONTRACT.md) against the graph's communes and their population
    (``population``, ``population_suspect`` on each node): no database.

    Raises
    ------
    geo.scenario.ScenarioError
        See :func:`geo.situation.parse_report`.
    BadInput
        ``note_too_long`` {max}.
    """
    code = data.get("commune")
    node = G.nodes[code] if isinstance(code, str) and code in G else None
    populations = (
        {code: (node.get("population"), bool(node.get("population_suspect", True)))}
        if node is not None and isinstance(code, str)
        else None
    )
    entry, warnings = parse_report(data, known=set(G), populations=populations)
    note = data.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise BadInput(
            f"note: text of at most {MAX_NOTE} characters",
            code="note_too_long",
            field="note",
            params={"max": MAX_NOTE},
        )
    return Report(entry, note or None, tuple(warnings))


def report_dict(r: SituationReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "incident_id": r.incident_id,
        "commune": r.commune_code,
        "displaced": r.displaced,
        "houses_flooded": r.houses_flooded,
        "houses_collapsed": r.houses_collapsed,
        "isolated": r.isolated,
        "needs": dict(r.needs or {}),
        "note": r.note,
        "warnings": list(r.warnings or []),
        "created_by": r.created_by,
        "created_at": as_utc(r.created_at),
    }


def add_report(
    session: Session, principal: Principal, incident_id: int, report: Report
) -> SituationReport:
    """Keep a situation report and make it the commune's entry in the incident's scenario
    (displaced, houses, isolation; explicit needs when it gives any). Only the commune's
    leader and the command of its area (or an admin) report for it; audited.

    Raises
    ------
    Forbidden
        ``not_your_commune``, ``outside_area``, ``role_required`` (see
        :func:`api.auth.require_act_for`).
    BadInput
        ``commune_not_affected`` {commune}: a leader joins the incident first (a command's
        report adds the commune to it).
    """
    e = report.entry
    if principal.role != Role.ADMIN:
        require_act_for(principal, e.commune, action="reporting the situation of a commune")
    i = get_incident(session, incident_id)
    _require_active(i)
    entries = [dict(a) for a in i.scenario.get("affected", [])]
    entry = next((a for a in entries if a.get("commune") == e.commune), None)
    if entry is None and principal.role in (Role.DEFENCE_COMMAND, Role.ADMIN):
        entry = {"commune": e.commune, "displaced": 0}  # the command adds a commune by reporting
        entries.append(entry)
    if entry is None:
        raise BadInput(
            f"commune {e.commune} is not affected by incident {i.id}: join it first",
            code="commune_not_affected",
            field="commune",
            params={"commune": e.commune},
        )
    before = dict(entry)
    entry.update(
        displaced=e.displaced,
        houses_flooded=e.houses_flooded,
        houses_collapsed=e.houses_collapsed,
    )
    if e.isolated:
        entry["isolated"] = e.isolated
    else:
        entry.pop("isolated", None)
    if e.needs:
        entry["needs"] = dict(e.needs)
    i.scenario = {**i.scenario, "affected": entries}  # a new object: the JSON column is saved
    row = SituationReport(
        incident_id=i.id,
        commune_code=e.commune,
        displaced=e.displaced,
        houses_flooded=e.houses_flooded,
        houses_collapsed=e.houses_collapsed,
        isolated=e.isolated,
        needs=dict(e.needs),
        note=report.note,
        warnings=[w.to_dict() for w in report.warnings],
        created_by=principal.username,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=principal.describe_for(e.commune),
        action="incident.report",
        entity="incident",
        entity_id=i.id,
        before=before,
        after={**entry, "report_id": row.id},
    )
    return row


def list_reports(
    session: Session, incident_id: int, *, commune: str | None = None
) -> list[SituationReport]:
    """Every report of the incident (of one commune, if given), oldest first."""
    get_incident(session, incident_id)
    stmt = select(SituationReport).where(SituationReport.incident_id == incident_id)
    if commune:
        stmt = stmt.where(SituationReport.commune_code == commune)
    return list(session.scalars(stmt.order_by(SituationReport.id)))


def nearby(G: nx.Graph, code: str, affected: list[str]) -> bool:
    """Whether an incident affecting ``affected`` touches ``code``: a neighbour of it (a
    shared border, not a mere corner), or a commune of its province."""
    if code not in G:
        return False
    province = G.nodes[code].get("province_code")
    borders = {n for n in G[code] if G.edges[code, n].get("kind") != "point_touch"}
    return any(
        c in borders or G.nodes[c].get("province_code") == province for c in affected if c in G
    )


def join_incident(
    session: Session, principal: Principal, incident_id: int, G: nx.Graph
) -> dict[str, Any]:
    """A commune leader adds their commune to an active incident that touches a neighbour or
    the same province (nothing displaced until its first situation report); audited.

    Raises
    ------
    Forbidden
        ``role_required``; ``incident_not_nearby`` {incident_id, commune}.
    """
    require_role(principal, Role.COMMUNE_LEADER, action="joining an incident")
    code = principal.commune or ""
    i = get_incident(session, incident_id)
    _require_active(i)
    entries = [dict(a) for a in i.scenario.get("affected", [])]
    codes = [a["commune"] for a in entries]
    if code in codes:
        return incident_dict(i)
    if not nearby(G, code, codes):
        raise Forbidden(
            f"incident {i.id} touches neither a neighbour of {code} nor its province",
            code="incident_not_nearby",
            field="incident",
            params={"incident_id": i.id, "commune": code},
        )
    entries.append({"commune": code, "displaced": 0})
    i.scenario = {**i.scenario, "affected": entries}
    audit.record(
        session,
        actor=principal.describe(),
        action="incident.join",
        entity="incident",
        entity_id=i.id,
        after={"commune": code},
    )
    # the joining commune's cards up to the incident's level fire now (the others' fired when
    # they were declared: nothing fires twice)
    activated = fire_cards(session, i, old_level=0, new_level=i.risk_level, actor=principal)
    return {**incident_dict(i), "activated": activated}

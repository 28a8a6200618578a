"""Drafting a province's regulations and reading its readiness, on the stored data.

:func:`compute_drafts` runs the pure drafting (:func:`geo.regulation_draft.draft_regulations`)
on the stored inventory and the rules in force today; it reads only, so the route runs it
outside the write transaction. :func:`store_drafts` then stores them in one transaction:

- a pair of parties that already has a regulation **in force** (signed, not retired; also one
  whose signed version has a newer draft being edited) keeps it: nothing is added for that pair
  (``kept``);
- a pair whose regulation was never signed (its newest version a draft) gets the new draft as a
  new version of that same regulation (``action`` ``redraft``): re-drafting replaces the unsigned
  drafts, never duplicates them; the planner's earlier edits of that draft stay in its versions;
- otherwise (no regulation for the pair, or only retired ones) a new regulation is created.

A drafted backfill whose covering commune is not a party is left out of the stored regulation
(:func:`parties_only_backfill`: it would bind a commune that never signed) and said in the
rationale. Unsigned drafts of pairs the new drafting no longer proposes are left as they are
(a planner may have made them by hand). :func:`readiness_of` is CONTRACT's readiness over the
regulations in force, with :func:`geo.readiness.readiness_gaps`. :func:`spare_warnings` says
when a regulation's cards (a planner's edit) ask a helper for more than its spare after its
reserve: a warning on the answer and the page, never a refusal.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.errors import BadInput, ServiceError
from api.models import InventoryItem, RegulationVersion
from api.services.regulations import (
    SERVICE_KEYS,
    _check_writer,
    create_regulation,
    in_force,
    linked_in,
    regulation_json,
    regulations_in_force,
    today,
    update_regulation,
    versions_of,
)
from api.services.rules import current_rules
from geo import i18n
from geo.errors import LienXaError, Problem
from geo.plan_settings import HOME_RESERVE_SHARE
from geo.readiness import ReadinessRow, readiness, readiness_gaps
from geo.regulation import parse_regulation
from geo.regulation_check import OverSpare, cards_over_spare
from geo.regulation_draft import area_codes, draft_regulations, province_communes
from geo.resources import load_catalogue

#: The most communes one drafting may name (a province has at most a few hundred).
MAX_DRAFT_COMMUNES = 400


@dataclass(frozen=True)
class DraftRequest:
    """What ``POST /regulations/draft`` asks for: a province's communes, or a list."""

    province: str | None = None
    communes: tuple[str, ...] = ()


def draft_area(G: nx.Graph, req: DraftRequest) -> list[str]:
    """The communes to draft for.

    Raises
    ------
    BadInput
        ``draft_area_required``: neither or both of ``province`` and ``communes``;
        ``draft_too_many_communes`` {count, max}.
    PlanError
        ``unknown_province`` {province}, ``unknown_commune`` {commune}.
    """
    if (req.province is None) == (not req.communes):
        raise BadInput(
            "give either a province or a list of communes",
            code="draft_area_required",
            field="province",
        )
    if req.province is not None:
        return province_communes(G, req.province)
    if len(req.communes) > MAX_DRAFT_COMMUNES:
        raise BadInput(
            f"{len(req.communes)} communes: at most {MAX_DRAFT_COMMUNES} in one drafting",
            code="draft_too_many_communes",
            field="communes",
            params={"count": len(req.communes), "max": MAX_DRAFT_COMMUNES},
        )
    return area_codes(G, req.communes)


def stored_inventory(session: Session) -> dict[str, dict[str, int]]:
    """Every commune's stored stock (what it holds, offers included: a regulation is for the
    long run, not for today's offers)."""
    out: dict[str, dict[str, int]] = {}
    for r in session.scalars(select(InventoryItem)):
        out.setdefault(r.commune_code, {})[r.resource] = r.quantity
    return out


def draft_number(parties: Collection[str]) -> str:
    """A draft's number until the planners give it one: ``DT-<code>-<code>``."""
    return "DT-" + "-".join(sorted(parties))


def compute_drafts(
    session: Session, principal: Principal, G: nx.Graph, req: DraftRequest, *, lang: str
) -> list[dict[str, Any]]:
    """The draft regulations (CONTRACT JSON, numbered) for the asked area: read only.

    Raises
    ------
    Forbidden
        Not a planner, admin or the command of every commune of the area.
    BadInput, PlanError
        As :func:`draft_area`.
    """
    area = draft_area(G, req)
    _check_writer(principal, area, "drafting regulations")
    drafts = draft_regulations(
        G,
        communes=area,
        inventory=stored_inventory(session),
        reserve=HOME_RESERVE_SHARE,
        rules=[r for _, r in current_rules(session)],
        at=today(),
    )
    out = [parties_only_backfill(G, d.to_json(lang), lang) for d in drafts]
    # validated here, links and all, against the plan graph built once: storing then checks
    # no links again (building that graph per regulation was half the write's CPU)
    linked = linked_in(G, session)
    known = set(G.nodes)
    for data in out:
        parse_regulation(
            {k: v for k, v in data.items() if k not in SERVICE_KEYS},
            catalogue=load_catalogue(),
            communes=known,
            linked=linked,
        )
    return out


def parties_only_backfill(G: nx.Graph, data: dict[str, Any], lang: str) -> dict[str, Any]:
    """A drafted regulation as stored: numbered, and its backfill limited to its parties.

    A regulation binds only its signatories, so a covering commune that is not a party is
    taken out of ``backfill`` (activation would notify it of a duty it never signed); the
    rationale keeps the proposal, saying it is not written into the regulation.
    """
    parties = set(data["parties"])
    backfill, notes = [], []
    for b in data.get("backfill", []):
        if b["covered_by"] in parties:
            backfill.append(b)
        else:
            name = names_of(G, [b["covered_by"]])[b["covered_by"]]
            notes.append(i18n.say(lang, "drafting.backfill_outside", covered_by=name))
    rationale = " ".join([data.get("rationale") or "", *notes]).strip()
    number = data.get("number") or draft_number(data["parties"])
    return {**data, "number": number, "backfill": backfill, "rationale": rationale}


def _by_parties(session: Session) -> dict[frozenset[str], list[list[RegulationVersion]]]:
    by_id: dict[int, list[RegulationVersion]] = {}
    for v in session.scalars(
        select(RegulationVersion).order_by(
            RegulationVersion.regulation_id, RegulationVersion.version
        )
    ):
        by_id.setdefault(v.regulation_id, []).append(v)
    out: dict[frozenset[str], list[list[RegulationVersion]]] = {}
    for versions in by_id.values():
        parties = frozenset(versions[-1].data.get("parties", []))
        out.setdefault(parties, []).append(versions)
    return out


def store_drafts(
    session: Session,
    principal: Principal,
    drafts: list[dict[str, Any]],
    *,
    communes: Collection[str],
) -> dict[str, Any]:
    """Store ``drafts`` (the module docstring's rule); ``{"drafts": [stored regulation JSON],
    "kept": [ids of regulations in force left as they are]}``. The drafts' links were checked
    by :func:`compute_drafts`; only the communes are checked again here."""
    existing = _by_parties(session)
    stored: list[dict[str, Any]] = []
    kept: list[int] = []
    for data in drafts:
        same = existing.get(frozenset(data["parties"]), [])
        signed = [vs for vs in same if in_force(vs) is not None or _edited_signed(vs)]
        if signed:
            kept.extend(vs[0].regulation_id for vs in signed)
            continue
        unsigned = [vs for vs in same if vs[-1].status == "draft"]
        if unsigned:
            rid = unsigned[0][0].regulation_id
            stored.append(
                update_regulation(
                    session, principal, rid, data, communes=communes, action="redraft"
                )
            )
            continue
        reg = create_regulation(session, principal, data, communes=communes)
        assert reg.id is not None
        stored.append(regulation_json(session, reg.id))
    return {"drafts": stored, "kept": sorted(set(kept))}


def _edited_signed(versions: list[RegulationVersion]) -> bool:
    """Signed once and not retired since (a signed regulation being edited is not a draft to
    replace)."""
    return versions[-1].status != "retired" and any(v.status == "signed" for v in versions)


def readiness_of(
    session: Session, G: nx.Graph, province: str
) -> tuple[list[ReadinessRow], dict[str, Any]]:
    """The province's readiness rows over the regulations in force today, and its gaps.

    Raises
    ------
    PlanError
        ``unknown_province`` {province}.
    """
    area = province_communes(G, province)
    inside = set(area)
    regs = [
        r.to_dict()
        for r in regulations_in_force(session, today())
        if inside.intersection(r.parties)
    ]
    rows = readiness(
        G,
        communes=area,
        inventory=stored_inventory(session),
        regulations=regs,
        reserve=HOME_RESERVE_SHARE,
        at=today(),
    )
    return rows, readiness_gaps(rows)


def names_of(G: nx.Graph, codes: Collection[str]) -> Mapping[str, str]:
    """``{code: full name}`` from the graph's nodes (for partners outside a map's area)."""
    return {c: str(G.nodes[c].get("full_name") or G.nodes[c].get("name") or c) for c in codes}


def spare_warnings(session: Session, G: nx.Graph, regulation: Mapping[str, Any]) -> list[Problem]:
    """Where the cards of ``regulation`` (its JSON, as edited), fired with those of the other
    regulations in force, ask one of its helpers for more of a resource than that helper may
    send after its reserve (:func:`geo.regulation_check.cards_over_spare` over the library of
    the parties' provinces, on the stored stock): one ``card_over_spare`` warning per helper and
    resource, the library scenario where it is most over.

    A warning, not an error: the planners may sign such a card (the helper may agree to give
    more than the plan's reserve rule would), the page and the answer say so first.
    """
    cards = list(regulation.get("box_cards") or [])
    mine = {(str(c["from"]), str(k)) for c in cards for k in c.get("resources", {})}
    parties = [c for c in regulation.get("parties", []) if c in G]
    if not mine or not parties:
        return []
    provinces = {G.nodes[c].get("province_code") for c in parties}
    area = sorted(c for c, d in G.nodes(data=True) if d.get("province_code") in provinces)
    inside = set(area)
    others = [
        r.to_dict()
        for r in regulations_in_force(session, today())
        if r.id != regulation.get("id") and inside.intersection(r.parties)
    ]
    inventory = stored_inventory(session)
    worst: dict[tuple[str, str], OverSpare] = {}
    for hazard in sorted({str(c["hazard"]) for c in cards}):
        for o in cards_over_spare(
            G,
            [dict(regulation), *others],
            communes=area,
            inventory=inventory,
            reserve=HOME_RESERVE_SHARE,
            hazard=hazard,
        ):
            key = (o.helper, o.resource)
            if key in mine and (key not in worst or o.fired - o.spare > _excess(worst[key])):
                worst[key] = o
    return [_over_spare_warning(o) for _, o in sorted(worst.items())]


def _excess(o: OverSpare) -> int:
    return o.fired - o.spare


def _over_spare_warning(o: OverSpare) -> Problem:
    return Problem(
        code="card_over_spare",
        message=(
            f"the cards ask {o.helper} for {o.fired} {o.resource} at level {o.level}, more than "
            f"the {o.spare} it can spare after its reserve (library scenario {o.scenario})"
        ),
        field="box_cards",
        params={
            "helper": o.helper,
            "resource": o.resource,
            "committed": o.fired,
            "spare": o.spare,
            "level": o.level,
            "scenario": o.scenario,
        },
    )


def edit_warnings(
    session: Session, G: nx.Graph, regulation_id: int, changes: Any
) -> list[dict[str, Any]]:
    """The warnings (:func:`spare_warnings`, as JSON) of the version that editing regulation
    ``regulation_id`` with ``changes`` would make, merged as
    :func:`api.services.regulations.update_regulation` merges them; read before the write
    transaction, so the check never holds it. Empty when there is no such regulation or the
    edit is invalid: the write then refuses it with its own errors."""
    if not isinstance(changes, dict):
        return []
    try:
        last = versions_of(session, regulation_id)[-1]
    except ServiceError:
        return []
    merged = {**last.data, **{k: v for k, v in changes.items() if k not in SERVICE_KEYS}}
    try:
        reg = parse_regulation(merged, catalogue=load_catalogue())
    except LienXaError:
        return []
    data = {**reg.to_dict(), "id": regulation_id}
    return [w.to_dict() for w in spare_warnings(session, G, data)]


def regulation_warnings(session: Session, G: nx.Graph, regulation_id: int) -> list[dict[str, Any]]:
    """The warnings (:func:`spare_warnings`, as JSON) of the regulation's newest version; empty
    when there is no such regulation (the write then answers its 404)."""
    try:
        reg = regulation_json(session, regulation_id)
    except ServiceError:
        return []
    return [w.to_dict() for w in spare_warnings(session, G, reg)]

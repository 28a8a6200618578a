"""A plan's requests: named asks per addressee, and what a re-plan outdates.

A request made from a plan carries, for each addressee, the quantity the plan asks of it
(``asks``). A re-plan (with ``create_requests``) first marks the open requests it no longer
stands behind as ``outdated``: one that asks an addressee the new plan can no longer reach (a
link closed by a rule, a commune cut off) or, when made from a plan, no longer asks of an
addressee something that addressee has not yet offered. What the still-valid requests ask
counts as asked; the rest of the new plan becomes replacement requests to its givers.
Offers already made are never touched: they stay on their request, and the plan is computed
on the needs less what offers cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import Principal
from api.enums import ACTIVE_OFFER, RequestStatus
from api.models import SupportRequest, utcnow
from api.services import audit
from api.services.requests import offers_of


@dataclass
class StillAsked:
    """What the valid open requests of one (commune, resource) still ask: per addressee named
    by a plan's asks, and in all from hand-made requests (no addressee in particular)."""

    givers: dict[str, int] = field(default_factory=dict)
    anyone: int = 0

    @property
    def total(self) -> int:
        return sum(self.givers.values()) + self.anyone


def _open_requests(session: Session, incident_id: int) -> list[SupportRequest]:
    return list(
        session.scalars(
            select(SupportRequest)
            .where(
                SupportRequest.incident_id == incident_id,
                SupportRequest.status == RequestStatus.OPEN,
            )
            .order_by(SupportRequest.id)
        )
    )


def _left_per_giver(r: SupportRequest, offered: Mapping[str, int]) -> dict[str, int]:
    """What each addressee of a plan-made request is still asked (its ask less its offers),
    but those that declined."""
    declined = set(r.declined_by or [])
    out = {}
    for a in r.asks or []:
        left = int(a["quantity"]) - offered.get(a["commune"], 0)
        if left > 0 and a["commune"] not in declined:
            out[a["commune"]] = left
    return out


def _offered_by(offers: list[Any]) -> dict[str, int]:
    out: dict[str, int] = {}
    for o in offers:
        if o.status in ACTIVE_OFFER:
            out[o.commune_code] = out.get(o.commune_code, 0) + o.quantity
    return out


def outdate_requests(
    session: Session,
    principal: Principal,
    incident_id: int,
    wants: Mapping[tuple[str, str], Mapping[str, Any]],
    reach: Mapping[str, frozenset[str]],
) -> list[int]:
    """Mark outdated the open requests of the principal's area that ``wants`` (the new plan's
    :func:`api.services.incidents.plan_wants`) and ``reach`` (per requesting commune, who can
    still give to it) no longer stand behind; returns their ids. Audited one by one."""
    requests = [
        r
        for r in _open_requests(session, incident_id)
        if not r.outdated and principal.may_act_for(r.commune_code)
    ]
    ids = []
    for r, offers in zip(requests, offers_of(session, requests), strict=True):
        offered = _offered_by(offers)
        if r.quantity - sum(offered.values()) <= 0:
            continue  # nothing left to ask: the request is done, not outdated
        declined = set(r.declined_by or [])
        can = reach.get(r.commune_code)
        cut = sorted(
            a for a in r.to_communes if a not in declined and can is not None and a not in can
        )
        asked_now = (wants.get((r.commune_code, r.resource)) or {}).get("asks") or {}
        unasked = sorted(g for g in _left_per_giver(r, offered) if g not in asked_now)
        if not cut and not unasked:
            continue
        r.outdated, r.unreachable, r.updated_at = True, cut, utcnow()
        session.flush()
        audit.record(
            session,
            actor=principal.describe_for(r.commune_code),
            action="request.outdated",
            entity="request",
            entity_id=r.id,
            after={"outdated": True, "unreachable": cut, "no_longer_asked": unasked},
        )
        ids.append(r.id)
    return ids


def still_asked(session: Session, incident_id: int) -> dict[tuple[str, str], StillAsked]:
    """What the incident's open, not outdated requests still ask and no offer covers yet, per
    (commune, resource); a request every addressee has declined asks nobody any more."""
    requests = [r for r in _open_requests(session, incident_id) if not r.outdated]
    out: dict[tuple[str, str], StillAsked] = {}
    for r, offers in zip(requests, offers_of(session, requests), strict=True):
        if set(r.to_communes or []) <= set(r.declined_by or []):
            continue
        offered = _offered_by(offers)
        left = max(0, r.quantity - sum(offered.values()))
        if not left:
            continue
        entry = out.setdefault((r.commune_code, r.resource), StillAsked())
        if r.asks:
            for g, q in _left_per_giver(r, offered).items():
                entry.givers[g] = entry.givers.get(g, 0) + min(q, left)
        else:
            entry.anyone += left
    return out


def left_to_ask(asks: Mapping[str, int], asked: StillAsked | None) -> tuple[dict[str, int], int]:
    """The plan's ``asks`` ({giver: quantity}) less what valid requests already ask: the new
    asks and the quantity already asked. A giver's own open ask counts against its share;
    hand-made requests count against the givers in reverse name order (any order would do)."""
    asked = asked or StillAsked()
    new: dict[str, int] = {}
    already = 0
    for g, q in asks.items():
        a = min(q, asked.givers.get(g, 0))
        already += a
        if q - a > 0:
            new[g] = q - a
    anyone = asked.anyone
    for g in sorted(new, reverse=True):
        take = min(anyone, new[g])
        anyone -= take
        already += take
        new[g] -= take
    return {g: q for g, q in new.items() if q > 0}, already

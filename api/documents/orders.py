"""The order sheet of one commune in one incident: as receiver, what it asks of whom; as helper,
what it sends to whom, by which route, in how many minutes, under whose command. Built from the
incident's latest plan (:class:`geo.plans.Plan`) and its open requests, then printed as an A4
administrative document (:func:`render_order_pdf`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from api.documents.render import Words, capped, long_date, place_of, qr_data_uri, render_pdf
from geo import i18n
from geo.i18n import N_
from geo.plans import Plan, as_plan


@dataclass(frozen=True)
class OrderLine:
    """One transfer of the plan as the sheet prints it: ``other`` is the commune at the other
    end (the giver on a receiver's sheet, the receiver on a helper's)."""

    resource: str
    quantity: int
    other: str
    path: tuple[str, ...] = ()
    travel_minutes: float | None = None
    commander: str | None = None


@dataclass(frozen=True)
class RequestLine:
    """An open request the commune takes part in: made by it (``outgoing``) or addressed to it;
    ``asked`` is what the request asks of this commune when it names a quantity per addressee."""

    request_id: int
    outgoing: bool
    resource: str
    quantity: int
    others: tuple[str, ...]
    offered: int
    asked: int | None = None


@dataclass(frozen=True)
class UnmetLine:
    """What the plan cannot cover for the commune, and who it goes up to."""

    resource: str
    quantity: int
    escalate_to: str | None


@dataclass(frozen=True)
class OrderSheet:
    """Everything an order sheet says, with no database or web object in it."""

    incident_id: int
    incident_name: str
    risk_level: int
    commune: str
    plan_id: int | None
    receives: tuple[OrderLine, ...]
    sends: tuple[OrderLine, ...]
    unmet: tuple[UnmetLine, ...]
    requests: tuple[RequestLine, ...]
    commander: str | None
    issued_on: dt.date
    url: str | None = None
    exercise: bool = False


def build_order_sheet(
    plan: Plan | Mapping[str, Any] | None,
    requests: Sequence[Mapping[str, Any]],
    *,
    incident: Mapping[str, Any],
    commune: str,
    issued_on: dt.date,
    url: str | None = None,
) -> OrderSheet:
    """The sheet of ``commune`` from the incident's latest ``plan`` (a :class:`geo.plans.Plan`
    or its JSON; None before any plan) and the incident's open ``requests`` (as the API gives
    them: ``id``, ``commune``, ``resource``, ``quantity``, ``to``, ``offered``, optionally
    ``asks``). ``incident`` is the API's incident (``id``, ``name``, ``risk_level``)."""
    p = None if plan is None else as_plan(plan)
    transfers = () if p is None else p.transfers
    commanders = {} if p is None else {c.commune: c.commander for c in p.command}
    receives = tuple(
        OrderLine(t.resource, t.quantity, t.giver, t.path, t.travel_minutes, None)
        for t in transfers
        if t.receiver == commune
    )
    sends = tuple(
        OrderLine(
            t.resource, t.quantity, t.receiver, t.path, t.travel_minutes, commanders.get(t.receiver)
        )
        for t in transfers
        if t.giver == commune
    )
    unmet = tuple(
        UnmetLine(u.resource, u.quantity, u.escalate_to)
        for u in (() if p is None else p.unmet)
        if u.commune == commune
    )
    lines = []
    for r in requests:
        to = tuple(str(c) for c in r.get("to") or ())
        if r.get("status", "open") != "open" or r.get("outdated"):
            continue
        if r["commune"] != commune and commune not in to:
            continue
        asks = {str(a["commune"]): int(a["quantity"]) for a in r.get("asks") or ()}
        lines.append(
            RequestLine(
                request_id=int(r["id"]),
                outgoing=r["commune"] == commune,
                resource=str(r["resource"]),
                quantity=int(r["quantity"]),
                others=to if r["commune"] == commune else (str(r["commune"]),),
                offered=int(r.get("offered") or 0),
                asked=asks.get(commune),
            )
        )
    return OrderSheet(
        incident_id=int(incident["id"]),
        incident_name=str(incident["name"]),
        risk_level=int(incident["risk_level"]),
        commune=commune,
        plan_id=None if p is None else p.id,
        receives=receives,
        sends=sends,
        unmet=unmet,
        requests=tuple(lines),
        commander=commanders.get(commune),
        issued_on=issued_on,
        url=url,
        exercise=bool(incident.get("exercise")),
    )


def _order_number(sheet: OrderSheet) -> str:
    """Decree 30's number and symbol: ``<incident>.<plan>/LHT-<commune>`` (LHT: lệnh hỗ trợ)."""
    return f"{sheet.incident_id}.{sheet.plan_id or 0}/LHT-{sheet.commune}"


def render_order_pdf(
    sheet: OrderSheet,
    *,
    names: Mapping[str, str],
    province: str,
    lang: str = i18n.DEFAULT_LANG,
) -> bytes:
    """The order sheet as an A4 PDF in ``lang`` (``vi`` or ``en``).

    Parameters
    ----------
    sheet
        What to print (:func:`build_order_sheet`).
    names
        Commune code → full name (``Xã Châu Khê``); a code without a name prints as the code.
    province
        The province of the commune (``Tỉnh Nghệ An``), the issuing body's superior.
    lang
        The document's language.

    Each table prints at most :data:`api.documents.render.MAX_ROWS` rows and says how many
    more the online record (the QR code) holds. Blocking and CPU-bound: call it in a thread.
    """
    lang = i18n.language(lang)
    words = Words(lang)

    def name(code: str) -> str:
        return names.get(code, code)

    def route(line: OrderLine) -> str:
        return " → ".join(name(c) for c in line.path) if line.path else ""

    def minutes(line: OrderLine) -> str:
        return "" if line.travel_minutes is None else i18n.number(round(line.travel_minutes), lang)

    receives, receives_more = capped(sheet.receives)
    sends, sends_more = capped(sheet.sends)
    unmet, unmet_more = capped(sheet.unmet)
    requests, requests_more = capped(sheet.requests)
    own = name(sheet.commune)
    # who commands where the helper's aid goes: once per receiver, under the table
    commanders = sorted({(line.other, line.commander) for line in sends if line.commander})
    partners = sorted({line.other for line in (*sheet.receives, *sheet.sends)})
    recipients = [own, *(name(c) for c in partners[:12])]
    if sheet.commander and sheet.commander != own:
        recipients.append(sheet.commander)
    doc = {
        "superior": [i18n.say(lang, "doc.committee", unit=province)],
        "bodies": [i18n.say(lang, "doc.committee", unit=own)],
        "number": _order_number(sheet),
        "subject": i18n.say(lang, "order.subject", incident=sheet.incident_name),
        "place": place_of(own),
        "date": long_date(sheet.issued_on, lang),
        "kind": i18n.gettext(lang, N_("order.kind")),
        "summary": None,
        "exercise": sheet.exercise,
        "recipients": recipients,
        "signers": [
            {
                "authority": i18n.gettext(lang, N_("doc.for_committee")),
                "body": None,
                "position": i18n.gettext(lang, N_("doc.chairman")),
                "name": None,
            }
        ],
        "qr": qr_data_uri(sheet.url) if sheet.url else None,
    }
    context = {
        "doc": doc,
        "sheet": sheet,
        "own": own,
        "name": name,
        "label": words.label,
        "amount": words.amount,
        "route": route,
        "minutes": minutes,
        "receives": receives,
        "receives_more": receives_more,
        "sends": sends,
        "sends_more": sends_more,
        "commanders": commanders,
        "unmet": unmet,
        "unmet_more": unmet_more,
        "requests": requests,
        "requests_more": requests_more,
    }
    return render_pdf("order.html", context, lang=lang)

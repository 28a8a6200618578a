"""A coordination regulation between neighbouring communes (quy chế phối hợp) as an
administrative document ready to sign: legal bases, articles, box cards and contacts as annexes,
and a signature block for every party (:func:`render_regulation_pdf`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from api.documents.render import (
    DocumentInvalid,
    Words,
    check_count,
    long_date,
    place_of,
    qr_data_uri,
    render_pdf,
)
from geo import i18n
from geo.i18n import N_

#: The most of each part a printed regulation holds; more is refused (``document_too_large``).
MAX_PARTIES = 30
MAX_CARDS = 1000
MAX_BACKFILL = 200
MAX_FIELDS = 30
MAX_ACTIVITIES = 300
MAX_CONTACTS = 200

#: The legal bases cited, in order (../shared/docs/MISSION.md).
LEGAL_BASES = (
    N_("reg.basis.law_2013_2020"),
    N_("reg.basis.local_government_2025"),
    N_("reg.basis.decree_66_2021"),
    N_("reg.basis.decision_18_2021"),
)
#: The fields of cooperation the catalogues word; another field prints as it is written.
FIELDS = {
    "disaster_response": N_("reg.field.disaster_response"),
    "recovery": N_("reg.field.recovery"),
    "economic_development": N_("reg.field.economic_development"),
    "cultural_preservation": N_("reg.field.cultural_preservation"),
    "staff_secondment": N_("reg.field.staff_secondment"),
}
HAZARDS = {"flood": N_("reg.hazard.flood")}
STATUS_MARKS = {"draft": N_("reg.mark.draft"), "retired": N_("reg.mark.retired")}


def _date(value: Any, field: str) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value)[:10])
    except ValueError as exc:
        raise DocumentInvalid(field, f"not an ISO date: {value!r}") from exc


def _list(regulation: Mapping[str, Any], key: str, limit: int) -> list[Any]:
    value = regulation.get(key) or []
    if not isinstance(value, list | tuple):
        raise DocumentInvalid(key, "not a list")
    check_count(key, value, limit)
    return list(value)


def _text(item: Any, *keys: str) -> str:
    if not isinstance(item, Mapping):
        return str(item)
    for k in keys:
        if item.get(k):
            return str(item[k])
    return ""


def render_regulation_pdf(
    regulation: Mapping[str, Any],
    *,
    names: Mapping[str, str],
    lang: str = i18n.DEFAULT_LANG,
    province: str | None = None,
    url: str | None = None,
) -> bytes:
    """The regulation as an A4 PDF (Decree 30/2020/NĐ-CP layout), ready to sign.

    Parameters
    ----------
    regulation
        The regulation as CONTRACT.md's JSON ("Added in the second round"): ``number`` and
        ``title`` (text), ``parties`` (2 or more commune codes), ``status`` (``draft`` prints a
        DRAFT mark, ``retired`` a RETIRED one), ``signed_on``, ``valid_from``, ``valid_to``
        (ISO dates or null), ``fields`` (keys such as ``disaster_response``, or words),
        ``activities`` (words, or objects with ``field``, ``text``/``description``,
        ``commune``/``party`` and ``resources``), ``box_cards`` (``hazard``, ``level``,
        ``from``, ``to``, ``order``, ``resources`` {key: quantity}, ``within_minutes``),
        ``backfill`` (``helper``, ``covered_by``), ``rationale`` (text). Optional and printed
        when present: ``contacts`` (``commune``, ``name``, ``position``, ``phone``,
        ``command_post``), ``signers`` (``commune``, ``name``), ``review_on``. Unknown keys are
        ignored here: the regulations service validates the object.
    names
        Commune code → full name (``Xã Châu Khê``); a code without one prints as the code.
    lang
        ``vi`` (default) or ``en``.
    province
        The province's name, the parties' superior body in the heading (none: left out).
    url
        The regulation's address, printed as a QR code (none: no code).

    Returns
    -------
    bytes
        The PDF, fonts embedded. Blocking and CPU-bound: call it in a thread.

    Raises
    ------
    DocumentInvalid
        ``document_invalid``: no ``number`` or ``title``, fewer than two ``parties``, a date that
        is not ISO, a list that is not a list, a card without ``from``/``to``/``level``.
    DocumentTooLarge
        ``document_too_large``: more than :data:`MAX_PARTIES` parties, :data:`MAX_CARDS` cards
        (and the other ``MAX_*``), refused before any layout work.
    """
    lang = i18n.language(lang)
    parts = _checked(regulation)
    words = Words(lang)
    parties: list[str] = parts["parties"]
    backfill: list[Any] = parts["backfill"]
    activities: list[Any] = parts["activities"]
    signers: dict[str, str] = parts["signers"]

    def name(code: Any) -> str:
        return names.get(str(code), str(code))

    def field_label(value: Any) -> str:
        key = FIELDS.get(str(value))
        return i18n.gettext(lang, key) if key else str(value)

    def hazard(value: Any) -> str:
        key = HAZARDS.get(str(value))
        return i18n.gettext(lang, key) if key else str(value)

    cards = sorted(
        parts["cards"],
        key=lambda c: (
            str(c.get("hazard", "")),
            c["level"],
            str(c["to"]),
            c.get("order") or 0,
            str(c["from"]),
        ),
    )
    duties = []
    for code in parties:
        sends = [c for c in cards if str(c["from"]) == code]
        covers = [str(b.get("helper")) for b in backfill if str(b.get("covered_by")) == code]
        acts = [
            a
            for a in activities
            if isinstance(a, Mapping) and str(a.get("commune") or a.get("party")) == code
        ]
        duties.append({"code": code, "sends": sends, "covers": covers, "activities": acts})
    shared = [
        a
        for a in activities
        if not isinstance(a, Mapping) or not (a.get("commune") or a.get("party"))
    ]
    first = name(parties[0])
    status = str(regulation.get("status") or "draft")
    mark = STATUS_MARKS.get(status)
    doc = {
        "superior": [i18n.say(lang, "doc.committee", unit=province)] if province else [],
        "bodies": [i18n.say(lang, "doc.committee", unit=name(c)) for c in parties],
        "number": str(regulation["number"]),
        "subject": None,
        "place": place_of(first),
        "date": long_date(parts["signed_on"], lang),
        "kind": i18n.gettext(lang, N_("reg.kind")),
        "summary": str(regulation["title"]),
        "exercise": False,
        "recipients": [],
        "signers": [
            {
                "authority": i18n.gettext(lang, N_("doc.for_committee")),
                "body": name(c),
                "position": i18n.gettext(lang, N_("doc.chairman")),
                "name": signers.get(c),
            }
            for c in parties
        ],
        "qr": qr_data_uri(url) if url else None,
    }
    context = {
        "doc": doc,
        "mark": i18n.gettext(lang, mark) if mark else None,
        "parties": parties,
        "party_names": ", ".join(name(c) for c in parties),
        "bases": [i18n.gettext(lang, k) for k in LEGAL_BASES],
        "fields": [field_label(f) for f in parts["fields"]],
        "rationale": str(regulation.get("rationale") or ""),
        "duties": duties,
        "shared": shared,
        "cards": cards,
        "backfill": backfill,
        "contacts": parts["contacts"],
        "levels": sorted({c["level"] for c in cards}),
        "valid_from": _long(parts["valid_from"], lang),
        "valid_to": _long(parts["valid_to"], lang),
        "review_on": _long(parts["review_on"], lang),
        "name": name,
        "label": words.label,
        "resources": words.resources,
        "field_label": field_label,
        "hazard": hazard,
        "text": _text,
    }
    return render_pdf("regulation.html", context, lang=lang)


def _long(value: dt.date | None, lang: str) -> str | None:
    return None if value is None else long_date(value, lang)


def _checked(regulation: Mapping[str, Any]) -> dict[str, Any]:
    """The parts of ``regulation`` the document prints, checked (see
    :func:`render_regulation_pdf`'s ``Raises``) before any layout work."""
    for key in ("number", "title"):
        if not str(regulation.get(key) or "").strip():
            raise DocumentInvalid(key, "missing")
    parties = [str(c) for c in _list(regulation, "parties", MAX_PARTIES)]
    if len(parties) < 2:
        raise DocumentInvalid("parties", "a regulation has two or more parties")
    cards = _list(regulation, "box_cards", MAX_CARDS)
    for k, c in enumerate(cards):
        if not isinstance(c, Mapping) or not all(c.get(x) is not None for x in ("from", "to")):
            raise DocumentInvalid(f"box_cards.{k}", "a card names its 'from' and 'to' commune")
        if not isinstance(c.get("level"), int):
            raise DocumentInvalid(f"box_cards.{k}.level", "a card's level is a number 1-5")
    return {
        "parties": parties,
        "cards": cards,
        "backfill": [
            b for b in _list(regulation, "backfill", MAX_BACKFILL) if isinstance(b, Mapping)
        ],
        "fields": _list(regulation, "fields", MAX_FIELDS),
        "activities": _list(regulation, "activities", MAX_ACTIVITIES),
        "contacts": [
            c for c in _list(regulation, "contacts", MAX_CONTACTS) if isinstance(c, Mapping)
        ],
        "signers": {
            str(s.get("commune")): str(s.get("name") or "")
            for s in _list(regulation, "signers", MAX_PARTIES)
            if isinstance(s, Mapping)
        },
        **{
            k: _date(regulation.get(k), k)
            for k in ("signed_on", "valid_from", "valid_to", "review_on")
        },
    }

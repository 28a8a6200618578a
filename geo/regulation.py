"""Coordination regulations (quy chế phối hợp) between neighbouring communes: the typed record
and its validation, in one place.

A regulation binds two or more communes (its parties): fields of cooperation with activities and
commitments, **box cards** (for a hazard and a risk level 1–5, which party sends what to which
party, within how many minutes, in which order of call), **backfill** (who covers a helper's own
commune while its forces are away), contacts and command posts, and the rationale. Its JSON is
CONTRACT.md's ("Added in the second round"). Every key not listed here is an error (an extra
``scope`` is never silently dropped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from geo.errors import LienXaError
from geo.regulation_values import ValueCheck

#: The fields of cooperation.
FIELDS = (
    "disaster_response",
    "recovery",
    "economic_development",
    "cultural_preservation",
    "staff_secondment",
)
STATUSES = ("draft", "signed", "retired")
LEVELS = range(1, 6)
#: The keys a regulation may carry (``id``, ``version``, ``status``, ``signers`` and
#: ``signed_on`` are set by the service; they are accepted so that an export imports back).
KEYS = frozenset(
    {
        "id", "version", "number", "title", "issuing_level", "parties", "status", "signed_on",
        "valid_from", "valid_to", "review_on", "fields", "activities", "box_cards", "backfill",
        "contacts", "command_posts", "rationale", "signers",
    }
)  # fmt: skip
CARD_KEYS = frozenset({"hazard", "level", "from", "to", "order", "resources", "within_minutes"})
ACTIVITY_KEYS = frozenset({"field", "text", "from", "to", "resources", "people"})
PEOPLE_KEYS = frozenset({"skill", "count", "days"})
BACKFILL_KEYS = frozenset({"helper", "covered_by"})
CONTACT_KEYS = frozenset({"commune", "name", "title", "phone"})
POST_KEYS = frozenset({"commune", "place"})


class RegulationError(LienXaError):
    """A regulation that cannot be stored as it is; ``problems`` lists everything wrong."""

    default_code = "regulation_invalid"


@dataclass(frozen=True)
class BoxCard:
    """For ``hazard`` at risk ``level``: ``giver`` sends ``resources`` to ``receiver`` within
    ``within_minutes``, called in ``order`` (1 first). A card's quantities come on top of the
    cards of the lower levels between the same pair: by level L, every card of levels ≤ L has
    fired (:func:`api.services.activation.fire_cards`). The drafts
    (:mod:`geo.regulation_draft`) make the same record."""

    hazard: str
    level: int
    giver: str
    receiver: str
    order: int
    resources: Mapping[str, int]
    within_minutes: int | None = None

    def to_json(self) -> dict[str, Any]:
        """The card as CONTRACT.md JSON (``from``, ``to``)."""
        return self.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {
            "hazard": self.hazard,
            "level": self.level,
            "from": self.giver,
            "to": self.receiver,
            "order": self.order,
            "resources": dict(self.resources),
            "within_minutes": self.within_minutes,
        }


@dataclass(frozen=True)
class Regulation:
    """A coordination regulation (see the module docstring); dates are ``datetime.date``."""

    number: str
    title: str
    parties: tuple[str, ...]
    status: str = "draft"
    id: int | None = None
    version: int | None = None
    issuing_level: str | None = None
    signed_on: dt.date | None = None
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    review_on: dt.date | None = None
    fields: tuple[str, ...] = ()
    activities: tuple[Mapping[str, Any], ...] = ()
    box_cards: tuple[BoxCard, ...] = ()
    backfill: tuple[Mapping[str, str], ...] = ()
    contacts: tuple[Mapping[str, str], ...] = ()
    command_posts: tuple[Mapping[str, str], ...] = ()
    rationale: str = ""
    signers: tuple[str, ...] = ()

    def valid_on(self, day: dt.date) -> bool:
        """Whether the regulation is in force on ``day`` (signed, not retired, within its
        validity)."""
        return (
            self.status == "signed"
            and (self.valid_from is None or self.valid_from <= day)
            and (self.valid_to is None or day <= self.valid_to)
        )

    def cards_for(self, hazard: str, level: int) -> list[BoxCard]:
        """The cards of ``hazard`` at exactly ``level``, in order of call."""
        return sorted(
            (c for c in self.box_cards if c.hazard == hazard and c.level == level),
            key=lambda c: (c.order, c.giver, c.receiver),
        )

    def to_dict(self) -> dict[str, Any]:
        """The CONTRACT JSON (dates as ISO strings)."""

        def day(d: dt.date | None) -> str | None:
            return d.isoformat() if d else None

        return {
            "id": self.id,
            "version": self.version,
            "number": self.number,
            "title": self.title,
            "issuing_level": self.issuing_level,
            "parties": list(self.parties),
            "status": self.status,
            "signed_on": day(self.signed_on),
            "valid_from": day(self.valid_from),
            "valid_to": day(self.valid_to),
            "review_on": day(self.review_on),
            "fields": list(self.fields),
            "activities": [dict(a) for a in self.activities],
            "box_cards": [c.to_dict() for c in self.box_cards],
            "backfill": [dict(b) for b in self.backfill],
            "contacts": [dict(c) for c in self.contacts],
            "command_posts": [dict(p) for p in self.command_posts],
            "rationale": self.rationale,
            "signers": list(self.signers),
        }


def _items(check: ValueCheck, data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    value = data.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        check.bad(key, value, "must be a list")
        return []
    out = []
    for k, item in enumerate(value):
        if isinstance(item, Mapping):
            out.append(item)
        else:
            check.bad(f"{key}[{k}]", item, "must be an object")
    return out


def _parties(
    check: ValueCheck,
    data: Mapping[str, Any],
    communes: Collection[str] | None,
    linked: Callable[[str, str], bool] | None,
) -> tuple[str, ...]:
    raw = data.get("parties")
    if not isinstance(raw, list) or not all(isinstance(c, str) for c in raw):
        check.bad("parties", raw, "must be a list of commune codes")
        return ()
    parties = tuple(dict.fromkeys(raw))
    if len(parties) < 2:
        check.add_error(
            "regulation_parties_too_few", "parties", "a regulation binds two or more communes",
            count=len(parties),
        )  # fmt: skip
    unknown = [c for c in parties if communes is not None and c not in communes]
    for c in unknown:
        check.add_error("unknown_commune", "parties", f"parties: unknown commune {c}", commune=c)
    if linked is not None:
        known = [c for c in parties if c not in unknown]
        for k, a in enumerate(known):
            for b in known[k + 1 :]:
                if not linked(a, b):
                    check.add_error(
                        "regulation_parties_not_linked", "parties",
                        f"parties {a} and {b} are neither adjacent nor linked by an open rule",
                        a=a, b=b,
                    )  # fmt: skip
    return parties


def _card(
    check: ValueCheck, item: Mapping[str, Any], at: str, parties: Collection[str], catalogue: Any
) -> BoxCard | None:
    check.keys(item, CARD_KEYS, at)
    before = len(check.problems)
    hazard = check.text(item, "hazard", f"{at}.hazard", required=True)
    level = item.get("level")
    if isinstance(level, bool) or level not in LEVELS:
        check.bad(f"{at}.level", level, "must be a risk level 1 to 5")
    giver = check.commune(item.get("from"), f"{at}.from", parties)
    receiver = check.commune(item.get("to"), f"{at}.to", parties)
    if giver is not None and giver == receiver:
        check.bad(f"{at}.to", receiver, "a card sends from one party to another")
    order = check.positive(item.get("order", 1), f"{at}.order")
    resources = check.resources(item.get("resources"), f"{at}.resources", catalogue)
    if item.get("resources") == {}:
        check.bad(f"{at}.resources", {}, "a card sends at least one resource")
    minutes = item.get("within_minutes")
    if minutes is not None:
        minutes = check.positive(minutes, f"{at}.within_minutes")
    if len(check.problems) > before:
        return None
    assert hazard and giver and receiver and order and isinstance(level, int)
    return BoxCard(hazard, level, giver, receiver, order, resources, minutes)


def _activity(
    check: ValueCheck, item: Mapping[str, Any], at: str, parties: Collection[str], catalogue: Any
) -> dict[str, Any]:
    check.keys(item, ACTIVITY_KEYS, at)
    out: dict[str, Any] = {}
    if item.get("field") not in FIELDS:
        check.bad(f"{at}.field", item.get("field"), f"must be one of {', '.join(FIELDS)}")
    out["field"] = item.get("field")
    out["text"] = check.text(item, "text", f"{at}.text", required=True)
    for side in ("from", "to"):
        if item.get(side) is not None:
            out[side] = check.commune(item[side], f"{at}.{side}", parties)
    if item.get("resources") is not None:
        out["resources"] = check.resources(item["resources"], f"{at}.resources", catalogue)
    people = []
    for k, p in enumerate(_items(check, item, "people")):
        where = f"{at}.people[{k}]"
        check.keys(p, PEOPLE_KEYS, where)
        people.append(
            {
                "skill": check.text(p, "skill", f"{where}.skill", required=True),
                "count": check.positive(p.get("count", 1), f"{where}.count"),
                "days": check.positive(p["days"], f"{where}.days") if "days" in p else None,
            }
        )
    if people:
        out["people"] = people
    return out


def _simple(
    check: ValueCheck, data: Mapping[str, Any], key: str, allowed: frozenset[str], parties: Any
) -> list[dict[str, str]]:
    out = []
    for k, item in enumerate(_items(check, data, key)):
        at = f"{key}[{k}]"
        check.keys(item, allowed, at)
        row: dict[str, str] = {}
        for name in sorted(allowed):
            if name in ("commune", "helper", "covered_by"):
                row[name] = check.commune(item.get(name), f"{at}.{name}", parties) or ""
            elif item.get(name) is not None:
                row[name] = check.text(item, name, f"{at}.{name}", required=False) or ""
        out.append(row)
    return out


def parse_regulation(
    data: Any,
    *,
    catalogue: Collection[str],
    communes: Collection[str] | None = None,
    linked: Callable[[str, str], bool] | None = None,
) -> Regulation:
    """Validate a regulation's JSON (or YAML) and return it typed.

    Parameters
    ----------
    data
        The regulation as CONTRACT.md gives it.
    catalogue
        The resource keys cards and commitments may name.
    communes
        The known commune codes (None: not checked).
    linked
        ``linked(a, b)``: whether two parties are adjacent or linked by an open rule (the edges
        of the plan graph, :func:`geo.rule_graph.apply_rules`); None: not checked.

    Raises
    ------
    RegulationError
        ``regulation_invalid`` {count} with every problem (``problems``): an unknown field
        (``regulation_unknown_field``), a missing or malformed value, too few parties, a pair of
        parties not linked, a card or backfill naming a non-party, an unknown resource, a
        quantity that is not a positive integer.
    """
    check = ValueCheck()
    if not isinstance(data, Mapping):
        check.bad("regulation", data, "must be an object")
        raise _invalid(check)
    check.keys(data, KEYS, "")
    number = check.text(data, "number", "number", required=True) or ""
    title = check.text(data, "title", "title", required=True) or ""
    parties = _parties(check, data, communes, linked)
    status = data.get("status", "draft")
    if status not in STATUSES:
        check.bad("status", status, f"must be one of {', '.join(STATUSES)}")
    valid_from, valid_to = check.day(data, "valid_from"), check.day(data, "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        check.add_error(
            "valid_to_before_valid_from", "valid_to", "valid_to is before valid_from",
            valid_from=valid_from.isoformat(), valid_to=valid_to.isoformat(),
        )  # fmt: skip
    fields = data.get("fields", [])
    if not isinstance(fields, list) or any(f not in FIELDS for f in fields):
        check.bad("fields", fields, f"must list fields among {', '.join(FIELDS)}")
        fields = []
    activities = [
        _activity(check, a, f"activities[{k}]", parties, catalogue)
        for k, a in enumerate(_items(check, data, "activities"))
    ]
    cards = [
        _card(check, c, f"box_cards[{k}]", parties, catalogue)
        for k, c in enumerate(_items(check, data, "box_cards"))
    ]
    backfill = _simple(check, data, "backfill", BACKFILL_KEYS, parties)
    for k, b in enumerate(backfill):
        if b.get("helper") and b.get("helper") == b.get("covered_by"):
            check.bad(f"backfill[{k}].covered_by", b["covered_by"], "another party covers")
    signers = data.get("signers", [])
    if not isinstance(signers, list) or not all(isinstance(s, str) for s in signers):
        check.bad("signers", signers, "must be a list of user names")
        signers = []
    reg = Regulation(
        id=data.get("id") if isinstance(data.get("id"), int) else None,
        version=data.get("version") if isinstance(data.get("version"), int) else None,
        number=number,
        title=title,
        issuing_level=check.text(data, "issuing_level", "issuing_level", required=False),
        parties=parties,
        status=str(status),
        signed_on=check.day(data, "signed_on"),
        valid_from=valid_from,
        valid_to=valid_to,
        review_on=check.day(data, "review_on"),
        fields=tuple(fields),
        activities=tuple(activities),
        box_cards=tuple(c for c in cards if c is not None),
        backfill=tuple(backfill),
        contacts=tuple(_simple(check, data, "contacts", CONTACT_KEYS, parties)),
        command_posts=tuple(_simple(check, data, "command_posts", POST_KEYS, parties)),
        rationale=check.text(data, "rationale", "rationale", required=False) or "",
        signers=tuple(signers),
    )
    if check.problems:
        raise _invalid(check)
    return reg


def _invalid(check: ValueCheck) -> RegulationError:
    n = len(check.problems)
    lines = "; ".join(p.message for p in check.problems[:10])
    return RegulationError(
        f"the regulation has {n} problem(s): {lines}",
        code="regulation_invalid",
        params={"count": n},
        problems=check.problems,
    )

"""Incoming SMS: a leader's command applied as that leader, answered by SMS.

The commands (:mod:`geo.sms`) are applied through the same services as the API and pages
(:func:`api.services.offers.create_offer`, :func:`~api.services.offers.transition_offer`,
:func:`api.services.requests.decline_request`), with the sender's own principal: the same
rights, the same errors and the same audit entries.

One incoming SMS is one transaction: its row in ``sms_inbox``, the change (inside a savepoint,
so a refused command leaves nothing of itself behind) and the answer in the outbox are
committed together. A repeated delivery is handled once: by Kannel's message id (``%I``, passed
as ``id``; unique in ``sms_inbox``) when it is given, else by the same text from the same
number within :data:`REPEAT_WINDOW`.

A number that sends more than :data:`RATE_LIMIT` SMS within :data:`RATE_WINDOW` is answered
once "Qua nhieu tin nhan, vui long cho 1 phut" and then ignored without an answer until it has
sent fewer than that many within the window. The count is the number's rows in ``sms_inbox``
(every SMS handled, even one ignored, keeps its row), so every process and worker shares it.
Deliveries from one number are handled one at a time whatever the process: on PostgreSQL the
transaction first takes an advisory lock on the number (:func:`lock_sender`), so a second
delivery counts the first's row once it is committed instead of both passing at the limit
(SQLite's write transactions are serial already).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import networkx as nx
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.auth import Principal, principal_for
from api.enums import IncidentStatus
from api.errors import ServiceError
from api.models import Incident, SmsIncoming, User, utcnow
from api.services.notify import queue_sms
from api.services.offers import create_offer, transition_offer
from api.services.reports import add_report, read_report
from api.services.requests import decline_request
from geo.errors import LienXaError
from geo.i18n import error_text, say
from geo.sms import Command, SmsError, Verb, normalise_phone, parse_command

#: Without a Kannel id, the same text from the same number within this time is a repeat.
REPEAT_WINDOW = dt.timedelta(minutes=2)
#: More incoming SMS than this from one number within :data:`RATE_WINDOW` are not handled.
RATE_LIMIT = 10
RATE_WINDOW = dt.timedelta(minutes=1)
#: The results of an SMS over the limit: the one answered, and those ignored after it.
RATE_LIMITED, RATE_LIMITED_SILENT = "rate_limited", "rate_limited_silent"


@dataclass(frozen=True)
class Outcome:
    """What became of an incoming SMS: ``result`` is ``ok``, ``duplicate``, ``unknown_number``,
    ``rate_limited`` (answered once), ``rate_limited_silent`` (ignored) or an error code;
    ``inbox_id`` its row (``None`` for a duplicate)."""

    result: str
    inbox_id: int | None


def _repeat(session: Session, phone: str, text: str, now: dt.datetime) -> bool:
    return (
        session.scalar(
            select(SmsIncoming.id).where(
                SmsIncoming.from_phone == phone,
                SmsIncoming.text == text,
                SmsIncoming.received_at >= now - REPEAT_WINDOW,
            )
        )
        is not None
    )


#: PostgreSQL advisory lock space (the first key of the two-key form; the second is a hash of
#: the number) of :func:`lock_sender`.
SMS_SENDER_LOCK = 7246


def lock_sender(session: Session, phone: str) -> None:
    """Serialise the handling of one number's SMS until the transaction ends (PostgreSQL; see
    the module docstring). Taken before anything else the SMS's transaction locks; no other
    transaction takes it, so it adds no cycle to the lock order of
    :mod:`api.services.offer_rows`. Two numbers whose hashes collide only wait for each
    other."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text("SELECT pg_advisory_xact_lock(CAST(:space AS integer), hashtext(:phone))"),
            {"space": SMS_SENDER_LOCK, "phone": phone},
        )


def _over_limit(session: Session, phone: str, now: dt.datetime, limit: int) -> tuple[bool, bool]:
    """Whether ``phone`` already sent ``limit`` SMS or more within :data:`RATE_WINDOW` before
    ``now``, and whether it was already told so within the window."""
    since = now - RATE_WINDOW
    recent = select(SmsIncoming.id).where(
        SmsIncoming.from_phone == phone, SmsIncoming.received_at >= since
    )
    over = session.scalar(select(func.count()).select_from(recent.limit(limit).subquery()))
    if (over or 0) < limit:
        return False, False
    told = session.scalar(recent.where(SmsIncoming.result == RATE_LIMITED).limit(1))
    return True, told is not None


def _active_incident_of(session: Session, commune: str) -> int:
    """The newest active incident whose affected communes include ``commune``.

    Raises
    ------
    SmsError
        ``sms_no_incident`` {commune}: none (the commune reports a flood from its page, or its
        command declares one, first).
    """
    for i in session.scalars(
        select(Incident)
        .where(Incident.status == IncidentStatus.ACTIVE)
        .order_by(Incident.id.desc())
    ):
        if any(a.get("commune") == commune for a in i.scenario.get("affected", [])):
            return i.id
    raise SmsError(
        f"no active incident affects commune {commune}",
        code="sms_no_incident",
        params={"commune": commune},
    )


def _report(session: Session, p: Principal, cmd: Command, G: nx.Graph) -> dict[str, Any]:
    """``BC <displaced> <houses flooded> [CL|CO]``: a situation report for the sender's own
    commune in the newest active incident affecting it, through the same checks and service
    as the API's ``POST /incidents/{id}/reports`` (``CL``: fully isolated; ``CO``: not)."""
    commune = p.commune or ""
    displaced, flooded = cmd.numbers
    data: dict[str, Any] = {"commune": commune, "displaced": displaced, "houses_flooded": flooded}
    if cmd.isolated is not None:
        data["isolated"] = "full" if cmd.isolated else None
    incident_id = _active_incident_of(session, commune)
    add_report(session, p, incident_id, read_report(data, G))
    return {"incident": incident_id, "displaced": displaced, "houses": flooded}


def _apply(
    session: Session, p: Principal, cmd: Command, G: nx.Graph | None = None
) -> tuple[str, dict[str, Any]]:
    """Apply ``cmd`` as ``p``: the answer's catalogue key and params."""
    commune = p.commune or ""
    if cmd.verb == Verb.HELP:
        return "sms.help", {}
    if not p.commune:
        raise SmsError(
            "SMS commands act for one commune: only commune leaders may send them",
            code="sms_leader_only",
        )
    if cmd.verb == Verb.OFFER:
        request_id, quantity = cmd.numbers
        o = create_offer(session, p, request_id, commune=commune, quantity=quantity, note="SMS")
        return "sms.ok_offer", {"offer": o["id"], "request": request_id, "quantity": quantity}
    if cmd.verb == Verb.DECLINE:
        decline_request(session, p, cmd.numbers[0], commune, "SMS")
        return "sms.ok_decline", {"request": cmd.numbers[0]}
    if cmd.verb == Verb.REPORT:
        if G is None:  # no graph to check the commune's population against
            raise SmsError(
                "situation reports by SMS are not open here", code="sms_report_unavailable"
            )
        return "sms.ok_report", _report(session, p, cmd, G)
    action = {Verb.ACCEPT: "accept", Verb.DISPATCH: "dispatch", Verb.ARRIVE: "arrive"}[cmd.verb]
    transition_offer(session, p, cmd.numbers[0], action)
    return f"sms.ok_{action}", {"offer": cmd.numbers[0]}


def _error_answer(exc: LienXaError | ServiceError) -> dict[str, Any]:
    fallback = exc.detail if isinstance(exc, ServiceError) else str(exc)
    text = error_text("vi", exc.code, exc.params, str(fallback))
    # who typed an unknown command gets the commands themselves (it fits one SMS with the
    # error); other errors name what was wrong, and HD gives the commands
    if exc.code in ("sms_unknown_command", "sms_empty"):
        return {"error": text, "help": say("vi", "sms.help_commands")}
    return {"error": text, "help": say("vi", "sms.help_short")}


def handle_incoming(
    session: Session,
    *,
    phone: str,
    text: str,
    kannel_id: str | None,
    communes_by_province: Mapping[str, set[str]],
    G: nx.Graph | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
    rate_limit: int = RATE_LIMIT,
) -> Outcome:
    """Handle one SMS in ``session``'s transaction (see the module docstring); more than
    ``rate_limit`` from one number within :data:`RATE_WINDOW` are answered once, then ignored.

    Raises
    ------
    IntegrityError
        Only when the same Kannel id was committed meanwhile by a concurrent delivery (the
        caller answers it as a duplicate).
    """
    now = clock()
    raw = (text or "")[:2000]
    try:
        sender = normalise_phone(phone)
    except SmsError:
        sender = ""
    if sender:  # first: the repeat and rate checks below must see this number's other SMS
        lock_sender(session, sender)
    if kannel_id is not None:
        seen = select(SmsIncoming.id).where(SmsIncoming.kannel_id == kannel_id)
        if session.scalar(seen) is not None:
            return Outcome("duplicate", None)
    elif _repeat(session, sender, raw, now):
        return Outcome("duplicate", None)
    over, told = _over_limit(session, sender, now, rate_limit) if sender else (False, False)
    row = SmsIncoming(kannel_id=kannel_id, from_phone=sender, text=raw, received_at=now)
    session.add(row)
    session.flush()  # a parallel delivery of the same id committed meanwhile: IntegrityError
    reply_key = f"reply:{row.id}"
    if not sender:  # no number to answer to (Kannel always passes one)
        row.from_phone, row.result = (phone or "")[:32], "phone_invalid"
        session.flush()
        return Outcome(row.result, row.id)
    if over:  # known number or not: each answer is an SMS someone pays for
        row.result = RATE_LIMITED_SILENT if told else RATE_LIMITED
        if not told:
            queue_sms(session, key=reply_key, to=sender, message="sms.rate_limited")
        session.flush()
        return Outcome(row.result, row.id)
    user = session.scalars(select(User).where(User.phone == sender, User.active.is_(True))).first()
    if user is None:
        row.result = "unknown_number"
        queue_sms(session, key=reply_key, to=sender, message="sms.unknown_number")
        session.flush()
        return Outcome(row.result, row.id)
    row.user_id = user.id
    p = principal_for(session, user, dict(communes_by_province))
    try:
        with session.begin_nested():
            message, params = _apply(session, p, parse_command(raw), G)
        row.result = "ok"
    except (LienXaError, ServiceError) as exc:
        row.result = exc.code[:64]
        message, params = "sms.error", _error_answer(exc)
    queue_sms(session, key=reply_key, to=sender, message=message, **params)
    session.flush()
    return Outcome(row.result, row.id)

"""The SMS outbox and its sender: SMS go out through Kannel's ``sendsms``.

Rows wait in ``sms_outbox`` (so the queue survives a restart). :func:`send_due` claims the rows
that are due, posts each to ``LIENXA_SMS_SEND_URL`` with ``to`` and ``text`` added, and marks
it sent, or puts it back with a growing delay (:func:`backoff`) while the gateway is away; after
:data:`MAX_ATTEMPTS` it is given up (``failed``, kept for the record).

Several workers may send at once: a claim is a short transaction that takes the due rows
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two workers never take the same row; SQLite
serialises the claim's write transaction) and sets a lease on them; the HTTP posts happen
outside any transaction, and a row whose worker died is due again when its lease ends. An SMS
can therefore go out twice only when a worker dies between Kannel's answer and its own commit.
"""

from __future__ import annotations

import datetime as dt
import logging
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import session_scope
from api.models import SmsOutgoing, as_utc, utcnow
from geo.i18n import gettext
from geo.resources import load_catalogue
from geo.sms import gsm_text

log = logging.getLogger(__name__)

#: How long a claimed row is a worker's before another may take it.
LEASE = dt.timedelta(seconds=60)
#: Attempts before an SMS is given up.
MAX_ATTEMPTS = 30
#: The language SMS are worded in (then folded to ASCII).
SMS_LANG = "vi"
#: Rows claimed at once.
BATCH = 20


def backoff(attempts: int) -> dt.timedelta:
    """The wait before attempt ``attempts + 1``: 2, 4, 8, ... seconds, at most 5 minutes."""
    return dt.timedelta(seconds=min(300, 2 ** max(1, attempts)))


def word_sms(message: str, params: Mapping[str, Any], names: Mapping[str, str]) -> str:
    """The text of an SMS: catalogue entry ``message`` in Vietnamese, with ``commune`` as the
    commune's name and ``resource`` as its label, folded to GSM 7-bit (no diacritics)."""
    values = dict(params)
    if "commune" in values:
        values["commune"] = names.get(str(values["commune"]), str(values["commune"]))
    if "resource" in values:
        res = load_catalogue().get(str(values["resource"]))
        values["resource"] = res.label_vi if res is not None else values["resource"]
    try:
        text = gettext(SMS_LANG, message).format(**values)
    except (KeyError, IndexError, ValueError):
        text = message
    return gsm_text(text)


@dataclass(frozen=True)
class Claimed:
    """A row taken for sending: its id, number and text."""

    id: int
    to: str
    text: str


def claim(
    session: Session, names: Mapping[str, str], *, now: dt.datetime | None = None
) -> list[Claimed]:
    """Take up to :data:`BATCH` due rows (pending, their time come, not leased to a live
    worker) and lease them; their texts are worded now."""
    now = now or utcnow()
    stmt = (
        select(SmsOutgoing)
        .where(
            SmsOutgoing.status == "pending",
            SmsOutgoing.next_attempt_at <= now,
            or_(SmsOutgoing.lease_until.is_(None), SmsOutgoing.lease_until < now),
        )
        .order_by(SmsOutgoing.id)
        .limit(BATCH)
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    out = []
    for row in session.scalars(stmt):
        row.lease_until = now + LEASE
        if row.text is None:
            row.text = word_sms(row.message, row.params, names)
        out.append(Claimed(row.id, row.to_phone, row.text))
    return out


def finish(
    session: Session, row_id: int, error: str | None, *, now: dt.datetime | None = None
) -> None:
    """Record one attempt: sent, or due again after :func:`backoff` (``failed`` after
    :data:`MAX_ATTEMPTS`)."""
    now = now or utcnow()
    row = session.get(SmsOutgoing, row_id)
    if row is None:
        return
    row.lease_until = None
    row.attempts += 1
    if error is None:
        row.status, row.sent_at, row.last_error = "sent", now, None
        return
    row.last_error = error[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
    else:
        row.next_attempt_at = now + backoff(row.attempts)


def send_url(base: str, to: str, text: str) -> str:
    """``base`` (Kannel's sendsms URL with its credentials) with ``to`` and ``text`` added."""
    sep = "&" if urllib.parse.urlsplit(base).query else "?"
    return base + sep + urllib.parse.urlencode({"to": to, "text": text})


def post(client: httpx.Client, base: str, sms: Claimed) -> str | None:
    """Hand one SMS to Kannel; ``None`` when it took it, else why not (credentials are not
    in the reason: only the status and Kannel's answer)."""
    try:
        answer = client.get(send_url(base, sms.to, sms.text))
    except httpx.HTTPError as exc:
        return f"gateway unreachable: {type(exc).__name__}"
    if answer.status_code in (200, 202):
        return None
    return f"gateway answered {answer.status_code}: {answer.text[:200]}"


def send_due(
    factory: sessionmaker[Session],
    base: str,
    names: Mapping[str, str],
    *,
    client: httpx.Client | None = None,
    clock: Callable[[], dt.datetime] = utcnow,
) -> dict[str, int]:
    """Send what is due once: claim, post each, record each; the counts ``sent`` and
    ``failed`` (attempts that failed this round)."""
    with session_scope(factory) as s:
        batch = claim(s, names, now=clock())
    counts = {"sent": 0, "failed": 0}
    if not batch:
        return counts
    own = client is None
    http = client or httpx.Client(timeout=10)
    try:
        for sms in batch:
            error = post(http, base, sms)
            with session_scope(factory) as s:
                finish(s, sms.id, error, now=clock())
            counts["failed" if error else "sent"] += 1
            if error:
                log.warning("SMS %d to %s not sent: %s", sms.id, sms.to, error)
    finally:
        if own:
            http.close()
    return counts


def outbox_rows(session: Session, *, to: str | None = None) -> list[dict[str, Any]]:
    """The outbox as rows (for the CLI and tests), oldest first."""
    stmt = select(SmsOutgoing).order_by(SmsOutgoing.id)
    if to:
        stmt = stmt.where(SmsOutgoing.to_phone == to)
    return [
        {
            "id": r.id,
            "key": r.key,
            "to": r.to_phone,
            "message": r.message,
            "params": r.params,
            "status": r.status,
            "attempts": r.attempts,
            "next_attempt_at": as_utc(r.next_attempt_at),
            "text": r.text,
        }
        for r in session.scalars(stmt)
    ]

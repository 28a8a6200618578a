"""The append-only, hash-chained audit log."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from api.models import AuditEntry, utcnow

GENESIS = "0" * 64


def _digest(prev: str, entry: dict[str, Any]) -> str:
    body = json.dumps(entry, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256((prev + body).encode()).hexdigest()


def _utc(at: dt.datetime | None) -> str | None:
    """A timestamp as UTC ISO text, whatever the database gave back (SQLite drops the zone)."""
    if at is None:
        return None
    return (at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)).isoformat()


def _content(e: AuditEntry) -> dict[str, Any]:
    return {
        "id": e.id,
        "at": _utc(e.at),
        "actor": e.actor,
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "before": e.before,
        "after": e.after,
    }


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    entity: str,
    entity_id: object,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """Append one entry in the caller's transaction, chained to the previous one.

    On PostgreSQL an advisory transaction lock serialises appends (SQLite writers are already
    serialised), so the chain never forks.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(7243)"))
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    prev = last.hash if last else GENESIS
    next_id = (last.id + 1) if last else 1
    now = utcnow()
    at = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what every database keeps
    entry = AuditEntry(
        id=next_id,
        at=at,
        actor=actor,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=_jsonable(before),
        after=_jsonable(after),
        prev_hash=prev,
        hash="",
    )
    entry.hash = _digest(prev, _content(entry))
    session.add(entry)
    session.flush()
    return entry


def _jsonable(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value, default=str, ensure_ascii=False))


def verify(session: Session) -> tuple[bool, int, str]:
    """Recompute the chain. Returns ``(ok, entries checked, message)``."""
    prev = GENESIS
    n = 0
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        n += 1
        content = _content(e)
        if e.prev_hash != prev:
            return (
                False,
                n,
                f"entry {e.id}: chain broken (prev_hash does not match entry {e.id - 1})",
            )
        if _digest(prev, content) != e.hash:
            return False, n, f"entry {e.id}: content does not match its hash (tampered)"
        prev = e.hash
    return True, n, f"{n} entries, chain intact"


def as_dict(e: AuditEntry) -> dict[str, Any]:
    return {**_content(e), "hash": e.hash, "prev_hash": e.prev_hash}

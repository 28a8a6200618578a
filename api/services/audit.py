"""The append-only, hash-chained audit log, anchored outside its table by signed checkpoints.

Each entry's hash covers its content and the previous entry's hash, so changing or removing an
entry in the middle breaks the chain. Deleting the *newest* entries, or rewriting the whole
table with freshly computed hashes, leaves a chain that is consistent in itself: that is what
the checkpoints catch. After every committed write that added entries, the service appends one
line to ``LIENXA_DATA_DIR/audit_checkpoints.jsonl``::

    {"id": 41, "hash": "9f2c...", "count": 41, "at": "2026-12-01T08:30:00+00:00", "sig": "..."}

(the newest entry's id and hash, how many entries there are up to it, and an HMAC-SHA256 over
the other fields with a key derived from the service's secret key, so that someone who can
write the database but not read the secret cannot forge one). ``lienxa audit verify`` checks
the chain *and* that the table still holds every checkpointed head: a deleted tail or a
rewritten chain fails it (exit 1). It prints the newest head for the province to keep off the
machine (``--expect ID:HASH`` checks against a kept head: that also catches someone who holds
the secret key and rewrote the checkpoint file too). ``lienxa audit checkpoint`` appends one on
demand (after commands that wrote without the service, or from cron).

HMAC rather than a public-key signature: the key is the secret the service already keeps (no
new key to manage and back up), at the cost that checking a signature needs that secret; the
printed heads, kept elsewhere, are what does not depend on it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from api.models import AuditEntry, utcnow

GENESIS = "0" * 64
#: the checkpoint file's name in the data directory
CHECKPOINTS = "audit_checkpoints.jsonl"
_ANCHOR = "lienxa_audit_anchor"
log = logging.getLogger(__name__)


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
    last = session.execute(  # the head's id and hash only, not its content
        select(AuditEntry.id, AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1)
    ).first()
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
    with _pending_lock:
        _pending[session] = (entry.id, entry.hash)
    return entry


def _jsonable(value: Any) -> Any:
    return None if value is None else json.loads(json.dumps(value, default=str, ensure_ascii=False))


def _walk(session: Session) -> Iterator[tuple[AuditEntry, str | None]]:
    """Every entry in order with what is wrong with its link (``None``: it is sound)."""
    prev = GENESIS
    for e in session.scalars(select(AuditEntry).order_by(AuditEntry.id)):
        if e.prev_hash != prev:
            yield e, f"entry {e.id}: chain broken (prev_hash does not match the entry before)"
        elif _digest(prev, _content(e)) != e.hash:
            yield e, f"entry {e.id}: content does not match its hash (tampered)"
        else:
            yield e, None
        prev = e.hash


def verify(session: Session) -> tuple[bool, int, str]:
    """Recompute the chain. Returns ``(ok, entries checked, message)`` (the table alone: see
    :func:`verify_anchored` for the checkpoints)."""
    n = 0
    for _, problem in _walk(session):
        n += 1
        if problem:
            return False, n, problem
    return True, n, f"{n} entries, chain intact"


def head(session: Session) -> tuple[int, str, int] | None:
    """The newest entry's ``(id, hash)`` and the number of entries, or None for none."""
    last = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).first()
    if last is None:
        return None
    return last.id, last.hash, int(session.scalar(select(func.count(AuditEntry.id))) or 0)


# ---------------------------------------------------------------- checkpoints


@dataclass(frozen=True)
class Anchor:
    """Where checkpoints are appended and the key that signs them."""

    path: Path
    key: bytes

    @classmethod
    def for_data_dir(cls, data_dir: Path, secret: str) -> Anchor:
        """The anchor of a service: ``data_dir/audit_checkpoints.jsonl``, signed with a key
        derived from ``secret`` (the service's secret key)."""
        key = hmac.new(secret.encode(), b"lienxa-audit-checkpoint-v1", hashlib.sha256).digest()
        return cls(Path(data_dir) / CHECKPOINTS, key)

    def sign(self, body: dict[str, Any]) -> str:
        data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
        return hmac.new(self.key, data, hashlib.sha256).hexdigest()

    def write(self, entry_id: int, entry_hash: str, count: int) -> dict[str, Any]:
        """Append one signed checkpoint (one ``write`` of one line on an ``O_APPEND`` file, so
        the lines of several workers never interleave) and return it."""
        body: dict[str, Any] = {
            "id": entry_id,
            "hash": entry_hash,
            "count": count,
            "at": utcnow().isoformat(timespec="seconds"),
        }
        line = {**body, "sig": self.sign(body)}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line, sort_keys=True) + "\n").encode())
        finally:
            os.close(fd)
        return line

    def read(self) -> list[tuple[int, dict[str, Any] | None]]:
        """Every line's number and checkpoint (``None`` for a line that is not one, or whose
        signature is wrong)."""
        if not self.path.exists():
            return []
        out: list[tuple[int, dict[str, Any] | None]] = []
        for number, raw in enumerate(self.path.read_text().splitlines(), 1):
            if not raw.strip():
                continue
            try:
                cp = json.loads(raw)
                body = {k: cp[k] for k in ("id", "hash", "count", "at")}
                ok = hmac.compare_digest(str(cp["sig"]), self.sign(body))
            except (ValueError, KeyError, TypeError):
                ok = False
            out.append((number, cp if ok else None))
        return out


_pending: weakref.WeakKeyDictionary[Session, tuple[int, str]] = weakref.WeakKeyDictionary()
_pending_lock = threading.Lock()


def anchor_sessions(factory: sessionmaker[Session], anchor: Anchor) -> None:
    """Make every commit of ``factory``'s sessions that added audit entries append a
    checkpoint of the new head to ``anchor``."""
    info = dict(factory.kw.get("info") or {})
    info[_ANCHOR] = anchor
    factory.configure(info=info)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    with _pending_lock:
        pending = _pending.pop(session, None)
    anchor = session.info.get(_ANCHOR)
    if pending is None or anchor is None:
        return
    entry_id, entry_hash = pending
    try:  # ids are dense (record gives each the next one), so the count is the id
        anchor.write(entry_id, entry_hash, entry_id)
    except OSError as exc:  # the write is committed: say so, do not fail the request
        log.error("audit checkpoint not written to %s: %s", anchor.path, exc)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    with _pending_lock:
        _pending.pop(session, None)


def verify_anchored(session: Session, anchor: Anchor) -> tuple[bool, list[str]]:
    """The chain and every checkpoint: each must name an entry of the table with its hash
    and its position. Returns ``(ok, lines to print)``; the last line is the newest head."""
    seen: dict[int, tuple[str, int]] = {}
    n = 0
    for e, problem in _walk(session):
        n += 1
        if problem:
            return False, [f"TAMPERED: {problem}"]
        seen[e.id] = (e.hash, n)
    checkpoints = anchor.read()
    problems = [
        f"checkpoint line {k}: bad signature or not a checkpoint"
        for k, cp in checkpoints
        if cp is None
    ]
    newest: dict[str, Any] | None = None
    for k, cp in checkpoints:
        if cp is None:
            continue
        if newest is None or cp["id"] >= newest["id"]:
            newest = cp
        found = seen.get(int(cp["id"]))
        if found is None:
            problems.append(
                f"checkpoint line {k}: entry {cp['id']} is missing from the table "
                f"(the table ends at {n} entries: its newest entries were deleted)"
            )
        elif found != (cp["hash"], int(cp["count"])):
            problems.append(
                f"checkpoint line {k}: entry {cp['id']} is not the one checkpointed "
                "(the chain was rewritten)"
            )
    lines = [f"TAMPERED: {p}" for p in problems]
    if not problems:
        lines.append(f"OK: {n} entries, chain intact, {len(checkpoints)} checkpoints reached")
    if newest is not None:
        lines.append(
            f"newest checkpoint: id {newest['id']} hash {newest['hash']} "
            f"count {newest['count']} at {newest['at']}"
        )
    if not checkpoints:
        lines.append(f"no checkpoints in {anchor.path} yet (`lienxa audit checkpoint` writes one)")
    return not problems, lines


def as_dict(e: AuditEntry) -> dict[str, Any]:
    return {**_content(e), "hash": e.hash, "prev_hash": e.prev_hash}

"""``lienxa users add|passwd|disable|enable``, ``lienxa audit verify|checkpoint``,
``lienxa backup`` and ``lienxa restore``.

Exit codes: 0 done, 1 a check failed (a broken or truncated audit chain), 2 the command could
not run (bad input, no database, not migrated).
"""

from __future__ import annotations

import argparse
import sys
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from api.enums import Role

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from api.services.audit import Anchor
    from api.settings import Settings


def _settings() -> Settings:
    from api.settings import get_settings

    return get_settings()


def _anchor() -> Anchor:
    from api.services.audit import Anchor

    settings = _settings()
    return Anchor.for_data_dir(settings.data_dir, settings.resolved_secret())


def anchored(factory: sessionmaker[Session]) -> sessionmaker[Session]:
    """``factory``, with every commit that adds audit entries checkpointed in the data
    directory (as the service does: :func:`api.services.audit.anchor_sessions`)."""
    from api.services import audit

    audit.anchor_sessions(factory, _anchor())
    return factory


def _session() -> AbstractContextManager[Session]:
    """A write session on the configured database whose audit entries are checkpointed (exit
    2 when the database is not migrated)."""
    from api.db import make_engine, make_sessionmaker, migration_state, session_scope

    engine = make_engine(_settings().resolved_database_url())
    current, head = migration_state(engine)
    if current != head:
        print(
            "lienxa: error: the database is not migrated: run `lienxa db upgrade` first",
            file=sys.stderr,
        )
        raise SystemExit(2)
    return session_scope(anchored(make_sessionmaker(engine)[1]))


def _known_codes() -> tuple[set[str] | None, set[str]]:
    """The commune codes and province codes of the configured boundaries; without readable
    boundaries, no commune check and the 34 known province codes."""
    from api.services.users import KNOWN_PROVINCES
    from geo.boundaries import SOURCE_COLUMNS, find_boundaries_file, read_geodata
    from geo.errors import BoundaryError

    settings = _settings()
    try:
        raw = read_geodata(
            find_boundaries_file(settings.boundaries), layer=settings.boundaries_layer
        )
    except BoundaryError:
        return None, set(KNOWN_PROVINCES)
    code = next((c for c in SOURCE_COLUMNS["code"] if c in raw.columns), None)
    prov = next((c for c in SOURCE_COLUMNS["province_code"] if c in raw.columns), None)
    communes = None if code is None else {str(c).zfill(5) for c in raw[code]}
    provinces = set(KNOWN_PROVINCES) if prov is None else {str(p).zfill(2) for p in raw[prov]}
    return communes, provinces


def _fail(command: str, message: str) -> int:
    print(f"lienxa users {command}: error: {message}", file=sys.stderr)
    return 2


def _password(args: argparse.Namespace) -> str | None:
    if not args.password_stdin:
        print("give the password on standard input with --password-stdin", file=sys.stderr)
        return None
    return sys.stdin.readline().rstrip("\n")


def run_users_add(args: argparse.Namespace) -> int:
    """Create a user; the password is read from standard input. A commune and a province must
    be real codes (of the boundaries; without them, a province of the 34)."""
    from api.errors import ServiceError
    from api.services.users import add_user

    password = _password(args)
    if password is None:
        return 2
    communes, provinces = _known_codes()
    if args.commune and communes is not None and args.commune not in communes:
        return _fail("add", f"unknown commune {args.commune!r} in the boundaries")
    if args.province and args.province not in provinces:
        return _fail("add", f"unknown province {args.province!r} in the boundaries")
    try:
        with _session() as s:
            u = add_user(
                s,
                args.name,
                password,
                args.role,
                commune=args.commune,
                region=args.region,
                province=args.province,
                actor="cli",
                communes=communes,
                provinces=provinces,
                phone=args.phone,
            )
            print(f"user {u.username} ({u.role}) created")
    except ServiceError as exc:
        return _fail("add", exc.detail if isinstance(exc.detail, str) else str(exc))
    return 0


def run_users_change(args: argparse.Namespace) -> int:
    """``passwd`` (from standard input), ``disable`` or ``enable`` a user; the first two end
    every session of the user."""
    from api.errors import ServiceError
    from api.services.users import find_user, set_active, set_password

    action = args.users_command
    password = _password(args) if action == "passwd" else ""
    if password is None:
        return 2
    try:
        with _session() as s:
            user = find_user(s, args.name)
            if action == "passwd":
                set_password(s, user, password, actor="cli")
            elif (action == "enable") != bool(user.active):
                set_active(s, user, action == "enable", actor="cli")
    except ServiceError as exc:
        return _fail(action, exc.detail if isinstance(exc.detail, str) else str(exc))
    done = {"passwd": "password changed", "disable": "disabled", "enable": "enabled"}[action]
    print(f"user {args.name}: {done}")
    return 0


def run_audit_verify(args: argparse.Namespace) -> int:
    """Verify the hash chain and that it reaches every signed checkpoint (and ``--expect``):
    exit 0 when intact, 1 when broken or truncated, 2 when it cannot be checked."""
    from api.services import audit

    with _session() as s:
        ok, lines = audit.verify_anchored(s, _anchor())
        now = audit.head(s)
        if ok and args.expect:
            ok, line = _check_expected(s, args.expect)
            lines.insert(0, line)
    for line in lines:
        print(line)
    if now is not None:
        print(f"head now: id {now[0]} hash {now[1]} count {now[2]} (keep it off this machine)")
    return 0 if ok else 1


def _check_expected(s: Session, expect: str) -> tuple[bool, str]:
    """Whether the table holds the head ``ID:HASH`` kept from an earlier verify."""
    from sqlalchemy import select

    from api.models import AuditEntry

    entry_id, _, entry_hash = expect.partition(":")
    if not entry_id.isdigit() or not entry_hash:
        return False, f"--expect takes ID:HASH, got {expect!r}"
    found = s.scalar(select(AuditEntry.hash).where(AuditEntry.id == int(entry_id)))
    if found != entry_hash:
        return False, f"TAMPERED: entry {entry_id} is not the kept head {entry_hash[:16]}..."
    return True, f"OK: the kept head {entry_id}:{entry_hash[:16]}... is in the chain"


def run_audit_checkpoint(args: argparse.Namespace) -> int:
    """Append a signed checkpoint of the current head (exit 1 if the chain is broken)."""
    from api.services import audit

    anchor = _anchor()
    with _session() as s:
        ok, lines = audit.verify_anchored(s, anchor)
        now = audit.head(s)
    if not ok:
        for line in lines:
            print(line)
        print("no checkpoint written: the chain does not verify", file=sys.stderr)
        return 1
    if now is None:
        print("the audit log is empty: nothing to checkpoint")
        return 0
    cp = anchor.write(*now)
    print(f"checkpoint: id {cp['id']} hash {cp['hash']} count {cp['count']} at {cp['at']}")
    return 0


def run_backup(args: argparse.Namespace) -> int:
    """Back up the database and the audit checkpoints into a new directory."""
    from api.services.backup import BackupError, backup

    settings = _settings()
    try:
        manifest = backup(settings, args.path)
    except BackupError as exc:
        print(f"lienxa backup: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"backup of {manifest['rows']} rows in {manifest['tables']} tables written to {args.path}"
    )
    return 0


def run_restore(args: argparse.Namespace) -> int:
    """Restore a backup into the configured (empty, unless ``--force``) database."""
    from api.services.backup import BackupError, restore

    try:
        manifest = restore(_settings(), args.path, force=args.force)
    except BackupError as exc:
        print(f"lienxa restore: error: {exc}", file=sys.stderr)
        return 2
    print(f"restored {manifest['rows']} rows from {args.path}; run `lienxa audit verify`")
    return 0


def _users_parsers(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser("users", help="user administration")
    usub = p.add_subparsers(dest="users_command", metavar="ACTION", required=True)
    add = usub.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    group = add.add_mutually_exclusive_group()
    group.add_argument("--commune", help="5-digit code (commune_leader)")
    group.add_argument("--region", help="region name (defence_command)")
    group.add_argument("--province", help="2-digit code (defence_command)")
    add.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    add.add_argument("--phone", help="mobile number, +84912345678 or 0912345678 (SMS)")
    add.set_defaults(func=run_users_add)
    pw = usub.add_parser("passwd", help="set a user's password (ends their sessions)")
    pw.add_argument("name")
    pw.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    pw.set_defaults(func=run_users_change)
    for action, text in (
        ("disable", "disable a user (ends their sessions; they cannot log in)"),
        ("enable", "enable a disabled user"),
    ):
        q = usub.add_parser(action, help=text)
        q.add_argument("name")
        q.set_defaults(func=run_users_change)


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add the administration commands."""
    _users_parsers(sub)
    p = sub.add_parser("audit", help="audit log")
    asub = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    v = asub.add_parser(
        "verify", help="verify the hash chain and that it reaches the signed checkpoints"
    )
    v.add_argument("--expect", metavar="ID:HASH", help="a head kept from an earlier verify")
    v.set_defaults(func=run_audit_verify)
    c = asub.add_parser("checkpoint", help="append a signed checkpoint of the current head")
    c.set_defaults(func=run_audit_checkpoint)

    b = sub.add_parser("backup", help="back up the database and the audit checkpoints")
    b.add_argument("path", help="a new (or empty) directory to write the backup into")
    b.set_defaults(func=run_backup)
    r = sub.add_parser("restore", help="restore a backup into an empty database")
    r.add_argument("path", help="a directory written by `lienxa backup`")
    r.add_argument("--force", action="store_true", help="replace a database that is not empty")
    r.set_defaults(func=run_restore)

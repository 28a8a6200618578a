"""``lienxa backup`` and ``lienxa restore``: the whole database and the audit checkpoints.

A backup is a directory::

    manifest.json              dialect, migration, time, every table's row count, audit head
    lienxa.db | lienxa.pgdump  SQLite: a copy made by SQLite's online backup API (consistent
                               while the service writes); PostgreSQL: ``pg_dump -Fc`` of one
                               snapshot (the counts in the manifest are of the same snapshot)
    audit_checkpoints.jsonl    the signed audit checkpoints (see :mod:`api.services.audit`),
                               copied *before* the database, so every checkpoint in the backup
                               names an entry that is in it

The secret key is not in a backup (it signs tokens and checkpoints: keep it apart, e.g. in the
province's password safe); restored on a machine with another key, the checkpoints read as
badly signed, and the heads printed by ``lienxa audit verify`` are what is left to check with.

``restore`` refuses a database that has any rows (``--force`` replaces it); PostgreSQL is
restored with ``pg_restore --single-transaction --exit-on-error`` (all or nothing), with the
client binaries of the server's major version (``/usr/lib/postgresql/<major>/bin``). The
checkpoint file the restore replaces is kept beside it as ``audit_checkpoints.jsonl.replaced-*``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, inspect, select, table, text
from sqlalchemy.engine import URL

from api.db import make_engine, migration_state
from api.models import Base, utcnow
from api.services.audit import CHECKPOINTS
from api.settings import Settings

MANIFEST = "manifest.json"
SQLITE_FILE = "lienxa.db"
PG_FILE = "lienxa.pgdump"
FORMAT = 1


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


def _tables() -> list[str]:
    return [t.name for t in Base.metadata.sorted_tables]


def row_counts(conn: Connection) -> dict[str, int]:
    """Every table's row count (of the tables that exist)."""
    names = set(inspect(conn).get_table_names())
    return {
        name: int(conn.scalar(select(func.count()).select_from(table(name))) or 0)
        for name in _tables()
        if name in names
    }


def _audit_head(conn: Connection) -> dict[str, Any] | None:
    row = conn.execute(text("SELECT id, hash FROM audit_log ORDER BY id DESC LIMIT 1")).first()
    return None if row is None else {"id": row[0], "hash": row[1]}


def pg_bin(conn: Connection, name: str) -> str:
    """``pg_dump`` or ``pg_restore`` of the server's major version, else the one on PATH."""
    major = int(conn.scalar(text("SHOW server_version_num")) or 0) // 10000
    path = Path(f"/usr/lib/postgresql/{major}/bin/{name}")
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise BackupError(
            f"{name} (PostgreSQL {major} client) not found: install postgresql-client"
        )
    return found


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and the environment that carries it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    uri = url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    return uri, env


def _run(cmd: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed: {done.stderr.strip()[-2000:]}")


def _migrated_engine(settings: Settings) -> Engine:
    engine = make_engine(settings.resolved_database_url())
    current, head = migration_state(engine)
    if current != head:
        engine.dispose()
        raise BackupError("the database is not migrated: run `lienxa db upgrade` first")
    return engine


def backup(settings: Settings, path: str | Path) -> dict[str, Any]:
    """Write a backup of the configured database into the new or empty directory ``path``.

    Raises
    ------
    BackupError
        ``path`` is not empty, the database is not migrated, or ``pg_dump`` failed.
    """
    dest = Path(path)
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise BackupError(f"{dest} exists and is not an empty directory: give a new one")
    engine = _migrated_engine(settings)
    dest.mkdir(parents=True, exist_ok=True)
    checkpoints = Path(settings.data_dir) / CHECKPOINTS
    if checkpoints.exists():  # before the database: every checkpoint copied is in the copy
        shutil.copy2(checkpoints, dest / CHECKPOINTS)
    try:
        if engine.dialect.name == "sqlite":
            counts, head = _backup_sqlite(engine, dest / SQLITE_FILE)
        else:
            counts, head = _backup_postgres(engine, dest / PG_FILE)
        revision = migration_state(engine)[0]
    finally:
        engine.dispose()
    manifest = {
        "format": FORMAT,
        "dialect": engine.dialect.name,
        "revision": revision,
        "created_at": utcnow().isoformat(timespec="seconds"),
        "counts": counts,
        "tables": len(counts),
        "rows": sum(counts.values()),
        "audit_head": head,
        "checkpoints": checkpoints.exists(),
    }
    (dest / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _sqlite_file(engine: Engine) -> str:
    name = engine.url.database
    if not name or name == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return name


def _backup_sqlite(engine: Engine, out: Path) -> tuple[dict[str, int], dict[str, Any] | None]:
    src = sqlite3.connect(_sqlite_file(engine))
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)  # the online backup API: a consistent copy while others write
    finally:
        dst.close()
        src.close()
    copy = make_engine(f"sqlite:///{out}")
    try:
        with copy.connect() as conn:
            return row_counts(conn), _audit_head(conn)
    finally:
        copy.dispose()


def _backup_postgres(engine: Engine, out: Path) -> tuple[dict[str, int], dict[str, Any] | None]:
    uri, env = _libpq(engine.url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        snapshot = conn.scalar(text("SELECT pg_export_snapshot()"))
        counts, head = row_counts(conn), _audit_head(conn)
        cmd = [pg_bin(conn, "pg_dump"), "-Fc", "--no-owner", f"--snapshot={snapshot}"]
        _run([*cmd, "-f", str(out), "--dbname", uri], env)  # the same snapshot as the counts
        conn.rollback()
    return counts, head


def restore(settings: Settings, path: str | Path, *, force: bool = False) -> dict[str, Any]:
    """Restore the backup in ``path`` into the configured database, which must have no rows
    (``force``: replace what it has), and put the backup's audit checkpoints in place.

    Raises
    ------
    BackupError
        Not a backup, another dialect, a database with rows, or ``pg_restore`` failed.
    """
    src = Path(path)
    try:
        manifest: dict[str, Any] = json.loads((src / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise BackupError(f"{src} is not a lienxa backup (no readable {MANIFEST})") from exc
    engine = make_engine(settings.resolved_database_url())
    try:
        if engine.dialect.name != manifest.get("dialect"):
            raise BackupError(
                f"a {manifest.get('dialect')} backup cannot be restored into {engine.dialect.name}"
            )
        with engine.connect() as conn:
            existing = row_counts(conn)
        if any(existing.values()) and not force:
            raise BackupError(
                f"the database has {sum(existing.values())} rows: restore into an empty database, "
                "or give --force to replace them"
            )
        if engine.dialect.name == "sqlite":
            _restore_sqlite(engine, src / SQLITE_FILE)
        else:
            _restore_postgres(engine, src / PG_FILE, clean=bool(existing))
        with engine.connect() as conn:
            restored = row_counts(conn)
    finally:
        engine.dispose()
    if restored != manifest["counts"]:
        raise BackupError(f"restored row counts {restored} differ from the backup's")
    _restore_checkpoints(src / CHECKPOINTS, Path(settings.data_dir) / CHECKPOINTS)
    return manifest


def _restore_sqlite(engine: Engine, copy: Path) -> None:
    if not copy.exists():
        raise BackupError(f"{copy} is missing from the backup")
    engine.dispose()  # no pooled connection of ours holds the file meanwhile
    src = sqlite3.connect(copy)
    dst = sqlite3.connect(_sqlite_file(engine), timeout=30)
    try:
        src.backup(dst)  # page by page into the target, under its write lock
    finally:
        dst.close()
        src.close()


def _restore_postgres(engine: Engine, dump: Path, *, clean: bool) -> None:
    if not dump.exists():
        raise BackupError(f"{dump} is missing from the backup")
    uri, env = _libpq(engine.url)
    with engine.connect() as conn:
        cmd = [pg_bin(conn, "pg_restore"), "--no-owner", "--single-transaction", "--exit-on-error"]
    if clean:  # a migrated (or --force'd) database: its tables are dropped and made again
        cmd += ["--clean", "--if-exists"]
    engine.dispose()
    _run([*cmd, "--dbname", uri, str(dump)], env)


def _restore_checkpoints(copy: Path, target: Path) -> None:
    if target.exists():
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        target.rename(target.with_name(f"{target.name}.replaced-{stamp}"))
    if copy.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(copy, target)

"""Database engine and sessions: SQLite (WAL, foreign keys, serialised writers) or PostgreSQL."""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import (
    Connection,
    Engine,
    ScalarResult,
    Select,
    create_engine,
    event,
    inspect,
    make_url,
    text,
)
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from alembic.config import Config

    from api.settings import Settings

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
_T = TypeVar("_T")


def make_engine(url: str, settings: Settings | None = None) -> Engine:
    """An engine for ``url``. On SQLite: WAL journal, foreign keys on, a busy timeout, and
    write transactions that take the write lock at BEGIN (``BEGIN IMMEDIATE``), so concurrent
    writers serialise instead of failing or promising the same stock twice.

    The pool is sized by ``settings`` (on SQLite when they are given) (``LIENXA_DB_POOL_SIZE``,
    ``LIENXA_DB_MAX_OVERFLOW``, ``LIENXA_DB_POOL_TIMEOUT``: a request waits at most that long
    for a connection, then gets a 503); behind PgBouncer in transaction pooling
    (``LIENXA_DB_PGBOUNCER=1`` or ``?prepare_threshold=none`` in the URL) psycopg prepares no
    statements on the server, since the next transaction may run on another server connection.
    """
    if url.startswith("sqlite"):
        pool: dict[str, Any] = {}
        if settings is not None and ":memory:" not in url and url.rstrip("/") != "sqlite:":
            pool = {
                "pool_size": settings.db_pool_size,
                "max_overflow": settings.db_max_overflow,
                "pool_timeout": settings.db_pool_timeout,
            }
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, **pool
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql(
                "BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN"
            )

        return engine
    return create_engine(**postgres_engine_args(url, settings))


def postgres_engine_args(url: str, settings: Settings | None = None) -> dict[str, Any]:
    """``create_engine`` arguments for PostgreSQL: the pool of ``settings`` and, behind
    PgBouncer, no server-side prepared statements (``prepare_threshold`` is taken out of the
    URL: libpq does not know it)."""
    from api.settings import Settings

    settings = settings or Settings()
    parsed = make_url(url)
    threshold = parsed.query.get("prepare_threshold")
    parsed = parsed.difference_update_query(["prepare_threshold"])
    connect_args: dict[str, Any] = {"connect_timeout": 5}
    if settings.db_pgbouncer or (
        isinstance(threshold, str) and threshold.lower() in ("none", "null", "")
    ):
        connect_args["prepare_threshold"] = None
    elif isinstance(threshold, str) and threshold.isdigit():
        connect_args["prepare_threshold"] = int(threshold)
    return {
        "url": parsed,
        "pool_pre_ping": True,
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_timeout": settings.db_pool_timeout,
        "connect_args": connect_args,
    }


def pool_capacity_problem(engine: Engine, settings: Settings, workers: int) -> str | None:
    """Why ``workers`` pools of ``settings`` could run PostgreSQL out of connections, or None.

    The rule: ``workers x (pool_size + max_overflow) <= max_connections - reserved``, with
    ``max_connections`` read from the server (``SHOW max_connections``) and ``reserved`` the
    connections kept for administrators, migrations and backups. Not checked on SQLite, nor
    behind PgBouncer (its own pool bounds the server's connections).
    """
    if engine.dialect.name != "postgresql" or settings.db_pgbouncer:
        return None
    with engine.connect() as conn:
        max_connections = int(conn.execute(text("SHOW max_connections")).scalar_one())
    need = workers * (settings.db_pool_size + settings.db_max_overflow)
    room = max_connections - settings.db_reserved_connections
    if need <= room:
        return None
    return (
        f"{workers} workers x (pool {settings.db_pool_size} + overflow "
        f"{settings.db_max_overflow}) = {need} connections, but the server allows "
        f"max_connections {max_connections} - {settings.db_reserved_connections} reserved = "
        f"{room}: lower LIENXA_DB_POOL_SIZE / LIENXA_DB_MAX_OVERFLOW or the workers, or put "
        "PgBouncer in front"
    )


def make_sessionmaker(engine: Engine) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    """Session factories for reads and for writes (writes lock early on SQLite).

    On SQLite, the write sessions of one process also queue on a lock of their own before
    ``BEGIN IMMEDIATE``: SQLite lets one writer in at a time anyway, and its busy handler makes
    the others sleep and poll (up to 100 ms a turn), which is what made the slowest writes
    slow; a lock hands over at once. Other processes still serialise on SQLite's lock.

    On PostgreSQL, read sessions run in autocommit: psycopg then sends neither ``BEGIN`` nor
    ``COMMIT``, two round trips fewer per read session. Under READ COMMITTED, PostgreSQL's
    default and the service's, each statement sees what was committed when it began, inside a
    transaction or not, so the reads see the same data; they take no locks and write nothing
    (writes go through the write sessions, a transaction each). SQLite keeps its read
    transactions: there they are one snapshot for all the reads, and cost no round trip.
    """
    readable = (
        engine.execution_options(isolation_level="AUTOCOMMIT")
        if engine.dialect.name == "postgresql"
        else engine
    )
    read = sessionmaker(readable, expire_on_commit=False)
    read.lienxa_read = True  # type: ignore[attr-defined]
    write = sessionmaker(engine.execution_options(write=True), expire_on_commit=False)
    if engine.dialect.name == "sqlite":
        write.lienxa_write_lock = threading.Lock()  # type: ignore[attr-defined]
    return read, write


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session that commits on success and rolls back on any error (a SQLite write session
    holds its process's write lock meanwhile).

    A read session that has nothing to flush ends its transaction without raising when the
    database went away after the reads (the request's dependency may end it after the answer
    has started: raising there would only break the client's connection)."""
    lock = getattr(factory, "lienxa_write_lock", None)
    read = getattr(factory, "lienxa_read", False)
    with lock if lock is not None else nullcontext():
        session = factory()
        try:
            yield session
            if read:
                end_read(session)
            else:
                session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def end_read(session: Session) -> None:
    """End a read session's transaction and hand its connection back to the pool (the
    session can go on: its next statement checks a connection out again). With nothing to
    flush, a database that went away after the reads is logged, not raised."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    if session.new or session.dirty or session.deleted:
        session.commit()
        return
    try:
        session.commit()
    except (OperationalError, InterfaceError) as exc:
        log.warning("a read transaction ended by the database: %s", exc.orig)


def locked(session: Session, stmt: Select[_T]) -> ScalarResult[_T]:
    """The rows of ``stmt``, locked for the transaction where the database has row locks
    (``SELECT ... FOR UPDATE`` on PostgreSQL; a SQLite write transaction already holds the
    whole database from its ``BEGIN IMMEDIATE``)."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.scalars(stmt)


def alembic_config(url: str) -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or migrate the database at ``url``."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def migration_state(engine: Engine) -> tuple[str | None, str]:
    """``(current revision, head revision)`` of the database."""
    from alembic.runtime.migration import MigrationContext

    head = head_revision()
    with engine.connect() as conn:
        if not inspect(conn).has_table("alembic_version"):
            return None, head
        return MigrationContext.configure(conn).get_current_revision(), head


@functools.cache
def head_revision() -> str:
    """The code's head revision, read from the packaged migrations once per process (Alembic
    parses every script to find it: the same answer each time the process starts an app)."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head() or ""

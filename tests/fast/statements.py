"""Counting what the service sends its database: statements, transactions, pool checkouts.

A SQLAlchemy ``before_cursor_execute`` listener on the application's engine (the write
sessions' engine, ``engine.execution_options(write=True)``, shares its events), so a test or
benchmark can say how many statements one HTTP request costs and see that a list's count does
not grow with its length (no N+1). Used by ``tests/fast/test_round_trips.py``,
``tests/api/test_round_trips_postgres.py`` and ``bench/bench_round_trips.py`` (which loads
this file by path, so that it also counts the main checkout's code).

What is counted and what is not: every statement a cursor executes (SQLite's ``BEGIN
IMMEDIATE`` included: the project issues it itself); an ``executemany`` counts once, as
``"many"`` too. Not counted as statements, but as their own figures: transactions begun
(psycopg sends ``BEGIN`` before the first statement of each and ``COMMIT`` or ``ROLLBACK`` at
the end, a round trip each; a connection in autocommit, as PostgreSQL's read sessions are,
begins none), pool checkouts (on PostgreSQL each is a ``pool_pre_ping`` round trip) and the
most connections held at once.
:attr:`Tally.round_trips` adds them up as PostgreSQL sees them: statements, plus ``BEGIN``
and ``COMMIT`` of each transaction, plus a ping per checkout (psycopg's preparing of a
statement run often, once per connection, is left out).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_VERB = re.compile(r"^\s*(\w+)")


@dataclass
class Tally:
    """What one stretch of work sent: statement texts in order, transactions, checkouts."""

    statements: list[str] = field(default_factory=list)
    many: int = 0
    transactions: int = 0
    checkouts: int = 0
    #: the most connections the block held at once (a request that keeps one while it takes
    #: another holds the pool twice as long under load)
    most_at_once: int = 0
    dialect: str = ""

    @property
    def count(self) -> int:
        """How many statements were executed."""
        return len(self.statements)

    @property
    def round_trips(self) -> int | None:
        """On PostgreSQL, statements, ``BEGIN`` and ``COMMIT`` of each transaction and a
        pre-ping per pool checkout: the round trips to the server (``None`` on SQLite, which
        is in process)."""
        if self.dialect != "postgresql":
            return None
        return self.count + 2 * self.transactions + self.checkouts

    def verbs(self) -> dict[str, int]:
        """Statements by their first word (``SELECT``, ``INSERT``, ``UPDATE``, ...)."""
        c = Counter((m.group(1).upper() if (m := _VERB.match(s)) else "?") for s in self.statements)
        return dict(sorted(c.items()))

    def locks(self) -> list[str]:
        """The locking statements (``... FOR UPDATE``, advisory locks), in order."""
        return [
            s for s in self.statements if "FOR UPDATE" in s.upper() or "advisory_xact_lock" in s
        ]

    def as_dict(self) -> dict[str, Any]:
        """The figures as JSON (no statement texts; ``round_trips`` on PostgreSQL)."""
        out: dict[str, Any] = {
            "statements": self.count,
            "by_verb": self.verbs(),
            "executemany": self.many,
            "transactions": self.transactions,
            "checkouts": self.checkouts,
            "most_at_once": self.most_at_once,
        }
        if self.round_trips is not None:
            out["round_trips"] = self.round_trips
        return out


class StatementCounter:
    """Listens to ``engine``; :meth:`measure` tallies what a block sends."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.current: Tally | None = None
        self.out = 0  # connections checked out while measuring
        event.listen(engine, "before_cursor_execute", self._on_execute)
        event.listen(engine, "begin", self._on_begin)
        event.listen(engine.pool, "checkout", self._on_checkout)
        event.listen(engine.pool, "checkin", self._on_checkin)

    def _on_execute(
        self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool
    ) -> None:
        if self.current is not None:
            self.current.statements.append(statement)
            self.current.many += bool(many)

    def _on_begin(self, conn: Any) -> None:
        # SQLAlchemy begins in autocommit too, but the driver sends nothing for it
        autocommit = conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
        if self.current is not None and not autocommit:
            self.current.transactions += 1

    def _on_checkout(self, *_: Any) -> None:
        if self.current is not None:
            self.current.checkouts += 1
            self.out += 1
            self.current.most_at_once = max(self.current.most_at_once, self.out)

    def _on_checkin(self, *_: Any) -> None:
        if self.current is not None:
            self.out = max(0, self.out - 1)

    @contextmanager
    def measure(self) -> Iterator[Tally]:
        """Tally what the block sends (one block at a time)."""
        tally = Tally(dialect=self.engine.dialect.name)
        self.out = 0
        self.current = tally
        try:
            yield tally
        finally:
            self.current = None

    def close(self) -> None:
        """Stop listening."""
        event.remove(self.engine, "before_cursor_execute", self._on_execute)
        event.remove(self.engine, "begin", self._on_begin)
        event.remove(self.engine.pool, "checkout", self._on_checkout)
        event.remove(self.engine.pool, "checkin", self._on_checkin)

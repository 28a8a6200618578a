"""Connection pool sizing from settings, and psycopg behind PgBouncer (no prepared statements)."""

from __future__ import annotations

import pytest

PG = "postgresql+psycopg://postgres@127.0.0.1:6432/lienxa"


def test_the_pool_is_sized_by_the_settings():
    from api.db import make_engine
    from api.settings import Settings

    settings = Settings(db_pool_size=3, db_max_overflow=2, db_pool_timeout=1.5)
    engine = make_engine(PG, settings)  # no connection is made here
    try:
        assert engine.pool.size() == 3
        assert engine.pool._max_overflow == 2
        assert engine.pool._timeout == 1.5
    finally:
        engine.dispose()


def test_sqlite_waits_for_a_connection_no_longer_than_the_settings_say(tmp_path):
    from api.db import make_engine
    from api.settings import Settings

    settings = Settings(db_pool_size=2, db_max_overflow=0, db_pool_timeout=0.5)
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}", settings)
    try:
        assert engine.pool.size() == 2
        assert engine.pool._timeout == 0.5
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    ("url", "pgbouncer", "threshold"),
    [
        (PG, False, "default"),
        (PG, True, None),
        (PG + "?prepare_threshold=none", False, None),
        (PG + "?prepare_threshold=10&application_name=x", False, 10),
    ],
)
def test_behind_pgbouncer_psycopg_prepares_nothing(url, pgbouncer, threshold):
    from api.db import postgres_engine_args
    from api.settings import Settings

    args = postgres_engine_args(url, Settings(db_pgbouncer=pgbouncer))
    connect = args["connect_args"]
    if threshold == "default":
        assert "prepare_threshold" not in connect
    else:
        assert connect["prepare_threshold"] == threshold
    assert "prepare_threshold" not in args["url"].query  # libpq would refuse it
    assert connect["connect_timeout"] > 0


def test_pool_settings_refuse_nonsense():
    from pydantic import ValidationError

    from api.settings import Settings

    for bad in ({"db_pool_size": 0}, {"db_pool_timeout": 0}, {"db_pool_check": "maybe"}):
        with pytest.raises(ValidationError):
            Settings(**bad)

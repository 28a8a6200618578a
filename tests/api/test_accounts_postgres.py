"""Logins on PostgreSQL (issue 13): throttling per username and address counts there as on
SQLite, and a username PostgreSQL cannot store (a NUL, over 64 characters) is a wrong login,
not an error from the database."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.api.conftest import create_database, drop_database

pytestmark = pytest.mark.postgres
PASSWORD = "mật-khẩu-đủ-dài"


@pytest.fixture(scope="module")
def state(tmp_path_factory):
    """What :func:`api.services.login.log_in` reads of the app's state, over a new database."""
    from api.auth import Tokens
    from api.db import make_engine, make_sessionmaker, session_scope, upgrade
    from api.services.users import add_user
    from api.settings import Settings

    url, name = create_database("postgres", tmp_path_factory.mktemp("pg-accounts"))
    upgrade(url)
    engine = make_engine(url)
    read, write = make_sessionmaker(engine)
    with session_scope(write) as s:
        add_user(s, "owner", PASSWORD, "planner", actor="test-setup")
    settings = Settings(database_url=url, secret_key="pg-accounts", login_max_failures=3)
    yield SimpleNamespace(
        settings=settings, write_session=write, read_session=read, tokens=Tokens("k", 60)
    )
    engine.dispose()
    drop_database(name)


def test_a_guesser_at_one_address_does_not_lock_out_the_owner_on_postgres(state):
    from api.errors import NotAuthenticated, TooManyAttempts
    from api.services.login import log_in

    for _ in range(3):
        with pytest.raises(NotAuthenticated):
            log_in(state, "owner", "wrong-guess", ip="203.0.113.1")
    with pytest.raises(TooManyAttempts):
        log_in(state, "owner", PASSWORD, ip="203.0.113.1")
    user, token = log_in(state, "owner", PASSWORD, ip="198.51.100.1")
    assert user.username == "owner" and token


@pytest.mark.parametrize("username", ["nul\x00name", "x" * 300], ids=["nul", "long"])
def test_a_username_postgres_cannot_store_is_a_wrong_login(state, username):
    from api.errors import NotAuthenticated
    from api.services.login import log_in

    with pytest.raises(NotAuthenticated) as caught:
        log_in(state, username, "some-guess", ip="192.0.2.50")
    assert caught.value.code == "wrong_credentials"

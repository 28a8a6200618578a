"""Two ``lienxa serve`` processes (own data directories, as on two machines) on one PostgreSQL
database behind a real HAProxy: nothing a user relies on depends on being in one process —
tokens, ending sessions, login throttling, one-time form tokens, Idempotency-Key, rendered map
caches, the SMS outbox. Each check (``tests/api/multiserver_checks.py``) acts on one backend and
looks on the other, through the proxy."""

from __future__ import annotations

import os

import pytest

from tests.api import multiserver_checks as checks
from tests.api.conftest import create_database, drop_database, free_port, seed
from tests.api.multiserver import (
    HAPROXY_MISSING,
    Site,
    haproxy_binary,
    new_secret,
    server_env,
    start_backend,
    start_proxy,
    stop,
    wait_ready,
)
from tests.conftest import NGHE_AN, require_file

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    require_file(NGHE_AN)
    if haproxy_binary() is None:
        if os.environ.get("LIENXA_REQUIRE_PROXY") == "1":
            pytest.fail(HAPROXY_MISSING + " (LIENXA_REQUIRE_PROXY=1)")
        pytest.skip(HAPROXY_MISSING)
    tmp = tmp_path_factory.mktemp("multiserver")
    db_url, name = create_database("postgres", tmp)
    gateway = checks.Gateway()
    backends = []
    proxy = None
    try:
        seed(db_url)
        ids = checks.add_check_users(db_url)
        secret = new_secret()
        for k in ("A", "B"):
            env = server_env(
                db_url,
                tmp / k,
                secret,
                LIENXA_SMS_SEND_URL=gateway.url(k),
                LIENXA_SMS_POLL_SECONDS="0.3",
            )
            backends.append(start_backend(k, free_port(), env, log=tmp / f"{k}.log"))
        wait_ready(backends)
        proxy = start_proxy(tmp, free_port(), backends)
        yield Site(proxy, db_url, secret), ids, gateway
    finally:
        if proxy is not None:
            stop(proxy.proc)
        for b in backends:
            stop(b.proc)
        gateway.close()
        drop_database(name)


@pytest.mark.parametrize("check", checks.CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_nothing_depends_on_one_process(site, check):
    s, ids, gateway = site
    check(s, ids=ids, gateway=gateway)

"""Capacity on real PostgreSQL: the pools checked against ``max_connections`` at start-up, and
the service through PgBouncer in transaction pooling (offers under concurrency, advisory locks
of rule writes)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.conftest import REPO, create_database, drop_database, require_postgres
from tests.api.pgcluster import lienxa_serve, pgbouncer, seed_nghe_an
from tests.api.test_faults_db import GIVER, _tokens


def test_the_pools_are_checked_against_max_connections(tmp_path):
    from sqlalchemy import text

    from api.db import make_engine, pool_capacity_problem
    from api.settings import Settings

    require_postgres()
    url = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    engine = make_engine(url)
    try:
        with engine.connect() as c:
            max_connections = int(c.execute(text("SHOW max_connections")).scalar_one())
        fits = Settings(db_pool_size=2, db_max_overflow=1, db_reserved_connections=10)
        assert pool_capacity_problem(engine, fits, workers=2) is None
        too_many = Settings(db_pool_size=max_connections, db_max_overflow=0)
        problem = pool_capacity_problem(engine, too_many, workers=2)
        assert problem is not None
        assert f"max_connections {max_connections}" in problem
        behind_bouncer = Settings(db_pool_size=max_connections, db_pgbouncer=True)
        assert pool_capacity_problem(engine, behind_bouncer, workers=2) is None
    finally:
        engine.dispose()


def test_serve_refuses_pools_larger_than_the_server_allows(tmp_path):
    from api.db import upgrade

    db_url, name = create_database("postgres", tmp_path)
    try:
        upgrade(db_url)
        env = {
            **os.environ,
            "LIENXA_DATABASE_URL": db_url,
            "LIENXA_DATA_DIR": str(tmp_path),
            "LIENXA_DB_POOL_SIZE": "100",
            "LIENXA_DB_POOL_CHECK": "refuse",
        }
        cmd = [sys.executable, "-m", "api.cli", "serve", "--port", "1", "--workers", "2"]
        r = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 1, r.stderr
        assert "max_connections" in r.stderr
        assert "LIENXA_DB_POOL_SIZE" in r.stderr
    finally:
        drop_database(name)


def test_the_service_works_through_pgbouncer_in_transaction_pooling(tmp_path):
    db_url, name = create_database("postgres", tmp_path)
    try:
        seed_nghe_an(db_url)
        with pgbouncer(5432, name, pool_size=3) as port:
            bounced = f"postgresql+psycopg://postgres@127.0.0.1:{port}/{name}"
            env = {"LIENXA_DB_PGBOUNCER": "1", "LIENXA_DB_POOL_SIZE": "4"}
            with lienxa_serve(bounced, tmp_path, workers=2, extra_env=env) as (_, url):
                _offers_and_rules_through(url)
    finally:
        drop_database(name)


def _offers_and_rules_through(url: str) -> None:
    tokens = _tokens(url)
    planner = httpx.post(
        url + "/api/v1/auth/token",
        data={"username": "planner", "password": "mật-khẩu-đủ-dài"},
        timeout=30,
    ).json()["access_token"]

    def client(token: str) -> httpx.Client:
        return httpx.Client(
            base_url=url + "/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=60
        )

    with client(tokens["bchqs"]) as c:
        incident = c.post(
            "/incidents",
            json={
                "name": "qua pgbouncer",
                "risk_level": 2,
                "duration_days": 1,
                "affected": [{"commune": "17254", "displaced": 300}],
            },
        ).json()
    with client(tokens["chaukhe"]) as ck, client(tokens["conc"]) as conc:
        assert ck.put(f"/communes/{GIVER}/inventory", json={"boats": 7}).status_code == 200
        req = conc.post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": "17254",
                "resource": "boats",
                "quantity": 30,
                "to": [GIVER],
            },
        ).json()

    def offer(_: int) -> httpx.Response:
        with client(tokens["chaukhe"]) as c:
            return c.post(f"/requests/{req['id']}/offers", json={"commune": GIVER, "quantity": 2})

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(offer, range(20)))
    codes = sorted(r.status_code for r in results)
    assert set(codes) <= {201, 409}, [r.text for r in results if r.status_code not in (201, 409)]
    assert codes.count(201) == 3  # three offers of 2 fit in 7 boats, through any connection
    with client(tokens["chaukhe"]) as ck:
        for _ in range(12):  # the same statements again and again: none prepared on a server
            inv = ck.get(f"/communes/{GIVER}/inventory")
            assert inv.status_code == 200, inv.text
        assert inv.json()["reserved"]["boats"] == 6

    def rule(i: int) -> httpx.Response:  # rule writes serialise on pg_advisory_xact_lock
        with client(planner) as p:
            return p.post(
                "/rules",
                json={
                    "reason": f"thử {i}",
                    "rule": {"type": "close_link", "a": "16816", "b": "16876"},
                },
            )

    with ThreadPoolExecutor(max_workers=6) as pool:
        made = list(pool.map(rule, range(6)))
    assert all(r.status_code in (201, 409, 422) for r in made), [r.text for r in made]
    assert any(r.status_code == 201 for r in made)
    with client(planner) as p:
        rules = p.get("/rules").json()
    closed = [x for x in rules if x["rule"]["type"] == "close_link"]
    # as many stored as were answered 201, whatever connection each write ran on
    assert len(closed) == sum(r.status_code == 201 for r in made)

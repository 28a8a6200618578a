"""Clean failure in process: a database that cannot be written, or has no free connection,
answers a JSON 503 with ``Retry-After`` (never a plain-text 500); ``/healthz`` is liveness,
``/readyz`` readiness."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, exc

from tests.fast.inprocess import PASSWORD, USERS, seed, tiny_geodata


def _service(tmp: Path, **settings_kw):
    from api.main import create_app
    from api.settings import Settings

    db_url = f"sqlite:///{tmp / 'lienxa.db'}"
    seed(db_url)
    settings = Settings(
        database_url=db_url,
        data_dir=tmp,
        secret_key="test-" + uuid.uuid4().hex,
        boundaries=None,
        **settings_kw,
    )
    return TestClient(create_app(settings, geodata=tiny_geodata()))


def _token(client: TestClient, user: str) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _every_new_connection(engine, pragma: str) -> None:
    """Run ``pragma`` on each connection the engine opens from now on (and drop the open ones)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record) -> None:
        dbapi_conn.execute(pragma)

    engine.dispose()


def _assert_503(r, code: str) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert int(r.headers["Retry-After"]) > 0
    body = r.json()
    assert body["code"] == code
    assert body["params"]["retry_after"] == int(r.headers["Retry-After"])


def test_a_read_only_sqlite_database_answers_503_json_on_writes_and_still_reads(tmp_path):
    # as root a chmod does not stop writes: the file is made read-only for SQLite itself,
    # which answers exactly as for a read-only file ("attempt to write a readonly database")
    assert "lead1" in USERS
    with _service(tmp_path) as client:
        auth = _token(client, "lead1")
        _every_new_connection(client.app.state.lienxa.engine, "PRAGMA query_only = ON")
        r = client.put("/api/v1/communes/10001/inventory", json={"boats": 3}, headers=auth)
        _assert_503(r, "database_unavailable")
        assert "readonly" in r.json()["detail"]
        r = client.get("/api/v1/communes/10001/inventory", headers=auth)
        assert r.status_code == 200, r.text
        assert client.get("/healthz").status_code == 200


def test_a_full_disk_answers_503_json_and_stores_nothing_half(tmp_path):
    with _service(tmp_path) as client:
        auth = _token(client, "command")
        engine = client.app.state.lienxa.engine
        with engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        # the database may not grow past its current size: SQLite's SQLITE_FULL, as on a full
        # disk ("database or disk is full")
        _every_new_connection(engine, f"PRAGMA max_page_count = {pages}")
        statuses = []
        for i in range(400):  # incidents (and their audit entries) until the file must grow
            r = client.post(
                "/api/v1/incidents",
                json={
                    "name": f"lũ {i} " + "x" * 150,
                    "risk_level": 2,
                    "duration_days": 1,
                    "affected": [{"commune": "10001", "displaced": 100}],
                },
                headers=auth,
            )
            statuses.append(r.status_code)
            if r.status_code != 201:
                break
        _assert_503(r, "database_unavailable")
        assert "full" in r.json()["detail"]
        assert set(statuses[:-1]) <= {201}
        listed = client.get("/api/v1/incidents", headers=auth).json()
        assert len(listed) == len(statuses) - 1  # the failed write left nothing behind


def test_no_free_connection_within_the_pool_timeout_is_503_database_busy(tmp_path):
    with _service(tmp_path, db_pool_size=1, db_max_overflow=0, db_pool_timeout=0.2) as client:
        auth = _token(client, "lead1")
        engine = client.app.state.lienxa.engine
        with engine.connect():  # the pool's only connection, held
            r = client.get("/api/v1/communes/10001/inventory", headers=auth)
            _assert_503(r, "database_busy")
            ready = client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["database"] is False
            assert int(ready.headers["Retry-After"]) > 0
            # liveness never waits for the database
            assert client.get("/healthz").status_code == 200
        assert client.get("/api/v1/communes/10001/inventory", headers=auth).status_code == 200
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {
            "ready": True,
            "database": True,
            "boundaries": True,
            "display": True,
            "communes": 4,
        }


def test_readyz_waits_for_the_overview_geometry(tmp_path):
    with _service(tmp_path) as client:
        state = client.app.state.lienxa
        state.geo.ready.clear()  # as while the warm-up thread still runs
        r = client.get("/readyz")
        assert r.status_code == 503
        assert r.json()["display"] is False
        assert r.json()["database"] is True
        state.geo.ready.set()
        assert client.get("/readyz").status_code == 200


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (exc.TimeoutError("QueuePool limit of size 1 overflow 0 reached"), "database_busy"),
        (exc.OperationalError("SELECT 1", {}, Exception("connection refused")), None),
        (exc.OperationalError("BEGIN", {}, Exception("database is locked")), "database_busy"),
        (exc.InterfaceError("SELECT 1", {}, Exception("connection already closed")), None),
        (
            exc.DBAPIError("SELECT 1", {}, Exception("server closed"), connection_invalidated=True),
            None,
        ),
    ],
)
def test_database_errors_that_are_no_fault_of_the_request_are_503(error, code):
    from api.errors import database_unavailable

    err = database_unavailable(error, 7)
    assert err is not None
    assert err.status_code == 503
    assert err.code == (code or "database_unavailable")
    assert err.headers == {"Retry-After": "7"}


def test_other_database_errors_are_not_turned_into_503():
    from api.errors import database_unavailable

    assert database_unavailable(exc.IntegrityError("INSERT", {}, Exception("unique"))) is None
    assert database_unavailable(ValueError("no")) is None


def test_a_read_whose_database_goes_away_after_the_reads_does_not_break_the_answer(
    tmp_path, monkeypatch
):
    # the read session of a request ends after the answer has started: the database going
    # away in between must not raise there (it broke the client's connection, a transport
    # error instead of the answer), while a write's failed commit still raises
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from api.db import make_engine, make_sessionmaker, session_scope

    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    read, write = make_sessionmaker(engine)

    def gone(self) -> None:
        raise exc.OperationalError("COMMIT", {}, Exception("terminating connection"))

    monkeypatch.setattr(Session, "commit", gone)
    with session_scope(read) as s:
        assert s.execute(text("SELECT 1")).scalar_one() == 1
    with pytest.raises(exc.OperationalError), session_scope(write) as s:
        s.execute(text("SELECT 1"))
    engine.dispose()

"""A real uvicorn server over HTTP, on SQLite and on PostgreSQL, with users and inventories."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import NGHE_AN, REPO, require_file

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PASSWORD = "mật-khẩu-đủ-dài"
USERS = {
    "conc": ("commune_leader", {"commune": "17254"}),  # Con Cuông
    "chaukhe": ("commune_leader", {"commune": "17248"}),  # Châu Khê
    "tuongduong": ("commune_leader", {"commune": "16876"}),
    "bchqs": ("defence_command", {"province": "40"}),
    "kv3": ("defence_command", {"region": "Khu vực 3 - Quỳ Châu"}),
    "planner": ("planner", {}),
    "admin": ("admin", {}),
}
REGION_KV3 = ["16777", "16792", "17248"]


def postgres_available() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=2):
            return True
    except OSError:
        return False


def require_postgres() -> None:
    if postgres_available():
        return
    reason = "PostgreSQL is not answering on 127.0.0.1:5432"
    if os.environ.get("LIENXA_REQUIRE_POSTGRES") == "1":
        pytest.fail(reason + " and LIENXA_REQUIRE_POSTGRES=1")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    db_url: str
    backend: str
    env: dict[str, str]
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, user: str | None = None, **kw) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=60, **kw)


def create_database(backend: str, tmp: Path) -> tuple[str, str | None]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'lienxa.db'}", None
    require_postgres()
    from sqlalchemy import create_engine, text

    name = f"lienxa_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def drop_database(name: str | None) -> None:
    if name is None:
        return
    from sqlalchemy import create_engine, text

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@contextlib.contextmanager
def postgres_write_sessions(tmp: Path):
    """A fresh PostgreSQL database at the current schema for the test's duration: its write
    sessionmaker (``api.db.make_sessionmaker``'s), dropped with its engine after."""
    from api.db import make_engine, make_sessionmaker, upgrade

    url, name = create_database("postgres", tmp)
    try:
        upgrade(url)
        engine = make_engine(url)
        try:
            yield make_sessionmaker(engine)[1]
        finally:
            engine.dispose()
    finally:
        drop_database(name)


def seed(db_url: str) -> None:
    """Migrate, add the region, users and a sample inventory (as an operator would)."""
    from api.db import make_engine, make_sessionmaker, session_scope, upgrade
    from api.models import InventoryItem, Region
    from api.services.users import add_user
    from geo.boundaries import load_boundaries
    from geo.resources import sample_inventory

    upgrade(db_url)
    engine = make_engine(db_url)
    _, write = make_sessionmaker(engine)
    gdf = load_boundaries(NGHE_AN)
    with session_scope(write) as s:
        s.add(Region(name="Khu vực 3 - Quỳ Châu", communes=REGION_KV3))
        s.flush()
        for name, (role, binding) in USERS.items():
            add_user(s, name, PASSWORD, role, **binding, actor="test-setup")
        for commune, items in sample_inventory(gdf, seed=0).items():
            for key, q in items.items():
                s.add(
                    InventoryItem(
                        commune_code=commune, resource=key, quantity=q, reserved=0, sample=True
                    )
                )
    engine.dispose()


def start_server(
    db_url: str,
    tmp: Path,
    backend: str,
    *,
    extra_env: dict[str, str] | None = None,
    port: int | None = None,
):
    port = port or free_port()
    env = {
        **os.environ,
        "LIENXA_DATABASE_URL": db_url,
        "LIENXA_BOUNDARIES": str(NGHE_AN),
        "LIENXA_DATA_DIR": str(tmp),
        "LIENXA_SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "api.main:app_factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    if wait_until_serving(proc, url, timeout=90):
        return proc, url, env
    proc.kill()
    raise RuntimeError("server did not start: " + (proc.stdout.read() if proc.stdout else ""))


def wait_until_serving(proc: subprocess.Popen, url: str, *, timeout: float) -> bool:
    """Wait until ``url/healthz`` answers 200 (the lifespan has loaded the data) or the
    server process exits; ``False`` when neither happens within ``timeout`` seconds.

    Between two polls it waits on the process itself, so an exit is seen at once."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return True  # the caller looks at why it exited
        try:
            if httpx.get(url + "/healthz", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass  # not listening yet
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=0.2)
    return False


def stop_server(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out or ""


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(request, tmp_path_factory):
    require_file(NGHE_AN)
    backend = request.param
    tmp = tmp_path_factory.mktemp(backend)
    db_url, pg_name = create_database(backend, tmp)
    try:
        seed(db_url)
        proc, url, env = start_server(db_url, tmp, backend)
        if proc.poll() is not None:
            pytest.fail("server exited: " + stop_server(proc))
        srv = Server(url, db_url, backend, env)
        for name in USERS:
            r = httpx.post(
                url + "/api/v1/auth/token",
                data={"username": name, "password": PASSWORD},
                timeout=30,
            )
            assert r.status_code == 200, r.text
            srv.tokens[name] = r.json()["access_token"]
        yield srv
        stop_server(proc)
    finally:
        drop_database(pg_name)

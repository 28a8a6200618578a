"""The service in process: FastAPI's TestClient, SQLite in a temporary directory and four
communes made here (no subprocess server, no shared data).

The communes are a 2 x 2 grid of squares in province 10::

    10003 10004
    10001 10002

10001 shares an edge with 10002 and 10003 (and touches 10004 at a point).
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
from fastapi.testclient import TestClient
from shapely.geometry import box

PASSWORD = "mật-khẩu-đủ-dài"
CODES = ("10001", "10002", "10003", "10004")
#: username -> (role, binding)
USERS = {
    "lead1": ("commune_leader", {"commune": "10001"}),
    "lead2": ("commune_leader", {"commune": "10002"}),
    "lead4": ("commune_leader", {"commune": "10004"}),
    "command": ("defence_command", {"region": "Khu vực thử"}),  # 10001 and 10002 only
    "planner": ("planner", {}),
    "admin": ("admin", {}),
}
REGION = ("Khu vực thử", ["10001", "10002"])
#: every commune's stock of each resource at the start
STOCK = {"boats": 10, "militia": 100}


def tiny_geodata():
    """The four communes as the lifespan would load them (:class:`api.state.GeoData`)."""
    from api.state import GeoData
    from geo.adjacency import build_graph
    from geo.boundaries import normalise_boundaries
    from maps.simplify import DisplayCache

    squares = [
        box(
            104.80 + 0.05 * (i % 2),
            19.0 + 0.05 * (i // 2),
            104.85 + 0.05 * (i % 2),
            19.05 + 0.05 * (i // 2),
        )
        for i in range(len(CODES))
    ]
    raw = gpd.GeoDataFrame(
        {
            "ma_xa": list(CODES),
            "ten_xa": ["Một", "Hai", "Ba", "Bốn"],
            "ma_tinh": ["10"] * len(CODES),
            "ten_tinh": ["Tỉnh Thử"] * len(CODES),
            "dan_so": [10_000, 20_000, 30_000, 40_000],
        },
        geometry=squares,
        crs="EPSG:4326",
    )
    gdf = normalise_boundaries(raw, source="tiny")
    return GeoData(
        gdf=gdf,
        graph=build_graph(gdf),
        display=DisplayCache(gdf),
        communes_by_province={"10": set(CODES)},
    )


@dataclass
class Service:
    """The running app, its client and a token per user of :data:`USERS`."""

    client: TestClient
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def state(self):
        """The app's :class:`api.state.AppState`."""
        from api.state import AppState

        state = self.client.app.state.lienxa
        assert isinstance(state, AppState)
        return state

    def auth(self, user: str) -> dict[str, str]:
        """The ``Authorization`` header of ``user``."""
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def call(self, user: str | None, method: str, path: str, **kw):
        """``method`` on ``/api/v1`` + ``path`` as ``user`` (``None``: no credentials)."""
        headers = {**(self.auth(user) if user else {}), **kw.pop("headers", {})}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kw)

    def incident(self) -> int:
        """A new active incident affecting 10001 (created by the defence command)."""
        r = self.call(
            "command",
            "POST",
            "/incidents",
            json={
                "name": f"thử {uuid.uuid4().hex[:6]}",
                "hazard": "flood",
                "risk_level": 2,
                "duration_days": 1,
                "affected": [{"commune": "10001", "displaced": 100}],
            },
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    def request(
        self, *, quantity: int = 5, resource: str = "boats", to: tuple[str, ...] = ("10002",)
    ) -> int:
        """A new open request of 10001 (by its leader) addressed to ``to``."""
        r = self.call(
            "lead1",
            "POST",
            "/requests",
            json={
                "incident_id": self.incident(),
                "commune": "10001",
                "resource": resource,
                "quantity": quantity,
                "to": list(to),
            },
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])


def seed(db_url: str) -> None:
    """Migrate; add the region, the users and every commune's :data:`STOCK`.

    The first call for a hasher's parameters migrates and seeds a database of its own (argon2
    makes the six passwords cost about a second of CPU); every call then copies that file to
    ``db_url``, so each caller still gets a fresh database of its own, the same as before.
    """
    target = Path(db_url.removeprefix("sqlite:///"))
    template = _seeded_template(_hasher_parameters())
    if target.exists():
        raise FileExistsError(f"{target} exists: seed makes a new database")
    shutil.copyfile(template, target)


def _hasher_parameters() -> tuple[Any, ...]:
    """What the hashes in a seeded database depend on: the argon2 parameters in use (some
    modules patch in cheap ones for their many logins)."""
    import api.auth

    h = api.auth._hasher
    return (type(h), h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len, h.type)


@functools.cache
def _seeded_template(_parameters: tuple[Any, ...]) -> Path:
    """A migrated, seeded database for the given hasher parameters, made once per process
    (closed, checkpointed: one file, no WAL)."""
    from api.db import make_engine, make_sessionmaker, session_scope, upgrade
    from api.models import InventoryItem, Region
    from api.services.users import add_user

    folder = Path(tempfile.mkdtemp(prefix="lienxa-seed-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    db_url = f"sqlite:///{folder / 'lienxa.db'}"
    upgrade(db_url)
    engine = make_engine(db_url)
    _, write = make_sessionmaker(engine)
    with session_scope(write) as s:
        s.add(Region(name=REGION[0], communes=REGION[1]))
        s.flush()
        for name, (role, binding) in USERS.items():
            add_user(s, name, PASSWORD, role, **binding, actor="test-setup")
        for code in CODES:
            for key, q in STOCK.items():
                s.add(InventoryItem(commune_code=code, resource=key, quantity=q, reserved=0))
    with engine.connect() as conn:  # everything into the main file
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return folder / "lienxa.db"


@contextmanager
def running_service(tmp: Path) -> Iterator[Service]:
    """The app on a fresh SQLite database in ``tmp``, with every user logged in."""
    from api.main import create_app
    from api.settings import Settings

    db_url = f"sqlite:///{tmp / 'lienxa.db'}"
    seed(db_url)
    settings = Settings(
        database_url=db_url, data_dir=tmp, secret_key="test-" + uuid.uuid4().hex, boundaries=None
    )
    with TestClient(create_app(settings, geodata=tiny_geodata())) as client:
        service = Service(client)
        for name in USERS:
            r = client.post("/api/v1/auth/token", data={"username": name, "password": PASSWORD})
            assert r.status_code == 200, r.text
            service.tokens[name] = r.json()["access_token"]
        yield service

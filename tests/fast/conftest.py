"""The fast tier: the service in process (FastAPI's TestClient), on SQLite in a temporary
directory migrated by the project's own Alembic upgrade, over a few square communes made here.

Nothing here needs ``../shared/data`` or a subprocess. The database is migrated, seeded with
users (:func:`api.services.users.add_user`) and logged into once per session; every test then
starts the app's normal lifespan (``create_app(settings)``) on its own copy of that database,
so tests never see each other's requests, offers or stock.

The map (5 km squares; province 40 above, province 42 below)::

    +-------+-------+-------+
    | 90001 | 90002 | 90003 |   province 40: Đông Hà (asks), Tây Sơn (gives), Bắc Lý
    +-------+-------+-------+
    | 90101 | 90102 |           province 42: Nam Phong, Kỳ Lạc
    +-------+-------+
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ASKS, GIVES, OTHER = "90001", "90002", "90003"  # province 40
SOUTH_A, SOUTH_B = "90101", "90102"  # province 42
SIDE = 0.05  # degrees: about 5 km
WEST, NORTH = 104.80, 19.10

#: ``(code, name, province code, province name, column, row)`` of each square commune.
COMMUNES = (
    (ASKS, "Đông Hà", "40", "Nghệ An (thử)", 0, 0),
    (GIVES, "Tây Sơn", "40", "Nghệ An (thử)", 1, 0),
    (OTHER, "Bắc Lý", "40", "Nghệ An (thử)", 2, 0),
    (SOUTH_A, "Nam Phong", "42", "Hà Tĩnh (thử)", 0, 1),
    (SOUTH_B, "Kỳ Lạc", "42", "Hà Tĩnh (thử)", 1, 1),
)

PASSWORD = "mật-khẩu-thử-đủ-dài"
SECRET = "fast-tier-secret-not-for-production"
#: A small upload limit, so the 413 tests send little.
MAX_UPLOAD = 16 * 1024

#: ``name: (role, binding)``, as ``lienxa users add`` takes them.
USERS: dict[str, tuple[str, dict[str, str]]] = {
    "dongha": ("commune_leader", {"commune": ASKS}),
    "tayson": ("commune_leader", {"commune": GIVES}),
    "bacly": ("commune_leader", {"commune": OTHER}),
    "bch40": ("defence_command", {"province": "40"}),
    "bch42": ("defence_command", {"province": "42"}),
    "planner": ("planner", {}),
    "admin": ("admin", {}),
}


def write_boundaries(path: Path) -> Path:
    """The square communes as GeoJSON in EPSG:4326, with the shared files' column names."""
    import geopandas as gpd
    from shapely.geometry import box

    rows = [
        {
            "ma_xa": code,
            "ten_xa": name,
            "loai": "Xã",
            "ma_tinh": prov,
            "ten_tinh": prov_name,
            "dan_so": 8000 + 100 * k,
            "geometry": box(
                WEST + col * SIDE,
                NORTH - (row + 1) * SIDE,
                WEST + (col + 1) * SIDE,
                NORTH - row * SIDE,
            ),
        }
        for k, (code, name, prov, prov_name, col, row) in enumerate(COMMUNES)
    ]
    gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326").to_file(path, driver="GeoJSON")
    return path


def settings_for(data_dir: Path, boundaries: Path):
    """The service's settings for a test: nothing taken from the caller's environment that
    matters here (database, boundaries, secret and upload limit are all given)."""
    from api.settings import Settings

    return Settings(
        boundaries=boundaries,
        boundaries_layer=None,
        data_dir=data_dir,
        database_url=f"sqlite:///{data_dir / 'lienxa.db'}",
        secret_key=SECRET,
        max_upload_bytes=MAX_UPLOAD,
    )


def fresh_database(
    folder: Path,
    *,
    backend: str = "sqlite",
    boundaries: Path | None = None,
    actor: str = "test-setup",
):
    """A new database migrated by the project's upgrade with :data:`USERS` (each with
    :data:`PASSWORD`), and the service's settings on it (:func:`settings_for` ``folder``).

    The one set-up of the fast tier's template, ``tests/api/test_round_trips_postgres.py`` and
    the benchmarks (``bench/bench_round_trips.py``, ``bench/inprocess_service.py``).

    Parameters
    ----------
    folder
        The data directory; on SQLite the database is ``folder / "lienxa.db"``.
    backend
        ``"sqlite"`` or ``"postgres"``: a new database on the server of ``tests/api/conftest``
        (skipped, or failed under ``LIENXA_REQUIRE_POSTGRES=1``, when it does not answer).
    boundaries
        The boundaries file; by default the square communes, written in ``folder``.
    actor
        Who the audit says added the users.

    Returns
    -------
    tuple
        ``(settings, name)``: ``name`` is the PostgreSQL database's, to give
        ``tests.api.conftest.drop_database`` when done (``None`` on SQLite).
    """
    from api.db import make_engine, make_sessionmaker, session_scope, upgrade
    from api.services.users import add_user

    settings = settings_for(folder, boundaries or write_boundaries(folder / "communes.geojson"))
    name = None
    if backend != "sqlite":
        from tests.api.conftest import create_database

        url, name = create_database(backend, folder)
        settings = settings.model_copy(update={"database_url": url})
    url = settings.resolved_database_url()
    upgrade(url)
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)[1]) as s:
            for user, (role, binding) in USERS.items():
                add_user(s, user, PASSWORD, role, **binding, actor=actor)
    finally:
        engine.dispose()
    return settings, name


def log_in(client: Any, users: Any = None) -> dict[str, str]:
    """A bearer token for each of ``users`` (default: every one of :data:`USERS`), from the
    token route of the app ``client`` runs."""
    tokens = {}
    for user in users or USERS:
        r = client.post("/api/v1/auth/token", data={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        tokens[user] = r.json()["access_token"]
    return tokens


class Caller:
    """Calls ``/api/v1`` of the in-process app as one user (or as nobody)."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, **kw: Any) -> Any:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.client.request(method, "/api/v1" + path, headers=headers, **kw)

    def get(self, path: str, **kw: Any) -> Any:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.request("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Any:
        return self.request("PUT", path, **kw)


@dataclass
class Site:
    """One test's service: its TestClient and the bearer tokens of :data:`USERS`."""

    client: Any
    tokens: dict[str, str]

    def as_(self, user: str | None) -> Caller:
        return Caller(self.client, self.tokens[user] if user else None)

    def incident(self, *, affected: str = ASKS, name: str = "Lũ thử") -> dict[str, Any]:
        """An active incident affecting ``affected``, created by the province's command."""
        r = self.as_("bch40").post(
            "/incidents",
            json={
                "name": name,
                "risk_level": 2,
                "duration_days": 1,
                "affected": [{"commune": affected, "displaced": 500}],
            },
        )
        assert r.status_code == 201, r.text
        return r.json()

    def stock(self, commune: str, user: str, **items: int) -> dict[str, Any]:
        """Set ``commune``'s inventory as ``user`` (its leader or command)."""
        r = self.as_(user).put(f"/communes/{commune}/inventory", json=items)
        assert r.status_code == 200, r.text
        return r.json()

    def inventory(self, commune: str) -> dict[str, Any]:
        r = self.as_("planner").get(f"/communes/{commune}/inventory")
        assert r.status_code == 200, r.text
        return r.json()

    def ask(
        self,
        incident: dict[str, Any],
        quantity: int,
        *,
        resource: str = "boats",
        commune: str = ASKS,
        to: tuple[str, ...] = (GIVES,),
        user: str = "dongha",
    ) -> dict[str, Any]:
        """A support request from ``commune`` (an open request, or the test fails here)."""
        r = self.as_(user).post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": commune,
                "resource": resource,
                "quantity": quantity,
                "to": list(to),
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "open"
        return r.json()

    def offer(
        self, request: dict[str, Any], quantity: int, *, commune: str = GIVES, user: str = "tayson"
    ) -> dict[str, Any]:
        """An offer from ``commune`` to ``request`` (made, or the test fails here)."""
        r = self.as_(user).post(
            f"/requests/{request['id']}/offers", json={"commune": commune, "quantity": quantity}
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "offered"
        return r.json()

    def request_now(self, request: dict[str, Any]) -> dict[str, Any]:
        r = self.as_("planner").get(f"/requests/{request['id']}")
        assert r.status_code == 200, r.text
        return r.json()

    def audit(self, action: str | None = None) -> list[dict[str, Any]]:
        r = self.as_("planner").get("/audit", params={"limit": 500})
        assert r.status_code == 200, r.text
        return [e for e in r.json() if action is None or e["action"] == action]


@dataclass
class Template:
    folder: Path
    boundaries: Path
    tokens: dict[str, str]


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """A migrated, seeded database and the users' tokens, made once per session."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    folder = tmp_path_factory.mktemp("fast-template")
    settings, _ = fresh_database(folder)
    with TestClient(create_app(settings)) as client:
        tokens = log_in(client)
    assert settings.boundaries is not None
    return Template(folder, settings.boundaries, tokens)


#: The settings that differ from one test's service to another's (everything else is the same
#: for every test of :func:`site`, so one application serves them all).
PER_TEST_SETTINGS = frozenset({"data_dir", "database_url", "cache_dir"})


@pytest.fixture(scope="session")
def site_app(template: Template) -> Any:
    """The application object every :func:`site` runs, made once per session.

    Making an app is cheap, but FastAPI analyses each route (dependencies, body and response
    models) the first time a request reaches it in that app, and that was most of a fast test's
    time. What the analysis yields is pure and the same for every test, so the tests share it;
    each test still starts the app's lifespan on its own settings, database and data directory,
    so its state (engine, sessions, geodata, caches) is its own, as before.
    """
    from api.main import create_app

    return create_app(settings_for(template.folder, template.boundaries))


@pytest.fixture
def site(template: Template, site_app: Any, tmp_path: Path) -> Iterator[Site]:
    """The app on a fresh copy of the template database, through its normal lifespan (in
    ``tmp_path``: ``site.client.app.state.lienxa.settings.data_dir == tmp_path``)."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    for f in template.folder.glob("lienxa.db*"):  # the lifespan closed it: no WAL left, but
        shutil.copy2(f, tmp_path / f.name)  # copy one if SQLite kept it
    # the graph and display geometry of the squares from the geodata cache the template's start
    # wrote (read, decoded afresh for each app), instead of computing them again for each test
    settings = settings_for(tmp_path, template.boundaries)
    settings = settings.model_copy(update={"cache_dir": template.folder / "cache"})
    # this test's lifespan (create_app's, closing over these settings) on the shared app; its
    # middleware and routes were made from settings equal to these but for the paths
    shared = settings_for(template.folder, template.boundaries)
    assert settings.model_dump(exclude=PER_TEST_SETTINGS) == shared.model_dump(
        exclude=PER_TEST_SETTINGS
    ), "site's settings differ beyond the paths: give such a test an app of its own"
    site_app.router.lifespan_context = create_app(settings).router.lifespan_context
    with TestClient(site_app) as client:
        yield Site(client, dict(template.tokens))

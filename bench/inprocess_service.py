"""The in-process service the page benchmarks share: a migrated SQLite database in a folder with
the fast tier's five square communes and users, bearer tokens, a browser-like session and the
median / min-max summary of a series of timings.

Imported by ``bench/bench_pages.py`` and ``bench/bench_history_page.py`` (run from the checkout:
each puts the checkout first on ``sys.path`` before importing this module).
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from tests.fast.conftest import PASSWORD, USERS, settings_for, write_boundaries

API = "/api/v1"


def service(folder: Path, *, boundaries: Path | None = None) -> Any:
    """A migrated database in ``folder`` with :data:`USERS`, and the app's settings
    (``api.settings.Settings``) pointing at it and at ``boundaries`` (default: the fast tier's
    five square communes, written in ``folder``)."""
    from api.db import make_engine, make_sessionmaker, session_scope, upgrade
    from api.services.users import add_user

    settings = settings_for(folder, boundaries or write_boundaries(folder / "communes.geojson"))
    upgrade(settings.resolved_database_url())
    engine = make_engine(settings.resolved_database_url())
    with session_scope(make_sessionmaker(engine)[1]) as s:
        for name, (role, binding) in USERS.items():
            add_user(s, name, PASSWORD, role, **binding, actor="bench")
    engine.dispose()
    return settings


def tokens(client: Any, users: Any = None) -> dict[str, str]:
    """A bearer token for each of ``users`` (default: every one of :data:`USERS`)."""
    out = {}
    for user in users or USERS:
        r = client.post(API + "/auth/token", data={"username": user, "password": PASSWORD})
        assert r.status_code == 200, r.text
        out[user] = r.json()["access_token"]
    return out


def bearer(token: str) -> dict[str, str]:
    """The ``Authorization`` header of ``token``."""
    return {"Authorization": f"Bearer {token}"}


def as_browser(client: Any, token: str) -> Any:
    """A TestClient on ``client``'s app carrying ``token`` as the session cookie, as a logged-in
    browser would."""
    from fastapi.testclient import TestClient

    from api.auth import SESSION_COOKIE

    return TestClient(client.app, cookies={SESSION_COOKIE: token})


def summary(xs: list[float]) -> dict[str, float]:
    """Median, min and max of ``xs``, rounded to 0.1 ms."""
    return {
        "median": round(statistics.median(xs), 4),
        "min": round(min(xs), 4),
        "max": round(max(xs), 4),
    }

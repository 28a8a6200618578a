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

from tests.fast.conftest import fresh_database, log_in

API = "/api/v1"


def service(folder: Path, *, boundaries: Path | None = None) -> Any:
    """A migrated database in ``folder`` with the fast tier's users, and the app's settings
    (``api.settings.Settings``) pointing at it and at ``boundaries`` (default: the fast tier's
    five square communes, written in ``folder``): :func:`tests.fast.conftest.fresh_database`."""
    return fresh_database(folder, boundaries=boundaries, actor="bench")[0]


#: A bearer token for each of ``users`` (default: every one of the fast tier's users).
tokens = log_in


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

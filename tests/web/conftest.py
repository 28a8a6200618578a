"""The headless Chromium the page tests drive (Debian's, through Playwright)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    if Path(CHROMIUM).exists():
        return
    reason = "Debian's chromium is not installed (apt-get install chromium)"
    if os.environ.get("LIENXA_REQUIRE_BROWSER") == "1":
        pytest.fail(reason + " and LIENXA_REQUIRE_BROWSER=1")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@contextmanager
def site_with_incident(
    tmp: Path, users: tuple[str, ...] = ("bchqs",), *, incident: bool = True
) -> Iterator[dict]:
    """A real server on a fresh SQLite database with the seeded users and (unless ``incident``
    is false) the shared Nghệ An scenario as an incident with a plan, as the defence command
    would make it. Yields ``{"url", "incident", "tokens"}`` (bearer tokens of ``users``)."""
    import json

    import httpx

    from tests.api.conftest import PASSWORD, create_database, seed, start_server, stop_server
    from tests.conftest import NGHE_AN, SCENARIO, require_file

    require_browser()
    require_file(NGHE_AN)
    db_url, _ = create_database("sqlite", tmp)
    seed(db_url)
    proc, url, _ = start_server(db_url, tmp, "sqlite")
    if proc.poll() is not None:
        pytest.fail("server exited: " + stop_server(proc))
    try:
        tokens = {
            u: httpx.post(
                url + "/api/v1/auth/token", data={"username": u, "password": PASSWORD}
            ).json()["access_token"]
            for u in dict.fromkeys(("bchqs", *users))
        }
        h = {"Authorization": f"Bearer {tokens['bchqs']}"}
        made = None
        if incident:
            made = httpx.post(
                url + "/api/v1/incidents", headers=h, json=json.loads(SCENARIO.read_text())
            ).json()["id"]
            httpx.post(url + f"/api/v1/incidents/{made}/plan", headers=h, json={}, timeout=60)
        yield {"url": url, "incident": made, "tokens": tokens}
    finally:
        stop_server(proc)

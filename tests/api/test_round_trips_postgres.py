"""Round trips and row locks on PostgreSQL: the fast tier's statement checks on a real
PostgreSQL database, and every write of requests, offers and stock taking its locks in the one
order of :mod:`api.services.offer_rows` (request, offers, stock by commune and resource, the
audit lock last), each step one statement, so two writers cannot wait on each other in a
circle (a requester cancelling a request while a giver cancels or dispatches an offer of it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.conftest import create_database, drop_database
from tests.fast.conftest import GIVES, OTHER, PASSWORD, USERS, Site, settings_for, write_boundaries
from tests.fast.statements import StatementCounter, Tally
from tests.fast.test_round_trips import check_lists_do_not_grow, check_offer_budget

pytestmark = pytest.mark.postgres

#: the lock order: a write's locks never go down this list
RANK = {"requests": 0, "offers": 1, "inventory": 2, "audit": 3}


@pytest.fixture
def pg_site(tmp_path: Path) -> Iterator[Site]:
    """The app in process on a new PostgreSQL database, over the fast tier's communes."""
    from fastapi.testclient import TestClient

    from api.db import make_engine, make_sessionmaker, session_scope, upgrade
    from api.main import create_app
    from api.services.users import add_user

    url, name = create_database("postgres", tmp_path)
    try:
        upgrade(url)
        engine = make_engine(url)
        _, write = make_sessionmaker(engine)
        with session_scope(write) as s:
            for user, (role, binding) in USERS.items():
                add_user(s, user, PASSWORD, role, **binding, actor="test-setup")
        engine.dispose()
        settings = settings_for(tmp_path, write_boundaries(tmp_path / "communes.geojson"))
        settings = settings.model_copy(update={"database_url": url})
        with TestClient(create_app(settings)) as client:
            tokens = {
                u: client.post(
                    "/api/v1/auth/token", data={"username": u, "password": PASSWORD}
                ).json()["access_token"]
                for u in USERS
            }
            yield Site(client, tokens)
    finally:
        drop_database(name)
        shutil.rmtree(tmp_path, ignore_errors=True)


def lock_steps(tally: Tally) -> list[str]:
    """The tables a write locked, in order (``audit`` for the audit log's advisory lock)."""
    steps = []
    for s in tally.locks():
        if "advisory_xact_lock" in s:
            steps.append("audit")
            continue
        of = re.search(r"FOR UPDATE OF (\w+)", s)
        table = of.group(1) if of else re.search(r"\bFROM (\w+)", s).group(1)  # type: ignore[union-attr]
        steps.append(table)
    return steps


def assert_in_order(steps: list[str]) -> None:
    ranks = [RANK[t] for t in steps]
    assert ranks == sorted(ranks), steps
    assert len(set(steps)) == len(steps), f"a table locked twice: {steps}"


def test_request_lists_cost_the_same_for_2_and_20_requests_on_postgres(pg_site: Site) -> None:
    check_lists_do_not_grow(pg_site)


def test_a_new_offer_stays_within_its_statement_budget_on_postgres(pg_site: Site) -> None:
    assert_in_order(lock_steps(check_offer_budget(pg_site)))


def test_every_move_of_an_offer_locks_request_offer_stock_then_audit(pg_site: Site) -> None:
    site = pg_site
    c = StatementCounter(site.client.app.state.lienxa.engine)
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=100)
    req = site.ask(incident, 50)
    seen = {}
    for moves in (
        [("accept", "dongha"), ("dispatch", "tayson"), ("arrive", "dongha")],
        [("decline", "dongha")],
        [("accept", "dongha"), ("cancel", "tayson")],
    ):
        offer = site.offer(req, 2)
        for action, user in moves:
            with c.measure() as tally:
                r = site.as_(user).post(
                    f"/offers/{offer['id']}/{action}",
                    json={"reason": "hết xuồng"} if action == "cancel" else None,
                )
            assert r.status_code == 200, r.text
            steps = lock_steps(tally)
            assert_in_order(steps)
            seen[action] = steps
    c.close()
    assert seen["accept"] == ["requests", "offers", "audit"]
    for action in ("dispatch", "decline", "cancel"):
        assert seen[action] == ["requests", "offers", "inventory", "audit"], action
    assert site.inventory(GIVES)["items"]["boats"] == 98  # one offer of 2 went out
    assert site.inventory(GIVES)["reserved"] == {}


def test_cancelling_a_request_locks_its_offers_then_all_givers_stock_in_one_statement(
    pg_site: Site,
) -> None:
    site = pg_site
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    site.stock(OTHER, "bacly", boats=10)
    req = site.ask(incident, 9, to=(GIVES, OTHER))
    site.offer(req, 2, commune=OTHER, user="bacly")  # offer ids not in commune order
    site.offer(req, 3, commune=GIVES, user="tayson")
    c = StatementCounter(site.client.app.state.lienxa.engine)
    with c.measure() as tally:
        r = site.as_("dongha").post(f"/requests/{req['id']}/cancel", json={"reason": "đã đủ"})
    c.close()
    assert r.status_code == 200, r.text
    assert [o["status"] for o in r.json()["offers"]] == ["cancelled", "cancelled"]
    steps = lock_steps(tally)
    assert steps == ["requests", "offers", "inventory", "audit"]
    stock_lock = tally.locks()[2]
    assert "ORDER BY inventory.commune_code, inventory.resource" in stock_lock
    assert site.inventory(GIVES)["reserved"] == {} and site.inventory(OTHER)["reserved"] == {}

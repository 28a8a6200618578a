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

from tests.api.conftest import drop_database
from tests.fast.conftest import GIVES, OTHER, Site, fresh_database, log_in
from tests.fast.statements import StatementCounter, Tally
from tests.fast.test_round_trips import (
    check_lists_do_not_grow,
    check_offer_budget,
    check_reads_share_authentications_connection,
    check_writes_hold_one_connection_at_a_time,
)

pytestmark = pytest.mark.postgres

#: the lock order: a write's locks never go down this list
RANK = {"requests": 0, "offers": 1, "inventory": 2, "audit": 3}


@pytest.fixture
def pg_site(tmp_path: Path) -> Iterator[Site]:
    """The app in process on a new PostgreSQL database, over the fast tier's communes."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    name = None
    try:
        settings, name = fresh_database(tmp_path, backend="postgres")
        with TestClient(create_app(settings)) as client:
            yield Site(client, log_in(client))
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


def test_reads_look_their_user_up_on_the_handlers_connection_on_postgres(pg_site: Site) -> None:
    check_reads_share_authentications_connection(pg_site)


def test_a_write_holds_one_connection_at_a_time_on_postgres(pg_site: Site) -> None:
    check_writes_hold_one_connection_at_a_time(pg_site)


def test_every_move_of_an_offer_takes_its_locks_in_order(pg_site: Site) -> None:
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
    # an arrival locks the request (whether all arrived counts the other arrivals); the other
    # moves lock only their offer, so moves of different offers of one request run side by side
    assert seen["arrive"] == ["requests", "offers", "audit"]
    assert seen["accept"] == ["offers", "audit"]
    for action in ("dispatch", "decline", "cancel"):
        assert seen[action] == ["offers", "inventory", "audit"], action
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


def test_a_request_cancelled_while_its_offer_is_dispatched_never_frees_stock_twice(
    pg_site: Site,
) -> None:
    """The requester cancels a request at the moment the giver dispatches its accepted offer:
    one of them wins, the stock reserved stays what open offers hold, and no deadlock.

    Before the lock order, the cancel read the offers unlocked, so an offer dispatched
    meanwhile was released a second time (another offer's reservation lost) and marked
    cancelled although its stock had left."""
    import threading

    from sqlalchemy import select

    from api.auth import principal_for
    from api.db import session_scope
    from api.errors import ServiceError
    from api.models import InventoryItem, Offer, User
    from api.services.offers import transition_offer
    from api.services.requests import cancel_request

    site = pg_site
    state = site.client.app.state.lienxa

    def principal(name: str):  # type: ignore[no-untyped-def]
        with session_scope(state.read_session) as s:
            u = s.scalars(select(User).where(User.username == name)).one()
            return principal_for(s, u, state.communes_by_province)

    requester, giver = principal("dongha"), principal("tayson")
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=1000)
    site.offer(site.ask(incident, 5), 1)  # another reservation, which must survive
    failures: list[BaseException] = []
    for _ in range(12):
        req = site.ask(incident, 5)
        offer = site.offer(req, 2)
        assert site.as_("dongha").post(f"/offers/{offer['id']}/accept").status_code == 200
        start = threading.Barrier(2)

        def run(fn, start=start):  # type: ignore[no-untyped-def]
            start.wait()
            try:
                with session_scope(state.write_session) as s:
                    fn(s)
            except ServiceError:
                pass  # losing the race with a clear answer is fine
            except BaseException as exc:  # a deadlock, or anything else
                failures.append(exc)

        threads = [
            threading.Thread(
                target=run, args=(lambda s, r=req: cancel_request(s, requester, r["id"], "đủ"),)
            ),
            threading.Thread(
                target=run,
                args=(lambda s, o=offer: transition_offer(s, giver, o["id"], "dispatch"),),
            ),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with session_scope(state.read_session) as s:
            item = s.get_one(InventoryItem, (GIVES, "boats"))
            offers = list(s.scalars(select(Offer).where(Offer.commune_code == GIVES)))
        holding = sum(o.quantity for o in offers if o.status in ("offered", "accepted"))
        gone = sum(o.quantity for o in offers if o.status in ("dispatched", "arrived"))
        assert item.reserved == holding, [(o.id, o.status) for o in offers]
        assert item.quantity == 1000 - gone
    assert not failures, failures

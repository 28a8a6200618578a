"""Round trips to the database: a request list costs the same statements for 2 requests as for
20, one request the same with 1 offer as with 10, a notice to several leaders is one insert,
and a new offer stays within its statement budget (``tests/fast/statements.py`` counts).

The ``check_*`` functions take a :class:`~tests.fast.conftest.Site` on either database;
``tests/api/test_round_trips_postgres.py`` runs them on PostgreSQL too.
"""

from __future__ import annotations

from typing import Any

from tests.fast.conftest import ASKS, GIVES, OTHER, PASSWORD, Site
from tests.fast.statements import StatementCounter, Tally

#: Statements of ``POST /requests/{id}/offers`` at most, per database (14 on SQLite and 13 on
#: PostgreSQL before the lock order, BEGIN IMMEDIATE counted on SQLite; see
#: bench/results/round_trips-counts.json).
OFFER_BUDGET = {"sqlite": 11, "postgresql": 10}
#: Round trips to PostgreSQL of a new offer at most (statements, BEGIN and COMMIT of each
#: transaction, a pre-ping per checkout: :attr:`Tally.round_trips`): 16 while authentication
#: read in a transaction of its own, 14 with PostgreSQL's read sessions in autocommit.
OFFER_ROUND_TRIPS = 14
#: A read's figures per database, authentication included: ``(statements, transactions,
#: checkouts)``. Authentication reads on the handler's session, so one checkout (and one
#: pre-ping) where there were two; on PostgreSQL in autocommit (no BEGIN, no COMMIT): 3 round
#: trips where there were 8. On SQLite the one BEGIN is a statement (4 statements before).
READ_COST = {"sqlite": (3, 1, 1), "postgresql": (2, 0, 1)}


def counter(site: Site) -> StatementCounter:
    """A statement counter on the site's engine."""
    return StatementCounter(site.client.app.state.lienxa.engine)


def measured(c: StatementCounter, fn: Any) -> tuple[Any, Tally]:
    """``fn()``'s response (checked 2xx) and what it sent to the database."""
    with c.measure() as tally:
        r = fn()
    assert r.status_code < 300, r.text
    return r.json(), tally


def check_lists_do_not_grow(site: Site) -> None:
    """Incoming and outgoing lists, a command's list and one request: the same statements
    for 2 requests (or 1 offer) as for 20 (or 10)."""
    c = counter(site)
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=1000)
    views = {
        "incoming": lambda: site.as_("tayson").get(
            "/requests", params={"commune": GIVES, "direction": "incoming"}
        ),
        "outgoing": lambda: site.as_("dongha").get(
            "/requests", params={"commune": ASKS, "direction": "outgoing"}
        ),
        "command": lambda: site.as_("bch40").get("/requests", params={"status": "open"}),
    }

    def costs() -> dict[str, tuple[int, int]]:
        out = {}
        for name, fn in views.items():
            body, tally = measured(c, fn)
            out[name] = (len(body), tally.count)
        return out

    for _ in range(2):
        site.offer(site.ask(incident, 5), 1)
    small = costs()
    for _ in range(18):
        req = site.ask(incident, 5)
        site.offer(req, 1)
        site.offer(req, 2)
    big = costs()
    for name in views:
        assert (small[name][0], big[name][0]) == (2, 20), name
        assert big[name][1] == small[name][1], f"{name}: {small[name][1]} → {big[name][1]}"

    one = site.ask(incident, 50)
    site.offer(one, 1)
    ten = site.ask(incident, 50)
    for _ in range(10):
        site.offer(ten, 1)
    costs_of = {}
    for req in (one, ten):
        body, tally = measured(c, lambda req=req: site.as_("dongha").get(f"/requests/{req['id']}"))
        costs_of[len(body["offers"])] = tally.count
    assert set(costs_of) == {1, 10}
    assert costs_of[10] == costs_of[1]
    c.close()


def check_offer_budget(site: Site) -> Tally:
    """A new offer (reserving stock, notifying, audited) within :data:`OFFER_BUDGET`."""
    c = counter(site)
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=100)
    req = site.ask(incident, 10)
    site.offer(req, 1)
    body, tally = measured(
        c,
        lambda: site.as_("tayson").post(
            f"/requests/{req['id']}/offers", json={"commune": GIVES, "quantity": 2}
        ),
    )
    assert body["status"] == "offered"
    assert site.inventory(GIVES)["reserved"] == {"boats": 3}
    dialect = site.client.app.state.lienxa.engine.dialect.name
    assert tally.count <= OFFER_BUDGET[dialect], tally.statements
    if dialect == "postgresql":
        assert tally.round_trips is not None and tally.round_trips <= OFFER_ROUND_TRIPS, (
            tally.as_dict()
        )
    c.close()
    return tally


def check_reads_share_authentications_connection(site: Site) -> None:
    """A list, one request and an inventory each look their user up on the connection the
    handler reads on: :data:`READ_COST`, one connection at a time."""
    c = counter(site)
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=100)
    req = site.ask(incident, 10)
    site.offer(req, 1)
    dialect = site.client.app.state.lienxa.engine.dialect.name
    reads = {
        "incoming": lambda: site.as_("tayson").get(
            "/requests", params={"commune": GIVES, "direction": "incoming"}
        ),
        "one request": lambda: site.as_("dongha").get(f"/requests/{req['id']}"),
        "inventory": lambda: site.as_("dongha").get(f"/communes/{GIVES}/inventory"),
        "a command's list": lambda: site.as_("bch40").get("/requests", params={"status": "open"}),
    }
    for name, fn in reads.items():
        _, tally = measured(c, fn)
        got = (tally.count, tally.transactions, tally.checkouts)
        assert got == READ_COST[dialect], (name, tally.as_dict(), tally.statements)
        assert tally.most_at_once == 1, name
        if dialect == "postgresql":
            assert tally.round_trips == 3, (name, tally.as_dict())
    c.close()


def check_writes_hold_one_connection_at_a_time(site: Site) -> None:
    """A write's authentication hands its connection back before the write takes one (the
    handler does not read on it): two checkouts, never two connections held at once; on
    PostgreSQL only the write is a transaction."""
    c = counter(site)
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=100)
    req = site.ask(incident, 10)
    dialect = site.client.app.state.lienxa.engine.dialect.name
    offer, tally = measured(
        c,
        lambda: site.as_("tayson").post(
            f"/requests/{req['id']}/offers", json={"commune": GIVES, "quantity": 2}
        ),
    )
    _, accepted = measured(c, lambda: site.as_("dongha").post(f"/offers/{offer['id']}/accept"))
    c.close()
    for t in (tally, accepted):
        assert (t.checkouts, t.most_at_once) == (2, 1), t.as_dict()
        assert t.transactions == (1 if dialect == "postgresql" else 2), t.as_dict()


def test_request_lists_cost_the_same_for_2_and_20_requests(site: Site) -> None:
    check_lists_do_not_grow(site)


def test_a_new_offer_stays_within_its_statement_budget(site: Site) -> None:
    check_offer_budget(site)


def test_reads_look_their_user_up_on_the_handlers_connection(site: Site) -> None:
    check_reads_share_authentications_connection(site)


def test_a_write_holds_one_connection_at_a_time(site: Site) -> None:
    check_writes_hold_one_connection_at_a_time(site)


def test_a_notice_to_several_leaders_is_one_insert(site: Site) -> None:
    from api.db import session_scope
    from api.models import Notification
    from api.services.users import add_user

    state = site.client.app.state.lienxa
    with session_scope(state.write_session) as s:
        for name in ("tayson2", "tayson3"):
            add_user(s, name, PASSWORD, "commune_leader", commune=GIVES, actor="test-setup")
    c = counter(site)
    incident = site.incident()
    body, tally = measured(
        c,
        lambda: site.as_("dongha").post(
            "/requests",
            json={
                "incident_id": incident["id"],
                "commune": ASKS,
                "resource": "boats",
                "quantity": 3,
                "to": [GIVES, OTHER],
            },
        ),
    )
    c.close()
    touching = [s for s in tally.statements if "notifications" in s]
    assert len(touching) == 1 and touching[0].lstrip().upper().startswith("INSERT"), touching
    with session_scope(state.read_session) as s:
        told = s.query(Notification).filter(Notification.entity_id == body["id"]).all()
    assert len(told) == 4  # three leaders of Tây Sơn, one of Bắc Lý
    again = site.client.app.state.lienxa
    with session_scope(again.write_session) as s:  # notifying again adds nothing
        from api.models import SupportRequest
        from api.services.notify import notify
        from api.services.requests import request_event

        assert notify(s, request_event(s.get_one(SupportRequest, body["id"]))) == []


def test_the_commune_page_reads_the_requests_to_it_once(site: Site) -> None:
    """The open requests to answer and what the commune offered are one read of the requests
    addressed to it (they were two: the open ones, then all of them)."""
    from fastapi.testclient import TestClient

    from api.auth import SESSION_COOKIE

    incident = site.incident()
    site.stock(GIVES, "tayson", boats=100)
    open_one = site.ask(incident, 10)
    offer = site.offer(open_one, 2)
    withdrawn = site.ask(incident, 4)
    assert (
        site.as_("dongha")
        .post(f"/requests/{withdrawn['id']}/cancel", json={"reason": "đủ"})
        .is_success
    )
    page = TestClient(site.client.app, cookies={SESSION_COOKIE: site.tokens["tayson"]})
    c = counter(site)
    with c.measure() as tally:
        r = page.get("/commune")
    c.close()
    assert r.status_code == 200 and "/login" not in str(r.url), r.text[:300]
    # the requests addressed to a commune: the statement whose filter is the addressees' list
    to_it = [s for s in tally.statements if "FROM requests" in s and "LIKE" in s]
    assert len(to_it) == 1, to_it
    # what the page shows is what it showed with two reads: the open requests to answer, and
    # the offers of Tây Sơn still to hand over
    assert f'id="incoming-{open_one["id"]}"' in r.text
    assert f'id="incoming-{withdrawn["id"]}"' not in r.text
    assert f'id="my-offer-{offer["id"]}"' in r.text

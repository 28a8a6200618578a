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

#: Statements of ``POST /requests/{id}/offers`` at most, per database, this branch's count
#: (the main checkout before it: 14 on SQLite and 13 on PostgreSQL, BEGIN IMMEDIATE counted on
#: SQLite; see bench/results/round_trips-counts.json).
OFFER_BUDGET = {"sqlite": 11, "postgresql": 10}


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
    c.close()
    return tally


def test_request_lists_cost_the_same_for_2_and_20_requests(site: Site) -> None:
    check_lists_do_not_grow(site)


def test_a_new_offer_stays_within_its_statement_budget(site: Site) -> None:
    check_offer_budget(site)


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

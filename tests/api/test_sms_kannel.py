"""SMS for real: phone -> Kannel (bearerbox, smsbox, Kannel's fake SMSC) -> the service (a real
uvicorn) -> Kannel -> the neighbour's phone. No mock of the gateway.

Châu Khê (17248) helps Con Cuông (17254): the request reaches Châu Khê's phone, the leader
offers by SMS, Con Cuông accepts by SMS, and so on to arrival. Kannel retries its get-url while
the service is down (``http-request-retry``), and the service handles the repeat once (by
Kannel's message id, ``%I``)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.api.conftest import (
    PASSWORD,
    USERS,
    create_database,
    drop_database,
    free_port,
    seed,
    start_server,
    stop_server,
)
from tests.api.kannel import require_kannel, running_kannel
from tests.conftest import NGHE_AN, require_file

CONCUONG, CHAUKHE = "17254", "17248"
PHONES = {"conc": "+84912000254", "chaukhe": "+84912000248"}
UNKNOWN = "+84977000999"
SECRET = "kannel-secret-" + uuid.uuid4().hex[:8]


def to(phone: str, contains: str) -> Any:
    """A wait condition: an SMS to ``phone`` containing ``contains`` was delivered."""
    return lambda got: any(m.to == phone and contains in m.text for m in got)


def both(*conds: Any) -> Any:
    return lambda got: all(c(got) for c in conds)


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def sms_site(request, tmp_path_factory):
    """Kannel and the service pointing at each other, phones set for two leaders."""
    require_kannel()
    require_file(NGHE_AN)
    backend = request.param
    tmp = tmp_path_factory.mktemp(f"sms-{backend}")
    db_url, pg_name = create_database(backend, tmp)
    service_port, sendsms_port = free_port(), free_port()
    service = f"http://127.0.0.1:{service_port}"
    try:
        seed(db_url)
        with running_kannel(
            tmp / "kannel", service=service, secret=SECRET, sendsms_port=sendsms_port
        ) as k:
            env = {
                "LIENXA_SMS_SEND_URL": k.send_url,
                "LIENXA_SMS_SECRET": SECRET,
                "LIENXA_SMS_POLL_SECONDS": "0.5",
                "LIENXA_SECRET_KEY": "sms-test-" + uuid.uuid4().hex,
            }
            site = {"kannel": k, "db_url": db_url, "tmp": tmp, "env": env, "port": service_port}
            proc, url, _ = start_server(db_url, tmp, backend, extra_env=env, port=service_port)
            site |= {"proc": proc, "url": url, "backend": backend}
            tokens = {}
            for name in USERS:
                r = httpx.post(
                    url + "/api/v1/auth/token",
                    data={"username": name, "password": PASSWORD},
                    timeout=30,
                )
                assert r.status_code == 200, r.text
                tokens[name] = r.json()["access_token"]
            site["tokens"] = tokens
            admin = api(site, "admin")
            ids = {u["username"]: u["id"] for u in admin.get("/users").json()}
            for name, phone in PHONES.items():
                r = admin.patch(f"/users/{ids[name]}", json={"phone": phone})
                assert r.status_code == 200, r.text
            yield site
            site["log"] = stop_server(site["proc"])
    finally:
        drop_database(pg_name)


def api(site: dict[str, Any], user: str) -> httpx.Client:
    return httpx.Client(
        base_url=site["url"] + "/api/v1",
        headers={"Authorization": f"Bearer {site['tokens'][user]}"},
        timeout=60,
    )


def a_request(site: dict[str, Any], quantity: int = 20) -> tuple[dict[str, Any], str]:
    """A request from Con Cuông to Châu Khê of a resource Châu Khê has at least 10 of."""
    inv = api(site, "chaukhe").get(f"/communes/{CHAUKHE}/inventory").json()
    resource = next(k for k, v in sorted(inv["available"].items()) if v >= 30)
    incident = api(site, "bchqs").post(
        "/incidents",
        json={
            "name": "Lũ SMS",
            "risk_level": 2,
            "duration_days": 1,
            "affected": [{"commune": CONCUONG, "displaced": 300}],
        },
    )
    assert incident.status_code == 201, incident.text
    r = api(site, "conc").post(
        "/requests",
        json={
            "incident_id": incident.json()["id"],
            "commune": CONCUONG,
            "resource": resource,
            "quantity": quantity,
            "to": [CHAUKHE],
        },
    )
    assert r.status_code == 201, r.text
    return r.json(), resource


def offers_of(site: dict[str, Any], request_id: int) -> list[dict[str, Any]]:
    return api(site, "planner").get(f"/requests/{request_id}").json()["offers"]


def test_a_request_goes_by_sms_to_arrival(sms_site):
    k = sms_site["kannel"]
    conc, chaukhe = PHONES["conc"], PHONES["chaukhe"]
    req, _ = a_request(sms_site)
    rid = req["id"]
    # the request reaches Châu Khê's phone
    got = k.listen(to(chaukhe, f"GIUP {rid} "))
    [notice] = [m for m in got if m.to == chaukhe]
    assert notice.text.startswith("Xa Con Cuong can 20") and notice.text.isascii()
    assert len(notice.text) <= 160
    # Châu Khê offers 10 by SMS: the offer exists with 10, and Con Cuông is told
    got = k.phone(chaukhe, f"GIUP {rid} 10", both(to(chaukhe, "Da ghi cam ket"), to(conc, "DY ")))
    [offer] = offers_of(sms_site, rid)
    assert (offer["quantity"], offer["status"], offer["created_by"]) == (10, "offered", "chaukhe")
    oid = offer["id"]
    assert any(m.to == conc and f"DY {oid}" in m.text for m in got)
    # Con Cuông accepts, Châu Khê dispatches, Con Cuông confirms the arrival
    k.phone(
        conc, f"dy {oid}", both(to(conc, f"Da dong y cam ket {oid}"), to(chaukhe, f"GUI {oid}"))
    )
    k.phone(chaukhe, f"GUI {oid}", both(to(chaukhe, "da gui di"), to(conc, f"NHAN {oid}")))
    k.phone(conc, f"nhận {oid}", to(conc, "da den noi"))
    assert offers_of(sms_site, rid)[0]["status"] == "arrived"
    # the audit says who did each step, as for the pages and the API
    audit = api(sms_site, "admin").get("/audit", params={"limit": 100}).json()
    steps = [(e["action"], e["actor"].split(" ")[0]) for e in audit if e["entity_id"] == str(oid)]
    assert set(steps) >= {
        ("offer.create", "chaukhe"),
        ("offer.accept", "conc"),
        ("offer.dispatch", "chaukhe"),
        ("offer.arrive", "conc"),
    }


def test_an_unknown_number_is_refused_politely_and_nothing_changes(sms_site):
    k = sms_site["kannel"]
    req, _ = a_request(sms_site)
    k.listen(to(PHONES["chaukhe"], f"GIUP {req['id']} "))
    got = k.phone(UNKNOWN, f"GIUP {req['id']} 5", to(UNKNOWN, "chua dang ky"))
    assert [m.to for m in got if m.to == UNKNOWN] == [UNKNOWN]
    assert offers_of(sms_site, req["id"]) == []


def test_a_bad_command_is_answered_with_the_error_and_the_help(sms_site):
    k = sms_site["kannel"]
    req, _ = a_request(sms_site)
    got = k.phone(PHONES["chaukhe"], f"GIUP {req['id']} muoi", to(PHONES["chaukhe"], "Loi: "))
    [answer] = [m for m in got if m.text.startswith("Loi: ")]
    assert "muoi" in answer.text.lower() and "Gui HD" in answer.text
    assert offers_of(sms_site, req["id"]) == []


def test_a_message_sent_while_the_service_is_down_is_handled_once_when_it_is_back(sms_site):
    k = sms_site["kannel"]
    chaukhe = PHONES["chaukhe"]
    req, _ = a_request(sms_site)
    k.listen(to(chaukhe, f"TC {req['id']}"))
    sms_site["log"] = stop_server(sms_site["proc"])
    # the phone sends while the service is away: Kannel keeps the message and retries get-url
    k.phone(chaukhe, f"TC {req['id']}", lambda got: True, timeout=5)
    proc, _, _ = start_server(
        sms_site["db_url"],
        sms_site["tmp"],
        sms_site["backend"],
        extra_env=sms_site["env"],
        port=sms_site["port"],
    )
    sms_site["proc"] = proc
    assert proc.poll() is None, stop_server(proc)
    k.listen(to(chaukhe, f"Da tu choi yeu cau {req['id']}"), timeout=90)
    r = api(sms_site, "planner").get(f"/requests/{req['id']}").json()
    assert r["declined_by"] == [CHAUKHE]
    engine = create_engine(sms_site["db_url"])
    with engine.connect() as c:
        handled = c.execute(
            text("SELECT count(*) FROM sms_inbox WHERE text = :t"), {"t": f"TC {req['id']}"}
        ).scalar()
        answers = c.execute(
            text(
                "SELECT count(*) FROM sms_outbox WHERE to_phone = :p AND message = 'sms.ok_decline'"
            ),
            {"p": chaukhe},
        ).scalar()
    engine.dispose()
    assert (handled, answers) == (1, 1)


def test_a_wrong_secret_is_403_and_nothing_happens(sms_site):
    r = httpx.get(
        sms_site["url"] + "/api/v1/sms/incoming",
        params={"from": PHONES["chaukhe"], "text": "HD", "secret": "wrong"},
    )
    assert r.status_code == 403 and r.json()["code"] == "sms_secret_wrong"
    assert SECRET not in r.text
    engine = create_engine(sms_site["db_url"])
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM sms_inbox WHERE text = 'HD'")).scalar() == 0
    engine.dispose()

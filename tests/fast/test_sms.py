"""SMS in the fast tier: the command parser, phones, notifications, the outbox's retries and
the incoming SMS's rules and dedup (the real gateway is in tests/api/test_sms_kannel.py)."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.models import utcnow
from geo.sms import SMS_LENGTH, Command, SmsError, Verb, gsm_text, normalise_phone, parse_command
from tests.fast.conftest import ASKS, GIVES, OTHER, Site, Template, settings_for

SMS_SECRET = "sms-secret-fast"
PHONES = {"dongha": "+84912000001", "tayson": "+84912000002", "bacly": "+84912000003"}


# --- the parser ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("HD", Command(Verb.HELP)),
        ("hd", Command(Verb.HELP)),
        ("GIUP 12 10", Command(Verb.OFFER, (12, 10))),
        ("  giúp   12  10 ", Command(Verb.OFFER, (12, 10))),
        ("Giup 12,10", Command(Verb.OFFER, (12, 10))),
        ("tc 7", Command(Verb.DECLINE, (7,))),
        ("DY 3", Command(Verb.ACCEPT, (3,))),
        ("gửi 3", Command(Verb.DISPATCH, (3,))),
        ("nhận 3", Command(Verb.ARRIVE, (3,))),
        ("BC 120 35 CL", Command(Verb.REPORT, (120, 35), True)),
        ("bc 120 35 co", Command(Verb.REPORT, (120, 35), False)),
        ("BC 120 35", Command(Verb.REPORT, (120, 35), None)),
    ],
)
def test_commands_are_read_whatever_their_case_and_diacritics(text, command):
    assert parse_command(text) == command


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("", "sms_empty"),
        ("   ", "sms_empty"),
        ("XIN CHAO", "sms_unknown_command"),
        ("GIUP 12", "sms_arguments"),
        ("GIUP 12 10 4", "sms_arguments"),
        ("GIUP 12 muoi", "sms_not_a_number"),
        ("GIUP 12 -3", "sms_not_a_number"),
        ("GIUP 12 ١٠", "sms_not_a_number"),  # Arabic-Indic digits are digits, not ASCII ones
        ("DY x", "sms_not_a_number"),
        ("GIUP " + "1" * 200, "sms_too_long"),
    ],
)
def test_a_bad_command_is_refused_with_its_code(text, code):
    with pytest.raises(SmsError) as err:
        parse_command(text)
    assert err.value.code == code


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("0912 345 678", "+84912345678"),
        ("84912345678", "+84912345678"),
        ("+84 912.345.678", "+84912345678"),
        ("0084912345678", "+84912345678"),
    ],
)
def test_phones_are_normalised_to_e164(typed, e164):
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize("typed", ["", "abc", "+0912", "12345", "+8491234567890123"])
def test_a_bad_phone_is_refused(typed):
    with pytest.raises(SmsError) as err:
        normalise_phone(typed)
    assert err.value.code == "phone_invalid"


def test_sms_texts_are_gsm7_without_diacritics():
    from api.services.sms_out import word_sms

    text = word_sms(
        "sms.request_addressed",
        {"commune": "40001", "quantity": 120, "resource": "militia", "request": 123456},
        {"40001": "Châu Khê"},
    )
    assert text.startswith("Xa Chau Khe can 120 dan quan (yeu cau 123456)")
    assert text.isascii() and len(text) <= SMS_LENGTH
    assert gsm_text("Đồng “Hới”\n") == "Dong ?Hoi?"


def test_every_sms_text_fits_one_sms_with_long_numbers_and_names():
    from api.services.sms_out import word_sms
    from geo.sms import TEXTS, parts

    params = {"commune": "1", "quantity": 123456, "resource": "shock_team", "request": 1234567}
    params |= {"offer": 1234567, "incident": 12345, "error": "x" * 60, "help": "Gui HD."}
    for key in (k for k in TEXTS if k.startswith("sms.")):
        text = word_sms(key, params, {"1": "Nghĩa Đồng Tây Bắc"})
        assert parts(text) == 1, (key, len(text), text)


# --- the service ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sms_app(template: Template) -> Any:
    """One app object for this module's tests (as ``site_app``, but with an SMS secret): each
    test runs its lifespan on its own settings and database copy."""
    from api.main import create_app

    return create_app(
        settings_for(template.folder, template.boundaries).model_copy(
            update={"sms_secret": SMS_SECRET}
        )
    )


@pytest.fixture
def site(template: Template, sms_app: Any, tmp_path) -> Iterator[Site]:
    """The fast-tier app with an SMS secret (no sender: the outbox is sent by the tests)."""
    from fastapi.testclient import TestClient

    from api.main import create_app

    for f in template.folder.glob("lienxa.db*"):
        shutil.copy2(f, tmp_path / f.name)
    settings = settings_for(tmp_path, template.boundaries).model_copy(
        update={"sms_secret": SMS_SECRET, "cache_dir": template.folder / "cache"}
    )
    sms_app.router.lifespan_context = create_app(settings).router.lifespan_context
    with TestClient(sms_app) as client:
        s = Site(client, dict(template.tokens))
        users = {u["username"]: u["id"] for u in s.as_("admin").get("/users").json()}
        for name, phone in PHONES.items():
            r = s.as_("admin").request("PATCH", f"/users/{users[name]}", json={"phone": phone})
            assert r.status_code == 200, r.text
        yield s


def state_of(site: Site) -> Any:
    return site.client.app.state.lienxa


def outbox(site: Site, to: str | None = None) -> list[dict[str, Any]]:
    from api.db import session_scope
    from api.services.sms_out import outbox_rows

    with session_scope(state_of(site).read_session) as s:
        return outbox_rows(s, to=to)


def sms(site: Site, sender: str, text: str, **extra: Any) -> Any:
    params = {"from": sender, "text": text, "secret": SMS_SECRET, **extra}
    return site.client.get("/api/v1/sms/incoming", params=params)


def answers(site: Site, to: str) -> list[str]:
    """The texts queued to ``to``, worded as they would go out."""
    from api.routes.notifications import commune_names
    from api.services.sms_out import word_sms

    names = commune_names(state_of(site))
    return [word_sms(r["message"], r["params"], names) for r in outbox(site, to)]


def test_admin_sets_a_phone_normalised_and_unique(site):
    users = {u["username"]: u for u in site.as_("admin").get("/users").json()}
    assert users["tayson"]["phone"] == PHONES["tayson"]
    r = site.as_("admin").request(
        "PATCH", f"/users/{users['bacly']['id']}", json={"phone": "0912000002"}
    )
    assert r.status_code == 409 and r.json()["code"] == "phone_taken"
    r = site.as_("admin").request("PATCH", f"/users/{users['bacly']['id']}", json={"phone": "12"})
    assert r.status_code == 422 and r.json()["code"] == "phone_invalid"
    r = site.as_("admin").request(
        "PATCH", f"/users/{users['bacly']['id']}", json={"phone": "0988 111 222"}
    )
    assert r.json()["phone"] == "+84988111222"


def test_a_request_notifies_each_addressee_once_in_the_inbox_and_by_sms(site):
    site.stock(GIVES, "tayson", boats=5)
    incident = site.incident()
    request = site.ask(incident, 3, to=(GIVES, OTHER))
    for user in ("tayson", "bacly"):
        inbox = site.as_(user).get("/notifications").json()
        assert inbox["unread"] == 1
        [n] = inbox["notifications"]
        assert n["event"] == "request_addressed" and n["entity_id"] == request["id"]
        assert n["text"].startswith("Xã Đông Hà cần 3 xuồng, ca nô")
    assert site.as_("dongha").get("/notifications").json()["unread"] == 0
    [text] = answers(site, PHONES["tayson"])
    assert text.startswith("Xa Dong Ha can 3") and f"GIUP {request['id']}" in text

    from api.db import session_scope
    from api.models import SupportRequest
    from api.services.notify import notify
    from api.services.requests import request_event

    with session_scope(state_of(site).write_session) as s:  # the same event again: nothing new
        assert notify(s, request_event(s.get_one(SupportRequest, request["id"]))) == []
    assert len(outbox(site, PHONES["tayson"])) == 1
    r = site.as_("tayson").post("/notifications/read", json={})
    assert r.status_code == 200 and r.json()["unread"] == 0
    assert site.as_("bacly").get("/notifications").json()["unread"] == 1


def test_the_outbox_retries_with_backoff_while_the_gateway_is_down_then_sends_once(site):
    from api.services.sms_out import send_due

    site.stock(GIVES, "tayson", boats=5)
    site.ask(site.incident(), 3)
    now = utcnow()
    down = httpx.Client(transport=httpx.MockTransport(lambda req: httpx.Response(503)))
    got: list[httpx.Request] = []

    def kannel(req: httpx.Request) -> httpx.Response:
        got.append(req)
        return httpx.Response(202, text="0: Accepted for delivery")

    up = httpx.Client(transport=httpx.MockTransport(kannel))
    factory = state_of(site).write_session
    base = "http://kannel.invalid/cgi-bin/sendsms?username=u&password=p"
    assert send_due(factory, base, {}, client=down, clock=lambda: now) == {"sent": 0, "failed": 1}
    [row] = outbox(site)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert row["next_attempt_at"] > now
    # not due yet: nothing is tried
    assert send_due(factory, base, {}, client=up, clock=lambda: now) == {"sent": 0, "failed": 0}
    later = now + dt.timedelta(minutes=10)
    assert send_due(factory, base, {}, client=up, clock=lambda: later) == {"sent": 1, "failed": 0}
    assert send_due(factory, base, {}, client=up, clock=lambda: later) == {"sent": 0, "failed": 0}
    [req] = got
    assert req.url.params["to"] == PHONES["tayson"] and req.url.params["username"] == "u"
    assert req.url.params["text"].startswith(f"Xa {ASKS} can 3")  # names given: {}
    assert outbox(site)[0]["status"] == "sent"


def test_a_wrong_or_missing_secret_is_403_and_nothing_happens(site):
    for params in ({"from": PHONES["tayson"], "text": "HD"}, {"from": "1", "secret": "no"}):
        r = site.client.get("/api/v1/sms/incoming", params=params)
        assert r.status_code == 403 and r.json()["code"] == "sms_secret_wrong"
    assert outbox(site) == []


def test_an_offer_by_sms_acts_as_the_leader_and_is_handled_once(site):
    site.stock(GIVES, "tayson", boats=20)
    request = site.ask(site.incident(), 10)
    r = sms(site, PHONES["tayson"], f"giup {request['id']} 10", id="k-1")
    assert r.json() == {"result": "ok"}
    assert sms(site, PHONES["tayson"], f"giup {request['id']} 10", id="k-1").json() == {
        "result": "duplicate"
    }
    [offer] = site.request_now(request)["offers"]
    assert offer["quantity"] == 10 and offer["created_by"] == "tayson"
    [entry] = site.audit("offer.create")
    assert entry["actor"].startswith("tayson")
    assert any(
        t.startswith(f"Da ghi cam ket so {offer['id']}") for t in answers(site, PHONES["tayson"])
    )
    # the requester hears of it, and accepts by SMS
    assert any(f"DY {offer['id']}" in t for t in answers(site, PHONES["dongha"]))
    assert sms(site, PHONES["dongha"], f"DY {offer['id']}").json() == {"result": "ok"}
    # without a Kannel id, the same text again at once is a repeat
    assert sms(site, PHONES["dongha"], f"DY {offer['id']}").json() == {"result": "duplicate"}
    assert site.request_now(request)["offers"][0]["status"] == "accepted"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("XIN CHAO", "sms_unknown_command"),
        ("GIUP {request} muoi", "sms_not_a_number"),
        ("GIUP {request} 999", "over_offer"),
        ("GIUP 999999 1", "request_not_found"),
        ("DY 999999", "offer_not_found"),
        ("x" * 500, "sms_too_long"),
    ],
)
def test_a_bad_sms_is_answered_with_the_error_and_the_help_and_changes_nothing(site, text, code):
    site.stock(GIVES, "tayson", boats=20)
    request = site.ask(site.incident(), 10)
    r = sms(site, PHONES["tayson"], text.format(request=request["id"]))
    assert r.json() == {"result": code}
    assert site.request_now(request)["offers"] == []
    assert site.inventory(GIVES)["reserved"] == {}
    [answer] = answers(site, PHONES["tayson"])[-1:]
    assert answer.startswith("Loi: ")
    help_ = "NHAN <cam ket>; HD" if code == "sms_unknown_command" else "Gui HD de xem cac lenh."
    assert answer.endswith(help_) and len(answer) <= SMS_LENGTH


def test_an_offer_on_ones_own_request_or_anothers_offer_is_refused(site):
    site.stock(GIVES, "tayson", boats=20)
    request = site.ask(site.incident(), 10)
    assert sms(site, PHONES["dongha"], f"GIUP {request['id']} 5").json() == {
        "result": "own_request"
    }
    offer = site.offer(request, 5)
    # bacly is neither side: it may not accept tayson's offer to dongha
    assert sms(site, PHONES["bacly"], f"DY {offer['id']}").json() == {"result": "not_your_commune"}
    assert site.request_now(request)["offers"][0]["status"] == "offered"


def test_an_unknown_number_gets_a_polite_refusal_and_nothing_changes(site):
    site.stock(GIVES, "tayson", boats=20)
    request = site.ask(site.incident(), 10)
    assert sms(site, "0977000111", f"GIUP {request['id']} 5").json() == {"result": "unknown_number"}
    assert site.request_now(request)["offers"] == []
    [text] = answers(site, "+84977000111")
    assert text.startswith("Lien Xa: so dien thoai nay chua dang ky")


def test_help_by_sms(site):
    assert sms(site, PHONES["bacly"], "hd").json() == {"result": "ok"}
    [text] = answers(site, PHONES["bacly"])
    assert text.startswith("Lenh: GIUP <yeu cau> <so luong> = giup; TC <yeu cau> = tu choi")


def test_every_page_counts_the_unread_and_the_inbox_lists_them(site):
    site.stock(GIVES, "tayson", boats=5)
    request = site.ask(site.incident(), 3)
    site.client.cookies.set("lienxa_session", site.tokens["tayson"])
    try:
        page = site.client.get("/commune")
        assert page.status_code == 200
        assert '<b id="lx-unread" data-feed="/api/v1/notifications/unread">1</b>' in page.text
        assert 'id="live-incoming" data-live' in page.text
        feed = site.client.get("/api/v1/notifications/unread").json()
        assert feed["unread"] == 1 and feed["latest"] > 0
        inbox = site.client.get("/inbox")
        assert f"(yêu cầu {request['id']})" in inbox.text and "Đông Hà" in inbox.text
        csrf = state_of(site).tokens.csrf_for(site.tokens["tayson"])
        r = site.client.post("/inbox/read", data={"csrf_token": csrf}, follow_redirects=False)
        assert r.status_code == 303
        assert site.client.get("/api/v1/notifications/unread").json()["unread"] == 0
    finally:
        site.client.cookies.clear()


def test_a_need_no_neighbour_covers_is_escalated_to_the_command_once(site):
    incident = site.incident()  # 500 displaced in Đông Hà, nobody has any stock
    cmd = site.as_("bch40")
    plan = cmd.post(f"/incidents/{incident['id']}/plan", json={}).json()
    escalated = [u for u in plan["unmet"] if u["escalate_to"]]
    assert escalated
    inbox = cmd.get("/notifications").json()["notifications"]
    assert {n["event"] for n in inbox} == {"escalated"}
    assert len(inbox) == len({(u["commune"], u["resource"]) for u in escalated})
    cmd.post(f"/incidents/{incident['id']}/plan", json={})  # a re-plan tells nobody again
    assert len(cmd.get("/notifications").json()["notifications"]) == len(inbox)
    assert site.as_("bch42").get("/notifications").json()["notifications"] == []


def _reports(site, incident_id: int) -> list[dict[str, Any]]:
    r = site.as_("bch40").get(f"/incidents/{incident_id}/reports")
    assert r.status_code == 200, r.text
    return r.json()


def test_a_situation_report_by_sms_updates_the_communes_entry(site):
    incident = site.incident()  # affects ASKS (Đông Hà), dongha's commune
    assert sms(site, PHONES["dongha"], "bc 120 35 cl").json() == {"result": "ok"}
    [report] = _reports(site, incident["id"])
    assert (report["commune"], report["displaced"], report["houses_flooded"]) == (ASKS, 120, 35)
    assert report["isolated"] == "full"
    entry = next(
        a
        for a in site.as_("bch40")
        .get(f"/incidents/{incident['id']}")
        .json()["scenario"]["affected"]
        if a["commune"] == ASKS
    )
    assert entry["displaced"] == 120
    [answer] = answers(site, PHONES["dongha"])[-1:]
    assert answer.startswith(f"Da ghi bao cao su co {incident['id']}: 120 nguoi so tan")
    assert len(answer) <= SMS_LENGTH


@pytest.mark.parametrize(
    ("phone", "text", "code"),
    [
        ("bacly", "BC 10 2", "sms_no_incident"),  # no active incident affects Bắc Lý
        ("dongha", "BC 999999 2", "displaced_above_population"),  # Đông Hà has 8,000 people
    ],
)
def test_a_refused_sms_report_says_why_and_stores_nothing(site, phone, text, code):
    incident = site.incident()
    assert sms(site, PHONES[phone], text).json() == {"result": code}
    assert _reports(site, incident["id"]) == []
    [answer] = answers(site, PHONES[phone])[-1:]
    assert answer.startswith("Loi: ") and len(answer) <= SMS_LENGTH

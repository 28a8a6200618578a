"""Incoming SMS rate limit per number (api/services/sms_in.py): beyond ``RATE_LIMIT`` in a
minute, one answer "Qua nhieu tin nhan, vui long cho 1 phut", then silence until the window
passes; counted in the database, so two app instances on one database share the count."""

from __future__ import annotations

import datetime as dt

from api.services.sms_in import RATE_LIMIT, RATE_WINDOW
from tests.fast import test_sms as _sms
from tests.fast.conftest import GIVES

site, sms_app = _sms.site, _sms.sms_app  # the fast tier's app with an SMS secret, phones
PHONES, sms, answers = _sms.PHONES, _sms.sms, _sms.answers
TOO_MANY = "Qua nhieu tin nhan, vui long cho 1 phut"


def _send(site, phone: str, n: int, start: int = 0) -> list[str]:
    """``n`` help requests from ``phone`` (each its own Kannel id: none is a repeat)."""
    return [sms(site, phone, "hd", id=f"{phone}-{start + k}").json()["result"] for k in range(n)]


def test_beyond_the_limit_one_answer_then_silence_and_nothing_applied(site):
    phone = PHONES["tayson"]
    assert _send(site, phone, RATE_LIMIT) == ["ok"] * RATE_LIMIT
    assert len(answers(site, phone)) == RATE_LIMIT
    assert _send(site, phone, 1, RATE_LIMIT) == ["rate_limited"]
    assert answers(site, phone)[-1] == TOO_MANY
    assert answers(site, phone)[-1].isascii()
    # an offer beyond the limit is not applied, and gets no answer
    site.stock(GIVES, "tayson", boats=20)
    request = site.ask(site.incident(), 10)
    r = sms(site, phone, f"GIUP {request['id']} 5", id="over-1")
    assert r.json() == {"result": "rate_limited_silent"}
    assert site.request_now(request)["offers"] == []
    assert _send(site, phone, 3, 100) == ["rate_limited_silent"] * 3
    assert answers(site, phone).count(TOO_MANY) == 1
    # another number is not limited by this one
    assert _send(site, PHONES["bacly"], 1) == ["ok"]


def test_an_unknown_number_is_limited_too(site):
    phone = "+84977000111"
    assert _send(site, phone, RATE_LIMIT + 3) == ["unknown_number"] * RATE_LIMIT + [
        "rate_limited",
        "rate_limited_silent",
        "rate_limited_silent",
    ]
    assert len(answers(site, phone)) == RATE_LIMIT + 1


def test_two_instances_on_one_database_share_the_count_and_it_ends_with_the_window(site, tmp_path):
    """A second app on the same database (another worker or process) sees the first's SMS;
    a minute after the last one, the number is served again."""
    from fastapi.testclient import TestClient

    from api.db import session_scope
    from api.main import create_app
    from api.models import utcnow
    from api.services.sms_in import handle_incoming

    phone = PHONES["dongha"]
    settings = site.client.app.state.lienxa.settings
    with TestClient(create_app(settings)) as other:
        assert _send(site, phone, RATE_LIMIT - 4) == ["ok"] * (RATE_LIMIT - 4)
        second = _sms.Site(other, site.tokens)
        assert _send(second, phone, 4, 50) == ["ok"] * 4
        assert _send(site, phone, 1, 60) == ["rate_limited"]
        assert _send(second, phone, 1, 70) == ["rate_limited_silent"]
    state = site.client.app.state.lienxa
    later = utcnow() + RATE_WINDOW + dt.timedelta(seconds=1)
    with session_scope(state.write_session) as s:
        out = handle_incoming(
            s,
            phone=phone,
            text="hd",
            kannel_id="after-the-window",
            communes_by_province=state.communes_by_province,
            clock=lambda: later,
        )
    assert out.result == "ok"
    assert answers(site, phone).count(TOO_MANY) == 1

"""What must hold when several servers share one database: each check acts through the proxy
on one backend ("A") and looks on another ("B"), and raises ``AssertionError`` saying what
differed. Used as tests (``tests/api/test_multi_server.py``) and by
``bench/bench_multiserver.py``, which records each outcome.
"""

from __future__ import annotations

import json
import re
import threading
import time
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.api.conftest import PASSWORD
from tests.api.multiserver import SERVED_BY, Site
from tests.conftest import SCENARIO

#: Users the checks need for themselves (each check ends or throttles one user's sessions).
CHECK_USERS = {
    "ms_logout": "17254",
    "ms_passwd": "17254",
    "ms_reset": "17254",
    "ms_disable": "17254",
    "ms_rate": "17254",
    "ms_form": "16876",
}
NEW_PASSWORD = "một-mật-khẩu-mới-dài"


def add_check_users(db_url: str) -> dict[str, int]:
    """Add :data:`CHECK_USERS` (commune leaders, password :data:`PASSWORD`); their ids."""
    from api.db import make_engine, make_sessionmaker, session_scope
    from api.services.users import add_user

    engine = make_engine(db_url)
    _, write = make_sessionmaker(engine)
    ids = {}
    with session_scope(write) as s:
        for name, commune in CHECK_USERS.items():
            add_user(s, name, PASSWORD, "commune_leader", commune=commune, actor="test-setup")
        s.flush()
        from sqlalchemy import select

        from api.models import User

        for u in s.scalars(select(User).where(User.username.in_(list(CHECK_USERS)))):
            ids[u.username] = u.id
    engine.dispose()
    return ids


class Gateway:
    """A stand-in for Kannel's ``sendsms``: answers 202 and records who sent what (each backend
    is given its own URL, ``...?server=NAME``)."""

    def __init__(self) -> None:
        self.got: list[tuple[str, str, str]] = []  # (server, to, text)
        lock = threading.Lock()
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                with lock:
                    got.append((q["server"][0], q["to"][0], q["text"][0]))
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, server: str) -> str:
        return f"http://127.0.0.1:{self.port}/cgi-bin/sendsms?user=u&pass=p&server={server}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _me(site: Site, on: str, token: str) -> tuple[int, str]:
    with site.client(on, token=token) as c:
        r = c.get("/api/v1/auth/me")
    assert r.headers.get(SERVED_BY) == on, f"asked for {on}, answered by {r.headers}"
    code = r.json().get("code", "") if r.status_code != 200 else ""
    return r.status_code, code


def check_round_robin(site: Site, **_: Any) -> str:
    """Requests without a pick go to every backend in turn."""
    with site.client() as c:
        seen = [c.get("/healthz").headers.get(SERVED_BY) for _ in range(3 * len(site.names))]
    assert set(seen) == set(site.names), seen
    return f"{len(seen)} requests over {sorted(set(seen))}"


def check_token_from_a_works_on_b(site: Site, **_: Any) -> str:
    """A token issued by one server is accepted by every other."""
    for a in site.names:
        token = site.log_in("conc", PASSWORD, on=a)
        for b in site.names:
            assert _me(site, b, token) == (200, ""), (a, b)
    return f"tokens of each of {site.names} accepted by all"


def check_logout_on_b_ends_session_on_a(site: Site, **_: Any) -> str:
    """ "Log out everywhere" on B refuses the token on A at once."""
    a, b = site.names[0], site.names[1]
    token = site.log_in("ms_logout", PASSWORD, on=a)
    assert _me(site, a, token) == (200, "")
    with site.client(b, token=token) as c:
        r = c.post("/api/v1/auth/logout-all")
    assert r.status_code == 200, r.text
    assert _me(site, a, token) == (401, "token_revoked")
    return "401 token_revoked on A right after logout-all on B"


def check_password_change_on_b_ends_session_on_a(site: Site, **_: Any) -> str:
    """A password changed on B: the old token is refused on A, the new one accepted."""
    a, b = site.names[0], site.names[1]
    old = site.log_in("ms_passwd", PASSWORD, on=a)
    with site.client(b, token=old) as c:
        r = c.post(
            "/api/v1/auth/password",
            json={"old_password": PASSWORD, "new_password": NEW_PASSWORD},
        )
    assert r.status_code == 200, r.text
    assert _me(site, a, old) == (401, "token_revoked")
    assert _me(site, a, r.json()["access_token"]) == (200, "")
    return "old token 401 token_revoked on A; the new token from B works on A"


def check_reset_and_disable_on_b_end_sessions_on_a(
    site: Site, ids: dict[str, int], **_: Any
) -> str:
    """An admin's password reset and disabling, both on B, end the user's sessions on A."""
    a, b = site.names[0], site.names[1]
    admin = site.log_in("admin", PASSWORD, on=b)
    reset = site.log_in("ms_reset", PASSWORD, on=a)
    gone = site.log_in("ms_disable", PASSWORD, on=a)
    with site.client(b, token=admin) as c:
        r1 = c.patch(f"/api/v1/users/{ids['ms_reset']}", json={"password": NEW_PASSWORD})
        r2 = c.patch(f"/api/v1/users/{ids['ms_disable']}", json={"active": False})
    assert r1.status_code == 200 and r2.status_code == 200, (r1.text, r2.text)
    assert _me(site, a, reset) == (401, "token_revoked")
    assert _me(site, a, gone) == (401, "unknown_or_disabled_user")
    return "reset: 401 token_revoked on A; disabled: 401 unknown_or_disabled_user on A"


def check_login_failures_count_across_servers(site: Site, **_: Any) -> str:
    """Failed logins from one address on A and B together reach the limit (5): the next try
    from that address is 429 on either, also with a forged ``X-Forwarded-For`` (the servers
    believe the proxy's last entry only); the owner at another address still gets in."""
    guesser, owner = "127.0.0.2", "127.0.0.3"
    codes = []
    for k in range(5):
        on = site.names[k % 2]
        with site.client(on, source=guesser) as c:
            r = c.post("/api/v1/auth/token", data={"username": "ms_rate", "password": f"sai-{k}"})
        assert r.headers.get(SERVED_BY) == on
        codes.append(r.status_code)
    assert codes == [401] * 5, codes
    for on in site.names[:2]:
        with site.client(on, source=guesser) as c:
            r = c.post("/api/v1/auth/token", data={"username": "ms_rate", "password": PASSWORD})
        assert r.status_code == 429, (on, r.status_code, r.text)
        assert r.json()["code"] == "too_many_attempts"
    with site.client(site.names[1], source=guesser) as c:  # a forged address does not help
        forged = {"X-Forwarded-For": "10.9.9.9"}
        r = c.post(
            "/api/v1/auth/token",
            data={"username": "ms_rate", "password": PASSWORD},
            headers=forged,
        )
    assert r.status_code == 429, ("forged X-Forwarded-For", r.status_code)
    with site.client(site.names[0], source=owner) as c:
        r = c.post("/api/v1/auth/token", data={"username": "ms_rate", "password": PASSWORD})
    assert r.status_code == 200, r.text
    return (
        "5 failures alternating A/B from 127.0.0.2 -> 429 on A and B (forged XFF too); "
        "127.0.0.3 gets in"
    )


_INPUT = re.compile(r'<input type="hidden" name="(csrf_token|idempotency_key)" value="([^"]+)"')


def _inventory_form(html: str) -> dict[str, str]:
    start = html.index('action="/commune/inventory"')
    block = html[start : html.index("</form>", start)]
    return dict(_INPUT.findall(block))


def _boats(site: Site, token: str, code: str) -> int:
    with site.client(site.names[0], token=token) as c:
        items: dict[str, int] = c.get(f"/api/v1/communes/{code}/inventory").json()["items"]
    return items.get("boats", 0)


def check_one_time_form_token_used_on_a_is_refused_on_b(site: Site, **_: Any) -> str:
    """A page's form sent on A (its CSRF token from A) acts; the same one-time token sent on B
    with other content is refused (422 "already sent") and changes nothing; a form rendered on
    A and first sent on B is accepted (CSRF holds across servers)."""
    a, b = site.names[0], site.names[1]
    token = site.log_in("ms_form", PASSWORD, on=a)
    cookies = {"lienxa_session": token}

    def page(on: str) -> dict[str, str]:
        with site.client(on) as c:
            c.cookies.update(cookies)
            r = c.get("/commune")
        assert r.status_code == 200 and r.headers.get(SERVED_BY) == on, r.status_code
        return _inventory_form(r.text)

    def send(on: str, form: dict[str, str], boats: int) -> int:
        with site.client(on) as c:
            c.cookies.update(cookies)
            r = c.post(
                "/commune/inventory", data={**form, "code": "16876", "inv_boats": str(boats)}
            )
        assert r.headers.get(SERVED_BY) == on
        return r.status_code

    form = page(a)
    assert send(a, form, 41) == 303
    assert _boats(site, token, "16876") == 41
    assert send(b, form, 42) == 422  # the same one-time token, other content
    assert _boats(site, token, "16876") == 41
    assert send(b, form, 41) == 303  # the same form again: a replay, nothing done
    fresh = page(a)
    assert send(b, fresh, 43) == 303  # rendered on A, sent on B
    assert _boats(site, token, "16876") == 43
    return "A acted; B refused the used token (422), replayed the same post; A's form sent on B"


def _incident(site: Site, token: str, on: str, name: str) -> dict[str, Any]:
    scenario = json.loads(SCENARIO.read_text()) | {"name": name}
    with site.client(on, token=token) as c:
        r = c.post("/api/v1/incidents", json=scenario)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def check_idempotency_key_replayed_on_b(site: Site, **_: Any) -> str:
    """A POST with an ``Idempotency-Key`` answered on A, repeated on B: A's answer, nothing new."""
    a, b = site.names[0], site.names[1]
    bch = site.log_in("bchqs", PASSWORD, on=a)
    conc = site.log_in("conc", PASSWORD, on=a)
    inc = _incident(site, bch, a, "multi-server idempotency")
    body = {"incident_id": inc["id"], "commune": "17254", "resource": "trucks", "quantity": 2}
    body["to"] = ["17248"]
    key = {"Idempotency-Key": "ms-" + str(time.time_ns())}

    def count() -> int:
        with site.client(b, token=conc) as c:
            q = {"commune": "17254", "direction": "outgoing", "incident_id": inc["id"]}
            return len(c.get("/api/v1/requests", params=q).json())

    with site.client(a, token=conc) as c:
        first = c.post("/api/v1/requests", json=body, headers=key)
    with site.client(b, token=conc) as c:
        again = c.post("/api/v1/requests", json=body, headers=key)
    assert first.status_code == again.status_code == 201, (first.text, again.text)
    assert again.headers.get(SERVED_BY) == b and again.headers.get("Idempotent-Replay") == "true"
    assert again.json() == first.json()
    assert count() == 1
    return f"B replayed A's 201 (request {first.json()['id']}), one request stored"


def check_map_cached_on_a_not_stale_on_b(site: Site, **_: Any) -> str:
    """An incident map rendered (and kept) on both A and B; a level change and then a plan made
    through A: B answers the new page (new ETag), never a 304 or its kept copy."""
    a, b = site.names[0], site.names[1]
    bch = site.log_in("bchqs", PASSWORD, on=a)
    inc = _incident(site, bch, a, "multi-server map cache")
    path = f"/maps/incidents/{inc['id']}"

    def get(on: str, etag: str | None = None) -> tuple[int, str]:
        with site.client(on, token=bch) as c:
            r = c.get(path, headers={"If-None-Match": etag} if etag else {})
        assert r.headers.get(SERVED_BY) == on
        return r.status_code, r.headers["ETag"].removeprefix("W/")

    status, tag = get(a)
    assert status == 200
    assert get(b) == (200, tag)  # the same map has the same tag on every server
    assert get(b, tag) == (304, tag)
    tags = [tag]
    for change in ("level", "plan"):
        with site.client(a, token=bch) as c:
            if change == "level":
                r = c.patch(f"/api/v1/incidents/{inc['id']}", json={"risk_level": 4})
            else:
                r = c.post(f"/api/v1/incidents/{inc['id']}/plan", json={})
        assert r.status_code == 200, r.text
        status, new = get(b, tags[-1])
        assert status == 200 and new not in tags, (change, status, new, tags)
        assert get(a, new) == (304, new)
        tags.append(new)
    return "after a level change and a plan on A, B answered 200 with a new ETag each time"


def check_two_plans_at_once_on_a_and_b(site: Site, tries: int = 3, **_: Any) -> str:
    """The same incident planned (with its requests) on A and on B at the same moment: both
    answer (200, or 409 ``plan_inputs_changed``), never a 500, and nothing is asked twice."""
    import collections

    a, b = site.names[0], site.names[1]
    bch = site.log_in("bchqs", PASSWORD, on=a)
    seen = []

    def plan(on: str, inc_id: int, out: dict[str, int], start: threading.Barrier) -> None:
        with site.client(on, token=bch) as c:
            start.wait()
            r = c.post(f"/api/v1/incidents/{inc_id}/plan", json={"create_requests": True})
        out[on] = r.status_code

    for k in range(tries):
        inc = _incident(site, bch, a, f"multi-server plans at once {k}")
        answers: dict[str, int] = {}
        start = threading.Barrier(2)
        threads = [
            threading.Thread(target=plan, args=(on, inc["id"], answers, start)) for on in (a, b)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with site.client(a, token=bch) as c:
            rows = c.get("/api/v1/requests", params={"incident_id": inc["id"]}).json()
        twice = [
            k
            for k, n in collections.Counter((r["commune"], r["resource"]) for r in rows).items()
            if n > 1
        ]
        assert set(answers.values()) <= {200, 409} and 200 in answers.values(), answers
        assert rows and not twice, f"asked twice: {twice}"
        seen.append(f"{answers[a]}/{answers[b]}")
    return f"{tries} tries, answers A/B {seen}, each need asked once"


def check_sms_outbox_sent_once_by_two_servers(
    site: Site, gateway: Gateway | None = None, n: int = 60, **_: Any
) -> str:
    """SMS put in the outbox are sent by the servers' senders together, each exactly once."""
    assert gateway is not None, "the backends need a gateway (LIENXA_SMS_SEND_URL)"
    from api.db import make_engine, make_sessionmaker, session_scope
    from api.models import SmsOutgoing

    engine = make_engine(site.db_url)
    _, write = make_sessionmaker(engine)
    before = len(gateway.got)
    stamp = time.time_ns()
    with session_scope(write) as s:
        for k in range(n):
            s.add(
                SmsOutgoing(key=f"ms-{stamp}-{k}", to_phone=f"+849120{k:05d}", message="sms.help")
            )
    deadline = time.monotonic() + 60
    while len(gateway.got) - before < n and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.5)  # a second send of any row would come within a poll or two
    engine.dispose()
    got = gateway.got[before:]
    phones = [to for _, to, _ in got]
    assert len(got) == n and len(set(phones)) == n, f"{len(got)} posts for {len(set(phones))}"
    by = {s: sum(1 for who, _, _ in got if who == s) for s in sorted({w for w, _, _ in got})}
    return f"{n} SMS, each sent once; by server: {by}"


#: Every check, in the order they run (the last ones end sessions of their own users only).
CHECKS: list[Callable[..., str]] = [
    check_round_robin,
    check_token_from_a_works_on_b,
    check_logout_on_b_ends_session_on_a,
    check_password_change_on_b_ends_session_on_a,
    check_reset_and_disable_on_b_end_sessions_on_a,
    check_login_failures_count_across_servers,
    check_one_time_form_token_used_on_a_is_refused_on_b,
    check_idempotency_key_replayed_on_b,
    check_map_cached_on_a_not_stale_on_b,
    check_two_plans_at_once_on_a_and_b,
    check_sms_outbox_sent_once_by_two_servers,
]

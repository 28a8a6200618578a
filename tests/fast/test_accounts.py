"""Accounts in a storm (issue 13): a guesser is slowed but never locks out the owner; password
change, "log out everywhere" and disabling revoke tokens in every worker; a user's province
and commune are real codes."""

from __future__ import annotations

import itertools
import re

import pytest
from fastapi.testclient import TestClient

from tests.fast.inprocess import PASSWORD, running_service, tiny_geodata

NEW_PASSWORD = "một-mật-khẩu-mới-dài"
_names = itertools.count(1)
_hosts = itertools.count(1)


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    """One service for the module: each test makes its own users (:func:`new_user`) and uses
    its own addresses, so that revocations and failure counts of one do not reach another.
    Passwords are hashed with cheap argon2 parameters here, so that the many logins are quick
    (the service uses the library's defaults)."""
    from argon2 import PasswordHasher

    import api.auth
    import api.services.login

    cheap = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # the tests' speed only
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(api.auth, "_hasher", cheap)
        mp.setattr(api.services.login, "_DUMMY_HASH", cheap.hash("lienxa: no such user"))
        with running_service(tmp_path_factory.mktemp("accounts")) as service:
            yield service


@pytest.fixture
def limit(svc, monkeypatch) -> int:
    """A lower failure limit than the default for this test (fewer argon2 checks to wait for)."""
    monkeypatch.setattr(svc.state.settings, "login_max_failures", 2)
    return 2


def address() -> tuple[str, int]:
    """A client address no other test uses."""
    return (f"198.51.100.{next(_hosts)}", 40000)


def from_address(svc, where: tuple[str, int] | None = None) -> TestClient:
    """A client of the running app whose requests come from ``where`` (a new address)."""
    return TestClient(svc.client.app, client=where or address())


def log_in(client: TestClient, username: str, password: str):
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def me(svc, token: str):
    return svc.client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})


def new_user(svc, **binding: str) -> tuple[str, int, str]:
    """A new user made by the admin (a leader of 10003 unless said), logged in: its name, id
    and token."""
    name = f"acct{next(_names)}"
    binding = binding or {"role": "commune_leader", "commune": "10003"}
    body = {"username": name, "password": PASSWORD, **binding}
    r = svc.call("admin", "POST", "/users", json=body)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = log_in(from_address(svc), name, PASSWORD)
    assert r.status_code == 200, r.text
    return name, uid, r.json()["access_token"]


def call(svc, token: str, method: str, path: str, **kw):
    return svc.client.request(
        method, "/api/v1" + path, headers={"Authorization": f"Bearer {token}"}, **kw
    )


def test_fifty_wrong_passwords_from_one_address_do_not_lock_out_the_owner(svc):
    name, _, _ = new_user(svc)
    attacker, owner = from_address(svc), from_address(svc)
    limit = svc.state.settings.login_max_failures  # the default: 5
    answers = [log_in(attacker, name, f"sai-{k}-mật-khẩu").status_code for k in range(50)]
    assert answers[:limit] == [401] * limit
    assert set(answers[limit:]) == {429}
    r = log_in(attacker, name, PASSWORD)  # even the right password, from the guesser's address
    assert r.status_code == 429, r.text
    assert r.json()["code"] == "too_many_attempts"
    assert int(r.headers["Retry-After"]) > 0
    assert r.json()["params"]["minutes"] >= 1
    r = log_in(owner, name, PASSWORD)  # the owner elsewhere gets in
    assert r.status_code == 200, r.text
    assert me(svc, r.json()["access_token"]).status_code == 200
    # the owner's success does not give the guesser a fresh allowance
    assert log_in(attacker, name, "one-more-guess").status_code == 429


def test_spraying_many_usernames_from_one_address_is_throttled_there_only(svc, limit):
    name, _, _ = new_user(svc)
    sprayer = from_address(svc)
    guesses = [log_in(sprayer, f"nobody{k}", "wrong-guess").status_code for k in range(4 * limit)]
    assert guesses == [401] * (4 * limit)  # never the limit on one username
    r = log_in(sprayer, name, PASSWORD)
    assert r.status_code == 429 and r.json()["code"] == "too_many_attempts", r.text
    assert log_in(from_address(svc), name, PASSWORD).status_code == 200


def test_failures_from_many_addresses_only_delay_the_username(svc, limit, monkeypatch):
    import api.services.login as login

    name, _, _ = new_user(svc)
    delays: list[float] = []
    monkeypatch.setattr(login.time, "sleep", delays.append)
    for _ in range(limit + 3):  # a guesser spread over many addresses, one guess each
        assert log_in(from_address(svc), name, "guess").status_code == 401
    first = login.FIRST_USER_DELAY
    assert delays == [first, 2 * first, 4 * first]  # none under the limit, then doubling
    r = log_in(from_address(svc), name, PASSWORD)
    assert r.status_code == 200, r.text  # slowed, never refused
    assert delays[-1] == 8 * first <= login.MAX_USER_DELAY


def test_an_unknown_username_costs_an_argon2_check_too(svc, monkeypatch):
    import api.services.login as login

    checked: list[str] = []
    real = login.verify_password
    monkeypatch.setattr(login, "verify_password", lambda h, p: checked.append(h) or real(h, p))
    assert log_in(from_address(svc), "no-such-user", "whatever-guess").status_code == 401
    assert checked == [login._DUMMY_HASH]


def test_a_password_change_revokes_every_older_token(svc):
    name, _, token = new_user(svc)
    other = log_in(from_address(svc), name, PASSWORD).json()["access_token"]  # a second device
    change = {"old_password": "wrong-password", "new_password": NEW_PASSWORD}
    r = call(svc, token, "POST", "/auth/password", json=change)
    assert r.status_code == 401 and r.json()["code"] == "wrong_old_password", r.text
    assert r.json()["field"] == "old_password"
    change = {"old_password": PASSWORD, "new_password": "short"}
    r = call(svc, token, "POST", "/auth/password", json=change)
    assert r.status_code == 422 and r.json()["field"] == "password", r.text
    change = {"old_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = call(svc, token, "POST", "/auth/password", json=change)
    assert r.status_code == 200, r.text
    fresh = r.json()["access_token"]
    for old in (token, other):
        r = me(svc, old)
        assert r.status_code == 401 and r.json()["code"] == "token_revoked", r.text
    assert me(svc, fresh).status_code == 200
    assert log_in(from_address(svc), name, PASSWORD).status_code == 401
    assert log_in(from_address(svc), name, NEW_PASSWORD).status_code == 200
    entries = svc.call("planner", "GET", "/audit", params={"entity": "user"}).json()
    assert entries[0]["action"] == "user.password"
    assert entries[0]["actor"].startswith(name)


def test_log_out_everywhere_ends_every_session_and_is_audited(svc):
    name, _, token = new_user(svc)
    second = log_in(from_address(svc), name, PASSWORD).json()["access_token"]
    r = call(svc, token, "POST", "/auth/logout-all")
    assert r.status_code == 200 and r.json() == {"ok": True}, r.text
    for old in (token, second):
        assert me(svc, old).json()["code"] == "token_revoked"
    assert me(svc, svc.tokens["lead1"]).status_code == 200  # nobody else's
    again = log_in(from_address(svc), name, PASSWORD).json()["access_token"]
    assert me(svc, again).status_code == 200
    entries = svc.call("planner", "GET", "/audit", params={"entity": "user"}).json()
    assert entries[0]["action"] == "user.logout_all"


def test_a_revocation_reaches_another_worker_at_once(svc):
    """Two app instances over one database are two workers: the version is in the database."""
    from api.main import create_app

    _, _, token = new_user(svc)
    with TestClient(create_app(svc.state.settings, geodata=tiny_geodata())) as other_worker:
        auth = {"Authorization": f"Bearer {token}"}
        assert other_worker.get("/api/v1/auth/me", headers=auth).status_code == 200
        assert call(svc, token, "POST", "/auth/logout-all").status_code == 200
        r = other_worker.get("/api/v1/auth/me", headers=auth)
        assert r.status_code == 401 and r.json()["code"] == "token_revoked"


def test_an_admin_disables_and_enables_a_user(svc):
    name, uid, token = new_user(svc)
    assert {u["username"]: u for u in svc.call("admin", "GET", "/users").json()}[name]["active"]
    r = svc.call("planner", "PATCH", f"/users/{uid}", json={"active": False})
    assert r.status_code == 403 and r.json()["code"] == "role_required"
    r = svc.call("admin", "PATCH", "/users/999999", json={"active": False})
    assert r.status_code == 404 and r.json()["code"] == "user_not_found"
    r = svc.call("admin", "PATCH", f"/users/{uid}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False, r.text
    r = me(svc, token)
    assert r.status_code == 401 and r.json()["code"] == "unknown_or_disabled_user"
    assert log_in(from_address(svc), name, PASSWORD).json()["code"] == "wrong_credentials"
    r = svc.call("admin", "PATCH", f"/users/{uid}", json={"active": True})
    assert r.status_code == 200 and r.json()["active"] is True
    assert me(svc, token).json()["code"] == "token_revoked"  # an ended session stays ended
    assert log_in(from_address(svc), name, PASSWORD).status_code == 200
    entries = svc.call("admin", "GET", "/audit", params={"entity": "user"}).json()
    assert [e["action"] for e in entries[:2]] == ["user.enable", "user.disable"]
    assert entries[1]["entity_id"] == str(uid)


def test_an_admin_password_reset_revokes_the_users_tokens(svc):
    name, uid, token = new_user(svc)
    r = svc.call("admin", "PATCH", f"/users/{uid}", json={"password": NEW_PASSWORD})
    assert r.status_code == 200, r.text
    assert me(svc, token).json()["code"] == "token_revoked"
    assert log_in(from_address(svc), name, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("field", "binding"),
    [
        ("province", {"role": "defence_command", "province": "99"}),
        ("commune", {"role": "commune_leader", "commune": "99999"}),
    ],
)
def test_a_user_bound_to_an_unknown_province_or_commune_is_422_naming_it(svc, field, binding):
    body = {"username": f"bad-{field}", "password": PASSWORD, **binding}
    r = svc.call("admin", "POST", "/users", json=body)
    assert r.status_code == 422, r.text
    assert (r.json()["field"], r.json()["code"]) == (field, f"unknown_{field}")
    assert body["username"] not in {
        u["username"] for u in svc.call("admin", "GET", "/users").json()
    }


def test_a_user_bound_to_a_province_of_the_boundaries_is_created(svc):
    _, _, token = new_user(svc, role="defence_command", province="10")
    assert me(svc, token).json()["province"] == "10"


@pytest.mark.parametrize(
    "username",
    ["nul\x00name", "x" * 300, "lead1\x00"],
    ids=["nul", "long", "nul-suffix"],
)
def test_a_username_no_database_can_store_is_a_wrong_login_not_a_500(svc, username):
    r = from_address(svc).post(
        "/api/v1/auth/token", data={"username": username, "password": "some-guess"}
    )
    assert r.status_code == 401 and r.json()["code"] == "wrong_credentials", r.text


def test_the_pages_log_out_everywhere_button_ends_every_session(svc):
    from api.auth import SESSION_COOKIE

    _, _, token = new_user(svc)
    other = log_in(from_address(svc), *_credentials_of(svc, token)).json()["access_token"]
    page = TestClient(svc.client.app, cookies={SESSION_COOKIE: token})
    csrf = svc.state.tokens.csrf_for(token)
    assert "Thoát trên mọi thiết bị" in page.get("/commune").text  # the button, worded
    r = page.post("/logout", data={"csrf_token": csrf, "everywhere": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    for old in (token, other):
        assert me(svc, old).json()["code"] == "token_revoked"


def test_the_pages_plain_log_out_ends_only_that_cookie(svc):
    from api.auth import SESSION_COOKIE

    _, _, token = new_user(svc)
    page = TestClient(svc.client.app, cookies={SESSION_COOKIE: token})
    r = page.post(
        "/logout", data={"csrf_token": svc.state.tokens.csrf_for(token)}, follow_redirects=False
    )
    assert r.status_code == 303
    assert me(svc, token).status_code == 200  # the bearer token elsewhere still works


def _credentials_of(svc, token: str) -> tuple[str, str]:
    return me(svc, token).json()["username"], PASSWORD


def _account_page(svc, token: str) -> tuple[TestClient, str]:
    from api.auth import SESSION_COOKIE

    page = TestClient(svc.client.app, cookies={SESSION_COOKIE: token}, client=address())
    return page, svc.state.tokens.csrf_for(token)


def test_the_account_page_changes_the_password_and_keeps_this_session(svc):
    from api.auth import SESSION_COOKIE

    name, _, token = new_user(svc)
    other = log_in(from_address(svc), name, PASSWORD).json()["access_token"]
    page, csrf = _account_page(svc, token)
    assert "Đổi mật khẩu" in page.get("/account").text
    form = {"csrf_token": csrf, "old_password": PASSWORD, "new_password": NEW_PASSWORD}
    r = page.post("/account/password", data={**form, "confirm": NEW_PASSWORD})
    assert r.status_code == 200 and 'id="password-changed"' in r.text, r.text
    fresh = r.cookies.get(SESSION_COOKIE)
    assert fresh and me(svc, fresh).status_code == 200  # this device goes on
    for old in (token, other):  # every other session ended
        assert me(svc, old).json()["code"] == "token_revoked"
    assert log_in(from_address(svc), name, PASSWORD).status_code == 401
    assert log_in(from_address(svc), name, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("old", "new", "confirm", "field", "words"),
    [
        ("sai-mật-khẩu-cũ", NEW_PASSWORD, NEW_PASSWORD, "old_password", "không đúng"),
        (PASSWORD, "ngắn", "ngắn", "new_password", "ký tự"),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "confirm", "không giống nhau"),
        ("", NEW_PASSWORD, NEW_PASSWORD, "old_password", "Bắt buộc"),
    ],
)
def test_a_refused_password_change_says_why_next_to_the_field_and_changes_nothing(
    svc, old, new, confirm, field, words
):
    name, _, token = new_user(svc)
    page, csrf = _account_page(svc, token)
    r = page.post(
        "/account/password",
        data={"csrf_token": csrf, "old_password": old, "new_password": new, "confirm": confirm},
    )
    assert r.status_code == 422
    shown = re.search(f'id="err-{field}">([^<]*)<', r.text)
    assert shown and words in shown.group(1), r.text
    assert me(svc, token).status_code == 200  # nothing revoked
    assert log_in(from_address(svc), name, PASSWORD).status_code == 200


def test_the_account_form_without_its_csrf_token_is_refused(svc):
    _, _, token = new_user(svc)
    page, _ = _account_page(svc, token)
    form = {"old_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    r = page.post("/account/password", data=form)
    assert r.status_code == 403
    assert me(svc, token).status_code == 200


def test_a_lone_surrogate_as_the_new_password_is_refused_not_a_500(svc):
    name, _, token = new_user(svc)
    r = svc.client.post(
        "/api/v1/auth/password",
        content=b'{"old_password": "x", "new_password": "\\ud800abcdefghijkl"}',
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    assert r.status_code in (400, 422) and r.json()["code"], r.text
    assert me(svc, token).status_code == 200  # nothing changed
    assert log_in(from_address(svc), name, PASSWORD).status_code == 200

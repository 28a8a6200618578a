"""Pages under pressure: error pages in the page language, CSRF on login and logout, forms sent
twice on a weak link, and the defence command seeing aid on its way. A real server (its own
database) over HTTP, and headless Chromium where the browser's behaviour is the point."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser

import httpx
import pytest

from tests.api.conftest import PASSWORD
from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch

CONC, CHAUKHE = "17254", "17248"  # Con Cuông asks, Châu Khê (its neighbour) helps


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(
        tmp_path_factory.mktemp("web-safety"), ("bchqs", "conc", "chaukhe")
    ) as s:
        yield s


class _Forms(HTMLParser):
    """The forms of a page: ``[(action, {field: value})]`` (inputs, selected options, textareas)."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, dict[str, str]]] = []
        self._select: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append((a.get("action", ""), {}))
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            self.forms[-1][1][a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a.get("name")
        elif (
            tag == "option"
            and self._select
            and (self._select not in self.forms[-1][1] or "selected" in a)
        ):
            self.forms[-1][1][self._select] = a.get("value", "")


def forms_of(html: str) -> list[tuple[str, dict[str, str]]]:
    p = _Forms()
    p.feed(html)
    return p.forms


def form(html: str, action: str) -> dict[str, str]:
    found = [f for a, f in forms_of(html) if a == action]
    assert found, f"no form posting to {action}"
    return dict(found[0])


@contextmanager
def page_client(site, user: str, *, lang: str | None = None) -> Iterator[httpx.Client]:
    """A client logged in through the login form, as a browser would."""
    with httpx.Client(
        base_url=site["url"], timeout=60, cookies={"lang": lang} if lang else None
    ) as c:
        fields = form(c.get("/login").text, "/login")
        r = c.post("/login", data={**fields, "username": user, "password": PASSWORD})
        assert r.status_code == 303, r.text
        yield c


def api(site, user: str) -> httpx.Client:
    return httpx.Client(
        base_url=site["url"] + "/api/v1",
        timeout=60,
        headers={"Authorization": f"Bearer {site['tokens'][user]}"},
    )


def outgoing(site, commune: str = CONC) -> list[dict]:
    with api(site, "bchqs") as c:
        return c.get("/requests", params={"commune": commune, "direction": "outgoing"}).json()


# --- 1. error pages -------------------------------------------------------------------------------


def test_page_for_another_role_is_a_403_page_in_the_page_language(site):
    with page_client(site, "conc") as c:
        r = c.get("/command")
        assert r.status_code == 403 and r.headers["content-type"].startswith("text/html")
        assert '<html lang="vi">' in r.text
        assert (
            "Ban Chỉ huy phòng thủ dân sự" in r.text and "lãnh đạo xã" in r.text
        )  # the role needed; the user's
        assert 'href="/"' in r.text and 'href="/login"' in r.text
        c.cookies.set("lang", "en")
        r = c.get("/planner")
        assert r.status_code == 403 and '<html lang="en">' in r.text
        assert "planner" in r.text and "commune leader" in r.text and "403:" not in r.text


def test_commune_outside_the_area_or_unknown_is_a_404_page(site):
    with page_client(site, "conc") as c:
        r = c.get(f"/commune?code={CHAUKHE}")
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
        assert "Xã Con Cuông" in r.text and CONC in r.text and 'href="/commune"' in r.text
    with page_client(site, "bchqs") as c:  # a province's command: its province by name
        r = c.get("/commune")
        assert (
            r.status_code == 404
            and "Nghệ An" in r.text
            and f'href="/commune?code={CONC}"' in r.text
        )
    with page_client(site, "kv3", lang="en") as c:
        r = c.get("/commune")  # a regional command must choose one of its communes
        assert r.status_code == 404 and "Khu vực 3 - Quỳ Châu" in r.text
        assert f'href="/commune?code={CHAUKHE}"' in r.text
        r = c.get("/commune?code=99999")
        assert r.status_code == 404 and "99999" in r.text and "no commune" in r.text


def test_unknown_address_is_a_404_page_for_browsers_and_json_for_the_api(site):
    html = {"Accept": "text/html,application/xhtml+xml"}
    r = httpx.get(site["url"] + "/ban-do-cu", headers=html)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Không có trang này" in r.text and "/ban-do-cu" in r.text
    r = httpx.get(site["url"] + "/ban-do-cu?lang=en", headers=html)
    assert r.status_code == 404 and "No such page" in r.text
    for path in ("/api/v1/khong-co", "/static/khong-co.js"):
        r = httpx.get(site["url"] + path, headers=html)
        assert r.status_code == 404 and r.json() == {"detail": "Not Found"}, path


def test_form_sent_after_the_session_ended_is_a_401_page(site):
    with httpx.Client(base_url=site["url"], timeout=60) as c:
        r = c.post("/commune/requests", data={"code": CONC, "quantity": "3"})
        assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
        assert 'href="/login"' in r.text and "Đăng nhập" in r.text


def test_wrong_role_form_post_is_a_403_page(site):
    with page_client(site, "planner") as c:
        fields = form(c.get("/planner").text, "/planner/rules")
        r = c.post(
            "/commune/inventory",
            data={"csrf_token": fields["csrf_token"], "code": CONC, "inv_boats": "1"},
        )
        assert (
            r.status_code == 403 and "lãnh đạo xã" in r.text and "<form" in r.text
        )  # the page, with logout


def test_error_page_links_back_home_in_a_browser(site, browser):
    w = Watch(browser, site["url"])
    w.login("planner")
    w.page.goto(site["url"] + "/command")
    assert "Ban Chỉ huy phòng thủ dân sự" in w.page.locator("main").inner_text()
    w.shot("error-403")
    w.page.locator("main a[href='/']").click()
    w.page.wait_for_url("**/planner")
    w.close()


# --- 2. CSRF on login and logout ------------------------------------------------------------------


def test_login_without_its_csrf_token_is_refused(site):
    with httpx.Client(base_url=site["url"], timeout=60) as c:
        r = c.post(
            "/login", data={"username": "conc", "password": PASSWORD}
        )  # a cross-site form: no token
        assert r.status_code == 403 and "lienxa_session" not in r.headers.get("set-cookie", "")
        assert "Biểu mẫu đăng nhập" in r.text
        fields = form(c.get("/login").text, "/login")
        for forged in ("forged", "giả mạo"):
            r = c.post(
                "/login",
                data={**fields, "csrf_token": forged, "username": "conc", "password": PASSWORD},
            )
            assert r.status_code == 403 and "lienxa_session" not in r.headers.get("set-cookie", "")
        r = c.post("/login", data={**fields, "username": "conc", "password": PASSWORD})
        assert r.status_code == 303 and "lienxa_session" in r.headers["set-cookie"]


def test_logout_without_its_csrf_token_is_refused(site):
    with page_client(site, "conc") as c:
        assert c.post("/logout", data={"csrf_token": "giả mạo"}).status_code == 403
        r = c.post("/logout")  # what a cross-site form would send
        assert r.status_code == 403 and "lienxa_session" not in r.headers.get("set-cookie", "")
        assert r.headers["content-type"].startswith("text/html") and "Tải lại trang" in r.text
        assert c.get("/commune").status_code == 200  # still logged in
        fields = form(c.get("/commune").text, "/logout")
        r = c.post("/logout", data=fields)
        assert r.status_code == 303 and r.headers["location"] == "/login"
        assert c.get("/commune").status_code == 303  # logged out


def test_logout_button_logs_out_in_a_browser(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    w.page.locator("header button", has_text="Đăng xuất").click()
    w.page.wait_for_url("**/login")
    w.page.goto(site["url"] + "/commune")
    assert w.page.url.endswith("/login")
    w.close()


# --- 3. a form sent twice does its work once ------------------------------------------------------


def test_request_form_sent_twice_creates_one_request(site):
    before = len(outgoing(site))
    with page_client(site, "conc") as c:
        fields = form(c.get("/commune").text, "/commune/requests")
        assert fields.get("idempotency_key")
        data = {
            **fields,
            "incident_id": str(site["incident"]),
            "resource": "boats",
            "quantity": "2",
            "to": CHAUKHE,
            "note": "gửi hai lần",
        }
        first = c.post("/commune/requests", data=data)
        again = c.post("/commune/requests", data=data)  # the browser resends after a timeout
        assert first.status_code == again.status_code == 303
        assert first.headers["location"] == again.headers["location"]
        mine = outgoing(site)
        assert len(mine) == before + 1 and mine[0]["note"] == "gửi hai lần"
        # the same token with other content does nothing and says so in the page language
        r = c.post("/commune/requests", data={**data, "quantity": "5"})
        assert r.status_code == 422 and "đã được gửi" in r.text
        assert len(outgoing(site)) == before + 1
        # a fresh page gives a fresh token: a second, deliberate request is created
        fresh = form(c.get("/commune").text, "/commune/requests")
        assert fresh["idempotency_key"] != fields["idempotency_key"]
        assert (
            c.post(
                "/commune/requests", data={**data, "idempotency_key": fresh["idempotency_key"]}
            ).status_code
            == 303
        )
        assert len(outgoing(site)) == before + 2


def test_offer_accept_dispatch_arrive_and_inventory_forms_sent_twice_act_once(site):
    with api(site, "conc") as c:
        req = c.post(
            "/requests",
            json={
                "incident_id": site["incident"],
                "commune": CONC,
                "resource": "rice_kg",
                "quantity": 10,
                "to": [CHAUKHE],
            },
        ).json()
    with page_client(site, "chaukhe") as ck, page_client(site, "conc") as conc:

        def twice(c, action, data):
            return [c.post(action, data=data).status_code for _ in range(2)]

        offer_form = form(ck.get("/commune").text, f"/commune/requests/{req['id']}/offer")
        assert twice(
            ck, f"/commune/requests/{req['id']}/offer", {**offer_form, f"offer_{req['id']}": "3"}
        ) == [303, 303]
        with api(site, "bchqs") as c:
            offers = c.get(f"/requests/{req['id']}").json()["offers"]
        assert [o["quantity"] for o in offers] == [3]  # one offer, not two
        offer_id = offers[0]["id"]
        for client, action in ((conc, "accept"), (ck, "dispatch"), (conc, "arrive")):
            path = f"/commune/offers/{offer_id}/{action}"
            # the second post repeats the first answer instead of a 422 "cannot accept an
            # accepted offer"
            assert twice(client, path, form(client.get("/commune").text, path)) == [303, 303], (
                action
            )
        with api(site, "bchqs") as c:
            assert [o["status"] for o in c.get(f"/requests/{req['id']}").json()["offers"]] == [
                "arrived"
            ]
        inv = form(ck.get("/commune").text, "/commune/inventory")
        assert twice(ck, "/commune/inventory", {**inv, "inv_generators": "7"}) == [303, 303]
        with api(site, "bchqs") as c:
            entries = c.get("/audit", params={"entity": "inventory", "limit": 500}).json()
        updates = [
            e
            for e in entries
            if e.get("action") == "inventory.update"
            and str(e.get("entity_id")) == CHAUKHE
            and (e.get("after") or {}).get("generators") == 7
        ]
        assert len(updates) == 1


def test_submit_button_is_disabled_once_the_form_is_sent(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    page = w.page
    # hold the post back, as a weak link would: it reaches the route and gets no answer yet
    held = []
    page.route("**/commune/requests", lambda route: held.append(route))
    page.fill("#request-form input[name=quantity]", "1")
    page.click("#request-form button[type=submit]")
    assert page.is_disabled("#request-form button[type=submit]")
    page.evaluate(
        "document.getElementById('request-form').requestSubmit()"
    )  # a second tap or Enter
    round_trip(page)
    assert len(held) == 1
    held[0].abort("aborted")
    w.close()


# --- 4. the defence command sees aid on its way ---------------------------------------------------


def test_command_live_list_shows_offers_in_progress(site, browser):
    with api(site, "conc") as c:
        req = c.post(
            "/requests",
            json={
                "incident_id": site["incident"],
                "commune": CONC,
                "resource": "sandbags",
                "quantity": 40,
                "to": [CHAUKHE],
            },
        ).json()
    with api(site, "chaukhe") as c:
        offer = c.post(
            f"/requests/{req['id']}/offers", json={"commune": CHAUKHE, "quantity": 25}
        ).json()
    with api(site, "conc") as c:
        assert c.post(f"/offers/{offer['id']}/accept").status_code == 200
    w = Watch(browser, site["url"])
    w.login("bchqs")
    row = w.page.locator(f"#live-offers tr#live-offer-{offer['id']}")
    text = row.inner_text()
    assert "Xã Châu Khê" in text and "Xã Con Cuông" in text and "bao cát" in text and "25" in text
    assert "đã chấp nhận" in text
    w.shot("command-in-progress", full_page=True)
    with api(site, "chaukhe") as c:
        assert c.post(f"/offers/{offer['id']}/dispatch").status_code == 200
    w.page.evaluate("window.lxRefresh()")  # the list refreshes itself from the feed
    w.page.wait_for_function(
        f"document.querySelector('#live-offer-{offer['id']}').innerText.includes('đang vận chuyển')"
    )
    w.page.goto(site["url"] + "/lang/en")
    w.page.goto(site["url"] + "/command")
    assert "on its way" in w.page.locator(f"#live-offer-{offer['id']}").inner_text()
    with api(site, "conc") as c:
        assert c.post(f"/offers/{offer['id']}/arrive").status_code == 200
    w.page.evaluate("window.lxRefresh()")  # arrived: no longer in progress
    w.page.wait_for_function(f"!document.querySelector('#live-offer-{offer['id']}')")
    w.close()


# --- 5. forms sent while the link is down wait in a queue -----------------------------------------


def _fill_request(page, note: str) -> None:
    page.select_option("#request-form select[name=resource]", "boats")
    page.fill("#request-form input[name=quantity]", "4")
    page.fill("#request-form input[name=to]", CHAUKHE)
    page.fill("#request-form textarea[name=note]", note)


def round_trip(page) -> None:
    """Until a request the page makes now has been answered: the browser issues a page's
    requests in order, so whatever the page sent before it has reached the routes by then."""
    assert page.evaluate("fetch('/healthz', {cache: 'no-store'}).then(r => r.status)") == 200


def _queued(page) -> list[dict]:
    return page.evaluate("""Object.keys(localStorage).filter(k => k.startsWith('lx-queue:'))
        .flatMap(k => JSON.parse(localStorage.getItem(k)))""")


def test_request_sent_offline_waits_and_is_sent_once_when_back_online(site, browser):
    before = len(outgoing(site))
    w = Watch(browser, site["url"])
    w.login("conc")
    page = w.page
    _fill_request(page, "gửi khi mất mạng")
    w.ctx.set_offline(True)
    page.click("#request-form button[type=submit]")
    banner = page.locator("#lx-queue")
    banner.wait_for(state="visible")
    text = banner.inner_text()
    assert "Mất kết nối: 1 biểu mẫu đang chờ gửi, sẽ tự gửi khi có mạng" in text
    assert "Yêu cầu hỗ trợ" in text and "xuồng" in text and CHAUKHE in text
    # a second tap on the same form queues nothing more; the form can be used again
    page.click("#request-form button[type=submit]")
    assert "Mất kết nối: 1 biểu mẫu" in banner.inner_text() and len(_queued(page)) == 1
    assert not page.is_disabled("#request-form button[type=submit]")
    assert len(outgoing(site)) == before  # nothing reached the server
    w.shot("offline-queue")
    w.ctx.set_offline(False)  # the link is back: sent once, then the page shows the result
    page.wait_for_url("**/commune?code=17254&done=request")
    assert page.locator("#lx-queue").is_hidden()
    assert _queued(page) == []
    mine = outgoing(site)
    assert len(mine) == before + 1
    assert (mine[0]["note"], mine[0]["quantity"], mine[0]["resource"]) == (
        "gửi khi mất mạng",
        4,
        "boats",
    )
    w.close()


def test_form_whose_post_gets_no_answer_is_queued_and_resent_with_its_token(site, browser):
    before = len(outgoing(site))
    w = Watch(browser, site["url"])
    w.login("conc")
    page = w.page
    # the phone thinks it is online, but the post never gets through (a dead link)
    page.route("**/commune/requests", lambda route: route.abort("internetdisconnected"))
    _fill_request(page, "đường truyền chập chờn")
    token = page.input_value("#request-form input[name=idempotency_key]")
    page.click("#request-form button[type=submit]")
    page.locator("#lx-queue").wait_for(state="visible")
    assert "1 biểu mẫu đang chờ gửi" in page.locator("#lx-queue").inner_text()
    assert dict(_queued(page)[0]["fields"])["idempotency_key"] == token
    assert len(outgoing(site)) == before
    page.unroute("**/commune/requests")
    w.failed.clear()  # the aborted post above, on purpose
    page.locator("#lx-queue button").click()  # "send now" (the periodic retry would do it too)
    page.wait_for_url("**done=request")
    assert len(outgoing(site)) == before + 1
    w.close()


def test_queued_form_refused_by_the_server_is_dropped_with_its_error(site, browser):
    with api(site, "conc") as c:
        req = c.post(
            "/requests",
            json={
                "incident_id": site["incident"],
                "commune": CONC,
                "resource": "rice_kg",
                "quantity": 50,
                "to": [CHAUKHE],
            },
        ).json()
    w = Watch(browser, site["url"])
    w.login("chaukhe")
    page = w.page
    posts = []
    page.on(
        "request",
        lambda r: posts.append(r.url) if r.method == "POST" and "/offer" in r.url else None,
    )
    w.ctx.set_offline(True)
    card = page.locator(f"#incoming-{req['id']}")
    card.locator(f"input[name=offer_{req['id']}]").fill("20")
    card.locator("button", has_text="Cam kết hỗ trợ").click()
    page.locator("#lx-queue").wait_for(state="visible")
    assert f"Cam kết hỗ trợ #{req['id']}" in page.locator("#lx-queue").inner_text()
    with api(site, "conc") as c:  # meanwhile the requester withdraws its request
        assert (
            c.post(f"/requests/{req['id']}/cancel", json={"reason": "nước đã rút"}).status_code
            == 200
        )
    w.ctx.set_offline(False)
    refused = page.locator("#lx-refused")
    refused.wait_for(state="visible")
    text = refused.inner_text()
    assert f"Cam kết hỗ trợ #{req['id']}" in text and "(đã hủy)" in text and "không gửi lại" in text
    assert (  # the status in the page language, not "cancelled" inside Vietnamese
        "cancelled" not in text
    )
    assert page.locator("#lx-queue").is_hidden() and _queued(page) == []
    with api(site, "bchqs") as c:
        assert c.get(f"/requests/{req['id']}").json()["offers"] == []
    # dropped, not retried: another "online" and a wait past the retry send nothing more
    page.evaluate("window.dispatchEvent(new Event('online'))")
    round_trip(page)
    assert len(posts) == 1
    w.shot("offline-queue-refused")
    page.locator("#lx-refused button").click()
    assert refused.is_hidden()
    w.close()


def test_queued_forms_are_never_sent_for_another_user(site, browser):
    before = len(outgoing(site))
    w = Watch(browser, site["url"])
    w.login("conc")
    page = w.page
    page.route("**/commune/requests", lambda route: route.abort("internetdisconnected"))
    _fill_request(page, "của xã Con Cuông")
    page.click("#request-form button[type=submit]")
    page.locator("#lx-queue").wait_for(state="visible")
    # the session ends without a logout and someone else logs in on the same phone
    w.ctx.clear_cookies()
    page.unroute("**/commune/requests")
    w.failed.clear()
    w.login("chaukhe")
    assert page.url.endswith("/commune") and _queued(page) == []
    assert page.locator("#lx-queue").is_hidden()
    round_trip(page)
    assert len(outgoing(site)) == before
    # and a logout clears the user's own queue
    page.route("**/commune/requests", lambda route: route.abort("internetdisconnected"))
    _fill_request(page, "của xã Châu Khê")
    page.fill("#request-form input[name=to]", CONC)
    page.click("#request-form button[type=submit]")
    page.locator("#lx-queue").wait_for(state="visible")
    page.locator("header button", has_text="Đăng xuất").click()
    page.wait_for_url("**/login")
    assert _queued(page) == []
    w.failed.clear()
    w.close()


def test_queue_banner_in_english(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    w.page.goto(site["url"] + "/lang/en")
    w.page.goto(site["url"] + "/commune")
    w.page.wait_for_load_state("networkidle")  # the map is loaded before the link goes down
    w.ctx.set_offline(True)
    w.page.fill("#request-form input[name=quantity]", "2")
    w.page.click("#request-form button[type=submit]")
    w.page.locator("#lx-queue").wait_for(state="visible")
    assert "No connection: 1 form is waiting to be sent" in w.page.locator("#lx-queue").inner_text()
    w.page.evaluate("localStorage.clear()")  # not sent: this test is about the words only
    w.close()

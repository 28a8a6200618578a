"""The plan's named asks and outdated requests on a 360 px phone, in Chromium against a real
server: Châu Khê's leader sees what the plan asks of it, prefilled, pledges it and is told
what happened; after the link closes and the command re-plans, both communes and the command
see the request as outdated, and Châu Khê is offered no box for it."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch

CON_CUONG, CHAU_KHE = "17254", "17248"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(
        tmp_path_factory.mktemp("asks"), ("bchqs", "planner", "conc"), incident=False
    ) as s:
        yield s


def api(site, user):
    return httpx.Client(
        base_url=site["url"] + "/api/v1",
        headers={"Authorization": f"Bearer {site['tokens'][user]}"},
        timeout=120,
    )


def _fits(w):
    width = w.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{w.page.url} is {width} px wide on a 360 px phone"


def test_the_helper_sees_the_plan_ask_pledges_it_and_sees_it_outdated(site, browser):
    with api(site, "bchqs") as bch, api(site, "planner") as planner:
        # only Châu Khê has boats to spare among Con Cuông's neighbours: the plan asks it
        neighbours = [
            n["code"]
            for n in bch.get(f"/communes/{CON_CUONG}/neighbours").json()
            if n.get("kind") != "point_touch"
        ]
        for n in neighbours:
            assert bch.put(f"/communes/{n}/inventory", json={"boats": 0}).status_code == 200
        assert bch.put(f"/communes/{CHAU_KHE}/inventory", json={"boats": 30}).status_code == 200
        own = bch.get(f"/communes/{CON_CUONG}/inventory").json()["items"].get("boats", 0)
        incident = bch.post(
            "/incidents",
            json={
                "name": "Lũ quét Con Cuông",
                "risk_level": 3,
                "affected": [{"commune": CON_CUONG, "displaced": 0, "needs": {"boats": own + 10}}],
            },
        ).json()
        r = bch.post(
            f"/incidents/{incident['id']}/plan", json={"create_requests": True, "max_hops": 1}
        )
        assert r.status_code == 200, r.text
        (req,) = [
            q
            for q in planner.get("/requests", params={"incident_id": incident["id"]}).json()
            if q["resource"] == "boats"
        ]
        assert req["asks"] == [{"commune": CHAU_KHE, "quantity": 10}]

    ck = Watch(browser, site["url"], phone=True)
    ck.login("chaukhe")
    card = ck.page.locator(f"#incoming-{req['id']}")
    assert "Kế hoạch đề nghị xã bạn gửi 10 xuồng, ca nô" in card.inner_text()
    assert card.locator(f"input[name=offer_{req['id']}]").input_value() == "10"
    card.scroll_into_view_if_needed()
    _fits(ck)
    ck.shot("phone-helper-ask")
    card.locator("button", has_text="Cam kết hỗ trợ").click()
    ck.page.wait_for_url("**done=offer")
    notice = ck.page.locator("#notice").inner_text()
    assert notice == "Đã cam kết gửi 10 xuồng, ca nô cho Xã Con Cuông"
    ck.shot("phone-helper-pledged")

    with api(site, "bchqs") as bch, api(site, "planner") as planner:
        # the offer is declined, the link closes; another neighbour has boats again
        offer = planner.get(f"/requests/{req['id']}").json()["offers"][0]
        with api(site, "conc") as requester:
            r = requester.post(f"/offers/{offer['id']}/decline")
        assert r.status_code == 200, r.text
        r = planner.post(
            "/rules",
            json={
                "reason": "sạt lở đường",
                "rule": {"type": "close_link", "a": CHAU_KHE, "b": CON_CUONG},
            },
        )
        assert r.status_code in (200, 201), r.text
        other = next(n for n in neighbours if n != CHAU_KHE)
        assert bch.put(f"/communes/{other}/inventory", json={"boats": 30}).status_code == 200
        r = bch.post(
            f"/incidents/{incident['id']}/plan", json={"create_requests": True, "max_hops": 1}
        )
        assert r.status_code == 200, r.text
        assert req["id"] in r.json()["outdated_requests"]

    ck.page.reload()
    card = ck.page.locator(f"#incoming-{req['id']}")
    assert card.locator(f"#outdated-{req['id']}").is_visible()
    assert card.locator(f"input[name=offer_{req['id']}]").count() == 0
    card.scroll_into_view_if_needed()
    _fits(ck)
    ck.shot("phone-helper-outdated")
    ck.close()

    conc = Watch(browser, site["url"], phone=True)
    conc.login("conc")
    assert conc.page.locator(f"#outgoing-{req['id']} #outdated-{req['id']}").is_visible()
    conc.page.locator(f"#outgoing-{req['id']}").scroll_into_view_if_needed()
    _fits(conc)
    conc.shot("phone-requester-outdated")
    conc.close()

    cmd = Watch(browser, site["url"], phone=True)
    cmd.login("bchqs")
    cmd.page.goto(site["url"] + "/command")
    row = cmd.page.locator(f"#live-outdated-{req['id']}")
    row.wait_for(state="attached")
    assert "lỗi thời" in row.inner_text()
    _fits(cmd)
    cmd.shot("phone-command-outdated", full_page=True)
    cmd.close()

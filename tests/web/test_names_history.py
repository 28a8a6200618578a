"""In Chromium, on the real Nghệ An boundaries: a leader picks a neighbour by typing its name
without diacritics, the aid goes the whole way, and both communes' timelines show it after it
arrived (when the commune page no longer does)."""

from __future__ import annotations

import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(tmp_path_factory.mktemp("web-names")) as s:
        yield s


def test_a_neighbour_picked_by_name_and_the_timeline_after_arrival(site, browser):
    conc = Watch(browser, site["url"])
    conc.login("conc")
    page = conc.page
    # the picker offers the neighbours by name, Châu Khê among them
    options = page.locator("#communes-to option")
    assert "Xã Châu Khê" in [options.nth(k).get_attribute("value") for k in range(6)]
    page.select_option("#request-form select[name=resource]", "boats")
    page.fill("#request-form input[name=quantity]", "2")
    page.fill("#request-form input[name=to]", "Chau Khe")
    page.click("#request-form button[type=submit]")
    page.wait_for_url("**/commune?code=17254&done=request")
    outgoing = page.locator("[id^=outgoing-]").first
    assert "→ Xã Châu Khê" in outgoing.inner_text()
    request_id = outgoing.get_attribute("id").split("-")[1]

    ck = Watch(browser, site["url"])
    ck.login("chaukhe")
    card = ck.page.locator(f"#incoming-{request_id}")
    card.locator(f"input[name=offer_{request_id}]").fill("2")
    card.locator("form[action$='/offer'] button").click()
    ck.page.wait_for_url("**done=offer")
    page.reload()
    page.locator(f"#outgoing-{request_id} form[action$='/accept'] button").click()
    page.wait_for_url("**done=accept")
    ck.page.reload()
    ck.page.locator("[id^=my-offer-]", has_text=f"#{request_id}").locator(
        "form[action$='/dispatch'] button"
    ).click()
    ck.page.wait_for_url("**done=dispatch")
    page.reload()
    page.locator(f"#outgoing-{request_id} form[action$='/arrive'] button").click()
    page.wait_for_url("**done=arrive")
    assert "Châu Khê" not in page.locator("#on-way").inner_text()

    # the timeline keeps it, for both communes, and fits a phone
    page.click("#nav-history")
    page.wait_for_url("**/history")
    timeline = page.locator("#timeline").inner_text()
    assert "Xã Con Cuông đề nghị hỗ trợ 2 xuồng, ca nô, gửi đến Xã Châu Khê" in timeline
    assert "Xã Con Cuông đã nhận 2 xuồng, ca nô từ Xã Châu Khê" in timeline
    ck.page.goto(site["url"] + "/history")
    theirs = ck.page.locator("#timeline").inner_text()
    assert "Xã Châu Khê đã gửi đi 2 xuồng, ca nô cho Xã Con Cuông" in theirs
    ck.close()

    for user, path in (("conc", "/history"), ("bchqs", "/history?commune=chau")):
        phone = Watch(browser, site["url"], phone=True)
        phone.login(user)
        phone.page.goto(site["url"] + path)
        phone.page.wait_for_load_state("networkidle")
        width = phone.page.evaluate("document.documentElement.scrollWidth")
        phone.shot(f"phone-history-{user}", full_page=True)
        assert width <= 360, f"{path} is {width} px wide on a 360 px phone for {user}"
        phone.close()
    conc.close()

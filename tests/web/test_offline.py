"""Pages that work offline (issue 14): the service worker keeps the commune page, so a reload
with no link shows the last state with its time; a form queued offline survives the tab being
closed and is sent once when the link is back; the offline notice stays in view on a phone; a
logout leaves no page of the user behind. A real server and Debian's headless Chromium."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch
from tests.web.test_page_safety import CHAUKHE, _fill_request, outgoing

#: true once the page's own requests fail: the emulated link is down for it
CUT = "() => fetch('/healthz', {cache: 'no-store'}).then(() => false, () => true)"
CONTROLLED = "navigator.serviceWorker.ready.then(() => !!navigator.serviceWorker.controller)"
KEPT = "caches.open('lx-pages').then(c => c.keys()).then(k => k.map(r => new URL(r.url).pathname))"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(tmp_path_factory.mktemp("web-offline"), ("bchqs", "conc")) as s:
        yield s


def kept_by_worker(w: Watch) -> None:
    """Logged in, with the service worker in control and the commune page kept."""
    page = w.page
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    # the first page was loaded before the worker was there: loaded again, through it
    page.reload()
    page.wait_for_load_state("networkidle")
    assert page.evaluate(CONTROLLED)
    page.wait_for_function(
        f"() => {KEPT}.then(k => k.includes('/commune') && k.includes('/maps/communes/17254'))"
    )


def test_reload_with_no_link_shows_the_last_state_with_its_time(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    kept_by_worker(w)
    page = w.page
    assert page.locator("#lx-data-at").is_hidden()  # online: the live page says nothing more
    title = page.locator("main h1").inner_text()
    w.ctx.set_offline(True)
    page.wait_for_function(CUT)
    w.failed.clear()  # the probes of CUT, failed on purpose
    page.reload()
    assert page.locator("body").get_attribute("data-kept") == "1"
    assert page.locator("main h1").inner_text() == title  # the last state, not an error page
    stamp = page.locator("#lx-data-at")
    assert stamp.is_visible()
    assert re.fullmatch(r"Dữ liệu lúc \d\d:\d\d, \d\d/\d\d", stamp.inner_text()), stamp.inner_text()
    banner = page.locator("#lx-queue")
    assert banner.is_visible()
    assert "Mất kết nối mạng" in banner.inner_text() and stamp.inner_text() in banner.inner_text()
    w.shot("offline-reload")
    w.ctx.set_offline(False)  # the link is back: the kept page is replaced by the live one
    page.wait_for_selector("body:not([data-kept])", state="attached")
    page.wait_for_load_state("networkidle")
    assert page.locator("#lx-data-at").is_hidden() and page.locator("#lx-queue").is_hidden()
    w.close()


def test_form_queued_offline_and_the_tab_closed_is_sent_once_when_the_link_returns(site, browser):
    before = len(outgoing(site))
    w = Watch(browser, site["url"])
    w.login("conc")
    kept_by_worker(w)
    w.ctx.set_offline(True)
    page = w.page
    page.wait_for_function(CUT)
    w.failed.clear()  # the probes of CUT, failed on purpose
    page.reload()  # the kept page, shown with no link
    assert page.locator("body").get_attribute("data-kept") == "1"
    _fill_request(page, "gửi khi mất mạng, đóng thẻ")
    page.click("#request-form button[type=submit]")
    page.locator("#lx-queue li").wait_for(state="visible")
    assert "1 biểu mẫu đang chờ gửi" in page.locator("#lx-queue").inner_text()
    queued = page.evaluate("localStorage.getItem('lx-queue:conc')")
    assert queued and "gửi khi mất mạng, đóng thẻ" in queued
    page.close()  # the tab is closed while the link is still down
    assert len(outgoing(site)) == before
    w.ctx.set_offline(False)
    w.failed.clear()  # the closed tab's map, cut short with the tab
    again = w.ctx.new_page()  # later, the link back, the leader opens the page again
    again.goto(site["url"] + "/commune")
    again.wait_for_url("**done=request")
    assert again.evaluate("Object.keys(localStorage).filter(k => k.startsWith('lx-queue:'))") == []
    # and once more, in another tab: nothing is sent twice
    third = w.ctx.new_page()
    third.goto(site["url"] + "/commune")
    third.wait_for_load_state("networkidle")
    third.evaluate("fetch('/healthz', {cache: 'no-store'})")
    mine = [r for r in outgoing(site) if r["note"] == "gửi khi mất mạng, đóng thẻ"]
    assert len(outgoing(site)) == before + 1 and len(mine) == 1
    assert (mine[0]["quantity"], mine[0]["resource"], mine[0]["to"]) == (4, "boats", [CHAUKHE])
    w.close()


def test_offline_notice_stays_in_view_on_a_phone(site, browser):
    w = Watch(browser, site["url"], phone=True)
    w.login("conc")
    page = w.page
    w.ctx.set_offline(True)
    _fill_request(page, "trên điện thoại")
    button = page.locator("#request-form button[type=submit]")
    button.scroll_into_view_if_needed()
    button.click()  # the button is far down the page: the notice must be in view there
    banner = page.locator("#lx-queue")
    banner.wait_for(state="visible")
    box = banner.bounding_box()
    assert box is not None and box["y"] >= -1 and box["y"] + box["height"] <= 740, box
    assert page.evaluate("window.scrollY") > 300, "the page was scrolled down to the button"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, width
    w.shot("offline-phone")
    page.evaluate("localStorage.clear()")  # nothing of this test is sent later
    w.close()


def test_logout_leaves_no_kept_page(site, browser):
    w = Watch(browser, site["url"])
    w.login("conc")
    kept_by_worker(w)
    page = w.page
    page.click("form[action='/logout'] button:not([name])")
    page.wait_for_url("**/login")
    page.wait_for_function(f"() => {KEPT}.then(k => k.length === 0)")
    w.ctx.set_offline(True)
    with pytest.raises(Exception, match="ERR_"):  # no page of the user is shown any more
        page.goto(site["url"] + "/commune")
    w.failed.clear()  # that load, failed on purpose
    w.close()

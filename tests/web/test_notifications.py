"""The unread counter and the commune page's lists show a new request without a reload."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(tmp_path_factory.mktemp("web-notify"), ("bchqs", "conc")) as s:
        yield s


def test_a_new_request_shows_in_the_counter_and_the_list_without_a_reload(site, browser):
    ck = Watch(browser, site["url"])
    ck.login("chaukhe")
    page = ck.page
    page.wait_for_url("**/commune")
    before = int(page.locator("#lx-unread").inner_text())
    page.evaluate("window.lxPoll()")  # what the page does every 15 s
    r = httpx.post(
        site["url"] + "/api/v1/requests",
        headers={"Authorization": f"Bearer {site['tokens']['conc']}"},
        json={
            "incident_id": site["incident"],
            "commune": "17254",
            "resource": "boats",
            "quantity": 2,
            "to": ["17248"],
        },
        timeout=60,
    )
    assert r.status_code == 201, r.text
    request_id = r.json()["id"]
    assert page.locator(f"#incoming-{request_id}").count() == 0
    page.evaluate("window.lxPoll()")
    page.wait_for_selector(f"#incoming-{request_id}", timeout=30000)
    assert int(page.locator("#lx-unread").inner_text()) == before + 1
    page.click("#lx-inbox")
    page.wait_for_url("**/inbox")
    assert f"(yêu cầu {request_id})" in page.locator("#inbox-list").inner_text()
    ck.close()

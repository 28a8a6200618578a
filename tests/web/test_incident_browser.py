"""In Chromium against a real server: Con Cuông's leader reports a flood and its situation
from the page; the command sees it unconfirmed, confirms level 3 and plans from its page; the
leader then sees the plan for the commune (issue 10)."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch

CON_CUONG = "17254"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(
        tmp_path_factory.mktemp("web-incidents"), ("conc",), incident=False
    ) as s:
        yield s


def test_a_leader_reports_a_flood_and_the_command_confirms_level_3_and_plans(site, browser):
    api = httpx.Client(
        base_url=site["url"] + "/api/v1",
        headers={"Authorization": f"Bearer {site['tokens']['bchqs']}"},
        timeout=60,
    )
    w = Watch(browser, site["url"], phone=True)
    w.login("conc")
    w.page.goto(site["url"] + "/commune")
    assert "Báo cáo thiên tai" in w.page.locator("#disaster h2").inner_text()
    w.page.fill("#flood-form input[name=displaced]", "-5")  # refused next to the field
    w.page.click("#flood-form button[type=submit]")
    assert w.page.locator("#err-flood-displaced").is_visible()
    assert api.get("/incidents").json() == []
    w.page.fill("#flood-form input[name=displaced]", "300")
    w.page.select_option("#flood-form select[name=risk_level]", "2")
    w.page.click("#flood-form button[type=submit]")
    w.page.wait_for_selector("#incident-done")
    (incident,) = api.get("/incidents").json()
    assert incident["affected"] == [CON_CUONG] and incident["confirmed"] is False
    n = incident["id"]
    w.page.fill(f"#report-form-{n} input[name=displaced]", "450")
    w.page.click(f"#report-form-{n} summary")
    w.page.fill(f"#report-form-{n} input[name='needs.boats']", "8")
    w.page.click(f"#report-form-{n} button[type=submit]")
    w.page.wait_for_selector("#incident-done")
    (report,) = api.get(f"/incidents/{n}/reports").json()
    assert (report["displaced"], report["needs"]) == (450, {"boats": 8})
    w.close()

    c = Watch(browser, site["url"])
    c.login("bchqs")
    row = c.page.locator(f"#incident-row-{n}")
    assert "chưa xác nhận" in row.inner_text()
    row.locator(f"select[name=level_{n}]").select_option("3")
    row.locator(f"form[action^='/command/incidents/{n}/level'] button").click()
    c.page.wait_for_load_state("networkidle")
    now = api.get(f"/incidents/{n}").json()
    assert (now["risk_level"], now["confirmed"]) == (3, True)
    assert "chưa xác nhận" not in c.page.locator(f"#incident-row-{n}").inner_text()
    c.page.locator(f"#incident-row-{n} form[action^='/command/incidents/{n}/plan'] button").click()
    c.page.wait_for_load_state("networkidle")
    plan = api.get(f"/incidents/{n}/plan").json()
    assert plan is not None
    c.close()

    w = Watch(browser, site["url"], phone=True)
    w.login("conc")
    w.page.goto(site["url"] + "/commune")
    box = w.page.locator(f"#my-plan-{n}")
    assert f"#{plan['id']}" in box.inner_text()
    if any(t["to"] == CON_CUONG for t in plan["transfers"]):
        assert "phút" in box.locator(".plan-comes").inner_text()
    w.close()

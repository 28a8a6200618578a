"""The planner drafts Nghệ An's regulations (sample inventory) in a real Chromium against a
real server, edits a card, signs it, and the readiness map shows the change."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch, wait_for_maps

#: the receiving commune's feature on the readiness map: fill colour and popup text
FEATURE = """(code) => {
  let out = null;
  window.lxLayers["readiness"].eachLayer((l) => {
    if (l.feature.properties.code === code) {
      l.openPopup();
      out = {fill: l.options.fillColor,
             popup: document.querySelector(".leaflet-popup-content").innerText};
    }
  });
  return out;
}"""
NO_REGULATION = "#bdbdbd"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with site_with_incident(
        tmp_path_factory.mktemp("web-drafting"), ("planner",), incident=False
    ) as s:
        yield s


def api(site, method: str, path: str, **kw):
    h = {"Authorization": f"Bearer {site['tokens']['planner']}"}
    r = httpx.request(method, site["url"] + "/api/v1" + path, headers=h, timeout=120, **kw)
    assert r.status_code < 400, r.text
    return r.json()


def feature(w: Watch, url: str, code: str) -> dict:
    w.page.goto(url + "/maps/readiness?province=40&level=2")
    wait_for_maps(w.page)
    found = w.page.evaluate(FEATURE, code)
    assert found, f"{code} is not on the readiness map"
    return found


def test_planner_drafts_edits_signs_and_the_readiness_map_changes(site, browser):
    url = site["url"]
    w = Watch(browser, url)
    w.login("planner")
    w.page.goto(url + "/planner/regulations")
    assert w.page.locator("#draft").inner_text() == "Soạn dự thảo quy chế cho tỉnh"
    w.page.click("#draft")
    w.page.wait_for_url("**/planner/regulations?province=40&drafted=*", timeout=180000)
    drafts = api(site, "GET", "/regulations")
    assert len(drafts) > 100  # every commune with an open neighbour has partners
    assert f"Đã soạn {len(drafts)} dự thảo" in w.page.locator("#drafted").inner_text()
    assert w.page.locator("details.rationale").count() == len(drafts)
    # a draft with a level-2 card to a commune that has no regulation in force yet
    reg = next(d for d in drafts if any(c["level"] == 2 for c in d["box_cards"]))
    position, card = next((i, c) for i, c in enumerate(reg["box_cards"]) if c["level"] == 2)
    receiver, helper = card["to"], card["from"]
    before = feature(w, url, receiver)
    assert before["fill"] == NO_REGULATION
    helper_name = api(site, "GET", f"/communes/{helper}")["full_name"]
    # edit the card on its page: one less of its first resource, then sign
    w.page.goto(url + f"/planner/regulations/{reg['id']}")
    first, quantity = next(iter(card["resources"].items()))
    edited = {**card["resources"], first: max(1, quantity - 1)}
    form = w.page.locator(f"#card-{position}")
    form.locator("input[name=resources]").fill(", ".join(f"{k}={v}" for k, v in edited.items()))
    form.locator("button[type=submit]").click()
    w.page.wait_for_url(f"**/planner/regulations/{reg['id']}?done=card")
    assert api(site, "GET", f"/regulations/{reg['id']}")["box_cards"][position]["resources"] == (
        edited
    )
    w.page.click("#sign")
    w.page.wait_for_url(f"**/planner/regulations/{reg['id']}?done=sign")
    signed = api(site, "GET", f"/regulations/{reg['id']}")
    assert (signed["status"], signed["version"]) == ("signed", 3)
    # the readiness map shows it: the receiver is coloured by its coverage, its popup names
    # the partner, and the API's row counts the regulation
    after = feature(w, url, receiver)
    assert after["fill"] != NO_REGULATION
    assert after["popup"] != before["popup"]
    assert f"Xã phối hợp: {helper_name}" in after["popup"]
    row = next(
        r for r in api(site, "GET", "/readiness", params={"province": "40"})
        if r["commune"] == receiver
    )  # fmt: skip
    assert row["regulations"] == [reg["id"]] and helper in row["partners"]
    # the gaps page and the drafting page fit a phone
    w.close()
    p = Watch(browser, url, phone=True)
    p.login("planner")
    for path in ("/planner/regulations", "/planner/readiness?province=40"):
        p.page.goto(url + path)
        p.page.wait_for_load_state("networkidle")
        width = p.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360, f"{path} is {width} px wide on a 360 px phone"
    assert "Xã chưa có quy chế nào" in p.page.content()
    p.close()

"""Issue 10 end to end, in Chromium against a real server on the Nghệ An data, all through the
pages: Con Cuông's leader reports a flood on a 360 px phone and asks Châu Khê by a name typed
without diacritics; the command confirms level 3 and plans from its page, with requests; Châu
Khê's leader sees what the plan asks of it, prefilled, and pledges it; Con Cuông accepts, Châu
Khê dispatches, Con Cuông marks it arrived; both timelines tell the whole story and both
communes' order PDFs (fetched with the page's session cookie) name both communes, the
quantity and the signature block."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch

CON_CUONG, CHAU_KHE = "17254", "17248"
BOATS = 10


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) not installed")
    with site_with_incident(
        tmp_path_factory.mktemp("e2e"), ("bchqs", "planner", "conc", "chaukhe"), incident=False
    ) as s:
        yield s


def pdf_text(pdf: bytes, path: Path) -> str:
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(out.split())


def _fits(w: Watch) -> None:
    width = w.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{w.page.url} is {width} px wide on a 360 px phone"


def _only_chau_khe_has_boats(api: httpx.Client) -> None:
    """Within the plan's two hops of Con Cuông only Châu Khê has boats to spare, and Con Cuông
    has none: the plan must ask Châu Khê for all of them."""
    near = {CON_CUONG}
    for _ in range(2):
        for code in list(near):
            near |= {n["code"] for n in api.get(f"/communes/{code}/neighbours").json()}
    for code in sorted(near - {CHAU_KHE}):
        assert api.put(f"/communes/{code}/inventory", json={"boats": 0}).status_code == 200
    assert api.put(f"/communes/{CHAU_KHE}/inventory", json={"boats": 30}).status_code == 200


def test_the_whole_story_through_the_pages(site, browser, tmp_path):
    url = site["url"]
    api = httpx.Client(
        base_url=url + "/api/v1",
        headers={"Authorization": f"Bearer {site['tokens']['bchqs']}"},
        timeout=120,
    )
    _only_chau_khe_has_boats(api)

    # 1. Con Cuông's leader reports the flood and its needs from the page, on a phone
    conc = Watch(browser, url, phone=True)
    conc.login("conc")
    page = conc.page
    page.goto(url + "/commune")
    page.fill("#flood-form input[name=name]", "Lũ Con Cuông")
    page.fill("#flood-form input[name=displaced]", "120")
    page.select_option("#flood-form select[name=risk_level]", "2")
    page.click("#flood-form button[type=submit]")
    page.wait_for_selector("#incident-done")
    assert page.locator("#incident-done").inner_text() == (
        "Đã gửi báo cáo thiên tai. Ban Chỉ huy sẽ xác nhận cấp độ rủi ro."
    )
    (incident,) = api.get("/incidents").json()
    n = incident["id"]
    assert (incident["affected"], incident["confirmed"]) == ([CON_CUONG], False)
    page.click(f"#report-form-{n} summary")
    page.fill(f"#report-form-{n} input[name='needs.boats']", str(BOATS))
    page.click(f"#report-form-{n} button[type=submit]")
    page.wait_for_selector("#incident-done")
    (report,) = api.get(f"/incidents/{n}/reports").json()
    assert (report["displaced"], report["needs"]) == (120, {"boats": BOATS})

    # ... and a hand-made request, its addressee typed without diacritics (the name picker)
    page.select_option("#request-form select[name=incident_id]", str(n))
    page.select_option("#request-form select[name=resource]", "life_jackets")
    page.fill("#request-form input[name=quantity]", "5")
    page.fill("#request-form input[name=to]", "chau khe")
    page.click("#request-form button[type=submit]")
    page.wait_for_url(f"**/commune?code={CON_CUONG}&done=request")
    hand = page.locator("[id^=outgoing-]", has_text="áo phao").first
    assert "→ Xã Châu Khê" in hand.inner_text()
    hand_id = hand.get_attribute("id").split("-")[1]
    _fits(conc)

    # 2. the command confirms level 3 and plans from its page, sending the requests
    cmd = Watch(browser, url)
    cmd.login("bchqs")
    cmd.page.goto(url + "/command")
    row = cmd.page.locator(f"#incident-row-{n}")
    assert "chưa xác nhận" in row.inner_text()
    row.locator(f"select[name=level_{n}]").select_option("3")
    row.locator(f"form[action^='/command/incidents/{n}/level'] button").click()
    cmd.page.wait_for_url(f"**/command?incident={n}*")
    row = cmd.page.locator(f"#incident-row-{n}")
    assert "chưa xác nhận" not in row.inner_text()
    assert (api.get(f"/incidents/{n}").json()["risk_level"]) == 3
    plan_form = row.locator(f"form[action^='/command/incidents/{n}/plan']")
    plan_form.locator("input[name=create_requests]").check()
    plan_form.locator("button").click()
    cmd.page.wait_for_url(f"**/command?incident={n}*")
    plan = api.get(f"/incidents/{n}/plan").json()
    assert plan is not None
    (boats,) = [t for t in plan["transfers"] if t["resource"] == "boats"]
    assert (boats["from"], boats["to"], boats["quantity"]) == (CHAU_KHE, CON_CUONG, BOATS)
    (req,) = [
        q
        for q in api.get("/requests", params={"incident_id": n}).json()
        if q["resource"] == "boats"
    ]
    assert req["asks"] == [{"commune": CHAU_KHE, "quantity": BOATS}]
    rid = req["id"]
    cmd.close()

    # 3. Châu Khê's leader sees the plan's ask, prefilled, and pledges it
    ck = Watch(browser, url, phone=True)
    ck.login("chaukhe")
    assert "áo phao" in ck.page.locator(f"#incoming-{hand_id}").inner_text()
    card = ck.page.locator(f"#incoming-{rid}")
    assert card.locator(f"#ask-{rid}").inner_text() == (
        f"Kế hoạch đề nghị xã bạn gửi {BOATS} xuồng, ca nô"
    )
    assert card.locator(f"input[name=offer_{rid}]").input_value() == str(BOATS)
    _fits(ck)
    card.locator("button", has_text="Cam kết hỗ trợ").click()
    ck.page.wait_for_url("**done=offer")
    assert ck.page.locator("#notice").inner_text() == (
        f"Đã cam kết gửi {BOATS} xuồng, ca nô cho Xã Con Cuông"
    )

    # 4. Con Cuông accepts, Châu Khê dispatches, Con Cuông marks it arrived
    page.reload()
    page.locator(f"#outgoing-{rid} form[action$='/accept'] button").click()
    page.wait_for_url("**done=accept")
    ck.page.reload()
    ck.page.locator("[id^=my-offer-]", has_text=f"#{rid}").locator(
        "form[action$='/dispatch'] button"
    ).click()
    ck.page.wait_for_url("**done=dispatch")
    page.reload()
    page.locator(f"#outgoing-{rid} form[action$='/arrive'] button").click()
    page.wait_for_url("**done=arrive")
    (offer,) = api.get(f"/requests/{rid}").json()["offers"]
    assert (offer["status"], offer["quantity"]) == ("arrived", BOATS)

    # 5. both timelines tell the whole story
    page.click("#nav-history")
    page.wait_for_url("**/history")
    ours = page.locator("#timeline").inner_text()
    for line in (
        "Xã Con Cuông gửi báo cáo tình hình: 120 người sơ tán",
        "Xã Con Cuông đề nghị hỗ trợ 5 áo phao, gửi đến Xã Châu Khê",
        f"Xã Con Cuông đề nghị hỗ trợ {BOATS} xuồng, ca nô, gửi đến Xã Châu Khê",
        f"Xã Châu Khê cam kết hỗ trợ {BOATS} xuồng, ca nô cho Xã Con Cuông",
        f"Xã Con Cuông đồng ý nhận {BOATS} xuồng, ca nô từ Xã Châu Khê",
        f"Xã Châu Khê đã gửi đi {BOATS} xuồng, ca nô cho Xã Con Cuông",
        f"Xã Con Cuông đã nhận {BOATS} xuồng, ca nô từ Xã Châu Khê",
    ):
        assert line in ours, line
    _fits(conc)
    ck.page.goto(url + "/history")
    theirs = ck.page.locator("#timeline").inner_text()
    for line in (
        f"Xã Con Cuông đề nghị hỗ trợ {BOATS} xuồng, ca nô, gửi đến Xã Châu Khê",
        f"Xã Châu Khê cam kết hỗ trợ {BOATS} xuồng, ca nô cho Xã Con Cuông",
        f"Xã Châu Khê đã gửi đi {BOATS} xuồng, ca nô cho Xã Con Cuông",
        f"Xã Con Cuông đã nhận {BOATS} xuồng, ca nô từ Xã Châu Khê",
    ):
        assert line in theirs, line
    _fits(ck)

    # 6. each commune's order PDF, by the page's link and session cookie
    texts = {}
    for who, w, code in (("conc", conc, CON_CUONG), ("chaukhe", ck, CHAU_KHE)):
        w.page.goto(url + "/commune")
        href = w.page.locator(f"#order-pdf-{n}").get_attribute("href")
        assert href == f"/api/v1/incidents/{n}/orders/{code}.pdf?lang=vi"
        r = w.page.request.get(url + href)
        assert r.status == 200 and r.headers["content-type"] == "application/pdf"
        texts[who] = pdf_text(r.body(), tmp_path / f"{who}.pdf")
    for text in texts.values():
        assert "Xã Con Cuông" in text and "Xã Châu Khê" in text
        assert f"{BOATS} chiếc" in text  # the plan's boats, with their Vietnamese unit
        assert "TM. ỦY BAN NHÂN DÂN" in text and "CHỦ TỊCH" in text
        assert "(Ký, ghi rõ họ tên, đóng dấu)" in text
    assert "I. Xã nhận hỗ trợ: đề nghị các xã sau" in texts["conc"]
    assert "II. Xã hỗ trợ: gửi tới các xã sau" in texts["chaukhe"]
    assert "Xã Châu Khê → Xã Con Cuông" in texts["chaukhe"]
    ck.close()
    conc.close()
    api.close()

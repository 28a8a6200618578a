"""The defence command's inventory upload form, in a real headless Chromium against a real
server."""

from __future__ import annotations

import httpx
import pytest

from tests.web.conftest import site_with_incident
from tests.web.test_browser import Watch


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    with (
        site_with_incident(tmp_path_factory.mktemp("upload"), incident=False) as s,
        httpx.Client(
            base_url=s["url"] + "/api/v1",
            timeout=30,
            headers={"Authorization": f"Bearer {s['tokens']['bchqs']}"},
        ) as api,
    ):
        yield {**s, "api": api}


def upload(w: Watch, name: str, content: bytes) -> None:
    w.page.goto(w.base + "/command")
    w.page.set_input_files(
        "#inventory-form input[name=file]",
        files=[{"name": name, "mimeType": "text/csv", "buffer": content}],
    )
    w.page.click("#inventory-form button[type=submit]")
    w.page.wait_for_selector("#inventory-result, #inventory-errors", timeout=30000)


def test_command_uploads_a_survey_and_sees_the_result(site, browser):
    api = site["api"]
    assert api.get("/communes/16681/inventory").json()["sample"] is True
    w = Watch(browser, site["url"])
    try:
        w.login("bchqs")
        upload(
            w,
            "khao-sat.csv",
            b"commune,resource,quantity\n16681,boats,11\n16681,militia,321\n16690,boats,4\n",
        )
        result = w.page.inner_text("#inventory-result")
        assert "Đã nhập 2 xã, 3 dòng" in result, result
        assert w.page.locator("#inventory-errors").count() == 0
        w.shot("inventory-upload-done")
    finally:
        w.close()
    inv = api.get("/communes/16681/inventory").json()
    assert (inv["items"]["boats"], inv["items"]["militia"]) == (11, 321)
    assert not {"boats", "militia"} & set(inv["sample_resources"])
    assert api.get("/communes/16690/inventory").json()["items"]["boats"] == 4
    assert {"16681", "16690"} <= {
        e["entity_id"]
        for e in api.get("/audit", params={"entity": "inventory"}).json()
        if e["action"] == "inventory.import"
    }


def test_a_bad_file_shows_its_line_numbered_errors_in_the_page_language(site, browser):
    api = site["api"]
    before = api.get("/communes/16702/inventory").json()
    bad = (
        b"commune,resource,quantity\n16702,boats,5\n99999,boats,1\n16702,militia,-3\n"
        b"16702,boats,6\n"
    )
    w = Watch(browser, site["url"])
    try:
        w.login("bchqs")
        upload(w, "sai.csv", bad)
        text = w.page.inner_text("#inventory-errors")
        assert "Tệp có 3 lỗi, chưa nhập dòng nào" in text, text
        assert "dòng 3: không có xã mã '99999'" in text, text
        assert "dòng 4: số lượng phải là số nguyên không âm" in text, text
        assert "dòng 5: trùng dòng 16702/boats (lần đầu ở dòng 2)" in text, text
        assert w.page.locator("#inventory-result").count() == 0
        w.shot("inventory-upload-errors")
        w.page.goto(w.base + "/lang/en")
        upload(w, "bad.csv", bad)
        text = w.page.inner_text("#inventory-errors")
        assert "The file has 3 error(s); nothing was imported" in text, text
        assert "line 3: unknown commune '99999'" in text, text
    finally:
        w.close()
    assert api.get("/communes/16702/inventory").json() == before


def test_a_commune_outside_the_area_and_a_leader_are_refused(site, browser):
    api = site["api"]
    before = api.get("/communes/16777/inventory").json()
    w = Watch(browser, site["url"])
    try:
        w.login("kv3")
        upload(w, "kv3.csv", b"commune,resource,quantity\n16777,boats,3\n16738,boats,3\n")
        text = w.page.inner_text("#inventory-errors")
        assert "ngoài địa bàn" in text and "16738" in text, text
    finally:
        w.close()
    assert api.get("/communes/16777/inventory").json() == before
    w = Watch(browser, site["url"])
    try:
        w.login("conc")
        w.page.goto(w.base + "/command")
        assert w.page.locator("#inventory-form").count() == 0
        w.page.goto(w.base + "/commune")  # a leader's page, for a CSRF token of the session
        csrf = w.page.locator("input[name=csrf_token]").first.get_attribute("value")
        r = w.page.request.post(
            w.base + "/command/inventory",
            multipart={
                "csrf_token": csrf,
                "idempotency_key": "k" * 24,
                "file": {
                    "name": "x.csv",
                    "mimeType": "text/csv",
                    "buffer": b"commune,resource,quantity\n17254,boats,1\n",
                },
            },
        )
        assert r.status == 403 and "Ban Chỉ huy" in r.text() and "Biểu mẫu đã cũ" not in r.text()
    finally:
        w.close()
    assert api.get("/communes/17254/inventory").json()["sample"] is True

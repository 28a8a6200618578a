"""Drafting a province's regulations through the service, readiness over the regulations in
force, the readiness map and the planner's drafting page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fast.conftest import ASKS, GIVES, OTHER, SOUTH_A, Site

STOCK = {"boats": 6, "militia": 60, "rice_kg": 3000, "life_jackets": 80, "drinking_water_l": 4000}


#: People (the squares carry none): Đông Hà is large, its neighbours small.
POPULATION = {ASKS: 40000, GIVES: 3000, OTHER: 3000}


@pytest.fixture(autouse=True)
def populations(site: Site) -> Iterator[None]:
    """The squares' populations on this test's graph, restored afterwards."""
    G = site.client.app.state.lienxa.graph
    before = {c: G.nodes[c].get("population") for c in POPULATION}
    for c, n in POPULATION.items():
        G.nodes[c]["population"] = n
    yield
    for c, n in before.items():
        G.nodes[c]["population"] = n


def stocked(site: Site) -> None:
    """The three communes of province 40 hold the same modest stock."""
    for code, user in ((ASKS, "dongha"), (GIVES, "tayson"), (OTHER, "bacly")):
        site.stock(code, user, **STOCK)


def draft(site: Site, user: str = "planner", **body: Any) -> Any:
    return site.as_(user).post("/regulations/draft", json=body or {"province": "40"})


def test_drafts_a_province_and_redrafting_replaces_unsigned_drafts(site: Site) -> None:
    stocked(site)
    r = draft(site)
    assert r.status_code == 201, r.text
    first = r.json()
    pairs = sorted(tuple(d["parties"]) for d in first)
    assert pairs == [(ASKS, GIVES), (GIVES, OTHER)]  # the open links of province 40
    assert all(d["status"] == "draft" and d["version"] == 1 for d in first)
    assert all(d["rationale"] for d in first)
    assert {c["to"] for d in first for c in d["box_cards"]} == {ASKS}  # the large one
    assert {d["number"] for d in first} == {f"DT-{ASKS}-{GIVES}", f"DT-{GIVES}-{OTHER}"}
    # again: the same regulations get a new draft version, nothing is duplicated
    again = draft(site).json()
    assert sorted(d["id"] for d in again) == sorted(d["id"] for d in first)
    assert all(d["version"] == 2 for d in again)
    assert len(site.as_("planner").get("/regulations").json()) == 2
    # a signed one is never touched: re-drafting keeps it and answers only the other
    signed_id = first[0]["id"]
    assert site.as_("planner").post(f"/regulations/{signed_id}/sign").status_code == 200
    third = draft(site).json()
    assert [d["id"] for d in third] == [first[1]["id"]]
    kept = site.as_("planner").get(f"/regulations/{signed_id}").json()
    assert (kept["status"], kept["version"]) == ("signed", 3)


def test_draft_input_and_roles(site: Site) -> None:
    stocked(site)
    bad = draft(site, province="77")
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_province"
    bad = draft(site, communes=[ASKS, "99999"])
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_commune"
    bad = draft(site, communes=[f"{i:05d}" for i in range(401)])
    assert bad.status_code == 422 and bad.json()["code"] == "draft_too_many_communes"
    assert bad.json()["params"] == {"count": 401, "max": 400}
    bad = draft(site, province="40", communes=[ASKS])
    assert bad.status_code == 422 and bad.json()["code"] == "draft_area_required"
    bad = draft(site, province="40", scope="all")
    assert bad.status_code == 422
    assert draft(site, "dongha").status_code == 403
    assert draft(site, "bch42").status_code == 403  # another province's command
    ok = draft(site, "bch40", communes=[ASKS, GIVES])
    assert ok.status_code == 201, ok.text
    assert [d["parties"] for d in ok.json()] == [[ASKS, GIVES]]
    # English wording of the new codes
    en = site.as_("planner").post("/regulations/draft", json={}, headers={"Accept-Language": "en"})
    assert en.status_code == 422 and en.json()["code"] == "draft_area_required"


def test_readiness_counts_signed_regulations_only(site: Site) -> None:
    stocked(site)
    drafts = draft(site).json()
    before = site.as_("planner").get("/readiness", params={"province": "40"})
    assert before.status_code == 200, before.text
    rows = {r["commune"]: r for r in before.json()}
    assert set(rows) == {ASKS, GIVES, OTHER}
    assert all(r["regulations"] == [] for r in rows.values())  # drafts do not count
    gaps = site.as_("planner").get("/readiness/gaps", params={"province": "40"}).json()
    assert gaps == {"without_regulation": [ASKS, GIVES, OTHER], "over_holdings": []}
    reg = next(d for d in drafts if ASKS in d["parties"])
    assert site.as_("planner").post(f"/regulations/{reg['id']}/sign").status_code == 200
    after = {r["commune"]: r for r in site.as_("dongha").get("/readiness?province=40").json()}
    assert after[ASKS]["regulations"] == [reg["id"]] and after[ASKS]["partners"] == [GIVES]
    assert after[OTHER]["regulations"] == []
    got_cards = {c["to"] for c in reg["box_cards"]}
    for code in got_cards:
        assert any(after[code]["coverage"][lv] > rows[code]["coverage"][lv] for lv in "123")
    gaps = site.as_("planner").get("/readiness/gaps?province=40").json()
    assert gaps["without_regulation"] == [OTHER]
    bad = site.as_("planner").get("/readiness?province=77")
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_province"
    assert site.as_(None).get("/readiness?province=40").status_code == 401


def test_readiness_map_changes_when_a_regulation_is_signed(site: Site) -> None:
    stocked(site)
    drafts = draft(site).json()
    c = site.as_("planner")
    m1 = site.client.get("/maps/readiness?province=40&level=2", headers=c.headers)
    assert m1.status_code == 200 and "leaflet" in m1.text.lower()
    assert c.post(f"/regulations/{drafts[0]['id']}/sign").status_code == 200
    m2 = site.client.get("/maps/readiness?province=40&level=2", headers=c.headers)
    assert m2.status_code == 200 and m2.headers["etag"] != m1.headers["etag"]
    assert "Tây Sơn" in m2.text
    same = site.client.get(
        "/maps/readiness?province=40&level=2",
        headers={**c.headers, "If-None-Match": m2.headers["etag"]},
    )
    assert same.status_code == 304
    assert (
        site.client.get("/maps/readiness?province=40&level=7", headers=c.headers).status_code == 422
    )
    assert SOUTH_A  # province 42 is another area


def _login(site: Site, user: str) -> None:
    page = site.client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    from tests.fast.conftest import PASSWORD

    r = site.client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _form(html: str, action: str) -> dict[str, str]:
    block = html.split(f'action="{action}"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'name="(csrf_token|idempotency_key)" value="([^"]+)"', block))


def test_planner_page_drafts_the_province_without_script(site: Site) -> None:
    stocked(site)
    _login(site, "planner")
    page = site.client.get("/planner/regulations")
    assert page.status_code == 200
    assert "Soạn dự thảo quy chế cho tỉnh" in page.text
    assert 'href="/maps/readiness?province=40&amp;level=2"' in page.text
    form = {**_form(page.text, "/planner/regulations/draft"), "province": "40"}
    r = site.client.post("/planner/regulations/draft", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    listed = site.client.get(r.headers["location"])
    assert "Đã soạn 2 dự thảo; giữ nguyên 0 quy chế đã ký." in listed.text
    assert listed.text.count('<details class="rationale">') == 2
    # the same form sent twice acts once
    again = site.client.post("/planner/regulations/draft", data=form, follow_redirects=False)
    assert again.status_code == 303
    assert all(r["version"] == 1 for r in site.as_("planner").get("/regulations").json())
    # an unknown province: the error next to the field, in Vietnamese
    fresh = _form(site.client.get("/planner/regulations").text, "/planner/regulations/draft")
    bad = site.client.post("/planner/regulations/draft", data={**fresh, "province": "77"})
    assert bad.status_code == 422 and 'id="err-draft"' in bad.text and "tỉnh" in bad.text
    gaps = site.client.get("/planner/readiness?province=40")
    assert gaps.status_code == 200 and "Xã chưa có quy chế nào" in gaps.text
    assert "Đông Hà" in gaps.text


def test_the_regulation_pdf_names_parties_number_and_each_card(site: Site, tmp_path) -> None:
    import shutil

    from tests.fast.test_orders_pdf import pdf_text
    from tests.fast.test_regulations import regulation

    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    reg = site.as_("planner").post("/regulations", json=regulation()).json()
    assert site.as_("planner").post(f"/regulations/{reg['id']}/sign").status_code == 200
    r = site.as_("dongha").get(f"/regulations/{reg['id']}.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    text = pdf_text(r.content, tmp_path, "regulation.pdf")
    assert "Số: 01/QC-PH" in text and "giữa Xã Đông Hà, Xã Tây Sơn" in text
    assert text.count("TM. ỦY BAN NHÂN DÂN XÃ") == 2  # a signature block per party
    # each card, as its helper's duty
    assert (
        "Cấp độ 2 (lũ, ngập lụt): gửi xuồng, ca nô: 2 chiếc; dân quân: 10 người tới "
        "Xã Đông Hà trong 60 phút (thứ tự gọi 1)."
    ) in text
    assert "Cấp độ 3 (lũ, ngập lụt): gửi xuồng, ca nô: 3 chiếc tới Xã Đông Hà trong 90 phút" in text
    assert "Cấp độ 2 (lũ, ngập lụt): gửi xuồng, ca nô: 1 chiếc tới Xã Tây Sơn" in text
    assert "DỰ THẢO" not in text  # signed
    en = site.as_("planner").get(f"/regulations/{reg['id']}.pdf?lang=en")
    assert "Level 3 (flood): send boats" in pdf_text(en.content, tmp_path, "en.pdf")
    # a drafted regulation prints as a draft; an unknown one is a coded 404
    stocked(site)
    drafted = draft(site).json()[0]
    text = pdf_text(
        site.as_("planner").get(f"/regulations/{drafted['id']}.pdf").content, tmp_path, "d.pdf"
    )
    assert "DỰ THẢO" in text and drafted["number"] in text
    missing = site.as_("planner").get("/regulations/999.pdf")
    assert missing.status_code == 404 and missing.json()["code"] == "regulation_not_found"

"""The printed order sheet of a commune (issue 10, part 6): a real PDF read back with poppler's
``pdftotext`` and ``pdffonts``; who may print it (403/404, coded)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.fast.conftest import ASKS, GIVES, OTHER, SOUTH_A

pytestmark = pytest.mark.skipif(
    shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
    reason="poppler-utils (pdftotext, pdffonts) not installed",
)


def pdf_text(pdf: bytes, tmp_path: Path, name: str = "order.pdf") -> str:
    """The PDF's text as ``pdftotext`` reads it (reading order, no layout), lines joined."""
    path = tmp_path / name
    path.write_bytes(pdf)
    out = subprocess.run(
        ["pdftotext", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    return " ".join(out.split())


def pdf_fonts(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True)
    return [line.split() for line in out.stdout.splitlines()[2:]]


@pytest.fixture
def planned(site):
    """An incident on Đông Hà with a plan that asks Tây Sơn for 3 boats, and its requests."""
    r = site.as_("bch40").post(
        "/incidents",
        json={
            "name": "Lũ Khe Bố",
            "risk_level": 2,
            "affected": [{"commune": ASKS, "displaced": 100, "needs": {"boats": 3}}],
        },
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    site.stock(GIVES, "tayson", boats=20)
    r = site.as_("bch40").post(f"/incidents/{incident['id']}/plan", json={"create_requests": True})
    assert r.status_code == 200, r.text
    plan = r.json()
    (boats,) = [t for t in plan["transfers"] if t["resource"] == "boats"]
    assert (boats["from"], boats["to"], boats["quantity"]) == (GIVES, ASKS, 3)
    return incident, plan


def orders(site, user, incident_id, code, **params):
    return site.as_(user).get(f"/incidents/{incident_id}/orders/{code}.pdf", params=params)


def test_the_receivers_order_names_both_communes_the_quantity_number_and_signature(
    site, planned, tmp_path
):
    incident, plan = planned
    r = orders(site, "dongha", incident["id"], ASKS)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    text = pdf_text(r.content, tmp_path)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text and "Độc lập - Tự do - Hạnh phúc" in text
    # the issuing body over its superior (the heading's narrow column wraps the names)
    assert "ỦY BAN NHÂN DÂN TỈNH" in text and "ỦY BAN NHÂN DÂN XÃ" in text and "ĐÔNG" in text
    assert f"Số: {incident['id']}.{plan['id']}/LHT-{ASKS}" in text
    assert "LỆNH HỖ TRỢ" in text and "V/v hỗ trợ giữa các xã trong sự cố Lũ Khe Bố" in text
    assert "I. Xã nhận hỗ trợ: đề nghị các xã sau" in text
    assert "Xã Tây Sơn" in text and "Xã Đông Hà" in text
    assert "3 chiếc" in text  # the plan's 3 boats, with their Vietnamese unit
    assert "TM. ỦY BAN NHÂN DÂN" in text and "CHỦ TỊCH" in text
    assert "(Ký, ghi rõ họ tên, đóng dấu)" in text and "Nơi nhận:" in text
    assert "Đông Hà, ngày " in text  # place and date as Decree 30 writes them


def test_the_helpers_order_says_what_it_sends_to_whom_route_minutes_and_command(
    site, planned, tmp_path
):
    incident, plan = planned
    (boats,) = plan["transfers"]
    r = orders(site, "tayson", incident["id"], GIVES)
    assert r.status_code == 200, r.text
    text = pdf_text(r.content, tmp_path)
    assert "II. Xã hỗ trợ: gửi tới các xã sau" in text
    assert "Xã Đông Hà" in text and "Xã Tây Sơn" in text and "3 chiếc" in text
    assert "Xã Tây Sơn → Xã Đông Hà" in text  # the route, communes by name
    assert str(round(boats["travel_minutes"])) in text
    (command,) = [c for c in plan["command"] if c["commune"] == ASKS]
    assert command["commander"] in text
    assert f"/LHT-{GIVES}" in text and "CHỦ TỊCH" in text
    # the request the plan made is printed as asked of the helper
    assert "Được đề nghị" in text


def test_english_on_request(site, planned, tmp_path):
    incident, _ = planned
    r = orders(site, "bch40", incident["id"], ASKS, lang="en")
    assert r.status_code == 200, r.text
    text = pdf_text(r.content, tmp_path)
    assert "SOCIALIST REPUBLIC OF VIETNAM" in text and "SUPPORT ORDER" in text
    assert "I. As receiver" in text and "Xã Tây Sơn" in text and "CHAIRMAN" in text
    assert "CỘNG HÒA" not in text


def test_fonts_are_embedded_liberation_serif(site, planned, tmp_path):
    incident, _ = planned
    r = orders(site, "planner", incident["id"], GIVES)
    assert r.status_code == 200, r.text
    fonts = pdf_fonts(r.content, tmp_path)
    assert fonts, "no font in the PDF"
    # name type... encoding emb sub uni: every font embedded, and the serif is Liberation
    assert all(row[-5] == "yes" for row in fonts), fonts
    assert any("Liberation-Serif" in row[0] for row in fonts), fonts


def test_an_order_without_a_plan_prints_the_open_requests(site, tmp_path):
    incident = site.incident(affected=ASKS)
    request = site.ask(incident, 7, to=(GIVES,))
    r = orders(site, "dongha", incident["id"], ASKS)
    assert r.status_code == 200, r.text
    text = pdf_text(r.content, tmp_path)
    assert "chưa có kế hoạch" in text and f"{request['id']} Xã đề nghị" in text
    assert f"{incident['id']}.0/LHT-{ASKS}" in text


@pytest.mark.parametrize(
    ("user", "code", "status", "error"),
    [
        ("tayson", ASKS, 403, "outside_area"),  # another commune's leader
        ("bacly", GIVES, 403, "outside_area"),
        ("bch42", ASKS, 403, "outside_area"),  # the command of another province
        (None, ASKS, 401, "not_authenticated"),
        ("dongha", "99999", 404, "unknown_commune"),
    ],
)
def test_who_may_print_an_order(site, planned, user, code, status, error):
    incident, _ = planned
    r = orders(site, user, incident["id"], code)
    assert r.status_code == status, r.text
    assert r.json()["code"] == error


def test_rights_allowed(site, planned):
    incident, _ = planned
    for user, code in (("bch40", OTHER), ("bch42", SOUTH_A), ("admin", ASKS), ("dongha", ASKS)):
        assert orders(site, user, incident["id"], code).status_code == 200, (user, code)


def test_unknown_incident_is_404(site):
    r = orders(site, "planner", 4242, ASKS)
    assert r.status_code == 404 and r.json()["code"] == "incident_not_found"
    assert r.json()["params"] == {"incident_id": 4242}


def test_the_commune_and_command_pages_link_the_order_pdf_and_it_opens_with_the_cookie(
    site, planned
):
    from fastapi.testclient import TestClient

    from api.auth import SESSION_COOKIE

    incident, _ = planned
    leader = TestClient(site.client.app, cookies={SESSION_COOKIE: site.tokens["dongha"]})
    page = leader.get("/commune")
    assert page.status_code == 200, page.text
    link = f"/api/v1/incidents/{incident['id']}/orders/{ASKS}.pdf?lang=vi"
    assert f'id="order-pdf-{incident["id"]}" href="{link}">Tải lệnh (PDF)' in page.text
    pdf = leader.get(link)  # the session cookie is enough for a GET: no script, no token
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    command = TestClient(site.client.app, cookies={SESSION_COOKIE: site.tokens["bch40"]})
    page = command.get(f"/command?incident={incident['id']}&lang=en")
    assert page.status_code == 200, page.text
    assert f'href="/api/v1/incidents/{incident["id"]}/orders/{ASKS}.pdf?lang=en"' in page.text
    assert "Download the order of Xã Đông Hà (PDF)" in page.text


def test_a_long_sheet_is_capped_and_says_how_many_rows_more(tmp_path):
    """Rendering is bounded: a plan with 100 transfers to one commune prints MAX_ROWS of them
    and counts the rest; an exercise is marked as one."""
    import datetime as dt

    from api.documents import build_order_sheet, render_order_pdf
    from api.documents.render import MAX_ROWS

    plan = {
        "scenario": "thử",
        "method": "min_cost_flow",
        "parameters": {
            "max_hops": 2,
            "reserve_share": 0.3,
            "agreement_factor": 0.5,
            "speed_kmh": 20,
            "risk_level": 2,
            "duration_days": 1,
        },
        "transfers": [
            {
                "from": GIVES,
                "to": ASKS,
                "resource": "boats",
                "quantity": k + 1,
                "path": [GIVES, ASKS],
                "travel_minutes": 14.2,
                "cost": 1.0,
                "agreement": False,
                "agreement_rules": [],
            }
            for k in range(100)
        ],
        "ledger": [],
        "unmet": [],
        "command": [],
        "cost": {"unmet_units": 0, "transport": 1.0},
    }
    sheet = build_order_sheet(
        plan,
        [],
        incident={"id": 5, "name": "Diễn tập lũ", "risk_level": 2, "exercise": True},
        commune=ASKS,
        issued_on=dt.date(2025, 2, 5),
    )
    assert len(sheet.receives) == 100 and sheet.sends == ()
    names = {ASKS: "Xã Đông Hà", GIVES: "Xã Tây Sơn"}
    text = pdf_text(render_order_pdf(sheet, names=names, province="Tỉnh Nghệ An"), tmp_path)
    assert f"… và {100 - MAX_ROWS} dòng nữa" in text
    assert "DIỄN TẬP" in text
    assert "Đông Hà, ngày 05 tháng 02 năm 2025" in text  # Decree 30: 05, and 02 for February
    text = pdf_text(
        render_order_pdf(sheet, names=names, province="Tỉnh Nghệ An", lang="en"), tmp_path
    )
    assert "Đông Hà, 05 February 2025" in text and "EXERCISE" in text

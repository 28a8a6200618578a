"""The order sheet over HTTP from a real server (SQLite and PostgreSQL): Con Cuông floods, the
province's command plans, Con Cuông's leader and the command print the receiver's and a
helper's orders; the PDF's text names both communes and the quantity."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from geo.i18n import number

CON_CUONG = "17254"


def text_of(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "order.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True)
    return " ".join(out.stdout.split())


def test_orders_of_the_receiver_and_a_helper_over_http(server, tmp_path):
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils not installed")
    bch, conc = server.client("bchqs"), server.client("conc")
    r = bch.post(
        "/incidents",
        json={
            "name": "Lũ Con Cuông (lệnh in)",
            "risk_level": 2,
            "duration_days": 1,
            "affected": [
                {"commune": CON_CUONG, "displaced": 3000, "needs": {"boats": 80, "militia": 600}}
            ],
        },
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    r = bch.post(f"/incidents/{incident['id']}/plan", json={"create_requests": True})
    assert r.status_code == 200, r.text
    plan = r.json()
    given = [t for t in plan["transfers"] if t["to"] == CON_CUONG and t["resource"] == "militia"]
    assert given, plan["transfers"]
    helper, quantity = given[0]["from"], given[0]["quantity"]
    helper_name = bch.get(f"/communes/{helper}").json()["full_name"]

    r = conc.get(f"/incidents/{incident['id']}/orders/{CON_CUONG}.pdf")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    text = text_of(r.content, tmp_path)
    assert "Xã Con Cuông" in text and helper_name in text
    assert f"{number(quantity)} người" in text  # the plan's quantity, as Vietnamese write it
    assert f"/LHT-{CON_CUONG}" in text and "CHỦ TỊCH" in text

    r = bch.get(f"/incidents/{incident['id']}/orders/{helper}.pdf", params={"lang": "en"})
    assert r.status_code == 200, r.text
    text = text_of(r.content, tmp_path)
    assert "II. As helper" in text and "Xã Con Cuông" in text and helper_name in text
    assert "CHAIRMAN" in text

    # Con Cuông's leader may not print the helper's orders
    r = conc.get(f"/incidents/{incident['id']}/orders/{helper}.pdf")
    assert r.status_code == 403 and r.json()["code"] == "outside_area"

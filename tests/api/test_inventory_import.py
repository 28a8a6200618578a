"""``POST /api/v1/inventory/import``: a surveyed inventory file over HTTP, all of it or nothing,
against a real server on SQLite and on PostgreSQL (``server`` fixture: a sample inventory)."""

from __future__ import annotations

import uuid

CSV = "text/csv"


def post_csv(client, text: str | bytes, **headers):
    return client.post(
        "/inventory/import",
        content=text.encode() if isinstance(text, str) else text,
        headers={"Content-Type": CSV, **headers},
    )


def inventory(server, code: str) -> dict:
    with server.client("bchqs") as c:
        r = c.get(f"/communes/{code}/inventory")
    assert r.status_code == 200, r.text
    return r.json()


def audit_entries(server) -> list[dict]:
    with server.client("bchqs") as c:
        r = c.get("/audit", params={"entity": "inventory", "limit": 5000})
    assert r.status_code == 200, r.text
    return r.json()


def assert_unchanged(server, before: dict[str, dict], audit_count: int) -> None:
    for code, inv in before.items():
        assert inventory(server, code) == inv, code
    assert len(audit_entries(server)) == audit_count


def test_import_sets_values_marks_them_surveyed_and_audits_each_commune(server):
    before = {c: inventory(server, c) for c in ("16681", "16690")}
    assert all(inv["sample"] for inv in before.values())
    unchanged_boats = before["16690"]["items"]["boats"]
    text = (
        "# surveyed 2025-10\ncommune,resource,quantity\n"
        "16681,militia,451\n16681,boats,7\n16681,sandbags,0\n"
        f"16690,boats,{unchanged_boats}\n"
    )
    with server.client("bchqs") as c:
        r = post_csv(c, text)
    assert r.status_code == 200, r.text
    listed = {"militia": 451, "boats": 7, "sandbags": 0}
    changed = sum(before["16681"]["items"][k] != q for k, q in listed.items())
    assert changed == 3  # the sample has at least 20 militia, a boat and 200 sandbags
    # 16690's one value is unchanged, but its inventory is now surveyed, no longer sample
    assert r.json() == {
        "communes": 2,
        "rows": 4,
        "changed": 3,
        "communes_changed": 2,
        "changed_communes": ["16681", "16690"],
    }
    a, b = inventory(server, "16681"), inventory(server, "16690")
    assert (a["items"]["militia"], a["items"]["boats"], a["items"]["sandbags"]) == (451, 7, 0)
    assert a["items"]["rice_kg"] == before["16681"]["items"]["rice_kg"]  # not listed: kept
    assert b["items"] == before["16690"]["items"]
    # surveyed values are no longer estimates; what the file does not list still is, and says so
    assert a["sample"] is True and b["sample"] is True
    assert not set(listed) & set(a["sample_resources"]) and "rice_kg" in a["sample_resources"]
    assert "boats" not in b["sample_resources"] and "militia" in b["sample_resources"]
    entries = {
        e["entity_id"]: e for e in audit_entries(server) if e["action"] == "inventory.import"
    }
    assert set(entries) >= {"16681", "16690"}
    e = entries["16681"]
    assert e["before"] == {"items": before["16681"]["items"], "sample": True}
    assert e["after"] == {"items": a["items"], "sample": True}
    assert "bchqs" in e["actor"] and "16681" in e["actor"]
    with server.client("admin") as c:
        assert c.get("/audit/verify").json()["ok"] is True
    # the same file again changes nothing and writes no audit entry
    n = len(audit_entries(server))
    with server.client("bchqs") as c:
        r = post_csv(c, text)
    assert r.status_code == 200, r.text
    assert (r.json()["changed"], r.json()["communes_changed"]) == (0, 0)
    assert len(audit_entries(server)) == n


def test_admin_imports_a_multipart_upload_once_per_idempotency_key(server):
    key = uuid.uuid4().hex
    files = {
        "file": (
            "survey.csv",
            b"\xef\xbb\xbfcommune,resource,quantity\r\n16708,trucks,3\r\n",
            "text/csv",
        )
    }
    with server.client("admin") as c:
        first = c.post("/inventory/import", files=files, headers={"Idempotency-Key": key})
        assert first.status_code == 200, first.text
        assert first.json()["rows"] == 1
        n = len(audit_entries(server))
        again = c.post("/inventory/import", files=files, headers={"Idempotency-Key": key})
    assert again.status_code == 200 and again.headers.get("Idempotent-Replay") == "true"
    assert again.json() == first.json()
    assert len(audit_entries(server)) == n
    inv = inventory(server, "16708")
    assert inv["items"]["trucks"] == 3 and "trucks" not in inv["sample_resources"]
    # a text/csv body: the key reused for another body is refused, nothing imported
    key = uuid.uuid4().hex
    with server.client("admin") as c:
        assert (
            post_csv(
                c, "commune,resource,quantity\n16708,trucks,4\n", **{"Idempotency-Key": key}
            ).status_code
            == 200
        )
        r = post_csv(c, "commune,resource,quantity\n16708,trucks,5\n", **{"Idempotency-Key": key})
    assert r.status_code == 422, r.text
    assert inventory(server, "16708")["items"]["trucks"] == 4


def test_bad_lines_are_422_naming_each_line_and_nothing_is_written(server):
    before = {"16732": inventory(server, "16732")}
    n = len(audit_entries(server))
    text = (
        "commune,resource,quantity\n"
        "16732,militia,500\n"  # 2: fine, but the file has errors
        "99999,militia,5\n"  # 3: unknown commune
        "16732,helicopters,1\n"  # 4: unknown resource
        "16732,boats,-2\n"  # 5: negative
        "16732,trucks,2.5\n"  # 6: not an integer
        "16732,sandbags,99999999999\n"  # 7: too large to store
        f"16732,rice_kg,{'9' * 5000}\n"  # 8: more digits than int() reads
        "16732,militia,400\n"  # 9: duplicate of line 2
        "16732,tarpaulins\n"
    )  # 10: a field missing
    with server.client("bchqs") as c:
        r = post_csv(c, text)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert "nothing was imported" in detail["message"] and detail["more"] == 0
    lines = {e.split(":", 1)[0]: e for e in detail["errors"]}
    assert set(lines) == {f"line {k}" for k in range(3, 11)}
    assert "unknown commune '99999'" in lines["line 3"]
    assert "unknown resource 'helicopters'" in lines["line 4"]
    assert "non-negative integer" in lines["line 5"] and "non-negative integer" in lines["line 6"]
    assert "over the largest storable" in lines["line 7"]
    assert len(lines["line 8"]) < 400  # the pasted number is cut, not echoed back whole
    assert "duplicate" in lines["line 9"] and "line 2" in lines["line 9"]
    assert "expected 3 fields" in lines["line 10"]
    assert_unchanged(server, before, n)


def test_many_bad_lines_are_listed_up_to_a_cap_with_how_many_more(server):
    text = "commune,resource,quantity\n" + "".join(f"16732,militia,-{k}\n" for k in range(120))
    with server.client("bchqs") as c:
        r = post_csv(c, text)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert len(detail["errors"]) == 50 and detail["more"] == 70
    assert detail["errors"][0].startswith("line 2:") and "120 bad line(s)" in detail["message"]


def test_a_file_that_is_no_inventory_is_422(server):
    before, n = {"16732": inventory(server, "16732")}, len(audit_entries(server))
    with server.client("bchqs") as c:
        for body in (
            b"",
            b"code,item,qty\n16732,boats,1\n",
            "commune,resource,quantity\n16732,boats,1\n".encode("utf-16"),
            b"16732,boats,1",
        ):
            r = post_csv(c, body)
            assert r.status_code == 422, (body[:20], r.text)
            assert r.json()["detail"]["errors"], r.text
        r = c.post(
            "/inventory/import",
            files={"other": ("x.csv", b"commune,resource,quantity\n", "text/csv")},
        )
        assert r.status_code == 422 and "file" in r.json()["detail"]
    assert_unchanged(server, before, n)


def test_a_file_over_the_upload_limit_is_413_and_nothing_is_written(server):
    before, n = {"16750": inventory(server, "16750")}, len(audit_entries(server))
    text = "commune,resource,quantity\n16750,boats,9\n" + "# padding\n" * 250_000  # 2.5 MB
    with server.client("bchqs") as c:
        r = post_csv(c, text)
    assert r.status_code == 413, r.text
    assert_unchanged(server, before, n)


def test_a_commune_outside_the_commands_area_is_403_naming_it(server):
    before = {c: inventory(server, c) for c in ("16777", "16738")}
    n = len(audit_entries(server))
    with server.client("kv3") as c:  # Khu vực 3: 16777, 16792, 17248
        r = post_csv(c, "commune,resource,quantity\n16777,boats,3\n16738,boats,3\n")
    assert r.status_code == 403, r.text
    detail = r.json()["detail"]
    assert detail["communes"] == ["16738"] and "16738" in detail["message"]
    assert_unchanged(server, before, n)
    with server.client("kv3") as c:  # its own communes it may import
        assert post_csv(c, "commune,resource,quantity\n16777,boats,3\n").status_code == 200


def test_a_commune_leader_is_403(server):
    before, n = {"17254": inventory(server, "17254")}, len(audit_entries(server))
    with server.client("conc") as c:
        r = post_csv(c, "commune,resource,quantity\n17254,boats,3\n")
    assert r.status_code == 403, r.text
    assert "defence_command" in r.json()["detail"]
    with server.client("planner") as c:
        assert post_csv(c, "commune,resource,quantity\n17254,boats,3\n").status_code == 403
    with server.client() as c:  # no credentials
        assert post_csv(c, "commune,resource,quantity\n17254,boats,3\n").status_code == 401
    assert_unchanged(server, before, n)


def test_a_quantity_below_what_open_offers_reserve_is_409_naming_commune_and_resource(server):
    scenario = {
        "name": "import test",
        "hazard": "flood",
        "risk_level": 2,
        "duration_days": 1,
        "affected": [{"commune": "17254", "displaced": 100}],
    }
    with server.client("bchqs") as c:
        r = c.post("/incidents", json=scenario)
        assert r.status_code == 201, r.text
        incident = r.json()["id"]
    with server.client("conc") as c:
        r = c.post(
            "/requests",
            json={
                "incident_id": incident,
                "commune": "17254",
                "resource": "boats",
                "quantity": 3,
                "to": ["17248"],
            },
        )
        assert r.status_code == 201, r.text
        request_id = r.json()["id"]
    with server.client("chaukhe") as c:
        r = c.post(f"/requests/{request_id}/offers", json={"commune": "17248", "quantity": 2})
        assert r.status_code == 201, r.text
    before = {c: inventory(server, c) for c in ("17248", "16744")}
    assert before["17248"]["reserved"] == {"boats": 2}
    n = len(audit_entries(server))
    with server.client("bchqs") as c:
        r = post_csv(
            c, "commune,resource,quantity\n16744,boats,5\n17248,militia,10\n17248,boats,1\n"
        )
    assert r.status_code == 409, r.text
    detail = r.json()["detail"]
    assert detail["conflicts"] == [
        {"commune": "17248", "resource": "boats", "quantity": 1, "reserved": 2}
    ]
    assert "17248/boats" in detail["message"]
    assert_unchanged(server, before, n)
    with server.client("bchqs") as c:  # exactly what is promised is allowed
        assert post_csv(c, "commune,resource,quantity\n17248,boats,2\n").status_code == 200
    assert inventory(server, "17248")["available"]["boats"] == 0


def test_the_route_is_documented(server):
    with server.client() as c:
        spec = c.get(server.url + "/openapi.json").json()
    op = spec["paths"]["/api/v1/inventory/import"]["post"]
    assert op["summary"].startswith("Import a surveyed inventory file")
    assert set(op["requestBody"]["content"]) == {"text/csv", "multipart/form-data"}
    assert op["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "InventoryImportOut"
    )
    assert {"403", "409", "413", "422"} <= set(op["responses"])

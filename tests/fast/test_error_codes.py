"""Every error answer carries a stable ``code``, the ``field`` it concerns and the ``params`` its
wording needs, beside the unchanged English ``detail`` (in process, on four made-up communes)."""

from __future__ import annotations

import pytest

from tests.fast.inprocess import STOCK, running_service


@pytest.fixture(scope="module")
def svc(tmp_path_factory):
    with running_service(tmp_path_factory.mktemp("codes")) as service:
        yield service


def coded(r, status: int, code: str) -> dict:
    """The body of ``r``, checked for ``status`` and ``code`` and the keys every error has."""
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code, body
    assert {"detail", "code", "field", "params"} <= set(body), body
    return body


def test_unknown_commune_is_404_with_the_code_and_the_commune(svc):
    body = coded(svc.call("lead1", "GET", "/communes/99999"), 404, "unknown_commune")
    assert body["detail"] == "commune 99999 not found"
    assert body["field"] == "code" and body["params"] == {"commune": "99999"}


def test_request_for_an_unknown_commune_names_the_field(svc):
    r = svc.call(
        "admin",
        "POST",
        "/requests",
        json={"incident_id": 1, "commune": "99999", "resource": "boats", "quantity": 1},
    )
    body = coded(r, 422, "unknown_commune")
    assert body["detail"] == "commune: unknown commune '99999'"
    assert body["field"] == "commune" and body["params"] == {"commune": "99999"}


def test_request_to_unknown_communes_lists_them(svc):
    r = svc.call(
        "lead1",
        "POST",
        "/requests",
        json={
            "incident_id": svc.incident(),
            "commune": "10001",
            "resource": "boats",
            "quantity": 1,
            "to": ["10002", "99998", "99999"],
        },
    )
    body = coded(r, 422, "unknown_commune")
    assert body["field"] == "to"
    assert body["params"] == {"commune": "99998, 99999", "communes": ["99998", "99999"]}


def test_unknown_resource_and_incident_have_their_codes(svc):
    incident = svc.incident()
    base = {"incident_id": incident, "commune": "10001", "quantity": 1, "to": ["10002"]}
    r = svc.call("lead1", "POST", "/requests", json={**base, "resource": "unicorns"})
    body = coded(r, 422, "unknown_resource")
    assert body["field"] == "resource" and body["params"] == {"resource": "unicorns"}
    r = svc.call(
        "lead1", "POST", "/requests", json={**base, "incident_id": 10**6, "resource": "boats"}
    )
    body = coded(r, 404, "incident_not_found")
    assert body["field"] == "incident_id" and body["params"] == {"incident_id": 10**6}


def test_offer_larger_than_what_is_left_is_409_over_offer(svc):
    request_id = svc.request(quantity=5)
    r = svc.call(
        "lead2", "POST", f"/requests/{request_id}/offers", json={"commune": "10002", "quantity": 3}
    )
    assert r.status_code == 201, r.text
    r = svc.call(
        "lead2", "POST", f"/requests/{request_id}/offers", json={"commune": "10002", "quantity": 3}
    )
    body = coded(r, 409, "over_offer")
    assert body["detail"] == "offer of 3 is larger than what is left to offer (2 of 5)"
    assert body["field"] == "quantity"
    assert body["params"]["quantity"] == 3 and body["params"]["remaining"] == 2


def test_offer_larger_than_the_free_stock_is_409_over_stock(svc):
    boats = STOCK["boats"]
    request_id = svc.request(quantity=boats + 5)
    r = svc.call(
        "lead2",
        "POST",
        f"/requests/{request_id}/offers",
        json={"commune": "10002", "quantity": boats + 1},
    )
    body = coded(r, 409, "over_stock")
    assert body["field"] == "quantity"
    assert body["params"]["quantity"] == boats + 1
    assert body["params"]["available"] <= boats
    assert body["params"]["resource"] == "boats" and body["params"]["commune"] == "10002"


def test_illegal_transition_is_409_with_the_state_and_what_is_allowed(svc):
    request_id = svc.request(quantity=1)
    r = svc.call(
        "lead2", "POST", f"/requests/{request_id}/offers", json={"commune": "10002", "quantity": 1}
    )
    offer = r.json()["id"]
    body = coded(svc.call("lead2", "POST", f"/offers/{offer}/dispatch"), 409, "illegal_transition")
    assert body["detail"] == {
        "message": "cannot dispatch an offer that is offered",
        "status": "offered",
        "allowed": ["accept", "decline", "cancel"],
    }
    assert body["params"] == {
        "action": "dispatch",
        "status": "offered",
        "allowed": ["accept", "decline", "cancel"],
    }


def test_acting_for_another_commune_is_403_not_your_commune(svc):
    r = svc.call("lead2", "PUT", "/communes/10001/inventory", json={"boats": 1})
    body = coded(r, 403, "not_your_commune")
    assert body["detail"] == "editing an inventory: you lead commune 10002, not 10001"
    assert body["field"] == "commune"
    assert body["params"] == {"commune": "10001", "own": "10002", "action": "editing an inventory"}


def test_a_command_outside_its_area_is_403_outside_area(svc):
    r = svc.call("command", "PUT", "/communes/10004/inventory", json={"boats": 1})
    body = coded(r, 403, "outside_area")
    assert body["params"]["commune"] == "10004"


def test_a_missing_role_is_403_role_required_naming_the_roles(svc):
    r = svc.call("lead1", "POST", "/rules", json={"reason": "x", "rule": {"type": "add_link"}})
    body = coded(r, 403, "role_required")
    assert body["params"]["roles"] == ["planner", "admin"]
    assert body["params"]["role"] == "commune_leader"


@pytest.mark.parametrize("quantity", [0, -3])
def test_a_bad_quantity_is_422_invalid_request_naming_the_field(svc, quantity):
    request_id = svc.request(quantity=1)
    r = svc.call(
        "lead2",
        "POST",
        f"/requests/{request_id}/offers",
        json={"commune": "10002", "quantity": quantity},
    )
    body = coded(r, 422, "invalid_request")
    assert body["detail"][0]["loc"] == ["body", "quantity"]  # FastAPI's own detail, unchanged
    assert body["field"] == "quantity"
    assert body["problems"][0]["code"] == "greater_than"
    assert body["problems"][0]["params"] == {"gt": 0}


def test_a_quantity_that_is_no_number_is_422_naming_the_field(svc):
    r = svc.call(
        "lead1",
        "POST",
        "/requests",
        json={"incident_id": 1, "commune": "10001", "resource": "boats", "quantity": "many"},
    )
    body = coded(r, 422, "invalid_request")
    assert body["field"] == "quantity" and body["problems"][0]["code"] == "int_parsing"


def test_unknown_ids_are_404_with_their_own_codes(svc):
    body = coded(svc.call("admin", "GET", "/requests/999999"), 404, "request_not_found")
    assert body["params"] == {"request_id": 999999}
    body = coded(svc.call("admin", "GET", "/offers/999999"), 404, "offer_not_found")
    assert body["params"] == {"offer_id": 999999}
    body = coded(svc.call("planner", "GET", "/rules/999999/history"), 404, "rule_not_found")
    assert body["params"] == {"rule_id": 999999}


def test_no_credentials_and_bad_tokens_are_401_with_codes(svc):
    coded(svc.call(None, "GET", "/auth/me"), 401, "not_authenticated")
    r = svc.call(None, "GET", "/auth/me", headers={"Authorization": "Bearer nonsense"})
    coded(r, 401, "invalid_token")


def test_a_wrong_password_is_401_wrong_credentials_then_429_too_many_attempts(svc):
    settings = svc.state.settings
    for _ in range(settings.login_max_failures):
        r = svc.client.post(
            "/api/v1/auth/token", data={"username": "lead4", "password": "wrong!!!"}
        )
        body = coded(r, 401, "wrong_credentials")
        assert body["detail"] == "wrong username or password"
    r = svc.client.post("/api/v1/auth/token", data={"username": "lead4", "password": "wrong!!!"})
    body = coded(r, 429, "too_many_attempts")
    assert body["params"] == {"minutes": settings.login_window_minutes}


def test_cancelling_without_a_reason_is_422_reason_required(svc):
    request_id = svc.request(quantity=1)
    r = svc.call("lead1", "POST", f"/requests/{request_id}/cancel", json={"reason": ""})
    body = coded(r, 422, "reason_required")
    assert body["field"] == "reason"


def test_a_bad_inventory_file_is_422_inventory_invalid_with_the_count(svc):
    csv = "commune,resource,quantity\n99999,boats,1\n10001,unicorns,2\n10001,boats,3\n"
    r = svc.call(
        "admin", "POST", "/inventory/import", content=csv, headers={"Content-Type": "text/csv"}
    )
    body = coded(r, 422, "inventory_invalid")
    assert set(body["detail"]) == {"message", "errors", "more"}  # the detail keeps its keys
    assert body["params"]["count"] == 2


def test_an_inventory_file_not_utf8_names_the_byte(svc):
    raw = b"commune,resource,quantity\n10001,boats,1\n" + b"\xff\n"
    r = svc.call(
        "admin", "POST", "/inventory/import", content=raw, headers={"Content-Type": "text/csv"}
    )
    body = coded(r, 422, "inventory_invalid")
    assert body["problems"] == [
        {
            "code": "not_utf8",
            "field": None,
            "params": {"byte": len(raw) - 2},
            "message": f"file: not UTF-8 text (byte {len(raw) - 2})",
        }
    ]


def test_an_import_outside_the_commands_area_is_403_naming_the_communes(svc):
    csv = "commune,resource,quantity\n10001,boats,1\n10003,boats,1\n10004,boats,1\n"
    r = svc.call(
        "command", "POST", "/inventory/import", content=csv, headers={"Content-Type": "text/csv"}
    )
    body = coded(r, 403, "outside_area")
    assert body["params"] == {"communes": ["10003", "10004"], "count": 2}


def test_a_bad_rules_import_is_422_rules_invalid_with_each_rules_position(svc):
    rules = [
        {"type": "add_link", "a": "10001", "b": "10004", "travel_minutes": 20},
        {"type": "close_link", "a": "10001", "b": "99999"},
        {"type": "close_link", "a": "10002", "b": "10002"},
    ]
    r = svc.call("planner", "POST", "/rules/import", json={"reason": "thử", "rules": rules})
    body = coded(r, 422, "rules_invalid")
    assert body["params"] == {"count": 2}
    assert [p["line"] for p in body["problems"]] == [2, 3]
    assert "rule #2" in body["problems"][0]["message"]


def test_a_too_large_body_is_413_body_too_large_and_no_route_stays_fastapis_404(svc):
    r = svc.call("admin", "GET", "/no/such/thing")
    assert r.status_code == 404 and r.json() == {"detail": "Not Found"}  # as clients know it
    limit = svc.state.settings.max_upload_bytes
    r = svc.call(
        "admin",
        "POST",
        "/inventory/import",
        content=b"x" * (limit + 1),
        headers={"Content-Type": "text/csv"},
    )
    body = coded(r, 413, "body_too_large")
    assert body["params"]["limit"] == limit

"""Pages word errors from their code, params, field and problems, never from their message (in
process: a request with a tiny graph as the application's state)."""

from __future__ import annotations

from types import SimpleNamespace

import networkx as nx
import pytest
from starlette.requests import Request

from api.errors import BadInput, Conflict
from api.web.inventory_errors import inventory_upload_error, problem_lines
from api.web.planner import _error_field
from geo.errors import LienXaError, Problem


def page_request(lang: str = "vi") -> Request:
    G = nx.Graph()
    G.add_node("16702", full_name="Xã Thông Thụ")
    app = SimpleNamespace(state=SimpleNamespace(lienxa=SimpleNamespace(graph=G)))
    return Request(
        {"type": "http", "query_string": f"lang={lang}".encode(), "headers": [], "app": app}
    )


BAD_FILE = [
    Problem("unknown_commune", "unknown commune '99999'", "commune", {"commune": "99999"}, 3),
    Problem("quantity_not_integer", "…", "quantity", {"value": "-3"}, 4),
    Problem("unknown_resource", "…", "resource", {"resource": "yachts"}, 4),
    Problem(
        "duplicate_row", "…", None, {"commune": "16702", "resource": "boats", "first_line": 2}, 5
    ),
]


def test_inventory_problems_are_worded_per_line_in_the_page_language():
    assert problem_lines(page_request("vi"), BAD_FILE) == [
        "dòng 3: không có xã mã '99999'",
        "dòng 4: số lượng phải là số nguyên không âm, nhận được '-3'; "
        "không có nguồn lực 'yachts' trong danh mục",
        "dòng 5: trùng dòng 16702/boats (lần đầu ở dòng 2)",
    ]
    assert problem_lines(page_request("en"), BAD_FILE[:1]) == ["line 3: unknown commune '99999'"]


def test_a_refused_file_has_a_heading_counting_its_bad_lines():
    exc = BadInput(
        {"message": "3 bad line(s), nothing was imported", "errors": ["…"] * 3, "more": 0},
        code="inventory_invalid",
        params={"count": 3},
        problems=BAD_FILE,
    )
    shown = inventory_upload_error(page_request("vi"), exc)
    assert shown["heading"] == "Tệp có 3 lỗi, chưa nhập dòng nào:"
    assert shown["lines"][0] == "dòng 3: không có xã mã '99999'" and shown["more"] == ""
    en = inventory_upload_error(page_request("en"), exc)
    assert en["heading"] == "The file has 3 error(s); nothing was imported:"


def test_a_whole_file_problem_has_no_line_number():
    exc = BadInput(
        {"message": "…", "errors": ["file: not UTF-8 text (byte 7)"], "more": 0},
        problems=[Problem("not_utf8", "file: not UTF-8 text (byte 7)", None, {"byte": 7})],
    )
    assert inventory_upload_error(page_request("vi"), exc)["lines"] == [
        "tệp không phải văn bản UTF-8 (byte 7)"
    ]


def test_problems_without_codes_yet_are_shown_as_the_service_gave_them():
    exc = BadInput({"message": "…", "errors": ["line 3: something new"], "more": 2})
    shown = inventory_upload_error(page_request("vi"), exc)
    assert shown["lines"] == ["line 3: something new"]
    assert shown["heading"] == "Tệp có 3 lỗi, chưa nhập dòng nào:"
    assert shown["more"] == "… và 2 lỗi nữa."


def test_communes_outside_the_area_are_named():
    exc = Conflict({"message": "outside your area", "communes": ["16702", "99998"]})
    shown = inventory_upload_error(page_request("vi"), exc)
    assert "Xã Thông Thụ (16702), 99998" in shown["heading"]


def test_an_error_of_another_code_is_its_english_message():
    exc = Conflict("request 12 is cancelled", code="request_not_open")
    assert inventory_upload_error(page_request("vi"), exc)["heading"] == "request 12 is cancelled"


@pytest.mark.parametrize(
    "exc, field",
    [
        (LienXaError("…", code="bad_date", field="valid_to"), "valid_to"),
        (LienXaError("…", code="unknown_commune", field="b", params={"commune": "99999"}), "b"),
        # no field: the one holding the unknown code
        (LienXaError("…", code="unknown_commune", params={"commune": "99999"}), "b"),
        (LienXaError("…", code="bad_via", field="via"), "form"),  # no input of its own
        (LienXaError("…"), "form"),
    ],
)
def test_a_rule_error_goes_next_to_the_field_it_names(exc, field):
    assert _error_field(exc, {"a": "16876", "b": "99999"}) == field


def test_a_long_list_of_bad_lines_is_cut_and_counted():
    problems = [
        Problem("unknown_commune", "…", "commune", {"commune": str(90000 + n)}, n)
        for n in range(2, 62)
    ]
    exc = BadInput(
        {"message": "…", "errors": ["…"] * 50, "more": 10}, params={"count": 60}, problems=problems
    )
    shown = inventory_upload_error(page_request("vi"), exc)
    assert len(shown["lines"]) == 50 and shown["more"] == "… và 10 lỗi nữa."
    assert shown["heading"] == "Tệp có 60 lỗi, chưa nhập dòng nào:"


def test_quantities_below_promises_are_named_with_their_problems():
    """The service lists them in ``conflicts`` and as problems: the page words the conflicts."""
    conflict = {"commune": "16702", "resource": "boats", "quantity": 1, "reserved": 1200}
    exc = Conflict(
        {"message": "…", "conflicts": [conflict], "more": 0},
        code="below_reserved",
        problems=[Problem("below_reserved", "16702/boats (1 < 1200 promised)", params=conflict)],
    )
    shown = inventory_upload_error(page_request("vi"), exc)
    assert shown["heading"].startswith("Số lượng thấp hơn số đã hứa")
    assert shown["lines"] == ["Xã Thông Thụ (16702), xuồng, ca nô: 1 < 1.200 đã hứa"]


def test_a_line_with_two_problems_counts_once():
    exc = BadInput(
        {"message": "…", "errors": ["…", "…", "…"], "more": 0},
        params={"count": 4},  # problems, not lines
        problems=BAD_FILE,
    )
    assert inventory_upload_error(page_request("vi"), exc)["heading"].startswith("Tệp có 3 lỗi")


def page_post(site, user: str, path: str, **form: str):
    """A form of the commune page sent as ``user`` (its session cookie and CSRF token)."""
    from fastapi.testclient import TestClient

    from api.auth import SESSION_COOKIE

    token = site.tokens[user]
    page = TestClient(site.client.app, cookies={SESSION_COOKIE: token})
    csrf = site.client.app.state.lienxa.tokens.csrf_for(token)
    return page.post(path, data={"csrf_token": csrf, **form}, follow_redirects=False)


def test_the_commune_page_words_a_quantity_below_what_offers_promised(site):
    from tests.fast.conftest import GIVES

    request = site.ask(site.incident(), 5)
    site.stock(GIVES, "tayson", boats=10)
    site.offer(request, 4)
    r = page_post(site, "tayson", "/commune/inventory", code=GIVES, inv_boats="2")
    assert r.status_code == 422, r.text[:300]
    assert "Số lượng 2 thấp hơn 4 đã hứa cho các đề nghị đang mở" in r.text


def test_the_commune_page_words_an_offer_to_a_request_not_addressed_to_it(site):
    from tests.fast.conftest import OTHER

    request = site.ask(site.incident(), 5)  # to GIVES only
    site.stock(OTHER, "bacly", boats=10)
    rid = request["id"]
    r = page_post(site, "bacly", f"/commune/requests/{rid}/offer", **{f"offer_{rid}": "3"})
    assert r.status_code == 422, r.text[:300]
    assert f"Yêu cầu số {rid} không gửi đến xã {OTHER}" in r.text


def test_the_commune_page_words_an_offer_to_a_request_no_longer_open(site):
    from tests.fast.conftest import GIVES

    request = site.ask(site.incident(), 5)
    site.stock(GIVES, "tayson", boats=10)
    rid = request["id"]
    cancel = site.as_("dongha").post(f"/requests/{rid}/cancel", json={"reason": "đã đủ"})
    assert cancel.status_code == 200, cancel.text
    r = page_post(site, "tayson", f"/commune/requests/{rid}/offer", **{f"offer_{rid}": "3"})
    assert r.status_code == 422, r.text[:300]
    # the status in the page language, not the service's English word inside Vietnamese
    # (tests/web/test_page_safety.py looks for it too)
    assert f"Yêu cầu số {rid} không còn mở (đã hủy)" in r.text
    assert "(cancelled)" not in r.text

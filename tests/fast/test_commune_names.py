"""Communes by name: the resolver (diacritics both ways, tone marks either way, ambiguous and
unknown names, codes, neighbours first), the search API and the commune page's picker."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from api.services.commune_names import (
    CommuneNameError,
    picks_of,
    resolve_commune,
    resolve_communes,
)
from geo.names import NameIndex, split_names
from tests.fast.conftest import ASKS, GIVES, OTHER, PASSWORD, SOUTH_A, SOUTH_B

#: ``code: (name, full name, province code, province name)``: two Yên Hoà in two provinces, a
#: Yên Hoa (no tone mark: another name), and a Phường Yên Hoà
ROWS = {
    "17248": ("Châu Khê", "Xã Châu Khê", "40", "Nghệ An"),
    "17254": ("Con Cuông", "Xã Con Cuông", "40", "Nghệ An"),
    "16909": ("Yên Hoà", "Xã Yên Hoà", "40", "Nghệ An"),
    "18682": ("Yên Hoà", "Xã Yên Hoà", "42", "Hà Tĩnh"),
    "02248": ("Yên Hoa", "Xã Yên Hoa", "08", "Tuyên Quang"),
    "00175": ("Yên Hoà", "Phường Yên Hoà", "01", "Hà Nội"),
    "17260": ("Châu Bình", "Xã Châu Bình", "40", "Nghệ An"),
}


@pytest.fixture(scope="module")
def index() -> NameIndex:
    frame = pd.DataFrame(
        [(c, *v) for c, v in ROWS.items()],
        columns=["code", "name", "full_name", "province_code", "province_name"],
    ).set_index("code")
    return NameIndex.from_gdf(frame)


@pytest.mark.parametrize(
    "typed",
    ["Châu Khê", "chau khe", "CHAU KHE", "  châu   khê ", "Xã Châu Khê", "xa chau khe", "17248"],
)
def test_a_name_with_or_without_diacritics_or_a_code_finds_the_commune(index, typed):
    assert resolve_commune(index, typed, field="to") == "17248"


def test_tone_marks_placed_either_way_are_one_name(index):
    # "Hòa" (old placement) and "Hoà" (new): the same name; "Yên Hoa" is another one
    for typed in ("Xã Yên Hòa (Hà Tĩnh)", "Xã Yên Hoà (Hà Tĩnh)", "yen hoa (ha tinh)"):
        assert resolve_commune(index, typed, field="to") == "18682", typed
    assert resolve_commune(index, "Yên Hoa", field="to") == "02248"
    assert index.exact("Xã Yên Hòa") == index.exact("Xã Yên Hoà") == ["16909", "18682"]


def test_a_shared_name_is_answered_with_the_choices_never_guessed(index):
    with pytest.raises(CommuneNameError) as caught:
        resolve_commune(index, "Xã Yên Hòa", field="to", near={"18682"})
    exc = caught.value
    assert (exc.code, exc.field, exc.status_code) == ("commune_name_ambiguous", "to", 422)
    assert exc.params == {"name": "Xã Yên Hòa", "count": 2}
    # the user's neighbour first
    assert [c.code for c in exc.choices] == ["18682", "16909"]
    # without diacritics "yen hoa" is four communes (the ward and "Yên Hoa" too)
    with pytest.raises(CommuneNameError) as caught:
        resolve_commune(index, "yen hoa", field="to")
    assert caught.value.params["count"] == 4
    # the choice made on the page settles it
    picks = picks_of({"to_choice": "16909", "to_choice_for": "Xã Yên Hòa"}, "to")
    assert resolve_commune(index, "Xã Yên Hòa", field="to", picks=picks) == "16909"


def test_an_unknown_name_is_a_named_error_with_close_names(index):
    with pytest.raises(CommuneNameError) as caught:
        resolve_commune(index, "Châu", field="a", near={"17260"})
    exc = caught.value
    assert (exc.code, exc.field, exc.params) == ("commune_name_unknown", "a", {"name": "Châu"})
    assert [c.code for c in exc.choices] == ["17260", "17248"]  # the neighbour first
    with pytest.raises(CommuneNameError, match="no commune is called 'Vinh'"):
        resolve_commune(index, "Vinh", field="a")
    with pytest.raises(CommuneNameError):
        resolve_commune(index, "99999", field="a")


def test_a_typed_list_takes_names_and_codes_each_once(index):
    assert resolve_communes(index, "chau khe, 17254; Châu Khê", field="to") == ["17248", "17254"]
    assert split_names("Yên Hoà (Hà Tĩnh, 42), Con Cuông") == ["Yên Hoà (Hà Tĩnh, 42)", "Con Cuông"]
    assert resolve_communes(index, " , ", field="to") == []


def test_search_ranks_exact_then_neighbours_then_prefixes(index):
    assert [c.code for c in index.search("chau")] == ["17260", "17248"]
    assert [c.code for c in index.search("chau", near={"17248"})] == ["17248", "17260"]
    # an exact name before a neighbour's partial match
    assert [c.code for c in index.search("chau khe", near={"17260"})] == ["17248"]
    # typed with diacritics: the names with those diacritics first
    assert index.search("Yên Hoa")[0].code == "02248"
    assert index.search("Yên Hòa")[-1].code == "02248"
    assert index.label("18682") == "Xã Yên Hoà (Hà Tĩnh)" and index.label("17248") == "Xã Châu Khê"


def test_the_search_api_ranks_neighbours_first(site):
    anyone = site.as_(None)
    r = anyone.get("/communes", params={"q": "a", "near": GIVES})
    assert r.status_code == 200, r.text
    feats = r.json()["features"]
    codes = [f["properties"]["code"] for f in feats]
    # Tây Sơn's neighbours (Đông Hà, Bắc Lý, Kỳ Lạc; Nam Phong touches at a corner) come first
    near = [f["properties"]["neighbour"] for f in feats]
    assert near == [True, True, True, False, False]
    assert set(codes[:3]) == {ASKS, OTHER, SOUTH_B} and set(codes[3:]) == {GIVES, SOUTH_A}
    r = anyone.get("/communes", params={"q": "tay son"})
    assert [f["properties"]["code"] for f in r.json()["features"]] == [GIVES]
    r = anyone.get("/communes", params={"q": "Tây Sơn"})
    assert [f["properties"]["code"] for f in r.json()["features"]] == [GIVES]


def _page(site, user: str):
    client = site.client
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return client


def _request_form(html: str) -> dict[str, str]:
    start = html.index('id="request-form"')
    form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_a_leader_sends_a_request_to_a_neighbour_typed_by_name(site):
    incident = site.incident()
    page = _page(site, "dongha")
    html = page.get("/commune").text
    # the picker lists the neighbours first, by name
    options = re.findall(r'<option value="([^"]+)">', html[html.index('id="communes-to"') :])
    assert options[:3] == ["Xã Nam Phong", "Xã Tây Sơn", "Xã Bắc Lý"]
    fields = _request_form(html) | {
        "incident_id": str(incident["id"]),
        "resource": "boats",
        "quantity": "3",
    }
    r = page.post("/commune/requests", data=fields | {"to": "xa tay son"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    (req,) = site.as_("dongha").get("/requests", params={"commune": ASKS}).json()
    assert req["to"] == [GIVES]


def test_an_unknown_name_is_refused_next_to_the_field_in_the_page_language(site):
    incident = site.incident()
    page = _page(site, "dongha")
    fields = _request_form(page.get("/commune").text) | {
        "incident_id": str(incident["id"]),
        "resource": "boats",
        "quantity": "3",
        "to": "Tây",
    }
    r = page.post("/commune/requests", data=fields)
    assert r.status_code == 422
    assert 'id="err-to">Không tìm thấy xã nào tên “Tây”' in r.text
    # the close names are offered as choices; picking one sends the request
    assert 'name="to_choice" value="90002"' in r.text
    fields = _request_form(r.text) | {
        "incident_id": str(incident["id"]),
        "resource": "boats",
        "quantity": "3",
        "to": "Tây",
        "to_choice": GIVES,
    }
    r = page.post("/commune/requests", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert site.as_("dongha").get("/requests").json()[0]["to"] == [GIVES]


def _rule_form(html: str) -> dict[str, str]:
    start = html.index('id="rule-form"')
    form = html[start : html.index("</form>", start)]
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form))


def test_a_planner_names_a_rules_communes(site):
    page = _page(site, "planner")
    fields = _rule_form(page.get("/planner").text) | {
        "type": "add_link",
        "a": "Đông Hà",
        "b": "bac ly",
        "travel_minutes": "40",
        "reason": "phà mới",
    }
    r = page.post("/planner/rules", data=fields, follow_redirects=False)
    assert r.status_code == 303, r.text
    (rule,) = site.as_("planner").get("/rules").json()
    assert (rule["rule"]["a"], rule["rule"]["b"]) == (ASKS, OTHER)
    html = page.get("/planner").text
    assert "Xã Đông Hà – Xã Bắc Lý" in html
    # an unknown name next to its field, what was typed kept
    fields = _rule_form(html) | {"type": "add_link", "a": "Đông Hà", "b": "Bac", "reason": "x"}
    r = page.post("/planner/rules", data=fields)
    assert r.status_code == 422
    assert 'id="err-b">Không tìm thấy xã nào tên “Bac”' in r.text
    assert 'name="b_choice" value="90003"' in r.text

"""An incident's history: the timeline of requests, offers, dispatches and arrivals as JSON, CSV
and a page, kept after arrival, and who sees which part of it."""

from __future__ import annotations

import csv
import io
import re

from tests.fast.conftest import ASKS, GIVES, OTHER, PASSWORD, SOUTH_A


def _story(site) -> tuple[dict, dict, dict]:
    """Đông Hà asks Tây Sơn for 5 boats; Tây Sơn offers 4, Đông Hà accepts, Tây Sơn sends them
    and Đông Hà receives them. Bắc Lý asks Đông Hà for 2 (another commune's request)."""
    incident = site.incident()
    site.stock(GIVES, "tayson", boats=10)
    request = site.ask(incident, 5)
    offer = site.offer(request, 4)
    for user, action in (("dongha", "accept"), ("tayson", "dispatch"), ("dongha", "arrive")):
        r = site.as_(user).post(f"/offers/{offer['id']}/{action}")
        assert r.status_code == 200, r.text
    other = site.ask(incident, 2, commune=OTHER, to=(GIVES,), user="bacly")
    return incident, request, other


def test_the_history_keeps_the_whole_story_after_arrival(site):
    incident, request, _ = _story(site)
    r = site.as_("planner").get(f"/incidents/{incident['id']}/history")
    assert r.status_code == 200, r.text
    events = r.json()
    assert [e["kind"] for e in events] == [
        "request",
        "offer",
        "accept",
        "dispatch",
        "arrive",
        "request",
    ]
    arrive = events[4]
    assert (arrive["giver"], arrive["receiver"], arrive["quantity"]) == (GIVES, ASKS, 4)
    assert arrive["request_id"] == request["id"] and arrive["resource"] == "boats"
    assert events[0]["addressees"] == [GIVES] and events[0]["quantity"] == 5
    times = [e["at"] for e in events]
    assert times == sorted(times)


def test_a_leader_sees_only_what_concerns_its_commune(site):
    incident, _, other = _story(site)
    mine = site.as_("dongha").get(f"/incidents/{incident['id']}/history").json()
    assert len(mine) == 5 and all(ASKS in (e["giver"], e["receiver"]) for e in mine)
    assert other["id"] not in {e["request_id"] for e in mine}
    # Tây Sơn is asked by both
    assert len(site.as_("tayson").get(f"/incidents/{incident['id']}/history").json()) == 6
    # the province 42 command sees nothing of province 40's communes
    assert site.as_("bch42").get(f"/incidents/{incident['id']}/history").json() == []
    assert len(site.as_("bch40").get(f"/incidents/{incident['id']}/history").json()) == 6
    # a command can narrow it to one commune
    r = site.as_("bch40").get(f"/incidents/{incident['id']}/history", params={"commune": OTHER})
    assert [e["kind"] for e in r.json()] == ["request"]


def test_history_needs_a_login_and_an_incident(site):
    incident = site.incident()
    assert site.as_(None).get(f"/incidents/{incident['id']}/history").status_code == 401
    assert site.as_(None).get(f"/incidents/{incident['id']}/history.csv").status_code == 401
    r = site.as_("planner").get("/incidents/999/history")
    assert r.status_code == 404 and r.json()["code"] == "incident_not_found"
    r = site.as_("planner").get("/incidents/999/history.csv")
    assert r.status_code == 404


def test_the_csv_names_both_communes_and_the_quantities(site):
    incident, request, _ = _story(site)
    r = site.as_("dongha").get(f"/incidents/{incident['id']}/history.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    assert r.content.startswith("\ufeff".encode())  # a spreadsheet reads it as UTF-8
    rows = list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert [row["kind"] for row in rows] == ["request", "offer", "accept", "dispatch", "arrive"]
    last = rows[-1]
    assert (last["giver_name"], last["receiver_name"]) == ("Xã Tây Sơn", "Xã Đông Hà")
    assert (last["quantity"], last["resource"], last["request_id"]) == (
        "4",
        "boats",
        str(request["id"]),
    )
    assert rows[0]["addressees"] == GIVES


def test_a_note_is_never_a_spreadsheet_formula(site):
    incident = site.incident()
    r = site.as_("dongha").post(
        "/requests",
        json={
            "incident_id": incident["id"],
            "commune": ASKS,
            "resource": "boats",
            "quantity": 1,
            "to": [GIVES],
            "note": '=HYPERLINK("http://x")',
        },
    )
    assert r.status_code == 201, r.text
    text = site.as_("dongha").get(f"/incidents/{incident['id']}/history.csv").content.decode()
    assert "'=HYPERLINK" in text


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


def test_the_history_page_tells_the_story_in_words(site):
    incident, _, _ = _story(site)
    html = _page(site, "dongha").get("/history").text
    timeline = html[html.index('id="timeline"') :]
    assert "Xã Đông Hà đã nhận 4 xuồng, ca nô từ Xã Tây Sơn" in timeline
    assert "Xã Tây Sơn cam kết hỗ trợ 4 xuồng, ca nô cho Xã Đông Hà" in timeline
    assert "Xã Đông Hà đề nghị hỗ trợ 5 xuồng, ca nô, gửi đến Xã Tây Sơn" in timeline
    assert "Xã Bắc Lý" not in timeline  # not Đông Hà's business
    assert f"/api/v1/incidents/{incident['id']}/history.csv?commune={ASKS}" in html
    # the command sees the whole area, in English when asked
    page = _page(site, "bch40")
    en = page.get("/history", params={"incident": incident["id"], "lang": "en"}).text
    assert "Xã Đông Hà received 4 boats from Xã Tây Sơn" in en
    assert "Xã Bắc Lý asked for 2" in en
    assert page.get("/history", params={"incident": 999}).status_code == 404
    assert SOUTH_A not in en


def test_a_command_narrows_the_history_to_a_commune_typed_by_name(site):
    incident, _, _ = _story(site)
    page = _page(site, "bch40")
    html = page.get("/history", params={"incident": incident["id"], "commune": "bac ly"}).text
    timeline = html[html.index('id="timeline"') :]
    assert "Xã Bắc Lý đề nghị hỗ trợ 2 xuồng, ca nô" in timeline and "Đông Hà" not in timeline
    assert 'value="Xã Bắc Lý"' in html  # the field shows the name it understood
    assert f"history.csv?commune={OTHER}" in html
    r = page.get("/history", params={"incident": incident["id"], "commune": "Vinh"})
    assert r.status_code == 422
    assert 'id="err-commune">Không tìm thấy xã nào tên “Vinh”' in r.text


def test_situation_reports_are_in_the_timeline_and_the_csv(site):
    incident = site.incident()
    r = site.as_("dongha").post(
        f"/incidents/{incident['id']}/reports",
        json={"commune": ASKS, "displaced": 140, "houses_flooded": 12, "note": "nước lên nhanh"},
    )
    assert r.status_code == 201, r.text
    events = site.as_("dongha").get(f"/incidents/{incident['id']}/history").json()
    [report] = [e for e in events if e["kind"] == "report"]
    assert (report["receiver"], report["quantity"], report["note"]) == (ASKS, 140, "nước lên nhanh")
    # Bắc Lý's leader does not see Đông Hà's report
    other = site.as_("bacly").get(f"/incidents/{incident['id']}/history").json()
    assert [e for e in other if e["kind"] == "report"] == []
    csv_text = site.as_("bch40").get(f"/incidents/{incident['id']}/history.csv").text
    assert "report" in csv_text and "140" in csv_text


def test_a_timeline_reads_the_offers_and_the_requests_once(site):
    """Every source shares one read of the incident's offers and of its requests."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    incident, _, _ = _story(site)
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(" ".join(statement.split()).lower())

    event.listen(Engine, "before_cursor_execute", count)
    try:
        r = site.as_("planner").get(f"/incidents/{incident['id']}/history")
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert r.status_code == 200, r.text
    offers = [s for s in seen if s.startswith("select") and "from offers" in s]
    requests = [s for s in seen if s.startswith("select") and "from requests where" in s]
    assert len(offers) == 1, offers
    assert len(requests) == 1, requests


def test_times_in_json_sort_as_text_as_they_sort_as_times():
    """A time on a whole second keeps its six digits of fraction in JSON: pydantic's own format
    gave ``...:05Z``, which sorts as text after ``...:05.007504Z`` (a client sorting the
    history by its text, or this file's first test, saw the dispatch after the arrival). Naive
    times (SQLite's) and other zones come out in UTC."""
    import datetime as dt
    import json

    from pydantic import TypeAdapter

    from api.routes.history import HistoryEventOut

    times = [
        dt.datetime(2026, 12, 2, 5, 18, 4, 994000),
        dt.datetime(2026, 12, 2, 5, 18, 5),
        dt.datetime(2026, 12, 2, 5, 18, 5, 7504, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 2, 12, 18, 6, tzinfo=dt.timezone(dt.timedelta(hours=7))),
    ]
    base = {"kind": "dispatch", "incident_id": 1, "resource": "boats", "quantity": 4}
    none = dict.fromkeys(("giver", "receiver", "request_id", "offer_id", "actor", "note"))
    events = [HistoryEventOut(at=t, **base, **none, addressees=[]) for t in times]
    out = [e["at"] for e in json.loads(TypeAdapter(list[HistoryEventOut]).dump_json(events))]
    assert out == [
        "2026-12-02T05:18:04.994000Z",
        "2026-12-02T05:18:05.000000Z",
        "2026-12-02T05:18:05.007504Z",
        "2026-12-02T05:18:06.000000Z",
    ]
    assert out == sorted(out)
    schema = TypeAdapter(HistoryEventOut).json_schema(mode="serialization")
    assert schema["properties"]["at"] == {"format": "date-time", "title": "At", "type": "string"}

"""A request a re-plan replaced (``outdated``) on the maps: greyed and marked "Đã thay bằng đề
nghị mới" in the incident map's and the commune map's request panels, in both languages, never
counted as an open ask (the overview's count either), and the kept page renders anew."""

from __future__ import annotations

from tests.fast.conftest import ASKS, GIVES, SOUTH_A

MARK = {"vi": "Đã thay bằng đề nghị mới", "en": "Replaced by a new request"}


def _renders(site) -> int:
    return site.client.app.state.lienxa.geo.map_pages.renders


def _plan(site, incident) -> dict:
    r = site.as_("bch40").post(
        f"/incidents/{incident['id']}/plan", json={"create_requests": True, "max_hops": 1}
    )
    assert r.status_code == 200, r.text
    return r.json()


def _requests(site, incident) -> list[dict]:
    r = site.as_("planner").get("/requests", params={"incident_id": incident["id"]})
    assert r.status_code == 200, r.text
    return sorted(r.json(), key=lambda x: x["id"])


def _outdate(site) -> tuple[dict, dict, dict]:
    """Đông Hà asks Tây Sơn for 10 boats by a plan; the link closes and a re-plan asks Nam
    Phong instead: the first request is outdated, the second replaces it."""
    r = site.as_("bch40").post(
        "/incidents",
        json={
            "name": "Lũ quét Đông Hà",
            "risk_level": 2,
            "affected": [{"commune": ASKS, "displaced": 0, "needs": {"boats": 10}}],
        },
    )
    assert r.status_code == 201, r.text
    incident = r.json()
    site.stock(GIVES, "tayson", boats=20)
    _plan(site, incident)
    (first,) = _requests(site, incident)
    site.stock(SOUTH_A, "bch42", boats=20)
    r = site.as_("planner").post(
        "/rules",
        json={"reason": "sạt lở", "rule": {"type": "close_link", "a": ASKS, "b": GIVES}},
    )
    assert r.status_code in (200, 201), r.text
    return incident, first, _plan(site, incident)


def _panel(page: str, css: str) -> str:
    """The HTML of the map's panel of class ``css`` (as the page's script carries it)."""
    _head, _, rest = page.partition(f"lx-box lx-panel {css}")
    assert rest, f"no panel {css}"
    return rest.split("c.addTo(map)", 1)[0].replace('\\"', '"')


def test_the_incident_map_greys_and_marks_a_replaced_request(site):
    incident, first, _ = _outdate(site)
    auth = site.as_("planner").headers
    before = site.client.get(f"/maps/incidents/{incident['id']}?lang=vi", headers=auth)
    assert before.status_code == 200
    n = _renders(site)
    old, new = _requests(site, incident)
    assert old["id"] == first["id"] and old["outdated"] and not new["outdated"]
    for lang, mark in MARK.items():
        page = site.client.get(f"/maps/incidents/{incident['id']}?lang={lang}", headers=auth).text
        panel = _panel(page, "lx-requests")
        row = panel.split(f'id="lx-outdated-{old["id"]}"', 1)[1].split("</li>", 1)[0]
        assert mark in row and "color:#8a8a8a" in panel.split(f"lx-outdated-{old['id']}")[1]
        assert f'id="lx-outdated-{new["id"]}"' not in panel
        assert f"#{new['id']} " in panel
        # one open ask: the replacement only
        open_words = "Yêu cầu đang mở" if lang == "vi" else "Open requests"
        assert f"({open_words}: 1)" in panel, panel[:400]
    assert _renders(site) == n + 1  # the vi page was kept, the en one is new


def test_outdating_a_request_renders_the_incident_map_anew(site):
    """The page's key holds each request's ``outdated``: the same plan and scenario with one
    request outdated is a new page (and a new ETag)."""
    incident, first, _ = _outdate(site)
    auth = site.as_("planner").headers
    url = f"/maps/incidents/{incident['id']}"
    shown = site.client.get(url, headers=auth)
    assert "lx-outdated-" in shown.text
    # undo the mark by hand: only ``outdated`` changes
    from sqlalchemy import update

    from api.models import SupportRequest

    state = site.client.app.state.lienxa
    with state.write_session() as s, s.begin():
        s.execute(
            update(SupportRequest).where(SupportRequest.id == first["id"]).values(outdated=False)
        )
    again = site.client.get(url, headers={**auth, "If-None-Match": shown.headers["etag"]})
    assert again.status_code == 200 and again.headers["etag"] != shown.headers["etag"]
    assert "lx-outdated-" not in again.text


def test_the_commune_map_marks_it_and_counts_only_open_asks(site):
    _incident, first, _ = _outdate(site)
    for lang, mark in MARK.items():
        page = site.client.get(
            f"/maps/communes/{ASKS}?lang={lang}", headers=site.as_("dongha").headers
        ).text
        panel = _panel(page, "lx-requests")
        row = panel.split(f'id="lx-outdated-{first["id"]}"', 1)[1].split("</li>", 1)[0]
        assert mark in row
        open_words = "Yêu cầu đang mở" if lang == "vi" else "Open requests"
        assert f"({open_words}: 1)" in panel  # Đông Hà's outgoing: the replacement only


def test_the_overview_does_not_count_a_replaced_request_as_open(site):
    _outdate(site)
    page = site.client.get("/maps/overview?lang=en", headers=site.as_("bch40").headers).text
    assert "Open requests: 1" in page and "Open requests: 2" not in page

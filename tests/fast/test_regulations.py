"""Coordination regulations: strict validation, versions, signing, activation in one step,
exercises that move no stock, the after-action report."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tests.fast.conftest import ASKS, GIVES, OTHER, SOUTH_A, Site


def regulation(**over: Any) -> dict[str, Any]:
    """Đông Hà and Tây Sơn: level-2 and level-3 flood cards from Tây Sơn to Đông Hà, and
    the reverse at level 2 (never fired when Đông Hà is the one flooded)."""
    return {
        "number": "01/QC-PH",
        "title": "Quy chế phối hợp Đông Hà – Tây Sơn",
        "issuing_level": "xã",
        "parties": [ASKS, GIVES],
        "valid_from": "2026-01-01",
        "valid_to": "2030-12-31",
        "review_on": "2027-06-01",
        "fields": ["disaster_response", "staff_secondment"],
        "activities": [
            {
                "field": "staff_secondment",
                "text": "Tây Sơn cử cán bộ công nghệ thông tin sang Đông Hà",
                "from": GIVES,
                "to": ASKS,
                "people": [{"skill": "IT officer", "count": 1, "days": 14}],
            }
        ],
        "box_cards": [
            {
                "hazard": "flood",
                "level": 2,
                "from": GIVES,
                "to": ASKS,
                "order": 1,
                "resources": {"boats": 2, "militia": 10},
                "within_minutes": 60,
            },
            {
                "hazard": "flood",
                "level": 3,
                "from": GIVES,
                "to": ASKS,
                "order": 1,
                "resources": {"boats": 3},
                "within_minutes": 90,
            },
            {
                "hazard": "flood",
                "level": 2,
                "from": ASKS,
                "to": GIVES,
                "order": 1,
                "resources": {"boats": 1},
            },
        ],
        "backfill": [{"helper": GIVES, "covered_by": ASKS}],
        "contacts": [{"commune": ASKS, "name": "Nguyễn Văn A", "phone": "+84900000001"}],
        "command_posts": [{"commune": GIVES, "place": "Trụ sở UBND xã Tây Sơn"}],
        "rationale": "giáp ranh, cùng lưu vực",
        **over,
    }


def create(site: Site, data: dict[str, Any] | None = None) -> dict[str, Any]:
    r = site.as_("planner").post("/regulations", json=data or regulation())
    assert r.status_code == 201, r.text
    return r.json()


def signed(site: Site, data: dict[str, Any] | None = None) -> dict[str, Any]:
    reg = create(site, data)
    r = site.as_("planner").post(f"/regulations/{reg['id']}/sign")
    assert r.status_code == 200, r.text
    return r.json()


def declare(site: Site, level: int, **extra: Any) -> dict[str, Any]:
    r = site.as_("bch40").post(
        "/incidents",
        json={
            "name": "Lũ thử",
            "risk_level": level,
            "duration_days": 1,
            "affected": [{"commune": ASKS, "displaced": 500}],
            **extra,
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def requests_of(site: Site, ids: list[int]) -> list[dict[str, Any]]:
    return [site.request_now({"id": i}) for i in ids]


def test_unknown_field_scope_is_an_error_never_dropped(site: Site):
    r = site.as_("planner").post("/regulations", json=regulation(scope="toàn xã"))
    assert r.status_code == 422, r.text
    detail = r.json()
    assert detail["code"] == "regulation_invalid"
    assert [p["code"] for p in detail["problems"]] == ["regulation_unknown_field"]
    assert detail["problems"][0]["field"] == "scope"
    card = {**regulation()["box_cards"][0], "crew": 3}
    r = site.as_("planner").post("/regulations", json=regulation(box_cards=[card]))
    assert r.status_code == 422
    assert r.json()["problems"][0]["field"] == "box_cards[0].crew"


def test_cards_only_between_parties_with_catalogue_resources_and_positive_quantities(
    site: Site,
):
    bad = [
        {"hazard": "flood", "level": 2, "from": OTHER, "to": ASKS, "resources": {"boats": 1}},
        {"hazard": "flood", "level": 9, "from": GIVES, "to": ASKS, "resources": {"boats": 1}},
        {"hazard": "flood", "level": 2, "from": GIVES, "to": ASKS, "resources": {"unicorns": 1}},
        {"hazard": "flood", "level": 2, "from": GIVES, "to": ASKS, "resources": {"boats": 0}},
    ]
    r = site.as_("planner").post("/regulations", json=regulation(box_cards=bad))
    assert r.status_code == 422, r.text
    codes = [(p["code"], p["field"]) for p in r.json()["problems"]]
    assert codes == [
        ("regulation_not_a_party", "box_cards[0].from"),
        ("regulation_value_invalid", "box_cards[1].level"),
        ("unknown_resource", "box_cards[2].resources.unicorns"),
        ("regulation_quantity_invalid", "box_cards[3].resources.boats"),
    ]


def test_parties_must_be_adjacent_or_linked_by_an_open_rule(site: Site):
    far = regulation(parties=[ASKS, OTHER], box_cards=[], backfill=[], contacts=[],
                     command_posts=[], activities=[])  # fmt: skip
    r = site.as_("planner").post("/regulations", json=far)
    assert r.status_code == 422, r.text
    assert r.json()["problems"][0]["code"] == "regulation_parties_not_linked"
    rule = {"type": "add_link", "a": ASKS, "b": OTHER, "travel_minutes": 40}
    r = site.as_("planner").post("/rules", json={"reason": "đường liên xã", "rule": rule})
    assert r.status_code in (200, 201), r.text
    assert site.as_("planner").post("/regulations", json=far).status_code == 201


def test_versions_are_kept_and_only_a_draft_is_signed(site: Site):
    reg = create(site)
    rid = reg["id"]
    assert (reg["version"], reg["status"]) == (1, "draft")
    s = site.as_("planner").post(f"/regulations/{rid}/sign").json()
    assert (s["version"], s["status"], s["signers"]) == (2, "signed", ["planner"])
    again = site.as_("planner").post(f"/regulations/{rid}/sign")
    assert again.status_code == 409
    assert again.json()["code"] == "regulation_not_draft"
    # a signed regulation changes only through a new draft; the signed version stays in force
    r = site.as_("planner").request(
        "PATCH", f"/regulations/{rid}", json={"title": "Quy chế sửa đổi"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["status"], r.json()["in_force_version"]) == (
        3,
        "draft",
        2,
    )
    r = site.as_("planner").request("PATCH", f"/regulations/{rid}", json={"status": "signed"})
    assert r.json()["code"] == "regulation_field_readonly"
    versions = site.as_("planner").get(f"/regulations/{rid}/versions").json()
    assert [(v["version"], v["status"], v["title"]) for v in versions] == [
        (1, "draft", "Quy chế phối hợp Đông Hà – Tây Sơn"),
        (2, "signed", "Quy chế phối hợp Đông Hà – Tây Sơn"),
        (3, "draft", "Quy chế sửa đổi"),
    ]


def test_a_leader_cannot_create_or_sign(site: Site):
    assert site.as_("dongha").post("/regulations", json=regulation()).status_code == 403
    reg = create(site)
    assert site.as_("dongha").post(f"/regulations/{reg['id']}/sign").status_code == 403
    assert site.as_("bch42").post(f"/regulations/{reg['id']}/sign").status_code == 403
    assert site.as_("bch40").post(f"/regulations/{reg['id']}/sign").status_code == 200


def test_level_2_declaration_fires_exactly_the_level_2_cards(site: Site):
    reg = signed(site)
    incident = declare(site, 2)
    made = requests_of(site, incident["activated"])
    assert sorted((r["commune"], r["to"], r["resource"], r["quantity"]) for r in made) == [
        (ASKS, [GIVES], "boats", 2),
        (ASKS, [GIVES], "militia", 10),
    ]
    assert {(r["source"], r["regulation_id"]) for r in made} == {("regulation", reg["id"])}
    assert {r["card"]["number"] for r in made} == {"01/QC-PH"}
    notices = site.as_("planner").get(f"/incidents/{incident['id']}/after-action").json()
    assert [(b["helper"], b["covered_by"]) for b in notices["backfill"]] == [(GIVES, ASKS)]


def test_raising_fires_the_next_cards_once_and_lowering_nothing(site: Site):
    from api.auth import Principal
    from api.db import session_scope
    from api.enums import Role
    from api.models import Incident
    from api.services.activation import fire_cards

    signed(site)
    incident = declare(site, 2)
    state = site.client.app.state.lienxa
    actor = Principal(id=0, username="bch40", role=Role.DEFENCE_COMMAND, province="40",
                      area=frozenset({ASKS, GIVES, OTHER}))  # fmt: skip
    with session_scope(state.write_session) as s:
        i = s.get_one(Incident, incident["id"])
        raised = fire_cards(s, i, old_level=2, new_level=3, actor=actor)
        assert fire_cards(s, i, old_level=2, new_level=3, actor=actor) == []  # never twice
        assert fire_cards(s, i, old_level=3, new_level=1, actor=actor) == []  # lowering
        assert fire_cards(s, i, old_level=0, new_level=3, actor=actor) == []  # all fired
    made = requests_of(site, raised)
    assert [(r["resource"], r["quantity"], r["card"]["level"]) for r in made] == [("boats", 3, 3)]


def test_declaring_at_level_3_fires_levels_2_and_3(site: Site):
    signed(site)
    made = requests_of(site, declare(site, 3)["activated"])
    assert sorted((r["resource"], r["quantity"]) for r in made) == [
        ("boats", 2),
        ("boats", 3),
        ("militia", 10),
    ]


def test_a_draft_expired_or_retired_regulation_fires_nothing(site: Site):
    create(site)  # a draft
    signed(site, regulation(number="02/QC", valid_to="2020-12-31", valid_from="2020-01-01"))
    retired = signed(site, regulation(number="03/QC"))
    r = site.as_("planner").post(f"/regulations/{retired['id']}/retire")
    assert r.status_code == 200 and r.json()["status"] == "retired", r.text
    assert declare(site, 3)["activated"] == []
    future = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    signed(site, regulation(number="04/QC", valid_from=future, valid_to=None))
    assert declare(site, 3)["activated"] == []


def test_an_exercise_runs_the_flow_and_leaves_every_stock_unchanged(site: Site):
    site.stock(GIVES, "tayson", boats=10, militia=40)
    site.stock(ASKS, "dongha", boats=1)
    before = {c: site.inventory(c) for c in (ASKS, GIVES, SOUTH_A)}
    signed(site)
    incident = declare(site, 2, exercise=True)
    assert incident["exercise"] is True
    boats = next(r for r in requests_of(site, incident["activated"]) if r["resource"] == "boats")
    offer = site.offer(boats, 2)
    for action, user in (("accept", "dongha"), ("dispatch", "tayson"), ("arrive", "dongha")):
        r = site.as_(user).post(f"/offers/{offer['id']}/{action}")
        assert r.status_code == 200, (action, r.text)
    assert site.request_now(boats)["status"] == "fulfilled"
    assert {c: site.inventory(c) for c in (ASKS, GIVES, SOUTH_A)} == before
    for name in ("requests", "offers"):
        rows = site.as_("bch40").get(f"/export/{name}.csv", params={"incident_id": incident["id"]})
        assert rows.text.splitlines()[0].endswith(",exercise")
        assert {line.rsplit(",", 1)[1] for line in rows.text.splitlines()[1:]} == {"True"}
    report = site.as_("bch40").get(f"/incidents/{incident['id']}/after-action").json()
    assert report["exercise"] is True
    assert [o["offer_id"] for o in report["offers"]] == [offer["id"]]
    assert report["offers"][0]["minutes_after_declaration"] >= 0
    shares = {(c["resource"], c["share_filled"], c["arrived"]) for c in report["cards"]}
    assert shares == {("boats", 1.0, 2), ("militia", 0.0, 0)}


def test_exercise_must_be_a_boolean(site: Site):
    r = site.as_("bch40").post(
        "/incidents",
        json={"name": "x", "risk_level": 1, "affected": [{"commune": ASKS}], "exercise": "có"},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "exercise_invalid"


def test_the_plan_counts_the_fired_cards_as_incoming_and_plans_the_rest(site: Site):
    site.stock(GIVES, "tayson", boats=10, militia=40)

    def planned() -> dict[str, int]:
        incident = declare(site, 2)
        r = site.as_("bch40").post(f"/incidents/{incident['id']}/plan", json={})
        assert r.status_code == 200, r.text
        return {
            t["resource"]: t["quantity"]
            for t in r.json()["transfers"]
            if (t["from"], t["to"]) == (GIVES, ASKS) and t["resource"] in ("boats", "militia")
        }

    assert planned() == {"boats": 5, "militia": 20}  # no regulation: all from the plan
    signed(site)  # cards: 2 boats and 10 militia from Tây Sơn at level 2
    assert planned() == {"boats": 3, "militia": 10}


def test_a_draft_as_the_drafting_helper_writes_it_is_accepted_a_claimed_signature_is_not(
    site: Site,
):
    draft = regulation(id=None, status="draft", signers=[], signed_on=None)
    assert site.as_("planner").post("/regulations", json=draft).status_code == 201
    r = site.as_("planner").post("/regulations", json=regulation(status="signed"))
    assert r.status_code == 422
    assert (r.json()["code"], r.json()["field"]) == ("regulation_field_readonly", "status")


def test_the_command_raising_the_level_fires_the_next_cards_over_the_api(site: Site):
    signed(site)
    incident = declare(site, 2)
    r = site.as_("bch40").request("PATCH", f"/incidents/{incident['id']}", json={"risk_level": 3})
    assert r.status_code == 200, r.text
    made = requests_of(site, r.json()["activated"])
    assert [(r["resource"], r["quantity"], r["card"]["level"]) for r in made] == [("boats", 3, 3)]
    again = site.as_("bch40").request(
        "PATCH", f"/incidents/{incident['id']}", json={"risk_level": 2}
    )
    assert again.status_code == 200 and again.json()["activated"] == []  # lowering: nothing


def test_a_commune_joining_an_incident_fires_its_cards(site: Site):
    # Tây Sơn's level-2 cards go to Đông Hà; a flood declared on Bắc Lý, which Đông Hà joins
    signed(site)
    r = site.as_("bch40").post(
        "/incidents",
        json={"name": "Lũ Bắc Lý", "risk_level": 2, "duration_days": 1,
              "affected": [{"commune": OTHER, "displaced": 100}]},
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["activated"] == []
    joined = site.as_("dongha").post(f"/incidents/{r.json()['id']}/join")
    assert joined.status_code == 200, joined.text
    made = requests_of(site, joined.json()["activated"])
    assert sorted((m["commune"], m["resource"], m["quantity"], m["to"][0]) for m in made) == [
        (ASKS, "boats", 2, GIVES),
        (ASKS, "militia", 10, GIVES),
    ]

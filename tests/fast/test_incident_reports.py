"""Incidents reported by a commune, joined by a neighbour, confirmed by the command; situation
reports kept and used by the plan (issue 10, part 1); the scenario parsed outside the write
transaction (issue 13)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from tests.fast.conftest import ASKS, GIVES, OTHER, SOUTH_A, SOUTH_B


def _report_flood(site, user="dongha", commune=ASKS, **extra):
    body = {
        "name": "Lũ tại Đông Hà",
        "risk_level": 1,
        "affected": [{"commune": commune, "displaced": 40}],
        **extra,
    }
    return site.as_(user).post("/incidents", json=body)


def test_a_leader_reports_a_flood_in_their_own_commune_only(site):
    r = _report_flood(site)
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["affected"] == [ASKS] and incident["confirmed"] is False
    assert site.audit("incident.create")[0]["after"]["confirmed"] is False
    # another commune, or theirs with another, is refused with a code
    for affected in ([{"commune": GIVES}], [{"commune": ASKS}, {"commune": GIVES}]):
        r = site.as_("dongha").post(
            "/incidents", json={"name": "x", "risk_level": 1, "affected": affected}
        )
        assert r.status_code == 403, r.text
        assert (r.json()["code"], r.json()["field"]) == ("leader_own_commune_only", "affected")
    # a command's incident is confirmed from the start
    assert site.incident()["confirmed"] is True
    listed = site.as_("bch40").get("/incidents").json()
    assert [i["confirmed"] for i in listed] == [True, False]


def test_the_command_of_the_area_confirms_and_corrects_the_level(site):
    incident = _report_flood(site).json()
    path = f"/incidents/{incident['id']}"
    # not the leader, not the other province's command
    for user, code in (("dongha", "role_required"), ("bch42", "affected_outside_area")):
        r = site.as_(user).request("PATCH", path, json={"risk_level": 3, "confirmed": True})
        assert r.status_code == 403 and r.json()["code"] == code, r.text
    r = site.as_("bch40").request("PATCH", path, json={"risk_level": 9})
    assert r.status_code == 422 and r.json()["code"] == "risk_level_out_of_range", r.text
    r = site.as_("bch40").request("PATCH", path, json={"risk_level": 3, "confirmed": True})
    assert r.status_code == 200, r.text
    out = r.json()
    assert (out["risk_level"], out["confirmed"], out["old_risk_level"]) == (3, True, 1)
    assert out["scenario"]["risk_level"] == 3  # what the plan reads
    (level,) = site.audit("incident.level")
    assert (level["before"], level["after"]) == ({"risk_level": 1}, {"risk_level": 3})
    assert site.audit("incident.confirm")
    assert site.as_("bch40").post(f"{path}/plan", json={}).status_code == 200


def test_set_risk_level_returns_the_incident_and_the_old_level(site):
    from api.auth import Principal
    from api.db import session_scope
    from api.enums import Role
    from api.services.incidents import set_risk_level

    incident = site.incident()
    state = site.client.app.state.lienxa
    bch = Principal(9, "bch40", Role.DEFENCE_COMMAND, province="40", area=frozenset({ASKS}))
    with session_scope(state.write_session) as s:
        i, old = set_risk_level(s, bch, incident["id"], 4)
        assert (i.id, i.risk_level, old) == (incident["id"], 4, 2)


def test_a_leader_joins_an_active_incident_nearby_only(site):
    incident = site.incident(affected=ASKS)
    r = site.as_("tayson").post(f"/incidents/{incident['id']}/join")  # a neighbour
    assert r.status_code == 200, r.text
    assert r.json()["affected"] == [ASKS, GIVES]
    assert site.as_("tayson").post(f"/incidents/{incident['id']}/join").json()["affected"] == [
        ASKS,
        GIVES,
    ]  # twice: once
    assert site.as_("bacly").post(f"/incidents/{incident['id']}/join").status_code == 200
    far = site.as_("bch42").post(
        "/incidents", json={"name": "Lũ nam", "risk_level": 2, "affected": [{"commune": SOUTH_B}]}
    )
    assert far.status_code == 201, far.text
    r = site.as_("bacly").post(
        f"/incidents/{far.json()['id']}/join"
    )  # not touching, other province
    assert r.status_code == 403 and r.json()["code"] == "incident_not_nearby", r.text
    r = site.as_("bch40").post(f"/incidents/{incident['id']}/join")
    assert r.status_code == 403 and r.json()["code"] == "role_required"


def _report(site, incident_id, user="dongha", **body):
    return site.as_(user).post(f"/incidents/{incident_id}/reports", json={"commune": ASKS, **body})


def test_reports_are_kept_and_the_plan_uses_the_latest(site):
    incident = site.incident(affected=ASKS)
    site.stock(GIVES, "tayson", boats=50)
    r = _report(site, incident["id"], displaced=100, needs={"boats": 4}, note="nước lên nhanh")
    assert r.status_code == 201, r.text
    first = r.json()
    assert (first["created_by"], first["needs"], first["warnings"]) == ("dongha", {"boats": 4}, [])
    r = _report(
        site,
        incident["id"],
        user="bch40",
        displaced=300,
        houses_flooded=20,
        isolated="partial",
        needs={"boats": 7},
    )
    assert r.status_code == 201, r.text
    reports = site.as_("tayson").get(f"/incidents/{incident['id']}/reports").json()
    assert [(x["displaced"], x["created_by"]) for x in reports] == [(100, "dongha"), (300, "bch40")]
    entry = site.as_("bch40").get(f"/incidents/{incident['id']}").json()["scenario"]["affected"][0]
    assert (entry["displaced"], entry["houses_flooded"], entry["isolated"]) == (300, 20, "partial")
    plan = site.as_("bch40").post(f"/incidents/{incident['id']}/plan", json={}).json()
    (boats,) = [
        row["need"]
        for row in plan["ledger"]
        if (row["commune"], row["resource"]) == (ASKS, "boats")
    ]
    assert boats == 7  # the latest report's explicit need, not the first one's 4
    assert site.audit("incident.report")


def test_only_the_commune_and_its_command_report_for_it(site):
    incident = site.incident(affected=ASKS)
    for user, code in (
        ("tayson", "not_your_commune"),
        ("bch42", "outside_area"),
        ("planner", "role_required"),
    ):
        r = _report(site, incident["id"], user=user, displaced=1)
        assert r.status_code == 403 and r.json()["code"] == code, r.text
    assert site.as_("bch40").get(f"/incidents/{incident['id']}/reports").json() == []


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"displaced": -1}, "below_minimum", "displaced"),
        ({"houses_collapsed": -5}, "below_minimum", "houses_collapsed"),
        ({"displaced": 10**9}, "above_maximum", "displaced"),
        ({"displaced": 999_999}, "displaced_above_population", "displaced"),
        ({"commune": "99999"}, "unknown_commune", "commune"),
        ({"isolated": "yes"}, "isolated_invalid", "isolated"),
        ({"needs": {"unicorns": 1}}, "unknown_resource", "needs"),
        ({"needs": {"boats": -1}}, "below_minimum", "needs.boats"),
        ({"commune": GIVES}, "commune_not_affected", "commune"),
    ],
)
def test_bad_reports_are_refused_with_a_code_and_field(site, body, code, field):
    incident = site.incident(affected=ASKS)
    user = "tayson" if body.get("commune") == GIVES else "dongha"
    r = _report(site, incident["id"], user=user, **body)
    assert r.status_code == 422, r.text
    assert (r.json()["code"], r.json()["field"]) == (code, field)
    assert site.as_("bch40").get(f"/incidents/{incident['id']}/reports").json() == []


def test_a_report_by_the_command_adds_a_commune_of_its_area(site):
    incident = site.incident(affected=ASKS)
    r = _report(site, incident["id"], user="bch40", commune=GIVES, displaced=12)
    assert r.status_code == 201, r.text
    now = site.as_("bch40").get(f"/incidents/{incident['id']}").json()
    assert now["affected"] == [ASKS, GIVES]
    assert now["scenario"]["affected"][1]["displaced"] == 12


def test_more_displaced_than_a_suspect_population_is_accepted_with_a_warning(site):
    incident = site.incident(affected=ASKS)
    site.client.app.state.lienxa.graph.nodes[ASKS]["population_suspect"] = True
    r = _report(site, incident["id"], displaced=999_999)
    assert r.status_code == 201, r.text
    (warning,) = r.json()["warnings"]
    assert (warning["code"], warning["field"]) == (
        "displaced_above_suspect_population",
        "displaced",
    )


def test_a_report_on_a_closed_incident_is_refused(site):
    incident = site.incident(affected=ASKS)
    assert site.as_("bch40").post(f"/incidents/{incident['id']}/close").status_code == 200
    r = _report(site, incident["id"], displaced=3)
    assert r.status_code == 409 and r.json()["code"] == "incident_not_active"


def test_the_scenario_is_parsed_before_and_outside_the_write_transaction(site, monkeypatch):
    """While the parse runs, another write of this process gets the write sessions' lock at
    once (never waiting), another connection takes SQLite's write lock at once (timeout 0),
    and the parse runs off the event loop. Fails when the parse runs inside ``writer.run`` (the
    write session holds the process's write lock) or on the event loop."""
    import api.services.incidents as incidents

    state = site.client.app.state.lienxa
    db = state.settings.resolved_database_url().removeprefix("sqlite:///")
    real = incidents.parse_scenario
    seen = {}

    def parse(*args, **kwargs):
        try:
            asyncio.get_running_loop()
            seen["loop"] = True
        except RuntimeError:
            seen["loop"] = False
        lock = state.write_session.lienxa_write_lock
        seen["process_lock_free"] = lock.acquire(blocking=False)
        if seen["process_lock_free"]:
            lock.release()
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # another writer gets in meanwhile
            other.execute("UPDATE users SET active = active WHERE id = 1")
            other.execute("COMMIT")
            seen["other_write"] = True
        except sqlite3.OperationalError as exc:
            seen["other_write"] = str(exc)
        finally:
            other.close()
        return real(*args, **kwargs)

    monkeypatch.setattr(incidents, "parse_scenario", parse)
    r = _report_flood(site)
    assert r.status_code == 201, r.text
    assert seen == {"loop": False, "process_lock_free": True, "other_write": True}


def test_the_input_limits_still_hold_for_a_leader(site):
    r = _report_flood(site, affected=[{"commune": ASKS, "displaced": 10**12}])
    assert r.status_code == 422 and r.json()["code"] == "above_maximum", r.text
    r = _report_flood(site, duration_days=10**9)
    assert r.status_code == 422 and r.json()["field"] == "duration_days", r.text
    assert OTHER and SOUTH_A  # the map's other communes stay out of it

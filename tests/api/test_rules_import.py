"""Importing a province's coordination regulation: many rules at once, all or nothing, over HTTP
(SQLite and PostgreSQL) and with ``lienxa rules import`` on an SQLite database."""

from __future__ import annotations

import json
import os

import httpx
import yaml

from tests.api.test_cli_service import run
from tests.api.test_workflow_e2e import create_incident
from tests.conftest import NGHE_AN, require_file

REGULATION = "Quy chế phối hợp 15/QC-UBND giữa các xã miền Tây"


def used_links(plan: dict) -> set[tuple[str, str]]:
    return {
        tuple(sorted(x))
        for t in plan["transfers"]
        for x in zip(t["path"], t["path"][1:], strict=False)
    }


def current(client: httpx.Client) -> dict[int, dict]:
    return {x["id"]: x for x in client.get("/rules").json()}


def retire(client: httpx.Client, ids) -> None:
    for rule_id in ids:
        assert (
            client.delete(f"/rules/{rule_id}", params={"reason": "test cleanup"}).status_code == 200
        )


def test_import_creates_every_rule_and_the_next_plan_uses_them(server):
    incident = create_incident(server, name="import test")
    with server.client("bchqs") as bch, server.client("planner") as p:
        before = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        assert used_links(before), "the plan moves aid"
        link = min(used_links(before))
        pair = next(x for x in (("17248", "17263"), ("17254", "17344")) if x != link)
        rules = [
            {"type": "close_link", "a": link[0], "b": link[1], "reason": "sạt lở"},
            {
                "type": "agreement",
                "a": pair[0],
                "b": pair[1],
                "document": "15/QC-UBND",
                "date": "2025-08-01",
                "commitments": {pair[1]: {"militia": 50, "boats": 2}},
            },
            {
                "type": "add_link",
                "a": "16876",
                "b": "16882",
                "travel_minutes": 55,
                "via": "đò ngang",
            },
        ]
        stored = set(current(p))
        r = p.post(
            "/rules/import",
            json={"reason": REGULATION, "rules": rules},
            headers={"Idempotency-Key": "qc-15"},
        )
        assert r.status_code == 201, r.text
        body = r.json()
        assert (body["dry_run"], body["count"]) == (False, 3)
        created = body["created"]
        assert [c["position"] for c in created] == [1, 2, 3]
        assert {(c["version"], c["author"], c["reason"], c["retired"]) for c in created} == {
            (1, "planner", REGULATION, False)
        }
        assert created[1]["rule"]["commitments"] == {pair[1]: {"militia": 50, "boats": 2}}
        ids = [c["id"] for c in created]
        assert not set(ids) & stored and len(set(ids)) == 3
        # a retry with the same key replays the answer and creates nothing more
        again = p.post(
            "/rules/import",
            json={"reason": REGULATION, "rules": rules},
            headers={"Idempotency-Key": "qc-15"},
        )
        assert again.status_code == 201 and [c["id"] for c in again.json()["created"]] == ids
        now = current(p)
        assert set(now) == stored | set(ids)
        assert now[ids[2]]["rule"]["via"] == "đò ngang" and now[ids[2]]["reason"] == REGULATION
        assert [v["reason"] for v in p.get(f"/rules/{ids[0]}/history").json()] == [REGULATION]
        log = [
            e
            for e in p.get("/audit", params={"entity": "rule"}).json()
            if e["entity_id"] in {str(i) for i in ids}
        ]
        assert sorted(int(e["entity_id"]) for e in log) == ids and {e["action"] for e in log} == {
            "rule.create"
        }
        assert all(
            e["actor"].startswith("planner") and e["after"]["reason"] == REGULATION for e in log
        )
        # the next plan obeys the imported rules: the closed link carries nothing
        after = bch.post(f"/incidents/{incident['id']}/plan", json={}).json()
        assert link not in used_links(after)
        retire(p, ids)
        assert (
            bch.post(f"/incidents/{incident['id']}/plan", json={}).json()["cost"] == before["cost"]
        )


def test_a_rule_contradicting_a_stored_one_is_422_naming_both_and_nothing_is_stored(server):
    with server.client("planner") as p:
        bridge = p.post(
            "/rules",
            json={
                "reason": "cầu tạm",
                "rule": {"type": "add_link", "a": "16876", "b": "16816", "travel_minutes": 50},
            },
        ).json()
        stored = current(p)
        rules = [
            {"type": "close_link", "a": "17248", "b": "17263"},
            {"type": "close_link", "a": "16816", "b": "16876", "valid_from": "2025-01-01"},
        ]
        r = p.post("/rules/import", json={"reason": REGULATION, "rules": rules})
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert (
            "rule #2" in detail
            and f"rule {bridge['id']} (stored)" in detail
            and "contradict" in detail
        )
        assert "nothing imported" in detail and "rule #1" not in detail
        # two rules of the import contradicting each other: the later one is named, with the earlier
        twice = [
            {"type": "travel_minutes", "a": "17248", "b": "17263", "minutes": 30},
            {"type": "travel_minutes", "a": "17263", "b": "17248", "minutes": 40},
        ]
        r = p.post("/rules/import", json={"reason": REGULATION, "rules": twice})
        assert r.status_code == 422 and "rule #1 and rule #2 contradict" in r.json()["detail"]
        assert current(p) == stored
        retire(p, [bridge["id"]])


def test_an_unknown_commune_is_422_naming_the_position_and_every_error_is_listed(server):
    with server.client("planner") as p:
        stored = current(p)
        rules = [
            {"type": "close_link", "a": "17248", "b": "17263"},
            {"type": "add_link", "a": "17248", "b": "99999", "travel_minutes": 5},
            {"id": "QC15-3", "type": "close_link", "a": "17248", "b": "17248"},
            "not a rule",
            {
                "type": "agreement",
                "a": "17248",
                "b": "17254",
                "commitments": {"17248": {"gold": 1}},
            },
        ]
        r = p.post("/rules/import", json={"reason": REGULATION, "rules": rules})
        assert r.status_code == 422, r.text
        body = r.json()
        assert "rule #2: unknown commune '99999'" in body["detail"]
        assert body["errors"] == [
            "rule #2: unknown commune '99999'",
            "rule #3 (QC15-3): a link from 17248 to itself",
            "rule #4: a rule is an object",
            "rule #5: commitments of 17248: unknown resource 'gold'",
        ]
        for bad, field in (
            ({"rules": rules[:1]}, "reason"),
            ({"reason": "x", "rules": {"type": "x"}}, "rules"),
            ({"reason": "x", "rules": []}, "rules"),
        ):
            r = p.post("/rules/import", json=bad)
            assert r.status_code == 422 and r.json()["detail"].startswith(field), (bad, r.text)
        r = p.post(
            "/rules/import", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert r.status_code == 422
        assert current(p) == stored


def test_a_dry_run_reports_what_would_be_created_and_stores_nothing(server):
    with server.client("planner") as p:
        stored = current(p)
        audit_before = len(p.get("/audit", params={"limit": 5000}).json())
        rules = [
            {"type": "close_link", "a": "17248", "b": "17263", "valid_from": "2025-09-01"},
            {"type": "travel_minutes", "a": "17254", "b": "17263", "minutes": 42},
        ]
        r = p.post(
            "/rules/import",
            params={"dry_run": "true"},
            json={"reason": REGULATION, "rules": rules},
            headers={"Idempotency-Key": "qc-dry"},
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert (body["dry_run"], body["count"]) == (True, 2)
        assert [
            (c["position"], c["id"], c["created_at"], c["rule"]["type"]) for c in body["created"]
        ] == [(1, None, None, "close_link"), (2, None, None, "travel_minutes")]
        assert body["created"][0]["rule"]["valid_from"] == "2025-09-01"
        bad = p.post(
            "/rules/import",
            params={"dry_run": "true"},
            json={
                "reason": REGULATION,
                "rules": [*rules, {"type": "close_link", "a": "1", "b": "2"}],
            },
        )
        assert bad.status_code == 422 and "rule #3: unknown commune '1'" in bad.json()["detail"]
        assert current(p) == stored
        assert len(p.get("/audit", params={"limit": 5000}).json()) == audit_before
        # the dry run's key was not spent: the real import may use it
        r = p.post(
            "/rules/import",
            json={"reason": REGULATION, "rules": rules},
            headers={"Idempotency-Key": "qc-dry"},
        )
        assert r.status_code == 201 and r.json()["count"] == 2
        retire(p, [c["id"] for c in r.json()["created"]])


def test_only_planners_and_admins_import_rules(server):
    rules = [{"type": "close_link", "a": "17248", "b": "17263"}]
    with server.client("planner") as p:
        stored = current(p)
    for user in ("conc", "bchqs", "kv3"):
        with server.client(user) as c:
            for params in ({}, {"dry_run": "true"}):
                r = c.post(
                    "/rules/import", params=params, json={"reason": REGULATION, "rules": rules}
                )
                assert r.status_code == 403, (user, r.text)
                assert "planner" in r.json()["detail"]
    assert (
        httpx.post(
            server.url + "/api/v1/rules/import", json={"reason": "x", "rules": rules}
        ).status_code
        == 401
    )
    with server.client("planner") as p:
        assert current(p) == stored


def test_a_yaml_or_json_file_is_imported_by_upload_within_the_size_limit(server):
    regulation = yaml.safe_dump(
        {
            "rules": [
                {
                    "type": "agreement",
                    "a": "17248",
                    "b": "17263",
                    "document": "15/QC-UBND",
                    "date": "2025-08-01",
                    "commitments": {"17248": {"shock_team": 30}},
                },
                {
                    "type": "add_link",
                    "a": "16876",
                    "b": "16882",
                    "travel_minutes": 60,
                    "via": "cầu treo",
                },
            ]
        },
        allow_unicode=True,
    ).encode()
    with server.client("planner") as p:
        stored = current(p)
        upload = {"file": ("quy-che-15.yaml", regulation, "application/yaml")}
        r = p.post(
            "/rules/import",
            files=upload,
            data={"reason": REGULATION},
            headers={"Idempotency-Key": "yaml-1"},
        )
        assert r.status_code == 201, r.text
        ids = [c["id"] for c in r.json()["created"]]
        assert current(p)[ids[0]]["rule"]["commitments"] == {"17248": {"shock_team": 30}}
        again = p.post(
            "/rules/import",
            files=upload,
            data={"reason": REGULATION},
            headers={"Idempotency-Key": "yaml-1"},
        )
        assert again.status_code == 201 and [c["id"] for c in again.json()["created"]] == ids
        assert set(current(p)) == set(stored) | set(ids)
        retire(p, ids)
        # JSON file, a dry run
        doc = json.dumps([{"type": "close_link", "a": "17248", "b": "17263"}]).encode()
        r = p.post(
            "/rules/import",
            params={"dry_run": "true"},
            files={"file": ("rules.json", doc)},
            data={"reason": REGULATION},
        )
        assert r.status_code == 200 and r.json()["count"] == 1
        # codes left unquoted in YAML are numbers: named, with what to do
        r = p.post(
            "/rules/import",
            files={"file": ("r.yml", b"- {type: close_link, a: 17248, b: 17263}\n")},
            data={"reason": REGULATION},
        )
        assert (
            r.status_code == 422
            and "rule #1" in r.json()["detail"]
            and "quote them" in r.json()["detail"]
        )
        r = p.post(
            "/rules/import",
            files={"file": ("r.yaml", b"- [unclosed\n")},
            data={"reason": REGULATION},
        )
        assert r.status_code == 422 and "not valid YAML" in r.json()["detail"]
        r = p.post("/rules/import", files={"file": ("r.json", doc)})
        assert r.status_code == 422 and r.json()["detail"].startswith("reason")
        r = p.post("/rules/import", data={"reason": REGULATION}, files={"other": ("r.json", doc)})
        assert r.status_code == 422 and r.json()["detail"].startswith("file")

        def chunks():  # no Content-Length: the limit applies while streaming
            yield b'{"reason": "x", "rules": [], "pad": "'
            for _ in range(3):
                yield b"x" * (1024 * 1024)
            yield b'"}'

        r = p.post("/rules/import", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "over the limit" in r.json()["detail"]
        big = (
            b"- {type: close_link, a: '17248', b: '17263', note: '"
            + b"x" * (3 * 1024 * 1024)
            + b"'}\n"
        )
        r = p.post("/rules/import", files={"file": ("big.yaml", big)}, data={"reason": REGULATION})
        assert r.status_code == 413
        assert set(current(p)) == set(stored)


def test_rules_import_is_documented_in_openapi(server):
    op = httpx.get(server.url + "/openapi.json").json()["paths"]["/api/v1/rules/import"]["post"]
    assert op["summary"].startswith("Import many rules at once")
    assert op["responses"]["201"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/RulesImportOut"
    )
    assert {"application/json", "multipart/form-data"} <= set(op["requestBody"]["content"])
    assert [x["name"] for x in op["parameters"]] == ["dry_run"]


def test_cli_imports_a_rules_file_all_or_nothing(tmp_path):
    require_file(NGHE_AN)
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from api.models import RuleVersion

    env = {**os.environ, "LIENXA_DATA_DIR": str(tmp_path), "LIENXA_BOUNDARIES": str(NGHE_AN)}
    env.pop("LIENXA_DATABASE_URL", None)
    assert run(["db", "upgrade"], env).returncode == 0
    good = tmp_path / "quy-che.yaml"
    good.write_text(
        "rules:\n"
        "  - {type: agreement, a: '17248', b: '17263', document: 15/QC-UBND,"
        " commitments: {'17248': {boats: 2}}}\n"
        "  - {type: add_link, a: '16876', b: '16816', travel_minutes: 50, via: cầu tạm}\n",
        encoding="utf-8",
    )
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            [
                {"type": "close_link", "a": "17248", "b": "17254"},
                {"type": "close_link", "a": "17248", "b": "99999"},
                {"type": "add_link", "a": "17248", "b": "17254"},
            ]
        )
    )
    r = run(["rules", "import", str(bad), "--reason", "x"], env)
    assert r.returncode == 1, r.stderr
    assert "rule #2: unknown commune '99999'" in r.stderr and "rule #3: travel_minutes" in r.stderr
    assert "nothing imported" in r.stderr
    r = run(["rules", "import", str(good), "--reason", REGULATION, "--dry-run"], env)
    assert r.returncode == 0, r.stderr
    assert "dry run: 2 rules would be imported" in r.stdout
    engine = create_engine(f"sqlite:///{tmp_path / 'lienxa.db'}")
    with Session(engine) as s:
        assert s.scalars(select(RuleVersion)).all() == []
    r = run(["rules", "import", str(good), "--reason", REGULATION, "--author", "Sở NN&MT"], env)
    assert r.returncode == 0, r.stderr
    assert "2 rules imported" in r.stdout and "#2: rule 2: add_link 16876-16816" in r.stdout
    with Session(engine) as s:
        rows = s.scalars(select(RuleVersion).order_by(RuleVersion.rule_id)).all()
        assert [(v.rule_id, v.version, v.author, v.reason, v.data["type"]) for v in rows] == [
            (1, 1, "Sở NN&MT", REGULATION, "agreement"),
            (2, 1, "Sở NN&MT", REGULATION, "add_link"),
        ]
        assert rows[0].data["commitments"] == {"17248": {"boats": 2}}
    closing = tmp_path / "closing.json"
    closing.write_text(json.dumps({"rules": [{"type": "close_link", "a": "16816", "b": "16876"}]}))
    r = run(["rules", "import", str(closing), "--reason", "sạt lở"], env)
    assert r.returncode == 1 and "rule 2 (stored) and rule #1 contradict" in r.stderr
    r = run(["rules", "import", str(tmp_path / "missing.yaml"), "--reason", "x"], env)
    assert r.returncode == 2 and "cannot read" in r.stderr
    with Session(engine) as s:
        assert len(s.scalars(select(RuleVersion)).all()) == 2
    engine.dispose()
    r = run(["audit", "verify"], env)
    assert r.returncode == 0 and r.stdout.startswith("OK: 2 entries")

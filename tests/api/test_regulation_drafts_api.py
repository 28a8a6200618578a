"""Drafting Nghệ An's regulations over HTTP on a real server (SQLite and PostgreSQL): one write
transaction stores every draft; re-drafting replaces the unsigned drafts and keeps the signed
one; readiness counts the signed one."""

from __future__ import annotations


def test_draft_the_province_redraft_and_readiness(server):
    with server.client("planner") as p:
        r = p.post("/regulations/draft", json={"province": "40"}, timeout=300)
        assert r.status_code == 201, r.text
        drafts = r.json()
        assert len(drafts) > 100 and all(d["status"] == "draft" for d in drafts)
        ids = sorted(d["id"] for d in drafts)
        assert len(p.get("/regulations").json()) == len(drafts)
        signed = drafts[0]["id"]
        assert p.post(f"/regulations/{signed}/sign").json()["status"] == "signed"
        again = p.post("/regulations/draft", json={"province": "40"}, timeout=300).json()
        assert sorted(d["id"] for d in again) == [i for i in ids if i != signed]
        assert all(d["version"] == 2 for d in again)
        assert len(p.get("/regulations").json()) == len(drafts)  # nothing duplicated
        rows = p.get("/readiness", params={"province": "40"}).json()
        assert len(rows) == 130
        with_regulation = {r["commune"] for r in rows if r["regulations"]}
        assert with_regulation == set(drafts[0]["parties"])
        gaps = p.get("/readiness/gaps", params={"province": "40"}).json()
        assert len(gaps["without_regulation"]) == 128
        bad = p.post("/regulations/draft", json={"communes": ["17248", "00000"]})
        assert bad.status_code == 422 and bad.json()["code"] == "unknown_commune"

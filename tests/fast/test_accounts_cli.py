"""``lienxa users passwd|disable|enable``, ``lienxa audit verify|checkpoint`` (truncation and a
rewritten chain are detected by the signed checkpoints), ``lienxa backup`` / ``restore`` on
SQLite (tests/api/test_backup.py does PostgreSQL), in process."""

from __future__ import annotations

import io
import json
import sqlite3
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.fast.conftest import GIVES, PASSWORD, SECRET


@pytest.fixture
def lienxa(template, tmp_path, monkeypatch, capsys):
    """``lienxa ARGS...`` as a function ``(exit code, stdout, stderr)`` on the settings of a
    data directory (``run.use(folder)`` switches to another one, with its own database)."""
    from api.cli import main
    from api.settings import get_settings

    def use(folder: Path) -> None:
        monkeypatch.setenv("LIENXA_DATA_DIR", str(folder))
        monkeypatch.setenv("LIENXA_DATABASE_URL", f"sqlite:///{folder / 'cli.db'}")
        get_settings.cache_clear()

    monkeypatch.setenv("LIENXA_BOUNDARIES", str(template.boundaries))
    monkeypatch.setenv("LIENXA_SECRET_KEY", SECRET)
    use(tmp_path)
    from argon2 import PasswordHasher

    import api.auth

    # cheap argon2 parameters for the tests' speed only (the service uses the defaults)
    monkeypatch.setattr(api.auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return code, out.out, out.err

    run.use = use  # type: ignore[attr-defined]
    run.db = lambda: Path(str(get_settings().resolved_database_url())[len("sqlite:///") :])  # type: ignore[attr-defined]
    yield run
    get_settings.cache_clear()


def seeded(lienxa) -> None:
    """A migrated database with two users and a sample inventory, every write audited."""
    assert lienxa("db", "upgrade")[0] == 0
    for args in (
        ("bch40", "--role", "defence_command", "--province", "40"),
        ("tayson", "--role", "commune_leader", "--commune", GIVES),
    ):
        code, _, err = lienxa("users", "add", *args, "--password-stdin", stdin=PASSWORD + "\n")
        assert code == 0, err
    code, _, err = lienxa("inventory", "sample")
    assert code == 0, err


def rewrite_chain(db: Path, *, drop_newest: int = 0, change_first_actor: str | None = None) -> None:
    """Tamper with the audit table as someone with write access to the database would: drop
    the newest entries, or change one and recompute every hash after it (a consistent chain)."""
    from sqlalchemy import create_engine, delete, select
    from sqlalchemy.orm import Session

    from api.models import AuditEntry
    from api.services.audit import GENESIS, _content, _digest

    engine = create_engine(f"sqlite:///{db}")
    with Session(engine) as s:
        entries = list(s.scalars(select(AuditEntry).order_by(AuditEntry.id)))
        if drop_newest:
            s.execute(delete(AuditEntry).where(AuditEntry.id > entries[-drop_newest - 1].id))
        if change_first_actor:
            entries[0].actor = change_first_actor
            prev = GENESIS
            for e in entries:
                e.prev_hash, e.hash = prev, _digest(prev, _content(e))
                prev = e.hash
        s.commit()
    engine.dispose()


def test_deleting_the_newest_audit_entries_is_detected(lienxa):
    seeded(lienxa)
    code, out, _ = lienxa("audit", "verify")
    assert code == 0, out
    assert "OK:" in out and "checkpoints reached" in out
    assert "head now: id 3" in out
    rewrite_chain(lienxa.db(), drop_newest=1)
    code, out, _ = lienxa("audit", "verify")  # the chain alone still verifies
    assert code == 1, out
    assert "TAMPERED" in out and "entry 3 is missing" in out


def test_rewriting_the_whole_chain_consistently_is_detected(lienxa):
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session

    from api.services import audit

    seeded(lienxa)
    rewrite_chain(lienxa.db(), change_first_actor="someone else")
    with Session(create_engine(f"sqlite:///{lienxa.db()}")) as s:
        assert audit.verify(s)[0]  # consistent in itself: the table alone cannot tell
    code, out, _ = lienxa("audit", "verify")
    assert code == 1, out
    assert "the chain was rewritten" in out


def test_a_forged_checkpoint_and_a_wrong_kept_head_fail_verify(lienxa, tmp_path):
    seeded(lienxa)
    code, out, _ = lienxa("audit", "checkpoint")
    assert code == 0 and out.startswith("checkpoint: id 3 hash "), out
    head_hash = out.split()[4]
    assert lienxa("audit", "verify", "--expect", f"3:{head_hash}")[0] == 0
    code, out, _ = lienxa("audit", "verify", "--expect", "3:" + "0" * 64)
    assert code == 1 and "is not the kept head" in out
    lines = (tmp_path / "audit_checkpoints.jsonl").read_text().splitlines()
    forged = {**json.loads(lines[-1]), "id": 2}
    with (tmp_path / "audit_checkpoints.jsonl").open("a") as f:
        f.write(json.dumps(forged) + "\n")
    code, out, _ = lienxa("audit", "verify")
    assert code == 1 and "bad signature" in out


def test_the_service_checkpoints_every_committed_write(lienxa, tmp_path):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import get_settings

    seeded(lienxa)
    before = len((tmp_path / "audit_checkpoints.jsonl").read_text().splitlines())
    with TestClient(create_app(get_settings())) as client:
        token = client.post(
            "/api/v1/auth/token", data={"username": "bch40", "password": PASSWORD}
        ).json()["access_token"]
        r = client.post(
            "/api/v1/incidents",
            headers={"Authorization": f"Bearer {token}"},
            json={
                "name": "Lũ thử",
                "risk_level": 2,
                "duration_days": 1,
                "affected": [{"commune": "90001", "displaced": 10}],
            },
        )
        assert r.status_code == 201, r.text
    lines = (tmp_path / "audit_checkpoints.jsonl").read_text().splitlines()
    assert len(lines) == before + 1
    assert json.loads(lines[-1])["id"] == 4
    rewrite_chain(lienxa.db(), drop_newest=1)  # the incident's entry
    assert lienxa("audit", "verify")[0] == 1


def test_users_passwd_disable_enable_from_the_cli(lienxa):
    seeded(lienxa)
    code, out, err = lienxa("users", "passwd", "tayson", "--password-stdin", stdin="x\n")
    assert code == 2 and "at least 8 characters" in err
    new = "mật-khẩu-mới-đủ-dài"
    code, out, err = lienxa("users", "passwd", "tayson", "--password-stdin", stdin=new + "\n")
    assert (code, out.strip()) == (0, "user tayson: password changed"), err
    assert lienxa("users", "disable", "tayson") == (0, "user tayson: disabled\n", "")
    assert lienxa("users", "enable", "tayson") == (0, "user tayson: enabled\n", "")
    code, _, err = lienxa("users", "disable", "nobody")
    assert code == 2 and "no user named 'nobody'" in err
    code, out, _ = lienxa("audit", "verify")
    assert code == 0, out


def test_users_add_refuses_a_province_that_is_not_one(lienxa):
    assert lienxa("db", "upgrade")[0] == 0
    args = ("users", "add", "bch99", "--role", "defence_command", "--province", "99")
    code, _, err = lienxa(*args, "--password-stdin", stdin=PASSWORD + "\n")
    assert (code, err.strip()) == (
        2,
        "lienxa users add: error: unknown province '99' in the boundaries",
    )


def table_rows(url: str) -> dict[str, list[Any]]:
    """Every row of every table (and the migration), in primary-key order."""
    from sqlalchemy import create_engine, select, text

    from api.models import Base

    engine = create_engine(url)
    out: dict[str, list[Any]] = {}
    with engine.connect() as conn:
        for t in Base.metadata.sorted_tables:
            out[t.name] = [tuple(r) for r in conn.execute(select(t).order_by(*t.primary_key))]
        out["alembic_version"] = list(conn.execute(text("SELECT * FROM alembic_version")))
    engine.dispose()
    return out


def test_a_backup_restores_to_an_identical_database_whose_audit_verifies(lienxa, tmp_path):
    seeded(lienxa)
    original = table_rows(f"sqlite:///{lienxa.db()}")
    assert lienxa("backup", str(tmp_path / "bk"))[0] == 0
    code, _, err = lienxa("backup", str(tmp_path / "bk"))
    assert code == 2 and "not an empty directory" in err
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["counts"]["users"] == 2 and manifest["checkpoints"] is True
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    lienxa.use(fresh)
    assert lienxa("db", "upgrade")[0] == 0  # migrated, no rows
    code, out, err = lienxa("restore", str(tmp_path / "bk"))
    assert code == 0, err
    assert table_rows(f"sqlite:///{lienxa.db()}") == original
    code, out, _ = lienxa("audit", "verify")
    assert code == 0 and "checkpoints reached" in out, out
    code, _, err = lienxa("restore", str(tmp_path / "bk"))
    assert code == 2 and "give --force" in err
    assert lienxa("restore", "--force", str(tmp_path / "bk"))[0] == 0
    assert table_rows(f"sqlite:///{lienxa.db()}") == original
    assert list(fresh.glob("audit_checkpoints.jsonl.replaced-*"))


def test_restore_refuses_what_is_not_a_backup(lienxa, tmp_path):
    code, _, err = lienxa("restore", str(tmp_path / "nothing-here"))
    assert code == 2 and "is not a lienxa backup" in err
    # a file written by hand beside it stays untouched
    assert not (tmp_path / "nothing-here").exists()
    assert sqlite3.sqlite_version  # the online backup API is SQLite's own

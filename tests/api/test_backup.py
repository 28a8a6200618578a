"""``lienxa backup`` / ``lienxa restore`` on PostgreSQL: ``pg_dump -Fc`` of the shared server's
version restored with ``pg_restore`` into a fresh database, compared table by table, row by row,
and the audit chain (with its checkpoints) verifying there. (SQLite: tests/fast.)"""

from __future__ import annotations

import io
import sys
import uuid

import pytest

from tests.api.conftest import create_database, drop_database
from tests.fast.conftest import GIVES, PASSWORD, write_boundaries
from tests.fast.test_accounts_cli import table_rows

pytestmark = pytest.mark.postgres


@pytest.fixture
def lienxa(tmp_path, monkeypatch, capsys):
    from api.cli import main
    from api.settings import get_settings

    boundaries = write_boundaries(tmp_path / "communes.geojson")
    monkeypatch.setenv("LIENXA_BOUNDARIES", str(boundaries))
    monkeypatch.setenv("LIENXA_SECRET_KEY", "backup-test-" + uuid.uuid4().hex)
    made: list[str | None] = []

    def use(url: str, folder) -> None:
        folder.mkdir(exist_ok=True)
        monkeypatch.setenv("LIENXA_DATABASE_URL", url)
        monkeypatch.setenv("LIENXA_DATA_DIR", str(folder))
        get_settings.cache_clear()

    def new_database() -> str:
        url, name = create_database("postgres", tmp_path)
        made.append(name)
        return url

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return code, out.out, out.err

    run.use, run.new_database = use, new_database  # type: ignore[attr-defined]
    yield run
    get_settings.cache_clear()
    for name in made:
        drop_database(name)


def test_a_postgres_backup_restores_to_an_identical_database(lienxa, tmp_path):
    source = lienxa.new_database()
    lienxa.use(source, tmp_path / "live")
    assert lienxa("db", "upgrade")[0] == 0
    for args in (
        ("bch40", "--role", "defence_command", "--province", "40"),
        ("tayson", "--role", "commune_leader", "--commune", GIVES),
    ):
        code, _, err = lienxa("users", "add", *args, "--password-stdin", stdin=PASSWORD + "\n")
        assert code == 0, err
    assert lienxa("inventory", "sample")[0] == 0
    assert lienxa("users", "disable", "tayson")[0] == 0
    original = table_rows(source)
    assert sum(len(rows) for rows in original.values()) > 10
    code, out, err = lienxa("backup", str(tmp_path / "bk"))
    assert code == 0, err
    assert (tmp_path / "bk" / "lienxa.pgdump").exists()

    target = lienxa.new_database()  # fresh: not even migrated
    lienxa.use(target, tmp_path / "restored")
    code, _, err = lienxa("restore", str(tmp_path / "bk"))
    assert code == 0, err
    assert table_rows(target) == original
    code, out, _ = lienxa("audit", "verify")
    assert code == 0 and "checkpoints reached" in out, out

    code, _, err = lienxa("restore", str(tmp_path / "bk"))
    assert code == 2 and "give --force" in err
    assert lienxa("users", "enable", "tayson")[0] == 0  # a change the forced restore undoes
    code, _, err = lienxa("restore", "--force", str(tmp_path / "bk"))
    assert code == 0, err
    assert table_rows(target) == original


def test_a_sqlite_backup_is_not_restored_into_postgres(lienxa, tmp_path):
    target = lienxa.new_database()
    lienxa.use(f"sqlite:///{tmp_path / 'small.db'}", tmp_path / "live")
    assert lienxa("db", "upgrade")[0] == 0
    assert lienxa("backup", str(tmp_path / "bk"))[0] == 0
    lienxa.use(target, tmp_path / "pg")
    code, _, err = lienxa("restore", str(tmp_path / "bk"))
    assert code == 2 and "a sqlite backup cannot be restored into postgresql" in err

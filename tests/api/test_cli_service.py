"""The service's command line: db upgrade, users add, inventory, audit verify."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import NGHE_AN, REPO, require_file


def run(args, env, stdin=""):
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=REPO,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_service_cli_round_trip(tmp_path):
    import os

    require_file(NGHE_AN)
    env = {**os.environ, "LIENXA_DATA_DIR": str(tmp_path), "LIENXA_BOUNDARIES": str(NGHE_AN)}
    env.pop("LIENXA_DATABASE_URL", None)
    r = run(["users", "add", "a", "--role", "planner", "--password-stdin"], env, "long-enough\n")
    assert r.returncode != 0 and "run `lienxa db upgrade` first" in r.stdout + r.stderr
    r = run(["audit", "verify"], env)  # cannot check is 2, not the 1 of a broken chain
    assert r.returncode == 2 and "run `lienxa db upgrade` first" in r.stderr
    r = run(["db", "upgrade"], env)
    from alembic.script import ScriptDirectory

    from api.db import alembic_config

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert r.returncode == 0 and f"at migration {head}" in r.stdout
    r = run(
        ["users", "add", "x", "--role", "commune_leader", "--commune", "99999", "--password-stdin"],
        env,
        "long-enough\n",
    )
    assert r.returncode == 2 and "unknown commune '99999'" in r.stderr
    r = run(
        ["users", "add", "x", "--role", "defence_command", "--password-stdin"], env, "long-enough\n"
    )
    assert r.returncode == 2 and "bound to a region or a province" in r.stderr
    r = run(
        [
            "users",
            "add",
            "conc",
            "--role",
            "commune_leader",
            "--commune",
            "17254",
            "--password-stdin",
        ],
        env,
        "long-enough\n",
    )
    assert r.returncode == 0, r.stderr
    r = run(["users", "add", "conc", "--role", "planner", "--password-stdin"], env, "long-enough\n")
    assert r.returncode == 2 and "exists" in r.stderr
    bad = tmp_path / "inv.csv"
    bad.write_text("commune,resource,quantity\n17254,boats,-1\n")
    r = run(["inventory", "import", str(bad)], env)
    assert r.returncode == 2 and "line 2" in r.stderr
    r = run(["inventory", "sample"], env)
    assert r.returncode == 0 and "SAMPLE inventory of 130 communes" in r.stdout
    r = run(["audit", "verify"], env)
    assert r.returncode == 0 and r.stdout.startswith("OK: 2 entries")

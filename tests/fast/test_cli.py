"""The service's command line in process: ``lienxa db upgrade`` and ``users add``, then the
user it made logs in to the app built from the same ``LIENXA_*`` settings."""

from __future__ import annotations

import io
import sys

import pytest

from tests.fast.conftest import GIVES, PASSWORD, SECRET


@pytest.fixture
def lienxa(template, tmp_path, monkeypatch, capsys):
    """``lienxa ARGS...`` as a function: ``(exit code, stdout, stderr)``, with the settings
    of a fresh data directory in the environment (and no cached settings of another test)."""
    from api.cli import main
    from api.settings import get_settings

    monkeypatch.setenv("LIENXA_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LIENXA_BOUNDARIES", str(template.boundaries))
    monkeypatch.setenv("LIENXA_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("LIENXA_SECRET_KEY", SECRET)
    get_settings.cache_clear()

    def run(*args: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        try:
            code = main(list(args))
        except SystemExit as exc:  # as the console script ends
            code = exc.code if isinstance(exc.code, int) else 1
        out = capsys.readouterr()
        return code, out.out, out.err

    yield run
    get_settings.cache_clear()


def test_users_added_by_the_cli_log_in_and_act_for_their_commune(lienxa):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import get_settings

    add = ("users", "add", "tayson", "--role", "commune_leader", "--commune", GIVES)
    code, _, err = lienxa(*add, "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 2 and "run `lienxa db upgrade` first" in err
    code, out, _ = lienxa("db", "upgrade")
    assert code == 0 and "at migration" in out, out
    code, _, err = lienxa(
        "users", "add", "x", "--role", "commune_leader", "--commune", "99999", "--password-stdin",
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert (code, err.strip()) == (
        2,
        "lienxa users add: error: unknown commune '99999' in the boundaries",
    )
    code, out, err = lienxa(*add, "--password-stdin", stdin=PASSWORD + "\n")
    assert (code, out.strip()) == (0, "user tayson (commune_leader) created"), err
    code, _, err = lienxa(*add, "--password-stdin", stdin=PASSWORD + "\n")
    assert (code, err.strip()) == (2, "lienxa users add: error: user 'tayson' exists")

    with TestClient(create_app(get_settings())) as client:
        r = client.post("/api/v1/auth/token", data={"username": "tayson", "password": PASSWORD})
        assert r.status_code == 200, r.text
        auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = client.put(f"/api/v1/communes/{GIVES}/inventory", json={"boats": 3}, headers=auth)
        assert r.status_code == 200 and r.json()["items"] == {"boats": 3}, r.text


def test_commands_ask_numpy_for_plain_pages_unless_told(monkeypatch):
    """``lienxa`` sets ``NUMPY_MADVISE_HUGEPAGE=0`` before NumPy is imported (see
    :data:`api.cli.HUGEPAGE_SETTING`), and a value already in the environment wins."""
    import os

    from api.cli import main

    monkeypatch.delenv("NUMPY_MADVISE_HUGEPAGE", raising=False)
    with pytest.raises(SystemExit):
        main(["--help"])
    assert os.environ["NUMPY_MADVISE_HUGEPAGE"] == "0"
    monkeypatch.setenv("NUMPY_MADVISE_HUGEPAGE", "1")
    with pytest.raises(SystemExit):
        main(["--help"])
    assert os.environ["NUMPY_MADVISE_HUGEPAGE"] == "1"


_THREADS_AFTER_NUMPY = """
import os, sys
import api.cli
assert "numpy" not in sys.modules, "api.cli imported NumPy before its settings"
try:
    api.cli.main(["--help"])
except SystemExit:
    pass
import numpy
print(len(os.listdir("/proc/self/task")))
"""


@pytest.mark.skipif(
    not __import__("os").path.isdir("/proc/self/task") or (__import__("os").cpu_count() or 1) < 2,
    reason="needs Linux's /proc and two cores: with one, OpenBLAS starts no thread either way",
)
@pytest.mark.parametrize(("setting", "threads"), [(None, 1), ("2", 2)])
def test_numpy_starts_no_blas_threads_unless_told(setting, threads):
    """A ``lienxa`` process sets ``OPENBLAS_NUM_THREADS=1`` before NumPy is imported (see
    :data:`api.cli.BLAS_SETTING`): NumPy then adds no thread to the process (OpenBLAS would
    start one per core, each spinning before it sleeps). A value in the environment wins."""
    import os
    import subprocess
    from pathlib import Path

    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if setting is not None:
        env["OPENBLAS_NUM_THREADS"] = setting
    done = subprocess.run(
        [sys.executable, "-c", _THREADS_AFTER_NUMPY],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) == threads, done.stdout


class _Exited(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def test_one_shot_commands_run_without_the_collector_and_end_at_once(monkeypatch, capsys):
    """``graph`` is one-shot: it runs with the cyclic garbage collector off (on again after
    ``main`` returns; left off by the executable, which ends it with ``os._exit`` once its
    output is flushed); other commands end with ``sys.exit``."""
    import gc

    from api import cli
    from api.commands import geo_commands

    seen: list[bool] = []

    def fake_graph(args):
        seen.append(gc.isenabled())
        print("edges written")
        return 0

    monkeypatch.setattr(geo_commands, "run_graph", fake_graph)
    assert gc.isenabled()
    assert cli.main(["graph"]) == 0
    assert seen == [False] and gc.isenabled()

    def fake_exit(code: int) -> None:
        raise _Exited(code)

    monkeypatch.setattr(cli.os, "_exit", fake_exit)
    monkeypatch.setattr(sys, "argv", ["lienxa", "graph"])
    try:
        with pytest.raises(_Exited) as ended:
            cli.entry()
        assert not gc.isenabled()  # the process ends: no last pass over what it made
    finally:
        gc.enable()
    assert ended.value.code == 0 and seen == [False, False]
    assert capsys.readouterr().out.count("edges written") == 2

    monkeypatch.setattr(geo_commands, "run_communes", lambda args: seen.append(gc.isenabled()))
    monkeypatch.setattr(sys, "argv", ["lienxa", "communes"])
    with pytest.raises(SystemExit) as normal:
        cli.entry()
    assert normal.value.code == 0 and seen[-1] is True


def test_malloc_is_tuned_through_mallopt_where_the_c_library_has_it():
    """:func:`api.cli.tune_malloc` hands each of :data:`api.cli.ONE_SHOT_MALLOC` to
    ``mallopt`` as C ints and names those taken; a C library without ``mallopt`` is left as
    it is."""
    from api import cli

    calls: list[tuple[int, int]] = []

    class GlibcLike:
        def mallopt(self, param, value):
            calls.append((param.value, value.value))
            return 0 if param.value == -8 else 1  # this one refused

    assert cli.tune_malloc(GlibcLike()) == ["M_TRIM_THRESHOLD", "M_MMAP_MAX"]
    assert calls == [(-1, 2**31 - 1), (-4, 0), (-8, 1)]
    assert cli.tune_malloc(object()) == []


def test_only_a_one_shot_command_in_its_own_process_tunes_malloc(monkeypatch):
    """The executable tunes malloc for ``graph`` (one-shot, the process ends after it); not
    for other commands, and not when ``main`` runs a command inside another process (tests,
    a caller's program), whose memory must still go back to the system."""
    from api import cli
    from api.commands import geo_commands

    tuned: list[str] = []
    monkeypatch.setattr(cli, "tune_malloc", lambda: tuned.append("tuned") or [])
    monkeypatch.setattr(geo_commands, "run_graph", lambda args: 0)
    monkeypatch.setattr(geo_commands, "run_communes", lambda args: 0)
    monkeypatch.setattr(cli.os, "_exit", lambda code: (_ for _ in ()).throw(_Exited(code)))

    assert cli.main(["graph"]) == 0
    assert tuned == []
    monkeypatch.setattr(sys, "argv", ["lienxa", "graph"])
    with pytest.raises(_Exited):
        cli.entry()
    assert tuned == ["tuned"]
    monkeypatch.setattr(sys, "argv", ["lienxa", "communes"])
    with pytest.raises(SystemExit):
        cli.entry()
    assert tuned == ["tuned"]

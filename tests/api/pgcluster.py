"""Throwaway PostgreSQL clusters, PgBouncer and ``lienxa serve`` processes for the fault and
capacity tests (never the machine's shared server on 5432, which no test may stop).

PostgreSQL refuses to run as root: as root the cluster's directory is given to the
``postgres`` system user and ``initdb``/``pg_ctl`` run through ``runuser -u postgres``.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import NGHE_AN, REPO, free_port
from tests.conftest import require_file


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name) or ""]
    return found[-1] or None


def _as_owner(cmd: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


def require_cluster_tools() -> None:
    missing = [n for n in ("initdb", "pg_ctl") if _bin(n) is None]
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            missing.append("a postgres system user")
    if missing:
        reason = f"cannot make a throwaway PostgreSQL cluster: no {', '.join(missing)}"
        if os.environ.get("LIENXA_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " and LIENXA_REQUIRE_POSTGRES=1")
        pytest.skip(reason)


@dataclass
class Cluster:
    """A PostgreSQL cluster of a test's own, in a temporary directory, on its own port."""

    directory: Path
    port: int

    @property
    def admin_url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_owner([_bin("pg_ctl") or "pg_ctl", "-D", str(self.directory / "data"), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=120,
        )

    def start(self) -> None:
        opts = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=60"
        )
        self._ctl("-o", opts, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def create_database(self) -> str:
        from sqlalchemy import create_engine, text

        name = f"lienxa_{uuid.uuid4().hex[:8]}"
        admin = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as c:
            c.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return name


@contextlib.contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    require_cluster_tools()
    directory = Path(tempfile.mkdtemp(prefix="lienxa-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    cluster = Cluster(directory, free_port())
    subprocess.run(
        _as_owner(
            [
                _bin("initdb") or "initdb",
                "-D",
                str(directory / "data"),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
        timeout=120,
    )
    cluster.start()
    try:
        yield cluster
    finally:
        with contextlib.suppress(subprocess.SubprocessError):
            cluster.stop()
        shutil.rmtree(directory, ignore_errors=True)


@contextlib.contextmanager
def pgbouncer(target_port: int, database: str, *, pool_size: int = 4) -> Iterator[int]:
    """A PgBouncer in transaction pooling on a free port, in front of ``database`` on
    127.0.0.1:``target_port``; yields its port."""
    exe = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"
    if not Path(exe).exists():
        reason = "pgbouncer is not installed (Debian package pgbouncer)"
        if os.environ.get("LIENXA_REQUIRE_POSTGRES") == "1":
            pytest.fail(reason + " and LIENXA_REQUIRE_POSTGRES=1")
        pytest.skip(reason)
    directory = Path(tempfile.mkdtemp(prefix="lienxa-pgb-"))
    port = free_port()
    (directory / "users.txt").write_text('"postgres" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"""[databases]
{database} = host=127.0.0.1 port={target_port} dbname={database}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {directory / "users.txt"}
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
logfile = {directory / "pgbouncer.log"}
pidfile = {directory / "pgbouncer.pid"}
"""
    )
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
        for f in directory.iterdir():
            shutil.chown(f, "postgres", "postgres")
    proc = subprocess.Popen(
        _as_owner([exe, str(directory / "pgbouncer.ini")]),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(directory, ignore_errors=True)


def seed_nghe_an(db_url: str) -> None:
    require_file(NGHE_AN)
    from tests.api.conftest import seed

    seed(db_url)


@contextlib.contextmanager
def lienxa_serve(
    db_url: str, tmp: Path, *, workers: int = 2, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """``lienxa serve --workers N`` on Nghệ An, once it says it is ready (log in ``tmp``)."""
    port = free_port()
    env = {
        **os.environ,
        "LIENXA_DATABASE_URL": db_url,
        "LIENXA_BOUNDARIES": str(NGHE_AN),
        "LIENXA_DATA_DIR": str(tmp),
        "LIENXA_SECRET_KEY": "test-secret-" + uuid.uuid4().hex,
        **(extra_env or {}),
    }
    cmd = [sys.executable, "-m", "api.cli", "serve", "--port", str(port)]
    cmd += ["--workers", str(workers), "--log-level", "warning"]
    log = (tmp / f"serve-{port}.log").open("w")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=5).status_code == 200:
                    break
            time.sleep(0.2)
        if proc.poll() is not None:
            log.close()
            out = (tmp / f"serve-{port}.log").read_text()
            pytest.fail(f"lienxa serve exited {proc.returncode}: {out}")
        yield proc, url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def worker_pids(supervisor: int) -> list[int]:
    """The worker processes of a ``lienxa serve --workers N`` supervisor."""
    children = Path(f"/proc/{supervisor}/task/{supervisor}/children").read_text().split()
    out = []
    for pid in map(int, children):
        with contextlib.suppress(OSError):
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmdline:
                out.append(pid)
    return out

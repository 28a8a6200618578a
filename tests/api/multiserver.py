"""Several ``lienxa serve`` processes on one PostgreSQL database behind a real HAProxy.

Used by ``tests/api/test_multi_server.py`` and ``bench/bench_multiserver.py``. Each backend is
its own process with its own ``LIENXA_DATA_DIR`` (as if on its own machine) and the same
``LIENXA_SECRET_KEY`` and database. The proxy balances round robin, keeps its connections to
the backends alive, passes the client's address (``X-Forwarded-For``, believed by the servers
through ``LIENXA_TRUSTED_PROXIES``), names the backend that answered in ``X-Lienxa-Server``,
and sends a request carrying ``X-Lienxa-Backend: NAME`` to that backend (so a check can say
"on A, then on B" through the proxy).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import NGHE_AN, REPO

#: The request header that picks a backend, and the response header that names it.
PICK = "X-Lienxa-Backend"
SERVED_BY = "X-Lienxa-Server"


def haproxy_binary() -> str | None:
    """The ``haproxy`` executable, or ``None`` when it is not installed."""
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if Path(p).exists()), None
    )


HAPROXY_MISSING = (
    "HAProxy is not installed: apt-get install -y haproxy (Debian's package; "
    "scripts/setup's DEB_PACKAGES should list it)"
)


@dataclass
class Backend:
    """One ``lienxa serve`` process."""

    name: str
    port: int
    proc: subprocess.Popen[bytes]
    data_dir: Path
    workers: int = 1

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Proxy:
    """One HAProxy in front of some backends."""

    port: int
    proc: subprocess.Popen[bytes]
    backends: list[Backend]
    config: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def server_env(db_url: str, data_dir: Path, secret: str, **extra: str) -> dict[str, str]:
    """The environment of one backend: its own data directory, the shared database, secret and
    geodata cache (computed once per machine), the proxy trusted for forwarded headers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return {
        **os.environ,
        "LIENXA_DATABASE_URL": db_url,
        "LIENXA_BOUNDARIES": str(NGHE_AN),
        "LIENXA_DATA_DIR": str(data_dir),
        "LIENXA_CACHE_DIR": str(data_dir.parent / "geocache"),
        "LIENXA_SECRET_KEY": secret,
        "LIENXA_TRUSTED_PROXIES": "127.0.0.1",
        **extra,
    }


def start_backend(
    name: str, port: int, env: dict[str, str], *, workers: int = 1, log: Path | None = None
) -> Backend:
    """Start ``lienxa serve`` (not waiting for it: see :func:`wait_ready`)."""
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "api.cli", "serve", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", str(workers), "--log-level", "warning"),
        ],
        cwd=REPO,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    return Backend(name, port, proc, Path(env["LIENXA_DATA_DIR"]), workers)


def wait_ready(backends: list[Backend], *, timeout: float = 240) -> None:
    """Wait until every backend's ``/readyz`` answers 200.

    Raises
    ------
    RuntimeError
        A backend exited or was not ready in time.
    """
    deadline = time.monotonic() + timeout
    waiting = list(backends)
    while waiting:
        b = waiting[0]
        if b.proc.poll() is not None:
            raise RuntimeError(f"backend {b.name} exited with {b.proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(b.url + "/readyz", timeout=5).status_code == 200:
                waiting.pop(0)
                continue
        if time.monotonic() > deadline:
            raise RuntimeError(f"backend {b.name} not ready after {timeout:.0f} s")
        time.sleep(0.3)


def haproxy_config(port: int, backends: list[Backend]) -> str:
    """HAProxy's configuration: round robin over ``backends``, keep-alive on both sides."""
    lines = [
        "global",
        "  maxconn 2000",
        "  nbthread 1",
        "defaults",
        "  mode http",
        "  timeout connect 5s",
        "  timeout client 120s",
        "  timeout server 120s",
        "  timeout http-keep-alive 60s",
        "  option http-keep-alive",
        "  option forwardfor",
        "frontend lienxa",
        f"  bind 127.0.0.1:{port}",
        "  default_backend servers",
        "backend servers",
        "  balance roundrobin",
        "  http-reuse safe",
        f"  http-response set-header {SERVED_BY} %s",
    ]
    for b in backends:
        lines.append(f"  use-server {b.name} if {{ req.hdr({PICK.lower()}) -m str {b.name} }}")
    for b in backends:
        lines.append(f"  server {b.name} 127.0.0.1:{b.port} maxconn 100")
    return "\n".join(lines) + "\n"


def start_proxy(tmp: Path, port: int, backends: list[Backend]) -> Proxy:
    """Start HAProxy in front of ``backends`` and wait until it answers.

    Raises
    ------
    RuntimeError
        HAProxy is not installed, refused its configuration, or did not answer.
    """
    binary = haproxy_binary()
    if binary is None:
        raise RuntimeError(HAPROXY_MISSING)
    cfg = tmp / f"haproxy-{port}.cfg"
    cfg.write_text(haproxy_config(port, backends))
    check = subprocess.run([binary, "-c", "-f", str(cfg)], capture_output=True, text=True)
    if check.returncode != 0:
        raise RuntimeError(f"haproxy refused {cfg}: {check.stdout}{check.stderr}")
    proc = subprocess.Popen(
        [binary, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    proxy = Proxy(port, proc, backends, cfg)
    for _ in range(100):
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"haproxy exited: {err}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(proxy.url + "/healthz", timeout=2).status_code == 200:
                return proxy
        time.sleep(0.1)
    raise RuntimeError("haproxy did not answer")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate ``proc`` (killed after 30 s)."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Site:
    """A proxy and its backends on one database, as the checks see them."""

    proxy: Proxy
    db_url: str
    secret: str
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [b.name for b in self.proxy.backends]

    def client(
        self, on: str | None = None, *, token: str | None = None, source: str | None = None
    ) -> httpx.Client:
        """An HTTP client through the proxy; ``on`` picks the backend; ``token`` is sent as the
        bearer; ``source`` is the client's own address (another 127.0.0.0/8 address looks like
        another client to the proxy and the servers)."""
        headers = {PICK: on} if on else {}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        transport = httpx.HTTPTransport(local_address=source) if source else None
        return httpx.Client(
            base_url=self.proxy.url, headers=headers, timeout=60, transport=transport
        )

    def log_in(self, user: str, password: str, on: str | None = None) -> str:
        """A bearer token of ``user``, issued by backend ``on``.

        Raises
        ------
        AssertionError
            The login did not succeed on the backend asked for.
        """
        with self.client(on) as c:
            r = c.post("/api/v1/auth/token", data={"username": user, "password": password})
        assert r.status_code == 200, r.text
        assert on is None or r.headers.get(SERVED_BY) == on, r.headers
        token: str = r.json()["access_token"]
        return token


def new_secret() -> str:
    return "multiserver-" + uuid.uuid4().hex

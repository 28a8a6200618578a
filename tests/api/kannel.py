"""A real Kannel for the SMS tests: bearerbox and smsbox from Debian's ``kannel`` package, and
Kannel's own fake SMSC client (``fakesmsc``, from ``kannel-extras``) playing the phones.

``fakesmsc`` connects to bearerbox's fake SMSC as the operator's side: it injects the messages
given on its command line (phone -> Kannel, "MO") and prints every message Kannel delivers to
it (Kannel -> phone, "MT") as ``Got message N: <from to text TEXT>``. Bearerbox's fake SMSC
serves one client at a time, and keeps MT messages in its store while none is connected.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
FAKESMSC = Path("/usr/lib/kannel/test/fakesmsc")
#: The service's short number, the receiver of what phones send.
SHORT_NUMBER = "1900"
_GOT = re.compile(r"Got message \d+: <(\S+) (\S+) text (.*)>\s*$")

CONF = """\
group = core
admin-port = {admin_port}
admin-password = {admin_password}
smsbox-port = {smsbox_port}
log-file = "{tmp}/bearerbox.log"
log-level = 1
box-allow-ip = "127.0.0.1"
store-type = file
store-location = "{tmp}/kannel.store"

group = smsc
smsc = fake
smsc-id = FAKE
host = 127.0.0.1
port = {smsc_port}
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {smsbox_port}
sendsms-port = {sendsms_port}
log-file = "{tmp}/smsbox.log"
log-level = 1
# get-url retried while the service is down: every {retry_delay} s, {retries} times
http-request-retry = {retries}
http-queue-delay = {retry_delay}

group = sendsms-user
username = lienxa
password = {send_password}
default-sender = {short}

# "PING" lets a test connect a phone without calling the service (no answer is sent)
group = sms-service
keyword = ping
text = "pong"
max-messages = 0

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{service}/api/v1/sms/incoming?from=%p&text=%a&id=%I&secret={secret}"
"""


def require_kannel() -> None:
    """Skip when Kannel is not installed, or fail under ``LIENXA_REQUIRE_SMS=1`` (CI)."""
    missing = [str(p) for p in (BEARERBOX, SMSBOX, FAKESMSC) if not p.exists()]
    if not missing:
        return
    reason = f"Kannel is not installed ({', '.join(missing)}): apt install kannel kannel-extras"
    if os.environ.get("LIENXA_REQUIRE_SMS") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Sms:
    """One message the phone network saw delivered by Kannel."""

    sender: str
    to: str
    text: str


@dataclass
class Kannel:
    """A running bearerbox and smsbox; :meth:`phone` sends from a phone and collects what Kannel
    delivers meanwhile (to any number: filter by ``to``)."""

    tmp: Path
    smsc_port: int
    send_url: str
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    delivered: list[Sms] = field(default_factory=list)

    def phone(
        self,
        sender: str,
        text: str,
        until: Callable[[list[Sms]], bool],
        *,
        timeout: float = 60,
    ) -> list[Sms]:
        """Send ``text`` from ``sender`` and keep the phone network connected until
        ``until(delivered so far)`` holds; everything delivered meanwhile is returned (and
        kept in :attr:`delivered`). Fails the test after ``timeout`` seconds."""
        got: list[Sms] = []
        msg = f"{sender} {SHORT_NUMBER} text {text}"
        proc = subprocess.Popen(
            [str(FAKESMSC), "-H", "127.0.0.1", "-r", str(self.smsc_port), "-m", "1", msg],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        done, sent = threading.Event(), threading.Event()

        def read() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "sent message" in line:
                    sent.set()
                m = _GOT.search(line)
                if m:
                    got.append(Sms(m[1], m[2], urllib.parse.unquote_plus(m[3])))
                    if until(got):
                        done.set()
            done.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        deadline = time.monotonic() + timeout
        while (
            not (sent.is_set() and until(got))
            and time.monotonic() < deadline
            and proc.poll() is None
        ):
            done.wait(0.2)
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=10)
        if proc.poll() is None:
            proc.kill()
        reader.join(timeout=5)
        self.delivered.extend(got)
        assert until(got), f"after {timeout} s the phones got only {got}"
        return got

    def listen(self, until: Callable[[list[Sms]], bool], *, timeout: float = 60) -> list[Sms]:
        """Connect the phone network without calling the service (a ``PING`` Kannel answers
        itself, silently) until ``until`` holds."""
        return self.phone("+84900000000", "PING", until, timeout=timeout)

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def wait_port(port: int, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listening on port {port} after {timeout} s")


@contextlib.contextmanager
def running_kannel(
    tmp: Path, *, service: str, secret: str, sendsms_port: int, retries: int = 20
) -> Iterator[Kannel]:
    """Write a kannel.conf in ``tmp`` (free ports), start bearerbox and smsbox, stop them at
    the end (their logs stay in ``tmp``)."""
    require_kannel()
    tmp.mkdir(parents=True, exist_ok=True)
    ports = {
        "admin_port": free_port(),
        "smsbox_port": free_port(),
        "smsc_port": free_port(),
    }
    password = "send-" + os.urandom(6).hex()
    conf = tmp / "kannel.conf"
    conf.write_text(
        CONF.format(
            tmp=tmp,
            admin_password="adm-" + os.urandom(6).hex(),
            sendsms_port=sendsms_port,
            send_password=password,
            short=SHORT_NUMBER,
            service=service,
            secret=urllib.parse.quote(secret),
            retries=retries,
            retry_delay=2,
            **ports,
        )
    )
    send_url = (
        f"http://127.0.0.1:{sendsms_port}/cgi-bin/sendsms?username=lienxa&password={password}"
    )
    k = Kannel(tmp, ports["smsc_port"], send_url)
    try:
        for binary, port in ((BEARERBOX, ports["smsbox_port"]), (SMSBOX, sendsms_port)):
            out = (tmp / f"{binary.name}.out").open("w")
            k.procs.append(
                subprocess.Popen(
                    [str(binary), str(conf)], stdout=out, stderr=subprocess.STDOUT, text=True
                )
            )
            wait_port(port)
        # the sendsms interface answers once smsbox is connected to bearerbox
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{sendsms_port}/", timeout=2).status_code:
                    break
            time.sleep(0.2)
        yield k
    finally:
        k.stop()


def sendsms_password(url: str) -> str:
    """The password in a sendsms URL (to check it never reaches a log)."""
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["password"][0]

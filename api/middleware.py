"""ASGI middleware of the service: input bounds at the boundary, security headers and cookies.

- :class:`InputLimits` checks every JSON body sent to the API (:mod:`api.limits`) and the
  uploaded scenario of ``POST /api/v1/incidents``, before any route parses it, off the event
  loop for large bodies; and refuses ids that no database column can hold (a path segment or
  query value of digits at or over 2³¹: 404 / 422 rather than an overflow in the database).
- :class:`SecurityHeaders` adds the security headers to every response (a Content-Security-Policy
  without ``'unsafe-inline'`` scripts, frame-ancestors, nosniff, Referrer-Policy) and marks
  every cookie ``Secure`` when the request came over HTTPS: the connection's own scheme, or
  ``X-Forwarded-Proto`` from a proxy listed in ``LIENXA_TRUSTED_PROXIES`` (no one else's).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ServiceError
from api.limits import check_body

#: Ids are 32-bit integer columns on PostgreSQL: anything at or over this is no id.
MAX_ID = 2**31 - 1
#: Bodies larger than this are checked in a worker thread, never on the event loop.
THREAD_OVER = 64 * 1024
_DIGITS = re.compile(r"^[+-]?\d+$")
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}
#: Where a page request for an id no table holds is sent: no route answers it (404).
NO_SUCH_PAGE = "/.no-such-id"


async def send_json(
    send: Send,
    status: int,
    body: Mapping[str, Any],
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> None:
    """An error answered from the ASGI layer, in the shape of every other error."""
    raw = json.dumps(dict(body)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


async def send_error(send: Send, exc: ServiceError) -> None:
    await send_json(send, exc.status_code, {"detail": exc.detail, **exc.to_dict()})


def big_id(scope: Scope) -> tuple[int, str, str] | None:
    """``(status, field, value)`` of the first path segment, or query value of an ``*_id``
    parameter, that is an integer no id column can hold, else ``None``."""
    for segment in str(scope.get("path", "")).split("/"):
        if _DIGITS.match(segment) and abs(int(segment)) > MAX_ID:
            return 404, "path", segment
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name != "id" and not name.endswith("_id"):
            continue
        v = value.strip()
        if _DIGITS.match(v) and (len(v) > 12 or abs(int(v)) > MAX_ID):
            return 422, name, value[:40]
    return None


def too_big(status: int, field: str, value: str) -> dict[str, Any]:
    """The answer to :func:`big_id`: a 404, or a 422 shaped as FastAPI's validation errors."""
    if status == 404:
        detail = f"nothing has the id {value[:40]}"
        return {"detail": detail, "code": "not_found", "field": None, "params": {"id": value[:40]}}
    error = {
        "type": "less_than_equal",
        "loc": ["query", field],
        "msg": f"Input should be less than or equal to {MAX_ID}",
        "input": value,
        "ctx": {"le": MAX_ID},
    }
    problem = {
        "code": "less_than_equal",
        "message": error["msg"],
        "field": field,
        "params": {"le": MAX_ID},
    }
    return {
        "detail": [error],
        "code": "invalid_request",
        "field": field,
        "params": {"count": 1},
        "problems": [problem],
    }


class InputLimits:
    """Input bounds checked before any route sees the request (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        found = big_id(scope)
        if found is not None and found[0] == 404 and not path.startswith("/api/"):
            # no such page: the app's own "not found" answers (a page for a browser)
            path = NO_SUCH_PAGE
            scope = {**scope, "path": path, "raw_path": path.encode()}
        elif found is not None and path.startswith(("/api/", "/maps/")):
            await send_json(send, found[0], too_big(*found))
            return
        headers = dict(scope.get("headers") or [])
        ctype = headers.get(b"content-type", b"").decode("latin-1").lower()
        is_json = ctype.startswith("application/json") or "+json" in ctype.split(";")[0]
        scenario = scope["method"] == "POST" and path.rstrip("/") == "/api/v1/incidents"
        if not (
            scope["method"] in _WRITES
            and path.startswith("/api/")
            and (is_json or (scenario and ctype.startswith("multipart/form-data")))
        ):
            await self.app(scope, receive, send)
            return
        try:
            raw = await read_body(receive)
        except HTTPException as exc:  # the body limit, passed while reading
            body: dict[str, Any] = {
                "detail": exc.detail,
                "code": "body_too_large",
                "field": None,
                "params": {},
            }
            await send_json(send, exc.status_code, body)
            return
        try:
            await self.check(scope, raw, is_json=is_json, scenario=scenario)
        except ServiceError as exc:
            await send_error(send, exc)
            return
        await self.app(scope, replay(raw, receive), send)

    async def check(self, scope: Scope, raw: bytes, *, is_json: bool, scenario: bool) -> None:
        if not is_json:  # a scenario uploaded as a file
            raw = await uploaded_file(scope, raw)
            if raw is None:
                return
        if len(raw) > THREAD_OVER:
            await run_in_threadpool(check_body, raw, scenario=scenario)
        else:
            check_body(raw, scenario=scenario)


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def replay(raw: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``raw`` once, then waits on the real one (for disconnects)."""
    sent = False

    async def again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": raw, "more_body": False}
        return await receive()

    return again


async def uploaded_file(scope: Scope, raw: bytes) -> Any:
    """The bytes of the multipart field ``file`` of ``raw`` (``None`` when there is none, or the
    form is not one: the route answers that)."""

    async def nothing_more() -> Message:
        return {"type": "http.disconnect"}

    request = Request(scope, replay(raw, nothing_more))
    try:
        form = await request.form(max_files=1, max_fields=5)
    except Exception:
        return None
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else None
    await form.close()
    return data


# --- security headers and cookies ---------------------------------------------------------

#: Generated documents with inline scripts (folium maps, Swagger UI): each of their scripts
#: gets this response's nonce. The service's own pages have no inline script at all.
NONCED = ("/maps/", "/docs")
_SCRIPT_TAG = re.compile(rb"<script(?=[\s>])", re.IGNORECASE)


def csp(nonce: str | None, *, framed: bool) -> str:
    scripts = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src {scripts}",
            # leaflet and folium position map panes with inline styles
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data: blob: https:",
            "connect-src 'self'",
            "font-src 'self' data:",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'self'" if framed else "frame-ancestors 'none'",
        )
    )


def parse_proxies(spec: str | Iterable[str] | None) -> list[Any]:
    """Networks from ``"127.0.0.1, 10.0.0.0/8"`` (or a list); empty trusts no proxy."""
    if spec is None:
        return []
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    return [ipaddress.ip_network(s.strip(), strict=False) for s in items if s.strip()]


def over_https(scope: Scope, proxies: list[Any]) -> bool:
    """The request came over HTTPS: its own scheme, or a trusted proxy says so."""
    if scope.get("scheme") in ("https", "wss"):
        return True
    client = scope.get("client")
    if not proxies or not client:
        return False
    try:
        ip = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if not any(ip in net for net in proxies):
        return False
    headers = dict(scope.get("headers") or [])
    proto: bytes = headers.get(b"x-forwarded-proto", b"")
    return proto.decode("latin-1").split(",")[0].strip().lower() == "https"


def secure_cookie(value: bytes) -> bytes:
    return value if b"secure" in value.lower().split(b";")[1:] else value + b"; Secure"


#: A response header (removed before sending) by which a route asks for the nonce of a page
#: kept and revalidated by ETag (the maps): the same seed gives the same nonce, so the cached
#: body's scripts still match the CSP sent with a later ``304``.
NONCE_SEED = b"x-lienxa-nonce-seed"


class SecurityHeaders:
    """Security headers on every response; ``Secure`` cookies over HTTPS.

    ``nonce_secret`` (a callable, read at first use, the same in every worker) keys the nonces
    derived from a :data:`NONCE_SEED`: unpredictable without the secret, and tied to the page's
    content, so markup injected into a page changes its seed and so its nonce.
    """

    def __init__(
        self,
        app: ASGIApp,
        trusted_proxies: str | Iterable[str] | None = None,
        nonce_secret: Callable[[], str] | None = None,
    ) -> None:
        self.app = app
        self.proxies = parse_proxies(trusted_proxies)
        self._nonce_secret = nonce_secret
        self._key: bytes | None = None

    def seeded_nonce(self, seed: bytes) -> str:
        if self._key is None:
            secret = self._nonce_secret() if self._nonce_secret else secrets.token_hex(32)
            self._key = hashlib.sha256(b"lienxa csp nonce:" + secret.encode()).digest()
        digest = hmac.new(self._key, seed, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        https = over_https(scope, self.proxies)
        framed = path.startswith("/maps/")
        nonced = path.startswith(NONCED)
        nonce = secrets.token_urlsafe(16) if nonced else None
        start: Message | None = None
        chunks: list[bytes] = []

        def finish(message: Message) -> Message:
            headers = [
                (k, secure_cookie(v) if https and k.lower() == b"set-cookie" else v)
                for k, v in message.get("headers", [])
            ]
            names = {k.lower() for k, _ in headers}
            extra = {
                b"content-security-policy": csp(nonce, framed=framed).encode(),
                b"x-frame-options": b"SAMEORIGIN" if framed else b"DENY",
                b"x-content-type-options": b"nosniff",
                b"referrer-policy": b"strict-origin-when-cross-origin",
            }
            if https:
                extra[b"strict-transport-security"] = b"max-age=31536000"
            headers += [(k, v) for k, v in extra.items() if k not in names]
            return {**message, "headers": headers}

        async def wrapped(message: Message) -> None:
            nonlocal start, nonce
            if message["type"] == "http.response.start":
                raw = message.get("headers", [])
                seed = next((v for k, v in raw if k.lower() == NONCE_SEED), None)
                if seed is not None:
                    message = {**message, "headers": [(k, v) for k, v in raw if k != NONCE_SEED]}
                    if nonced:
                        nonce = self.seeded_nonce(seed)
                ctype = dict(message.get("headers", [])).get(b"content-type", b"")
                if nonce and ctype.startswith(b"text/html"):
                    start = message  # held until the whole document is in
                    return
                await send(finish(message))
                return
            if start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                body = _SCRIPT_TAG.sub(f'<script nonce="{nonce}"'.encode(), b"".join(chunks))
                headers = [
                    (k, str(len(body)).encode() if k.lower() == b"content-length" else v)
                    for k, v in start.get("headers", [])
                ]
                await send(finish({**start, "headers": headers}))
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, wrapped)

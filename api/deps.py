"""FastAPI dependencies: settings, database sessions, the current user, idempotent writes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import anyio
from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal, authenticate
from api.db import end_read, session_scope
from api.errors import BadInput, Conflict
from api.models import IdempotencyRecord
from api.settings import Settings
from api.state import AppState, state_of

#: The longest ``Idempotency-Key`` accepted.
MAX_KEY = 128


def client_ip(request: Request) -> str:
    """The client's address as the server saw it (behind a proxy, what the server was told
    to trust): what login throttling counts by."""
    return request.client.host if request.client else "?"


def app_state(request: Request) -> AppState:
    """What the lifespan loaded (settings, database, tokens, boundaries and graph)."""
    return state_of(request)


StateDep = Annotated[AppState, Depends(app_state)]


def app_settings(state: StateDep) -> Settings:
    """The running application's settings (those ``create_app`` was given)."""
    return state.settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


async def get_read_session(state: StateDep) -> AsyncIterator[Session]:
    """A read session, committed (or rolled back) when the request is answered.

    One per request: FastAPI gives every dependency of a request that asks for it the same
    session, so :func:`get_current_user` looks the user up on the connection the handler then
    reads on (a session takes its connection from the pool at its first statement).

    Made on the event loop (a new session does no I/O) and, when it holds no connection at the
    end (a write's authentication gave it back), closed there too; one that still holds its
    connection is ended in a worker thread, shielded from cancellation so that the
    connection always goes back to the pool. A write's request thus costs no thread hop more
    than when authentication had a session of its own."""
    session = state.read_session()
    failed = False
    try:
        yield session
    except BaseException:
        failed = True
        raise
    finally:

        def end() -> None:
            try:
                if failed:
                    session.rollback()
                else:
                    end_read(session)
            finally:
                session.close()

        if session.in_transaction() or session.new or session.dirty or session.deleted:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(end, limiter=anyio.CapacityLimiter(1))
        else:
            session.close()  # nothing held, nothing to end: no statement, no I/O


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def handler_reads(route: Any) -> bool:
    """Whether ``route``'s handler, or one of its dependencies other than
    :func:`get_current_user`, takes the request's read session (:data:`ReadSessionDep`)."""

    def reads(dependant: Any) -> bool:
        return any(
            sub.call is get_read_session or (sub.call is not get_current_user and reads(sub))
            for sub in dependant.dependencies
        )

    dependant = getattr(route, "dependant", None)
    return dependant is not None and reads(dependant)


def get_current_user(request: Request, session: ReadSessionDep) -> Principal:
    """The authenticated principal (401/403 otherwise, see :func:`api.auth.authenticate`).

    The user is looked up in the request's read session: a handler that reads goes on on the
    same connection (one pool check-out and its pre-ping per request, not two). For a handler
    that does not read (it writes through :class:`Writer`, or computes), the read session
    hands its connection back to the pool at once, as a session of its own did before, so no
    connection is held idle while the handler works. The token's version is still compared
    with the database on every request, on every server."""
    principal = authenticate(request, session)
    if not handler_reads(request.scope.get("route")):
        end_read(session)  # hands the connection back; the session stays usable
    return principal


CurrentUser = Annotated[Principal, Depends(get_current_user)]


def request_fingerprint(
    method: str, path: str, query: str, content_type: str, body: bytes
) -> str | None:
    """A SHA-256 of what a request asks for: method, path, query and body (JSON compared by
    value, so key order and spacing do not matter). ``None`` for multipart uploads, whose
    boundaries change on every retry: those keys are matched on method and path only."""
    if content_type.startswith("multipart/"):
        return None
    try:
        canonical = (
            json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
            if body
            else b""
        )
    except (ValueError, UnicodeDecodeError):
        canonical = body
    h = hashlib.sha256()
    for part in (method.encode(), path.encode(), query.encode(), canonical):
        h.update(len(part).to_bytes(8, "big") + part)
    return h.hexdigest()


class Writer:
    """Runs a write in one transaction, with ``Idempotency-Key`` support: a repeat of a key
    by the same user with the same request returns the first response and changes nothing;
    the key reused for a different request is refused (422, as the IETF Idempotency-Key
    draft says) rather than answered with the first request's result."""

    def __init__(
        self, request: Request, principal: Principal, fingerprint: str | None = None
    ) -> None:
        self.request = request
        self.state = state_of(request)
        self.principal = principal
        self.fingerprint = fingerprint
        self.key = request.headers.get("idempotency-key")
        if self.key is not None and not (0 < len(self.key) <= MAX_KEY):
            raise BadInput(
                f"Idempotency-Key: 1 to {MAX_KEY} characters",
                code="idempotency_key_invalid",
                field="Idempotency-Key",
                params={"max": MAX_KEY},
            )

    def _stored(self) -> JSONResponse | None:
        with session_scope(self.state.read_session) as s:
            rec = s.get(IdempotencyRecord, (self.principal.id, self.key))
            if rec is None:
                return None
            used = {"key": self.key, "method": rec.method, "path": rec.path}
            if (rec.method, rec.path) != (self.request.method, self.request.url.path):
                raise Conflict(
                    f"Idempotency-Key {self.key!r} was used for {rec.method} {rec.path}",
                    code="idempotency_key_reused",
                    field="Idempotency-Key",
                    params=used,
                )
            if rec.fingerprint and self.fingerprint and rec.fingerprint != self.fingerprint:
                raise BadInput(
                    f"Idempotency-Key {self.key!r} was already used for a different request body "
                    f"to {rec.method} {rec.path}; use a new key for a new request",
                    code="idempotency_key_mismatch",
                    field="Idempotency-Key",
                    params=used,
                )
            return JSONResponse(
                rec.response, status_code=rec.status_code, headers={"Idempotent-Replay": "true"}
            )

    def replay(self) -> JSONResponse | None:
        """The stored first response to this request's ``Idempotency-Key`` (None without a key
        or before one): lets a route skip work done outside :meth:`run` for a repeat."""
        return None if self.key is None else self._stored()

    def run(self, fn: Callable[[Session], Any], *, status_code: int = 200) -> Any:
        """``fn(session)`` in one write transaction, its result as the JSON response (the
        stored first response for a repeated ``Idempotency-Key``)."""
        if self.key is None:
            with session_scope(self.state.write_session) as s:
                return JSONResponse(jsonable_encoder(fn(s)), status_code=status_code)
        replay = self._stored()
        if replay is not None:
            return replay
        try:
            with session_scope(self.state.write_session) as s:
                body = jsonable_encoder(fn(s))
                s.add(
                    IdempotencyRecord(
                        user_id=self.principal.id,
                        key=self.key,
                        method=self.request.method,
                        path=self.request.url.path,
                        fingerprint=self.fingerprint,
                        status_code=status_code,
                        response=body,
                    )
                )
                s.flush()
        except IntegrityError:  # the same key, committed meanwhile by a concurrent retry
            replay = self._stored()
            if replay is None:
                raise
            return replay
        return JSONResponse(body, status_code=status_code)


async def get_writer(request: Request, principal: CurrentUser) -> Writer:
    fingerprint = None
    if request.headers.get("idempotency-key") is not None:
        body = await request.body()  # already read (and cached) for routes with a JSON body
        fingerprint = request_fingerprint(
            request.method,
            request.url.path,
            request.url.query,
            request.headers.get("content-type", ""),
            body,
        )
    return Writer(request, principal, fingerprint)


WriterDep = Annotated[Writer, Depends(get_writer)]

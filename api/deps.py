"""FastAPI dependencies: settings, database sessions, the current user, idempotent writes."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth import Principal, authenticate
from api.db import session_scope
from api.errors import BadInput, Conflict
from api.models import IdempotencyRecord
from api.settings import Settings


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def get_read_session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.read_session) as s:
        yield s


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def get_current_user(request: Request) -> Principal:
    with session_scope(request.app.state.read_session) as s:
        return authenticate(request, s)


CurrentUser = Annotated[Principal, Depends(get_current_user)]


class Writer:
    """Runs a write in one transaction, with ``Idempotency-Key`` support: a repeat of a key
    by the same user returns the first response and changes nothing."""

    def __init__(self, request: Request, principal: Principal) -> None:
        self.request = request
        self.principal = principal
        self.key = request.headers.get("idempotency-key")
        if self.key is not None and not (0 < len(self.key) <= 128):
            raise BadInput("Idempotency-Key: 1 to 128 characters")

    def _stored(self) -> JSONResponse | None:
        with session_scope(self.request.app.state.read_session) as s:
            rec = s.get(IdempotencyRecord, (self.principal.id, self.key))
            if rec is None:
                return None
            if (rec.method, rec.path) != (self.request.method, self.request.url.path):
                raise Conflict(f"Idempotency-Key {self.key!r} was used for {rec.method} {rec.path}")
            return JSONResponse(rec.response, status_code=rec.status_code, headers={"Idempotent-Replay": "true"})

    def run(self, fn: Callable[[Session], Any], *, status_code: int = 200) -> Any:
        if self.key is None:
            with session_scope(self.request.app.state.write_session) as s:
                return JSONResponse(jsonable_encoder(fn(s)), status_code=status_code)
        replay = self._stored()
        if replay is not None:
            return replay
        try:
            with session_scope(self.request.app.state.write_session) as s:
                body = jsonable_encoder(fn(s))
                s.add(IdempotencyRecord(user_id=self.principal.id, key=self.key, method=self.request.method,
                                        path=self.request.url.path, status_code=status_code, response=body))
                s.flush()
        except IntegrityError:  # the same key, committed meanwhile by a concurrent retry
            replay = self._stored()
            if replay is None:
                raise
            return replay
        return JSONResponse(body, status_code=status_code)


def get_writer(request: Request, principal: CurrentUser) -> Writer:
    return Writer(request, principal)


WriterDep = Annotated[Writer, Depends(get_writer)]


def app_state(request: Request) -> Any:
    return request.app.state


StateDep = Annotated[Any, Depends(app_state)]

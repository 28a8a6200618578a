"""Log in: OAuth2 password form -> bearer token (the pages set the same token as a cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from api.auth import (
    check_login_rate,
    clear_login_failures,
    record_login_failure,
    verify_password,
)
from api.db import session_scope
from api.deps import CurrentUser
from api.errors import NotAuthenticated
from api.models import User
from api.schemas import Detail, Token, UserOut

router = APIRouter(prefix="/auth", tags=["auth"])


def login(request: Request, username: str, password: str) -> tuple[User, str]:
    """Check credentials (rate-limited) and return the user and a fresh token."""
    settings = request.app.state.settings
    ip = request.client.host if request.client else "?"
    with session_scope(request.app.state.write_session) as s:
        check_login_rate(
            s,
            username,
            ip,
            max_failures=settings.login_max_failures,
            window_minutes=settings.login_window_minutes,
        )
        user = s.scalars(select(User).where(User.username == username)).first()
        ok = user is not None and user.active and verify_password(user.password_hash, password)
        if not ok:
            record_login_failure(s, username, ip)
        else:
            clear_login_failures(s, username)
    if not ok:
        raise NotAuthenticated("wrong username or password")
    return user, request.app.state.tokens.issue(user)


@router.post(
    "/token", response_model=Token, responses={401: {"model": Detail}, 429: {"model": Detail}}
)
def create_token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a bearer token."""
    user, token = login(request, form.username, form.password)
    return Token(access_token=token, role=user.role, commune=user.commune_code)


@router.get("/me", response_model=UserOut, responses={401: {"model": Detail}})
def read_me(user: CurrentUser) -> UserOut:
    """Who the token belongs to, with role and area."""
    return UserOut(
        id=user.id,
        username=user.username,
        role=user.role,
        commune=user.commune,
        region=user.region,
        province=user.province,
        area_size=len(user.area),
    )

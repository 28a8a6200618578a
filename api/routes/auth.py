"""Log in: OAuth2 password form -> bearer token (the pages set the same token as a cookie)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from api.deps import CurrentUser
from api.models import User
from api.schemas import Detail, Token, UserOut
from api.services.login import log_in
from api.state import state_of

router = APIRouter(prefix="/auth", tags=["auth"])


def login(request: Request, username: str, password: str) -> tuple[User, str]:
    """Check credentials (rate-limited) and return the user and a fresh token (see
    :func:`api.services.login.log_in`)."""
    ip = request.client.host if request.client else "?"
    return log_in(state_of(request), username, password, ip=ip)


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
    return UserOut.model_validate(
        {
            "id": user.id,
            "username": user.username,
            "role": user.role,
            "commune": user.commune,
            "region": user.region,
            "province": user.province,
            "area_size": len(user.area),  # an extra field of the open model
        }
    )

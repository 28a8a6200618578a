"""Log in: OAuth2 password form -> bearer token (the pages set the same token as a cookie);
change one's password; log out everywhere (both revoke every older token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from api.deps import CurrentUser, client_ip
from api.schemas import Detail, Token, UserOut, error_responses
from api.services.login import change_password, log_in, log_out_everywhere
from api.state import state_of

router = APIRouter(prefix="/auth", tags=["auth"])


class PasswordChange(BaseModel):
    """The current password and the new one."""

    model_config = ConfigDict(extra="forbid")
    old_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)


class LoggedOut(BaseModel):
    """Every token of the user issued before is revoked."""

    ok: bool


@router.post(
    "/token", response_model=Token, responses={401: {"model": Detail}, 429: {"model": Detail}}
)
def create_token(request: Request, form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    """Exchange a username and password for a bearer token."""
    user, token = log_in(state_of(request), form.username, form.password, ip=client_ip(request))
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


@router.post("/password", response_model=Token, responses=error_responses(401, 422, 429))
async def update_password(request: Request, body: PasswordChange, user: CurrentUser) -> Token:
    """Change one's own password: every older token (in every worker) stops working; the
    answer carries a fresh one."""
    changed, token = await run_in_threadpool(
        change_password,
        state_of(request),
        user.id,
        body.old_password,
        body.new_password,
        ip=client_ip(request),
        actor=user.describe(),
    )
    return Token(access_token=token, role=changed.role, commune=changed.commune_code)


@router.post("/logout-all", response_model=LoggedOut, responses=error_responses(401))
def log_out_all(request: Request, user: CurrentUser) -> LoggedOut:
    """Log out everywhere: every token of the caller, this one included, stops working."""
    log_out_everywhere(state_of(request), user.id, actor=user.describe())
    return LoggedOut(ok=True)

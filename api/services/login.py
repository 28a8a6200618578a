"""Logging in, for both the API's token route and the login page."""

from __future__ import annotations

from sqlalchemy import select

from api.auth import (
    check_login_rate,
    clear_login_failures,
    hash_password,
    record_login_failure,
    verify_password,
)
from api.db import session_scope
from api.errors import NotAuthenticated
from api.models import User
from api.state import AppState

#: checked against when the username is unknown, so that an unknown user costs the same argon2
#: verification as a wrong password and the answer's timing does not tell which usernames exist
_DUMMY_HASH = hash_password("lienxa: no such user")


def log_in(state: AppState, username: str, password: str, *, ip: str) -> tuple[User, str]:
    """Check credentials (rate-limited) and return the user and a fresh token.

    Raises
    ------
    TooManyAttempts
        Too many failures for the username or from the address.
    NotAuthenticated
        Unknown user, disabled user or wrong password (one answer for all three).
    """
    settings = state.settings
    with session_scope(state.write_session) as s:
        check_login_rate(
            s,
            username,
            ip,
            max_failures=settings.login_max_failures,
            window_minutes=settings.login_window_minutes,
        )
        user = s.scalars(select(User).where(User.username == username)).first()
        matches = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active and matches
        if not ok:
            record_login_failure(s, username, ip)
        else:
            clear_login_failures(s, username)
    if not ok or user is None:
        raise NotAuthenticated("wrong username or password", code="wrong_credentials")
    return user, state.tokens.issue(user)

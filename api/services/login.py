"""Logging in, for both the API's token route and the login page; throttling that slows a
guesser without locking out the owner; changing a password; ending every session of a user.

Throttling, as the OWASP Authentication Cheat Sheet recommends it (failures are rows of
``login_failures``, so every worker agrees):

- per **username and address**: after ``login_max_failures`` failures within
  ``login_window_minutes`` that address may not try that username again until the oldest of
  them leaves the window (429 ``too_many_attempts``, ``Retry-After``). A guesser at one address
  is stopped; the owner at another address is not.
- per **address**, whatever the username (password spraying): four times as many failures
  within the window stop the address the same way.
- per **username**, from every address together (a guesser spread over many addresses): never
  a refusal, only a delay before the password is checked, doubling with every failure past
  ``login_max_failures`` and at most :data:`MAX_USER_DELAY` seconds. The right password always
  gets in, at worst that much later.

A success clears the failures of that username *from that address* only, so that the owner
logging in does not hand a guesser elsewhere a fresh allowance.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Sequence

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from api.auth import hash_password, verify_password
from api.db import session_scope
from api.errors import NotAuthenticated, TooManyAttempts
from api.models import LoginFailure, User, as_utc, utcnow
from api.services import audit
from api.services.users import check_password_rules, revoke_tokens
from api.settings import Settings
from api.state import AppState

#: checked against when the username is unknown, so that an unknown user costs the same argon2
#: verification as a wrong password and the answer's timing does not tell which usernames exist
_DUMMY_HASH = hash_password("lienxa: no such user")
#: the longest delay a username's failures from many addresses add to a login (seconds)
MAX_USER_DELAY = 2.0
#: the first such delay (seconds), doubled with every further failure
FIRST_USER_DELAY = 0.05
#: failures from one address (any usernames) that stop it, as a multiple of the per-user limit
ADDRESS_FACTOR = 4


def _refuse(oldest: dt.datetime | None, window: dt.timedelta) -> TooManyAttempts:
    """A 429 that says when the oldest counted failure leaves the window."""
    now = utcnow()
    seconds = max(1, math.ceil(((as_utc(oldest) or now) + window - now).total_seconds()))
    minutes = max(1, math.ceil(seconds / 60))
    return TooManyAttempts(
        f"too many failed logins; try again in {minutes} minutes",
        code="too_many_attempts",
        params={"minutes": minutes},
        headers={"Retry-After": str(seconds)},
    )


def _nth_newest(
    session: Session, where: Sequence[ColumnElement[bool]], n: int, since: dt.datetime
) -> dt.datetime | None:
    """The time of the ``n``-th newest failure matching ``where`` in the window, or None."""
    return session.scalar(
        select(LoginFailure.at)
        .where(LoginFailure.at >= since, *where)
        .order_by(LoginFailure.at.desc())
        .offset(n - 1)
        .limit(1)
    )


def throttle(session: Session, username: str, ip: str, settings: Settings) -> float:
    """Refuse (429) a throttled ``(username, ip)`` or ``ip``; otherwise the delay in seconds
    to wait before checking the password (the username's failures from every address).

    Raises
    ------
    TooManyAttempts
        Code ``too_many_attempts``, params ``minutes``, header ``Retry-After`` (seconds).
    """
    limit = settings.login_max_failures
    window = dt.timedelta(minutes=settings.login_window_minutes)
    since = utcnow() - window
    pair = [LoginFailure.username == username, LoginFailure.ip == ip]
    at = _nth_newest(session, pair, limit, since)
    if at is not None:
        # the count falls under the limit when the limit-th newest failure leaves the window
        raise _refuse(at, window)
    at = _nth_newest(session, [LoginFailure.ip == ip], limit * ADDRESS_FACTOR, since)
    if at is not None:
        raise _refuse(at, window)
    n_user = session.scalar(
        select(func.count()).where(LoginFailure.username == username, LoginFailure.at >= since)
    )
    over = (n_user or 0) - limit
    return 0.0 if over < 0 else min(MAX_USER_DELAY, FIRST_USER_DELAY * 2.0**over)


def storable(username: str) -> str:
    """``username`` as every database can compare and keep it: no NUL, no lone surrogate, at
    most the column's 64 characters (no real username has those: they cannot match one)."""
    text = username.encode("utf-8", "replace").decode("utf-8").replace("\x00", "?")
    return text[:64]


def record_failure(session: Session, username: str, ip: str) -> None:
    """Count one failed login of ``username`` (see :func:`storable`) from ``ip``."""
    session.add(LoginFailure(username=username, ip=ip[:64]))


def clear_failures(session: Session, username: str, ip: str) -> None:
    """Forget the failures of ``username`` from ``ip`` (after a success from there)."""
    session.execute(
        delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.ip == ip)
    )


def log_in(state: AppState, username: str, password: str, *, ip: str) -> tuple[User, str]:
    """Check credentials (throttled) and return the user and a fresh token.

    Raises
    ------
    TooManyAttempts
        Too many failures for the username from this address, or from the address.
    NotAuthenticated
        Unknown user, disabled user or wrong password (one answer for all three).
    """
    username = storable(username)
    with session_scope(state.read_session) as s:  # reads only: no SQLite write lock
        delay = throttle(s, username, ip, state.settings)
    if delay:
        time.sleep(delay)  # outside any transaction: a slowed login holds no lock
    with session_scope(state.write_session) as s:
        user = s.scalars(select(User).where(User.username == username)).first()
        matches = verify_password(user.password_hash if user else _DUMMY_HASH, password)
        ok = user is not None and user.active and matches
        if not ok:
            record_failure(s, username, ip)
        else:
            clear_failures(s, username, ip)
    if not ok or user is None:
        raise NotAuthenticated("wrong username or password", code="wrong_credentials")
    return user, state.tokens.issue(user)


def change_password(
    state: AppState, user_id: int, old: str, new: str, *, ip: str, actor: str
) -> tuple[User, str]:
    """Change a user's password after checking the old one (throttled like a login); every
    older token is revoked and a fresh one returned. Audited as ``user.password``.

    Raises
    ------
    TooManyAttempts
        As for :func:`log_in`.
    NotAuthenticated
        ``wrong_old_password`` (field ``old_password``).
    BadInput
        The new password breaks the rules (``password_too_short``).
    """
    check_password_rules(new)
    with session_scope(state.read_session) as s:  # reads only: no SQLite write lock
        user = s.get(User, user_id)
        username = user.username if user is not None else ""
        delay = throttle(s, username, ip, state.settings)
    if delay:
        time.sleep(delay)
    with session_scope(state.write_session) as s:
        user = s.get(User, user_id)
        if user is None or not verify_password(user.password_hash, old):
            record_failure(s, username, ip)
            ok = False
        else:
            ok = True
            user.password_hash = hash_password(new)
            revoke_tokens(user)
            clear_failures(s, username, ip)
            audit.record(
                s,
                actor=actor,
                action="user.password",
                entity="user",
                entity_id=user.id,
                after={"username": user.username, "token_version": user.token_version},
            )
    if not ok or user is None:
        raise NotAuthenticated(
            "old_password: wrong password", code="wrong_old_password", field="old_password"
        )
    return user, state.tokens.issue(user)


def log_out_everywhere(state: AppState, user_id: int, *, actor: str) -> None:
    """Revoke every token of the user (audited as ``user.logout_all``)."""
    with session_scope(state.write_session) as s:
        user = s.get(User, user_id)
        if user is None:
            return
        revoke_tokens(user)
        audit.record(
            s,
            actor=actor,
            action="user.logout_all",
            entity="user",
            entity_id=user.id,
            after={"username": user.username, "token_version": user.token_version},
        )

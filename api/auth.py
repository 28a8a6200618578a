"""Passwords, tokens, the current user, roles and areas, CSRF for forms.

The API takes ``Authorization: Bearer <token>`` (OAuth2 password flow at
``/api/v1/auth/token``); web pages use the same signed token in the ``lienxa_session`` cookie.
A request authenticated by the cookie must also send the CSRF token (form field ``csrf_token``
or header ``X-CSRF-Token``) on anything but GET/HEAD: :func:`csrf_token_for` makes it.
Every token carries its user's ``token_version``, compared with the database on every request,
so that a password change, disabling a user or "log out everywhere" ends every older token.
Login throttling is in :mod:`api.services.login`.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Request
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import Session

from api.enums import Role
from api.errors import BadInput, Forbidden, NotAuthenticated
from api.models import ROLES, Region, User
from api.state import state_of

SESSION_COOKIE = "lienxa_session"
_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether ``password`` matches ``password_hash`` (constant time)."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeEncodeError):  # a lone surrogate
        return False


@dataclass(frozen=True)
class Principal:
    """The authenticated user as the routes see it, with the communes of their area."""

    id: int
    username: str
    role: Role
    commune: str | None = None
    region: str | None = None
    province: str | None = None
    area: frozenset[str] = field(default_factory=frozenset)
    via_cookie: bool = False

    def in_area(self, commune: str) -> bool:
        """A defence command's area (region or province); a leader's own commune."""
        if self.role == Role.COMMUNE_LEADER:
            return commune == self.commune
        return commune in self.area

    def may_act_for(self, commune: str) -> bool:
        """Leaders act for their own commune; a defence command for any commune of its area."""
        return (self.role == Role.COMMUNE_LEADER and commune == self.commune) or (
            self.role == Role.DEFENCE_COMMAND and commune in self.area
        )

    def describe(self) -> str:
        where = (
            self.commune or self.region or (f"province {self.province}" if self.province else "")
        )
        return f"{self.username} ({self.role}{', ' + where if where else ''})"

    def describe_for(self, commune: str) -> str:
        """The audit actor for an act done in ``commune``'s name: a defence command acting for
        one of its communes is recorded as such (``... acting for commune 17254``)."""
        if self.role == Role.COMMUNE_LEADER and commune == self.commune:
            return self.describe()
        return f"{self.describe()} acting for commune {commune}"


class Tokens:
    """Signed, expiring tokens (itsdangerous) for the API and the session cookie."""

    def __init__(self, secret: str, minutes: int) -> None:
        self._s = URLSafeTimedSerializer(secret, salt="lienxa-token")
        self._secret = secret.encode()
        self.max_age = minutes * 60

    def issue(self, user: User) -> str:
        """A token of ``user`` carrying their ``token_version`` (see :func:`authenticate`)."""
        return self._s.dumps({"uid": user.id, "u": user.username, "v": user.token_version or 0})

    def read(self, token: str) -> tuple[int, int]:
        """The user id and token version of a valid, unexpired token (a token issued before
        versions existed reads as version 0).

        Raises
        ------
        NotAuthenticated
            ``token_expired`` or ``invalid_token``.
        """
        try:
            data = self._s.loads(token, max_age=self.max_age)
        except SignatureExpired as exc:
            raise NotAuthenticated("token expired: log in again", code="token_expired") from exc
        except BadSignature as exc:
            raise NotAuthenticated("invalid token", code="invalid_token") from exc
        return int(data["uid"]), int(data.get("v", 0))

    def csrf_for(self, token: str) -> str:
        return hmac.new(self._secret, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()


def principal_for(
    session: Session,
    user: User,
    communes_by_province: dict[str, set[str]],
    *,
    via_cookie: bool = False,
) -> Principal:
    """Resolve a user's area: a region's communes, or a province's."""
    region_name, area = None, set()
    if user.region_id is not None:
        region = session.get(Region, user.region_id)
        if region is not None:
            region_name, area = region.name, set(region.communes)
    if user.province_code:
        area |= communes_by_province.get(user.province_code, set())
    return Principal(
        user.id,
        user.username,
        user.role,
        user.commune_code,
        region_name,
        user.province_code,
        frozenset(area),
        via_cookie,
    )


def authenticate(request: Request, session: Session) -> Principal:
    """The current principal from the bearer token or the session cookie.

    Raises
    ------
    NotAuthenticated
        No credentials, a bad or expired token, a disabled user, or a token revoked by a
        password change or "log out everywhere" (401, ``token_revoked``).
    Forbidden
        A cookie-authenticated change without its CSRF token (403).
    """
    state = state_of(request)
    tokens = state.tokens
    header = request.headers.get("authorization", "")
    via_cookie = False
    if header.lower().startswith("bearer "):
        token = header[7:].strip()
    elif request.cookies.get(SESSION_COOKIE):
        token = request.cookies[SESSION_COOKIE]
        via_cookie = True
    else:
        raise NotAuthenticated(
            "not authenticated: log in (POST /api/v1/auth/token) and send the bearer token"
        )
    uid, version = tokens.read(token)
    user = session.get(User, uid)
    if user is None or not user.active:
        raise NotAuthenticated("unknown or disabled user", code="unknown_or_disabled_user")
    if version != (user.token_version or 0):  # read from the database: every worker agrees
        raise NotAuthenticated(
            "this session was ended (password changed or logged out everywhere): log in again",
            code="token_revoked",
        )
    if via_cookie and request.method not in ("GET", "HEAD", "OPTIONS"):
        sent = request.headers.get("x-csrf-token") or getattr(
            request.state, "csrf_form_token", None
        )
        if not sent or not hmac.compare_digest(sent, tokens.csrf_for(token)):
            raise Forbidden(
                "missing or wrong CSRF token for a form or cookie request",
                code="csrf_failed",
                field="csrf_token",
            )
    return principal_for(session, user, state.communes_by_province, via_cookie=via_cookie)


def require_role(principal: Principal, *roles: Role, action: str) -> None:
    """Raise 403 naming the needed role(s) unless ``principal`` has one of them.

    Raises
    ------
    Forbidden
        Code ``role_required``, params ``roles`` (needed), ``role`` (the principal's) and
        ``action`` (English, what was tried).
    """
    if principal.role not in roles:
        needed = " or ".join(roles)
        raise Forbidden(
            f"{action} needs the role {needed}; you are {principal.role}",
            code="role_required",
            params={"roles": list(roles), "role": principal.role, "action": action},
        )


def require_act_for(principal: Principal, commune: str, *, action: str) -> None:
    """Raise 403 unless the principal may act for ``commune``.

    Raises
    ------
    Forbidden
        Field ``commune``; code ``not_your_commune`` (a leader of another commune, params
        ``commune`` and ``own``), ``outside_area`` (a defence command, params ``commune``) or
        ``role_required`` (any other role, params ``roles``, ``role``, ``commune``); each with
        ``action``.
    """
    if principal.may_act_for(commune):
        return
    if principal.role == Role.COMMUNE_LEADER:
        raise Forbidden(
            f"{action}: you lead commune {principal.commune}, not {commune}",
            code="not_your_commune",
            field="commune",
            params={"commune": commune, "own": principal.commune, "action": action},
        )
    if principal.role == Role.DEFENCE_COMMAND:
        raise Forbidden(
            f"{action}: commune {commune} is outside your area",
            code="outside_area",
            field="commune",
            params={"commune": commune, "action": action},
        )
    raise Forbidden(
        f"{action} needs the role commune_leader (of {commune}) or defence_command; "
        f"you are {principal.role}",
        code="role_required",
        field="commune",
        params={
            "roles": [Role.COMMUNE_LEADER, Role.DEFENCE_COMMAND],
            "role": principal.role,
            "commune": commune,
            "action": action,
        },
    )


def validate_role_binding(
    role: str, commune: str | None, region: str | None, province: str | None
) -> Role:
    """A role's binding: leaders to one commune, defence commands to a region or a province.

    Returns
    -------
    Role
        ``role`` as a member.

    Raises
    ------
    BadInput
        ``unknown_role`` (field ``role``, params ``role``, ``roles``), ``commune_required``
        (field ``commune``) or ``area_required`` (field ``region``), with the param ``role``.
    """
    if role not in ROLES:
        raise BadInput(
            f"unknown role {role!r}; use one of {', '.join(ROLES)}",
            code="unknown_role",
            field="role",
            params={"role": role, "roles": list(ROLES)},
        )
    if role == Role.COMMUNE_LEADER and not commune:
        raise BadInput(
            "a commune_leader is bound to one commune: give --commune CODE",
            code="commune_required",
            field="commune",
            params={"role": role},
        )
    if role == Role.DEFENCE_COMMAND and not (region or province):
        raise BadInput(
            "a defence_command is bound to a region or a province: "
            "give --region NAME or --province CODE",
            code="area_required",
            field="region",
            params={"role": role},
        )
    return Role(role)

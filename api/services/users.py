"""Users: creation with a role bound to a commune, region or province; password and
enabled/disabled changes (each revokes the user's tokens and is audited)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import hash_password, validate_role_binding
from api.enums import Role
from api.errors import BadInput, Conflict, NotFound
from api.models import Region, User
from api.services import audit
from geo.sms import SmsError, normalise_phone

#: The shortest password accepted.
MIN_PASSWORD = 8

#: The 34 province codes of Việt Nam since the 1 July 2025 merger (Resolution 202/2025/QH15),
#: checked against when no boundaries are at hand (``lienxa users add`` without a readable
#: boundaries file); with boundaries loaded, a province must be one of theirs.
_PROVINCES = (
    "01 04 08 11 12 14 15 19 20 22 24 25 31 33 37 38 40 42 44 46 48 51 52 56 66 68 75 79 80"
)
KNOWN_PROVINCES = frozenset(f"{_PROVINCES} 82 86 91 92 96".split())


def check_password_rules(password: str) -> None:
    """Raise ``password_too_short`` (field ``password``, params ``min``) for a short one,
    ``password_invalid`` (field ``password``) for one that is not text (a lone surrogate)."""
    try:
        password.encode()
    except UnicodeEncodeError as exc:
        raise BadInput(
            "password: not valid text (a lone surrogate)",
            code="password_invalid",
            field="password",
        ) from exc
    if len(password) < MIN_PASSWORD:
        raise BadInput(
            f"password: at least {MIN_PASSWORD} characters",
            code="password_too_short",
            field="password",
            params={"min": MIN_PASSWORD},
        )


def check_area(
    commune: str | None,
    province: str | None,
    *,
    communes: Collection[str] | None,
    provinces: Collection[str] | None,
) -> None:
    """Raise 422 for a commune or province code that is not a real one (``None``: not checked).

    Raises
    ------
    BadInput
        ``unknown_commune`` (field ``commune``, params ``commune``) or ``unknown_province``
        (field ``province``, params ``province``).
    """
    if commune and communes is not None and commune not in communes:
        raise BadInput(
            f"commune: unknown commune {commune!r}",
            code="unknown_commune",
            field="commune",
            params={"commune": commune},
        )
    if province and provinces is not None and province not in provinces:
        raise BadInput(
            f"province: unknown province {province!r}",
            code="unknown_province",
            field="province",
            params={"province": province},
        )


def add_user(
    session: Session,
    username: str,
    password: str,
    role: str,
    *,
    commune: str | None = None,
    region: str | None = None,
    province: str | None = None,
    actor: str = "cli",
    communes: Collection[str] | None = None,
    provinces: Collection[str] | None = None,
    phone: str | None = None,
) -> User:
    """Create a user; errors name what is wrong (role binding, unknown commune, province or
    region, duplicate). ``communes`` and ``provinces`` are the real codes to check against
    (``None``: not checked, for callers that have none, such as test set-ups).

    Raises
    ------
    BadInput
        A role without its binding (see :func:`api.auth.validate_role_binding`),
        ``password_too_short`` (params ``min``), ``unknown_commune``, ``unknown_province``
        (see :func:`check_area`) or ``unknown_region`` (params ``region``).
    Conflict
        ``user_exists`` (params ``username``); ``phone_taken`` (see :func:`check_phone`).
    """
    member = validate_role_binding(role, commune, region, province)
    number = check_phone(session, phone) if phone else None
    check_area(commune, province, communes=communes, provinces=provinces)
    check_password_rules(password)
    if session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(
            f"user {username!r} exists",
            code="user_exists",
            field="username",
            params={"username": username},
        )
    region_id = None
    if region:
        r = session.scalars(select(Region).where(Region.name == region)).first()
        if r is None:
            raise BadInput(
                f"region: no region named {region!r} (create it first)",
                code="unknown_region",
                field="region",
                params={"region": region},
            )
        region_id = r.id
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=member,
        commune_code=commune if member == Role.COMMUNE_LEADER else None,
        region_id=region_id,
        province_code=province,
        phone=number,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        after={
            "username": username,
            "role": member,
            "commune": commune,
            "region": region,
            "province": province,
            **({"phone": number} if number else {}),
        },
    )
    return user


def check_phone(session: Session, phone: str, *, user_id: int | None = None) -> str:
    """``phone`` as E.164 (``0912...`` -> ``+84912...``), unless another user has it.

    Raises
    ------
    BadInput
        ``phone_invalid`` (field ``phone``, params ``phone``).
    Conflict
        ``phone_taken`` (field ``phone``, params ``phone``).
    """
    try:
        number = normalise_phone(phone)
    except SmsError as exc:
        raise BadInput.carrying(exc, str(exc)) from exc
    other = session.scalars(select(User).where(User.phone == number)).first()
    if other is not None and other.id != user_id:
        raise Conflict(
            f"phone {number} is another user's",
            code="phone_taken",
            field="phone",
            params={"phone": number},
        )
    return number


def set_phone(session: Session, user: User, phone: str | None, *, actor: str) -> None:
    """Give ``user`` a phone (``None`` or empty: none), checked by :func:`check_phone`.
    Audited as ``user.phone``."""
    before = {"phone": user.phone}
    user.phone = check_phone(session, phone, user_id=user.id) if phone else None
    audit.record(
        session,
        actor=actor,
        action="user.phone",
        entity="user",
        entity_id=user.id,
        before=before,
        after={"username": user.username, "phone": user.phone},
    )


def user_dict(session: Session, u: User) -> dict[str, Any]:
    """A user as the API shows it (the region by name)."""
    r = session.get(Region, u.region_id) if u.region_id else None
    region = r.name if r is not None else None
    return {
        "id": u.id,
        "username": u.username,
        "role": u.role,
        "commune": u.commune_code,
        "region": region,
        "province": u.province_code,
        "active": bool(u.active),
        "phone": u.phone,
    }


def find_user(session: Session, username: str) -> User:
    """The user named ``username``.

    Raises
    ------
    NotFound
        ``user_not_found`` (field ``username``, params ``username``).
    """
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(
            f"no user named {username!r}",
            code="user_not_found",
            field="username",
            params={"username": username},
        )
    return user


def revoke_tokens(user: User) -> None:
    """End every token of ``user`` issued so far, in every worker (the version is stored and
    compared on every request by :func:`api.auth.authenticate`)."""
    user.token_version = (user.token_version or 0) + 1


def set_password(session: Session, user: User, password: str, *, actor: str) -> None:
    """Set a new password (an administrator's reset): every token of the user is revoked.
    Audited as ``user.password``."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    revoke_tokens(user)
    audit.record(
        session,
        actor=actor,
        action="user.password",
        entity="user",
        entity_id=user.id,
        after={"username": user.username, "token_version": user.token_version},
    )


def set_active(session: Session, user: User, active: bool, *, actor: str) -> None:
    """Enable or disable a user. Disabling revokes every token (and the user cannot log in);
    enabling does not bring old tokens back. Audited as ``user.disable`` / ``user.enable``."""
    before = {"active": bool(user.active)}
    user.active = active
    if not active:
        revoke_tokens(user)
    audit.record(
        session,
        actor=actor,
        action="user.enable" if active else "user.disable",
        entity="user",
        entity_id=user.id,
        before=before,
        after={"username": user.username, "active": active, "token_version": user.token_version},
    )

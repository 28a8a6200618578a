"""Users: creation with a role bound to a commune, region or province."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import hash_password, validate_role_binding
from api.enums import Role
from api.errors import BadInput, Conflict
from api.models import Region, User
from api.services import audit

#: The shortest password accepted.
MIN_PASSWORD = 8


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
) -> User:
    """Create a user; errors name what is wrong (role binding, unknown region, duplicate).

    Raises
    ------
    BadInput
        A role without its binding (see :func:`api.auth.validate_role_binding`),
        ``password_too_short`` (params ``min``) or ``unknown_region`` (params ``region``).
    Conflict
        ``user_exists`` (params ``username``).
    """
    member = validate_role_binding(role, commune, region, province)
    if len(password) < MIN_PASSWORD:
        raise BadInput(
            f"password: at least {MIN_PASSWORD} characters",
            code="password_too_short",
            field="password",
            params={"min": MIN_PASSWORD},
        )
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
        },
    )
    return user


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
    }

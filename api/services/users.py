"""Users: creation with a role bound to a commune, region or province."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import hash_password, validate_role_binding
from api.errors import BadInput, Conflict
from api.models import Region, User
from api.services import audit


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
    """Create a user; errors name what is wrong (role binding, unknown region, duplicate)."""
    try:
        validate_role_binding(role, commune, region, province)
    except ValueError as exc:
        raise BadInput(str(exc)) from exc
    if len(password) < 8:
        raise BadInput("password: at least 8 characters")
    if session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(f"user {username!r} exists")
    region_id = None
    if region:
        r = session.scalars(select(Region).where(Region.name == region)).first()
        if r is None:
            raise BadInput(f"region: no region named {region!r} (create it first)")
        region_id = r.id
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        commune_code=commune if role == "commune_leader" else None,
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
            "role": role,
            "commune": commune,
            "region": region,
            "province": province,
        },
    )
    return user


def user_dict(session: Session, u: User) -> dict[str, Any]:
    region = session.get(Region, u.region_id).name if u.region_id else None
    return {
        "id": u.id,
        "username": u.username,
        "role": u.role,
        "commune": u.commune_code,
        "region": region,
        "province": u.province_code,
    }

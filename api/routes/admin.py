"""Regions (planners), users (admins) and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import require_role
from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.enums import Role
from api.errors import BadInput, Conflict, NotFound
from api.models import AuditEntry, Region, User
from api.schemas import (
    AuditOut,
    AuditVerifyOut,
    RegionIn,
    RegionOut,
    UserIn,
    UserOut,
    error_responses,
)
from api.services import audit
from api.services.users import (
    KNOWN_PROVINCES,
    add_user,
    set_active,
    set_password,
    set_phone,
    user_dict,
)

router = APIRouter(tags=["admin"])
ERRORS = error_responses(401, 403, 409, 422)
#: the largest id a path takes (every database's integer column holds it)
MAX_ID = 2**31 - 1


class UserPatch(BaseModel):
    """An administrator's change to a user: enable or disable, or reset the password (both
    revoke the user's tokens, except enabling)."""

    model_config = ConfigDict(extra="forbid")
    active: bool | None = None
    password: str | None = Field(None, min_length=1, max_length=256)
    #: E.164 or 0912...; empty string: no phone
    phone: str | None = Field(None, max_length=32)


@router.get("/regions", response_model=list[RegionOut], responses=ERRORS)
def read_regions(user: CurrentUser, session: ReadSessionDep) -> list[dict[str, Any]]:
    """Defence regions and their communes."""
    return [
        {"id": r.id, "name": r.name, "communes": r.communes}
        for r in session.scalars(select(Region))
    ]


@router.post("/regions", status_code=201, response_model=RegionOut, responses=ERRORS)
def create_region(body: RegionIn, state: StateDep, user: CurrentUser, writer: WriterDep) -> Any:
    """Create a defence region (a named set of communes)."""
    require_role(user, Role.PLANNER, Role.ADMIN, action="creating a region")
    unknown = [c for c in body.communes if c not in state.graph]
    if unknown:
        raise BadInput(
            f"communes: unknown commune(s) {', '.join(unknown[:10])}",
            code="unknown_commune",
            field="communes",
            params={"commune": ", ".join(unknown[:10]), "communes": unknown[:10]},
        )

    def run(s: Session) -> dict[str, Any]:
        if s.scalars(select(Region).where(Region.name == body.name)).first():
            raise Conflict(
                f"region {body.name!r} exists",
                code="region_exists",
                field="name",
                params={"name": body.name},
            )
        r = Region(name=body.name, communes=sorted(set(body.communes)))
        s.add(r)
        s.flush()
        audit.record(
            s,
            actor=user.describe(),
            action="region.create",
            entity="region",
            entity_id=r.id,
            after={"name": r.name, "communes": r.communes},
        )
        return {"id": r.id, "name": r.name, "communes": r.communes}

    return writer.run(run, status_code=201)


@router.post("/users", status_code=201, response_model=UserOut, responses=ERRORS)
def create_user(body: UserIn, state: StateDep, user: CurrentUser, writer: WriterDep) -> Any:
    """Create a user (admin)."""
    require_role(user, Role.ADMIN, action="creating users")
    return writer.run(
        lambda s: user_dict(
            s,
            add_user(
                s,
                body.username,
                body.password,
                body.role,
                commune=body.commune,
                region=body.region,
                province=body.province,
                actor=user.describe(),
                communes=state.graph,
                provinces=state.communes_by_province or KNOWN_PROVINCES,
                phone=body.phone,
            ),
        ),
        status_code=201,
    )


@router.get("/users", response_model=list[UserOut], responses=ERRORS)
def read_users(user: CurrentUser, session: ReadSessionDep) -> list[dict[str, Any]]:
    """Every user, with whether they may log in (admin)."""
    require_role(user, Role.ADMIN, action="listing users")
    return [user_dict(session, u) for u in session.scalars(select(User).order_by(User.id))]


@router.patch(
    "/users/{user_id}", response_model=UserOut, responses=error_responses(401, 403, 404, 422)
)
def update_user(
    body: UserPatch,
    user: CurrentUser,
    writer: WriterDep,
    user_id: int = Path(ge=1, le=MAX_ID),
) -> Any:
    """Disable or enable a user, or reset their password (admin); disabling and a reset end
    every session of the user at once, in every worker."""
    require_role(user, Role.ADMIN, action="changing users")

    def run(s: Session) -> dict[str, Any]:
        target = s.get(User, user_id)
        if target is None:
            raise NotFound(
                f"no user {user_id}",
                code="user_not_found",
                field="user_id",
                params={"user_id": user_id},
            )
        if body.active is not None and body.active != target.active:
            set_active(s, target, body.active, actor=user.describe())
        if body.password is not None:
            set_password(s, target, body.password, actor=user.describe())
        if body.phone is not None:
            set_phone(s, target, body.phone, actor=user.describe())
        return user_dict(s, target)

    return writer.run(run)


@router.get("/audit", response_model=list[AuditOut], responses=ERRORS)
def read_audit(
    user: CurrentUser,
    session: ReadSessionDep,
    entity: str | None = None,
    limit: int = Query(200, ge=1, le=5000),
) -> list[dict[str, Any]]:
    """The audit log, newest first (defence command, planner, admin)."""
    require_role(
        user, Role.DEFENCE_COMMAND, Role.PLANNER, Role.ADMIN, action="reading the audit log"
    )
    stmt = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    return [audit.as_dict(e) for e in session.scalars(stmt)]


@router.get("/audit/verify", response_model=AuditVerifyOut, responses=ERRORS)
def verify_audit(user: CurrentUser, session: ReadSessionDep) -> dict[str, Any]:
    """Recompute the hash chain."""
    require_role(
        user, Role.DEFENCE_COMMAND, Role.PLANNER, Role.ADMIN, action="verifying the audit log"
    )
    ok, n, message = audit.verify(session)
    return {"ok": ok, "entries": n, "message": message}

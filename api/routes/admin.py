"""Regions (planners), users (admins) and the audit log."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.auth import require_role
from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.enums import Role
from api.errors import BadInput, Conflict
from api.models import AuditEntry, Region
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
from api.services.users import add_user, user_dict

router = APIRouter(tags=["admin"])
ERRORS = error_responses(401, 403, 409, 422)


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
    if body.commune and body.commune not in state.graph:
        raise BadInput(
            f"commune: unknown commune {body.commune!r}",
            code="unknown_commune",
            field="commune",
            params={"commune": body.commune},
        )
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
            ),
        ),
        status_code=201,
    )


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

"""Adjacency rules: create, edit, retire (each a new version with author and reason), import
many at once, and the rules as they were at any time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from api.auth import require_role
from api.db import session_scope
from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.enums import Role
from api.errors import BadInput, validation_problems
from api.limits import check_values
from api.schemas import Open, ReasonIn, RuleIn, RulePatch, RuleVersionOut, error_responses
from api.services.rules import (
    create_rule,
    current_rules,
    retire_rule,
    rule_history,
    update_rule,
    version_dict,
)
from api.services.rules_import import import_rules, rules_document

router = APIRouter(prefix="/rules", tags=["rules"])
#: The longest reason kept in a rule's history.
MAX_REASON = 2000
ERRORS = error_responses(401, 403, 404, 409, 422)


class RulesImportIn(BaseModel):
    """The JSON body of ``POST /rules/import`` (a file upload has the fields ``file`` and
    ``reason``)."""

    reason: str = Field(
        min_length=1, max_length=2000, description="why: kept in every imported rule's history"
    )
    rules: list[Any] = Field(
        description="the rules, each as for POST /rules (type, a, b, ...; see geo.rules)"
    )


class ImportedRuleOut(Open):
    """A created rule version (as ``RuleVersionOut``), with its position in the import."""

    position: int = Field(description="the rule's position in the imported list (1 is the first)")
    id: int | None = Field(description="the new rule's id (null in a dry run)")
    version: int
    rule: dict[str, Any]
    retired: bool
    author: str
    reason: str
    created_at: dt.datetime | None = Field(description="null in a dry run")


class RulesImportOut(Open):
    dry_run: bool
    count: int
    created: list[ImportedRuleOut]


IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": RulesImportIn.model_json_schema()},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file", "reason"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "the rules, JSON or YAML (.yaml, .yml)",
                        },
                        "reason": {"type": "string", "maxLength": 2000},
                    },
                }
            },
        },
    }
}


async def import_from(request: Request) -> tuple[Any, str]:
    """The rules and the reason from a JSON body, or from an uploaded file and a ``reason``
    field."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=5) as form:
            upload, reason = form.get("file"), form.get("reason")
            if not isinstance(upload, UploadFile):
                raise BadInput(
                    "file: upload the rules (JSON or YAML) as the form field 'file'",
                    code="file_required",
                    field="file",
                )
            if not isinstance(reason, str) or not reason.strip():
                raise BadInput(
                    "reason: importing rules needs a reason (the form field 'reason')",
                    code="reason_required",
                    field="reason",
                )
            if len(reason) > MAX_REASON:
                raise BadInput(
                    f"reason: at most {MAX_REASON} characters",
                    code="reason_too_long",
                    field="reason",
                    params={"max": MAX_REASON},
                )
            check_values(reason, at=("reason",))  # no NUL or lone surrogate in the stored reason
            raw = await upload.read()
            # parsed off the event loop (a large YAML file takes a while), then bounded as a
            # JSON body would be: NUL characters, lone surrogates, huge numbers
            items = await run_in_threadpool(
                rules_document, raw, name=upload.filename, content_type=upload.content_type
            )
            await run_in_threadpool(lambda: check_values(items, at=("file",)))
            return items, reason
    raw = await request.body()
    try:
        body = RulesImportIn.model_validate_json(raw)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        problems = validation_problems(errors)
        raise BadInput(
            "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or 'body'}: {e['msg']}" for e in errors
            ),
            code="invalid_request",
            field=problems[0].field if problems else None,
            params={"count": len(problems)},
            problems=problems,
        ) from None
    return body.rules, body.reason


@router.get("", response_model=list[RuleVersionOut], responses=ERRORS)
def read_rules(
    user: CurrentUser, session: ReadSessionDep, at: dt.datetime | None = None
) -> list[dict[str, Any]]:
    """The rules in force now, or as they were at ``at`` (ISO time)."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return [version_dict(v) for v, _ in current_rules(session, at)]


@router.post("", status_code=201, response_model=RuleVersionOut, responses=ERRORS)
def create_rule_route(body: RuleIn, state: StateDep, user: CurrentUser, writer: WriterDep) -> Any:
    """Create a rule (planner); the planner's graph uses it from the next plan on."""
    return writer.run(
        lambda s: create_rule(s, user, body.rule, body.reason, set(state.graph)), status_code=201
    )


@router.post(
    "/import",
    status_code=201,
    response_model=RulesImportOut,
    openapi_extra=IMPORT_BODY,
    responses={
        **error_responses(401, 403, 409, 413, 422),
        200: {"model": RulesImportOut, "description": "dry run: what would be created"},
    },
)
async def import_rules_route(
    request: Request, state: StateDep, user: CurrentUser, writer: WriterDep, dry_run: bool = False
) -> Any:
    """Import many rules at once (planner), all or nothing; ``?dry_run=true`` only validates.

    The body is ``{"reason": ..., "rules": [...]}``, or a multipart upload of a JSON or YAML
    rules file (field ``file``, a list or ``{"rules": [...]}``) with a ``reason`` field. The
    rules are checked together with the rules in force: with any error the answer is 422 and
    nothing is stored; ``detail`` (and ``errors``, one per problem, when there are several)
    names each rule by its position (``rule #1`` is the first) and what was wrong; ``code`` is
    ``rules_invalid`` with one problem per error, its ``line`` the rule's position. Otherwise
    each becomes a new rule with the import's reason and author (201); a dry run answers 200
    with what would be created."""
    require_role(user, Role.PLANNER, Role.ADMIN, action="importing rules")
    items, reason = await import_from(request)
    communes = set(state.graph)

    def run(session: Any) -> dict[str, Any]:
        created = import_rules(
            session,
            items,
            reason=reason,
            author=user.username,
            actor=user.describe(),
            communes=communes,
            dry_run=dry_run,
        )
        return {"dry_run": dry_run, "count": len(created), "created": created}

    if dry_run:  # nothing stored, so nothing to replay either

        def check() -> dict[str, Any]:
            with session_scope(state.read_session) as session:
                return run(session)

        return JSONResponse(jsonable_encoder(await run_in_threadpool(check)), status_code=200)
    return await run_in_threadpool(writer.run, run, status_code=201)


@router.get("/{rule_id}/history", response_model=list[RuleVersionOut], responses=ERRORS)
def read_rule_history(
    rule_id: int, user: CurrentUser, session: ReadSessionDep
) -> list[dict[str, Any]]:
    """Every version of a rule, oldest first."""
    return rule_history(session, rule_id)


@router.patch("/{rule_id}", response_model=RuleVersionOut, responses=ERRORS)
def update_rule_route(
    rule_id: int, body: RulePatch, state: StateDep, user: CurrentUser, writer: WriterDep
) -> Any:
    """Change a rule: a new version with its reason."""
    return writer.run(
        lambda s: update_rule(s, user, rule_id, body.changes, body.reason, set(state.graph))
    )


@router.delete("/{rule_id}", response_model=RuleVersionOut, responses=ERRORS)
def retire_rule_route(
    rule_id: int,
    user: CurrentUser,
    writer: WriterDep,
    reason: Annotated[
        str | None,
        Query(
            max_length=MAX_REASON,
            description=(
                "Why the rule is retired. Give it here or in the body: many HTTP clients and "
                "proxies drop a body on DELETE."
            ),
        ),
    ] = None,
    body: Annotated[
        ReasonIn | None,
        Body(
            description=('Optional: ``{"reason": "..."}``, as an alternative to ``?reason=...``.')
        ),
    ] = None,
) -> Any:
    """Retire a rule (kept in history) with a reason.

    The reason is required, as the query parameter ``?reason=...`` or as a JSON body
    ``{"reason": "..."}`` (if both are given they must agree); without it the answer is 422
    naming ``reason``."""
    given = {x.strip() for x in (reason, body.reason if body else None) if x and x.strip()}
    if not given:
        raise BadInput(
            'reason: retiring a rule needs a reason (?reason=... or a JSON body {"reason": ...})',
            code="reason_required",
            field="reason",
        )
    if len(given) > 1:
        raise BadInput(
            "reason: the query and the body give different reasons; give one",
            code="reasons_differ",
            field="reason",
        )
    (why,) = given
    return writer.run(lambda s: retire_rule(s, user, rule_id, why))

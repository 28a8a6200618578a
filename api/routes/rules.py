"""Adjacency rules: create, edit, retire (each a new version with author and reason), and
the rules as they were at any time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query

from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.errors import BadInput
from api.schemas import ReasonIn, RuleIn, RulePatch, RuleVersionOut, error_responses
from api.services.rules import (
    create_rule,
    current_rules,
    retire_rule,
    rule_history,
    update_rule,
    version_dict,
)

router = APIRouter(prefix="/rules", tags=["rules"])
ERRORS = error_responses(401, 403, 404, 409, 422)


@router.get("", response_model=list[RuleVersionOut], responses=ERRORS)
def read_rules(user: CurrentUser, session: ReadSessionDep, at: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The rules in force now, or as they were at ``at`` (ISO time)."""
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    return [version_dict(v) for v, _ in current_rules(session, at)]


@router.post("", status_code=201, response_model=RuleVersionOut, responses=ERRORS)
def create_rule_route(body: RuleIn, state: StateDep, user: CurrentUser, writer: WriterDep) -> Any:
    """Create a rule (planner); the planner's graph uses it from the next plan on."""
    return writer.run(lambda s: create_rule(s, user, body.rule, body.reason, set(state.graph)), status_code=201)


@router.get("/{rule_id}/history", response_model=list[RuleVersionOut], responses=ERRORS)
def read_rule_history(rule_id: int, user: CurrentUser, session: ReadSessionDep) -> list[dict[str, Any]]:
    """Every version of a rule, oldest first."""
    return rule_history(session, rule_id)


@router.patch("/{rule_id}", response_model=RuleVersionOut, responses=ERRORS)
def update_rule_route(rule_id: int, body: RulePatch, state: StateDep, user: CurrentUser, writer: WriterDep) -> Any:
    """Change a rule: a new version with its reason."""
    return writer.run(lambda s: update_rule(s, user, rule_id, body.changes, body.reason, set(state.graph)))


@router.delete("/{rule_id}", response_model=RuleVersionOut, responses=ERRORS)
def retire_rule_route(
    rule_id: int, user: CurrentUser, writer: WriterDep,
    reason: Annotated[str | None, Query(max_length=2000, description=(
        "Why the rule is retired. Give it here or in the body: many HTTP clients and proxies "
        "drop a body on DELETE."))] = None,
    body: Annotated[ReasonIn | None, Body(description=(
        'Optional: ``{"reason": "..."}``, as an alternative to ``?reason=...``.'))] = None,
) -> Any:
    """Retire a rule (kept in history) with a reason.

    The reason is required, as the query parameter ``?reason=...`` or as a JSON body
    ``{"reason": "..."}`` (if both are given they must agree); without it the answer is 422
    naming ``reason``."""
    given = {x.strip() for x in (reason, body.reason if body else None) if x and x.strip()}
    if not given:
        raise BadInput("reason: retiring a rule needs a reason (?reason=... or a JSON body {\"reason\": ...})")
    if len(given) > 1:
        raise BadInput("reason: the query and the body give different reasons; give one")
    (why,) = given
    return writer.run(lambda s: retire_rule(s, user, rule_id, why))

"""SMS in from Kannel's get-url: a leader's command, answered by SMS through the outbox."""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.exc import IntegrityError

from api.db import session_scope
from api.deps import StateDep
from api.errors import Forbidden
from api.schemas import Open, error_responses
from api.services.sms_in import handle_incoming

router = APIRouter(prefix="/sms", tags=["sms"])


class SmsIncomingOut(Open):
    result: str


def check_secret(expected: str | None, given: str | None) -> None:
    """403 unless ``given`` is the configured secret (compared in constant time; refused when
    no secret is configured). The secret is never logged nor echoed."""
    if (
        not expected
        or given is None
        or not hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected.encode())
    ):
        raise Forbidden("wrong or missing SMS secret", code="sms_secret_wrong")


@router.get("/incoming", response_model=SmsIncomingOut, responses=error_responses(403, 422))
def receive_sms(
    state: StateDep,
    sender: Annotated[str, Query(alias="from", max_length=64)],
    text: Annotated[str, Query(max_length=2000)] = "",
    secret: Annotated[str | None, Query(max_length=256)] = None,
    message_id: Annotated[str | None, Query(alias="id", max_length=64)] = None,
) -> dict[str, Any]:
    """An SMS from a phone, as Kannel's get-url passes it (``from=%p&text=%a&id=%I``)."""
    check_secret(state.settings.sms_secret, secret)
    try:
        with session_scope(state.write_session) as s:
            outcome = handle_incoming(
                s,
                phone=sender,
                text=text,
                kannel_id=message_id or None,
                communes_by_province=state.communes_by_province,
                G=state.graph,
            )
    except IntegrityError:  # the same Kannel id committed meanwhile by a parallel delivery
        return {"result": "duplicate"}
    return {"result": outcome.result}

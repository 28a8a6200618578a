"""Notifications: the current user's inbox, and marking it read."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from api.deps import CurrentUser, ReadSessionDep, StateDep, WriterDep
from api.models import Notification, as_utc
from api.schemas import Open, error_responses
from api.services.notify import inbox, mark_read, unread_count
from api.services.sms_out import word_sms
from api.state import AppState
from geo.resources import load_catalogue

router = APIRouter(prefix="/notifications", tags=["notifications"])
ERRORS = error_responses(401, 403, 422)


class NotificationOut(Open):
    id: int
    event: str
    entity: str
    entity_id: int
    text: str
    read: bool


class InboxOut(Open):
    unread: int
    notifications: list[NotificationOut]


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    #: the notifications to mark read; none given: all of them
    ids: list[int] | None = Field(None, max_length=500)


def notification_dict(n: Notification, names: dict[str, str], lang: str = "vi") -> dict[str, Any]:
    """A notification as the API and the pages show it, worded in ``lang``."""
    from geo.i18n import say

    params = dict(n.params or {})
    if "commune" in params:
        params["commune"] = names.get(str(params["commune"]), str(params["commune"]))
    res = load_catalogue().get(str(params.get("resource")))
    if res is not None:
        params["resource"] = res.label_vi if lang == "vi" else res.label_en
    try:
        text = say(lang, f"notice.{n.event}", **params)
    except (KeyError, IndexError, ValueError):
        text = word_sms(f"sms.{n.event}", n.params or {}, names)
    return {
        "id": n.id,
        "event": n.event,
        "entity": n.entity,
        "entity_id": n.entity_id,
        "params": n.params,
        "text": text,
        "read": n.read_at is not None,
        "created_at": as_utc(n.created_at),
    }


def commune_names(state: AppState) -> dict[str, str]:
    """Commune code -> name, from the loaded boundaries."""
    if not state.geo.short_names:
        gdf = state.geo.gdf
        state.geo.short_names.update({str(k): str(v) for k, v in gdf["name"].items()})
    return state.geo.short_names


@router.get("", response_model=InboxOut, responses=ERRORS)
def read_notifications(
    user: CurrentUser, session: ReadSessionDep, state: StateDep
) -> dict[str, Any]:
    """What arrived for me: requests, offers, dispatches, escalations (newest first)."""
    names = commune_names(state)
    return {
        "unread": unread_count(session, user.id),
        "notifications": [notification_dict(n, names) for n in inbox(session, user.id)],
    }


class UnreadOut(Open):
    unread: int
    latest: int


@router.get("/unread", response_model=UnreadOut, responses=ERRORS)
def read_unread(user: CurrentUser, session: ReadSessionDep) -> dict[str, Any]:
    """How many of my notifications are unread, and the newest one's id (for live pages)."""
    newest = inbox(session, user.id, limit=1)
    return {"unread": unread_count(session, user.id), "latest": newest[0].id if newest else 0}


@router.post("/read", response_model=InboxOut, responses=ERRORS)
def mark_notifications_read(
    body: ReadIn, user: CurrentUser, writer: WriterDep, state: StateDep
) -> Any:
    """Mark my notifications read (the ones given, or all)."""
    names = commune_names(state)

    def run(s: Session) -> dict[str, Any]:
        mark_read(s, user.id, body.ids)
        s.flush()
        return {
            "unread": unread_count(s, user.id),
            "notifications": [notification_dict(n, names) for n in inbox(s, user.id)],
        }

    return writer.run(run)

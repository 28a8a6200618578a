"""Database tables (SQLAlchemy 2). Migrations in ``api/migrations`` create them."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from api.enums import IncidentStatus, OfferStatus, RequestStatus, Role, Urgency


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    """A stored time as an aware UTC datetime (SQLite gives back naive UTC times)."""
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


def _stored_as_text(enum: type[StrEnum], length: int) -> Enum:
    """``enum`` kept as its value in a ``VARCHAR(length)``, as the column always was: no
    database enum type and no CHECK constraint (the migrations stay as they are); rows load
    as members. Strings outside ``enum`` are not refused when bound, so that a filter on an
    unknown status finds nothing, as it did (writers assign members or validated values)."""
    return Enum(
        enum,
        native_enum=False,
        create_constraint=False,
        length=length,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=False,
    )


#: The roles, in the order the CLI and the errors list them.
ROLES: tuple[Role, ...] = tuple(Role)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(_stored_as_text(Role, 32))
    commune_code: Mapped[str | None] = mapped_column(String(5))
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))
    province_code: Mapped[str | None] = mapped_column(String(2))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    #: signed into every token and compared on every request: bumping it (password change,
    #: disabling, "log out everywhere") ends every token issued before, in every worker
    token_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: E.164 (+84...), unique: SMS to the user, and SMS from it act as the user
    phone: Mapped[str | None] = mapped_column(String(16), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Region(Base):
    """A defence region: a named set of communes (e.g. Khu vực 3 - Quỳ Châu)."""

    __tablename__ = "regions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    communes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InventoryItem(Base):
    """A commune's stock of one resource; ``reserved`` is promised in open offers."""

    __tablename__ = "inventory"

    commune_code: Mapped[str] = mapped_column(String(5), primary_key=True)
    resource: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    sample: Mapped[bool] = mapped_column(Boolean, default=False)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(64))


class Incident(Base):
    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[IncidentStatus] = mapped_column(
        _stored_as_text(IncidentStatus, 16), default=IncidentStatus.ACTIVE
    )
    risk_level: Mapped[int] = mapped_column(Integer)
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: a drill (diễn tập): the whole flow runs, no real stock is reserved or moved
    exercise: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: false while an incident a commune reported waits for its command to confirm the level
    confirmed: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class PlanRecord(Base):
    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SupportRequest(Base):
    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    commune_code: Mapped[str] = mapped_column(String(5), index=True)
    resource: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    urgency: Mapped[Urgency] = mapped_column(_stored_as_text(Urgency, 16), default=Urgency.NORMAL)
    note: Mapped[str | None] = mapped_column(Text)
    to_communes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    declined_by: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[RequestStatus] = mapped_column(
        _stored_as_text(RequestStatus, 16), default=RequestStatus.OPEN
    )
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: ``"regulation"`` when a box card fired it (None: asked by hand or from a plan)
    source: Mapped[str | None] = mapped_column(String(16))
    regulation_id: Mapped[int | None] = mapped_column(Integer)
    #: the box card that fired it (CONTRACT JSON, with the regulation's number)
    card: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: ``[{"commune", "quantity"}]``: what the plan asks of each addressee (``[]``: hand-made)
    asks: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    #: a re-plan no longer asks an addressee, or can no longer reach one
    outdated: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: the addressees a re-plan found cut off: they may no longer offer
    unreachable: Mapped[list[Any]] = mapped_column(JSON, default=list, server_default="[]")
    #: the plan the request was made from (None: hand-made)
    plan_id: Mapped[int | None] = mapped_column(Integer)


class Offer(Base):
    __tablename__ = "offers"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    commune_code: Mapped[str] = mapped_column(String(5), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[OfferStatus] = mapped_column(
        _stored_as_text(OfferStatus, 16), default=OfferStatus.OFFERED
    )
    note: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LedgerEntry(Base):
    """What arrived in a commune for an incident (moved out of the giver's inventory)."""

    __tablename__ = "ledger"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    commune_code: Mapped[str] = mapped_column(String(5))
    resource: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    from_commune: Mapped[str] = mapped_column(String(5))
    offer_id: Mapped[int] = mapped_column(ForeignKey("offers.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RuleVersion(Base):
    """One version of an adjacency rule; every change adds a row (nothing is overwritten)."""

    __tablename__ = "rule_versions"
    __table_args__ = (
        UniqueConstraint("rule_id", "version"),
        Index("ix_rule_versions_rule", "rule_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rule_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    author: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEntry(Base):
    """Append-only, hash-chained log of every change."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class IdempotencyRecord(Base):
    """The first response to a user's ``Idempotency-Key``, with a fingerprint of the request."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LoginFailure(Base):
    """One failed login (username as typed, client address): the throttle counts these."""

    __tablename__ = "login_failures"
    __table_args__ = (Index("ix_login_failures_ip_at", "ip", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class RegulationVersion(Base):
    """One version of a coordination regulation (:mod:`geo.regulation`); every change, signing
    and retiring adds a row (nothing is overwritten)."""

    __tablename__ = "regulation_versions"
    __table_args__ = (UniqueConstraint("regulation_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    regulation_id: Mapped[int] = mapped_column(Integer, index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    author: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RegulationActivation(Base):
    """A box card (``kind="card"``, with the request it made) or a backfill notice
    (``kind="backfill"``) fired for an incident; unique, so nothing fires twice."""

    __tablename__ = "regulation_activations"
    __table_args__ = (
        UniqueConstraint("incident_id", "regulation_id", "kind", "level", "position", "resource"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    regulation_id: Mapped[int] = mapped_column(Integer)
    regulation_version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    position: Mapped[int] = mapped_column(Integer)
    resource: Mapped[str] = mapped_column(String(64))
    giver: Mapped[str] = mapped_column(String(5))
    receiver: Mapped[str] = mapped_column(String(5))
    request_id: Mapped[int | None] = mapped_column(ForeignKey("requests.id"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notification(Base):
    """One event for one person (a request addressed to their commune, an offer on their
    request, ...): ``key`` is unique, so each event reaches each person once."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_user_read", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(160), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(16))
    entity_id: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SmsOutgoing(Base):
    """An SMS waiting to go out through Kannel (or sent, or given up): the queue survives a
    restart; ``key`` is unique (one SMS per event per person, one answer per incoming SMS)."""

    __tablename__ = "sms_outbox"
    __table_args__ = (Index("ix_sms_outbox_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(160), unique=True)
    to_phone: Mapped[str] = mapped_column(String(16))
    #: the catalogue key of the text and its params (worded when sent, with commune names)
    message: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class SmsIncoming(Base):
    """An SMS Kannel delivered; ``kannel_id`` (its ``%I``) is unique, so a delivery Kannel
    repeats is handled once."""

    __tablename__ = "sms_inbox"
    __table_args__ = (Index("ix_sms_inbox_from_at", "from_phone", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kannel_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    from_phone: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    result: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SituationReport(Base):
    """One situation report of a commune about an incident; every report is kept."""

    __tablename__ = "situation_reports"
    __table_args__ = (
        Index("ix_situation_reports_incident_commune", "incident_id", "commune_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    commune_code: Mapped[str] = mapped_column(String(5))
    displaced: Mapped[int] = mapped_column(Integer, default=0)
    houses_flooded: Mapped[int] = mapped_column(Integer, default=0)
    houses_collapsed: Mapped[int] = mapped_column(Integer, default=0)
    isolated: Mapped[str | None] = mapped_column(String(16))
    needs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    warnings: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

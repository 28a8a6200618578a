"""users carry a phone; notifications; the SMS outbox and inbox

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 10:30:00

``users.phone`` (E.164, unique, empty for existing users). ``notifications``: one row per event
per person (``key`` unique). ``sms_outbox``: the queue of SMS to send through Kannel, with
attempts, backoff and a lease (``key`` unique: one SMS per event per person). ``sms_inbox``:
every SMS Kannel delivered (``kannel_id`` unique: a repeated delivery is handled once).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("phone", sa.String(16), nullable=True))
        batch.create_unique_constraint("uq_users_phone", ["phone"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("entity", sa.String(16), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("read_at", _TZ, nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
    )
    op.create_index("ix_notifications_user_read", "notifications", ["user_id", "read_at"])
    op.create_table(
        "sms_outbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("key", sa.String(160), nullable=False, unique=True),
        sa.Column("to_phone", sa.String(16), nullable=False),
        sa.Column("message", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", _TZ, nullable=False),
        sa.Column("lease_until", _TZ, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("created_at", _TZ, nullable=False),
        sa.Column("sent_at", _TZ, nullable=True),
    )
    op.create_index("ix_sms_outbox_due", "sms_outbox", ["status", "next_attempt_at"])
    op.create_table(
        "sms_inbox",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kannel_id", sa.String(64), nullable=True, unique=True),
        sa.Column("from_phone", sa.String(32), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("result", sa.String(64), nullable=False, server_default=""),
        sa.Column("received_at", _TZ, nullable=False),
    )
    op.create_index("ix_sms_inbox_from_at", "sms_inbox", ["from_phone", "received_at"])


def downgrade() -> None:
    op.drop_table("sms_inbox")
    op.drop_table("sms_outbox")
    op.drop_table("notifications")
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint("uq_users_phone", type_="unique")
        batch.drop_column("phone")

"""idempotency keys remember the request they answered; longer audit actors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 10:00:00

``idempotency_keys.fingerprint``: a SHA-256 of the method, path, query and (canonical JSON)
body, so that reusing a key for a different request is refused instead of silently answered
with the first one's result. ``audit_log.actor`` grows to 255 characters: a defence command's
description (user, role, region name) and ``acting for commune ...`` do not fit in 64.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.add_column(sa.Column("fingerprint", sa.String(length=64), nullable=True))
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column(
            "actor",
            existing_type=sa.String(length=64),
            type_=sa.String(length=255),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column(
            "actor",
            existing_type=sa.String(length=255),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
    with op.batch_alter_table("idempotency_keys") as batch:
        batch.drop_column("fingerprint")
